#!/usr/bin/env bash
# Create/refresh .venv from uv.lock (idempotent; ~2 s when set up, 60-75 s the first time: README "Timings").
#
# torch is locked as the 2.13.0 CPU build, taken from a flat wheel folder named `.wheels` (git-ignored):
#  - on a machine whose pip is configured with a find-links folder holding that wheel (this project's
#    dev/CI machines), `.wheels` becomes a symlink to it: nothing is downloaded;
#  - elsewhere the wheel is downloaded once from PyTorch's CPU index into `.wheels/`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install -q "uv==0.13.9"
fi

if [ ! -e .wheels ]; then
  links="${PIP_FIND_LINKS:-$(python3 -m pip config get global.find-links 2>/dev/null || true)}"
  if [ -n "$links" ] && compgen -G "$links/torch-2.13.0+cpu-*.whl" >/dev/null; then
    ln -sfn "$links" .wheels
  else
    mkdir -p .wheels
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64 \
      -d .wheels "torch==2.13.0+cpu" --index-url https://download.pytorch.org/whl/cpu
  fi
fi

# --compile-bytecode: every `kedro` command imports mlflow, pandas and torch; without cached bytecode (e.g. under
# PYTHONDONTWRITEBYTECODE=1) each one recompiles them, ~5 s of CPU per command. Costs 31-66 s once (by load), ~1 s after.
uv sync --locked --compile-bytecode

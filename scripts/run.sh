#!/usr/bin/env bash
# The main job: set up, then run every pipeline on the embedded default (extra args go to `kedro run`,
# e.g. `bash scripts/run.sh --pipelines rs_ilg` or `--env real`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
export KEDRO_DISABLE_TELEMETRY=1 MPLBACKEND=Agg
# torch/OpenMP threads yield the CPU when idle instead of spinning (what the README recommends for busy machines)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
uv run --locked kedro run "$@"

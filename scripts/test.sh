#!/usr/bin/env bash
# All tests: set up, make sure headless Chromium is there for the kedro-viz test, run pytest
# (extra args go to pytest, e.g. `bash scripts/test.sh packages/rs-ilg -x`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the kedro-viz browser test" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium not found: the kedro-viz browser test will be skipped (install Debian's chromium)" >&2
  fi
fi
export KEDRO_DISABLE_TELEMETRY=1 MPLBACKEND=Agg
uv run --locked pytest "$@"

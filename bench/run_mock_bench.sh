#!/usr/bin/env bash
# Load benchmark of the mock against a bare gunicorn+Flask baseline (see bench/mock_load.py).
#   bench/run_mock_bench.sh                      # every scenario, one round (about 4 minutes)
#   bench/run_mock_bench.sh --rounds 3 --config-sweep 4x1,2x4,2x8 --profile
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (apt-get install -y wrk)" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y wrk >/dev/null || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; }
fi
PYTHON="${PYTHON:-.venv/bin/python}"
exec "$PYTHON" -m bench.mock_load "$@"

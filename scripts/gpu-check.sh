#!/usr/bin/env bash
# One prepared check of every verb and the Python API on a CUDA device, with tiny models made
# on the fly; prints a table (check, status, seconds, detail), writes gpu-check.json and exits
# non-zero if any check failed. Fits a 10-minute device call (no new check after --budget s).
# Usage: scripts/gpu-check.sh [--device cuda|cuda:N|cpu] [--budget 480] [--workdir DIR] [--only a,b]
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}"
exec "$PY" scripts/gpu_check.py "$@"

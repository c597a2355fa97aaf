#!/usr/bin/env bash
# Set up stylebridge on a fresh machine: a virtual environment with the CPU build of torch
# (constraints.txt keeps pip off the multi-GB CUDA wheel) and the package in editable mode.
# Idempotent: a second run only checks. Usage: bash scripts/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".${extras}" 2>&1 \
  | grep -v "is ignored: it is neither a file nor a directory" || true
.venv/bin/python -c "import torch, stylebridge; print(f'stylebridge {stylebridge.__version__}, torch {torch.__version__}')"

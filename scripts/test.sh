#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
# Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
if [ -f scripts/install-fonts.sh ]; then bash scripts/install-fonts.sh; fi
if .venv/bin/stylebridge weights --help >/dev/null 2>&1; then
  .venv/bin/stylebridge weights install
  export STYLEBRIDGE_REQUIRE_WEIGHTS=1
fi
if [ -f scripts/install-browser.sh ]; then bash scripts/install-browser.sh; fi
.venv/bin/ruff check src tests scripts benchmarks  # the linter first: pyproject.toml [tool.ruff]
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
exec .venv/bin/python -m pytest -q "$@"

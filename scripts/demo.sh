#!/usr/bin/env bash
# Set up stylebridge on a fresh machine and run the main job: the embedded demo (offline,
# on the glyph zoo shipped inside the package). Writes out/demo.png and out/demo.html.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
.venv/bin/stylebridge demo --text "${DEMO_TEXT:-Hello}" --modes 1 --out out/demo.png

#!/usr/bin/env bash
# Set up stylebridge on a fresh machine and run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
.venv/bin/python - <<'PY'
import torch
from stylebridge.formats import save_checkpoint
from stylebridge.networks import create_generator
torch.manual_seed(0)
save_checkpoint("out/tiny-32.safetensors", G_ema=create_generator("tiny-32"))
PY
.venv/bin/stylebridge generate out/tiny-32.safetensors --seeds 0-7 --trunc 0.7 --outdir out/generate --grid out/generate-grid.png

#!/usr/bin/env bash
# Prepare a GPU session to continue the v2 glyph base (issue 16): copies the run's latest
# snapshot (G, D, G_ema, optimizers, RNG: an exact resume), its options and log, and the base
# glyphs into .device/zoo2 (git-ignored, about 33 MB; the device tool carries at most 64 MiB,
# so leave .devcarry out of that call). Then, in the device call: carry [".device"] and run
#   BASE_MINUTES=6 STEPS=env,base-v2 bash scripts/gpu-session.sh
# which trains for that long and returns the newest snapshot in parts (base-v2.part.*, 15 MB
# each) and the log. Back here: scripts/prepare-device-base.sh --restore DIR (DIR = where the
# device tool put the files) puts them into the run folder. A new machine has no runs/: first
#   python scripts/train_zoo.py data --work runs/zoo4 && python scripts/train_zoo.py unstash --work runs/zoo4
# (the run's last snapshot is committed in stash/zoo4; TRAINING.md, sessions 11 and 16).
# Usage: scripts/prepare-device-base.sh [RUN (default runs/zoo4/base)] [GLYPHS (default runs/zoo4/data/base_train.npz)]
#        scripts/prepare-device-base.sh --restore DIR [RUN]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--restore" ]; then
    src=$2 run=${3:-runs/zoo4/base}
    name=$(cat "$src/base-v2.name")
    cat "$src"/base-v2.part.* > "$run/.$name.tmp" && mv "$run/.$name.tmp" "$run/$name"
    cp "$src/base-v2.log.jsonl" "$run/log.jsonl"
    echo "restored $run/$name"
    exit 0
fi
run=${1:-runs/zoo4/base} glyphs=${2:-runs/zoo4/data/base_train.npz}
snap=$(ls "$run"/network-snapshot-*.safetensors | sort | tail -n 1)
rm -rf .device/zoo2
mkdir -p .device/zoo2/base .device/zoo2/data
cp "$snap" "$run/options.json" "$run/log.jsonl" .device/zoo2/base/
cp "$glyphs" .device/zoo2/data/base_train.npz
echo "prepared .device/zoo2 from $(basename "$snap") ($(du -sh .device | cut -f1))"

#!/usr/bin/env bash
# One prepared device call (a lent GPU's minutes are few): the environment, the GPU check,
# then the CUDA benchmarks of issue 14 (training step per precision and batch, the projector)
# and issue 15 (inversion methods). Each step has its own time limit and the steps run in
# order of importance; every step's log and JSON land in OUTDIR/, packed after each step into
# one archive (the device tool returns at most 8 files: $OUT/gpu-session.tgz there, else
# OUTDIR.tgz), so a call cut short still returns what ran. The tail of each log is printed.
# Usage: scripts/gpu-session.sh [OUTDIR] (default gpu-session/). PYTHON picks the interpreter
# (default: python3, the device's torch); DEVICE=cpu makes a dry run here; STEPS=a,b runs only
# those steps (names as printed).
set -uo pipefail
cd "$(dirname "$0")/.."
O="$(realpath -m "${1:-gpu-session}")"
ARCHIVE="${OUT:+$OUT/gpu-session.tgz}"; ARCHIVE="${ARCHIVE:-$O.tgz}"
mkdir -p "$O"
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"
DEV="${DEVICE:-cuda}"  # DEVICE=cpu: a dry run of the script here
T0=$(date +%s)
# Metric weights carried as int8 (scripts/device_weights.py pack .device/weights; carry .device/weights)
if [ -d .device/weights ] && [ -z "${STYLEBRIDGE_WEIGHTS:-}" ]; then
  "$PY" scripts/device_weights.py unpack .device/weights /tmp/sb-weights >/dev/null && export STYLEBRIDGE_WEIGHTS=/tmp/sb-weights
fi

step() {  # step NAME LIMIT_S COMMAND...: run with a limit, log to $O/NAME.log, print its tail
    local name=$1 limit=$2; shift 2
    if [ -n "${STEPS:-}" ] && [[ ",$STEPS," != *",$name,"* ]]; then return; fi
    local s; s=$(date +%s)
    echo "== $name (limit ${limit} s, at +$(( s - T0 )) s)"
    timeout -k 5 "$limit" "$@" >"$O/$name.log" 2>&1
    echo "   exit $?, $(( $(date +%s) - s )) s"
    grep -v '^\s*$' "$O/$name.log" | grep -v 'it/s\]$' | tail -n "${TAIL:-14}"
    tar czf "$ARCHIVE" -C "$(dirname "$O")" "$(basename "$O")"
}

step env 30 bash -c "nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,memory.used,memory.total,temperature.gpu --format=csv; \
  $PY -c 'import torch, sys; print(sys.version.split()[0], torch.__version__, torch.version.cuda, torch.backends.cudnn.version(), torch.cuda.get_device_name())'"
TAIL=26 step gpu-check 170 "$PY" scripts/gpu_check.py --device "$DEV" --budget 130 --workdir /tmp/gpu-check --json "$O/gpu-check.json"
cp /tmp/gpu-check/*.traceback.txt "$O/" 2>/dev/null
# Graph rows warm up until every kind of iteration is captured (64 iterations); channels_last
# was 0.74x of eager fp32 on the H200 (session 13) and is left out. JSON after each row.
TAIL=8 step train-sg2-64 150 "$PY" benchmarks/bench_train.py --device "$DEV" --targets sg2-64@32 \
  --precisions fp32,bf16,fp16 --cuda-graphs --steps 16 --warmup 4 --profile "$O" --out "$O/train-sg2-64.json"
# The one-convolution FIR against the former form, same run (kernels, a glyph-32 step, a render).
TAIL=16 step fir 60 "$PY" benchmarks/bench_fir.py --device "$DEV" --skip launches --repeats 5 --out "$O/fir.json"
# Two GPU candidates for the FIR filters against the current form (kernels and a glyph-32 step, projector, render)
for cand in separable folded; do
  TAIL=12 step "fir-$cand" 45 "$PY" benchmarks/bench_fir.py --device "$DEV" --against "$cand" --skip launches \
    --repeats 3 --out "$O/fir-$cand.json"
done
TAIL=5 step projector-bf16 90 "$PY" benchmarks/bench_train.py --device "$DEV" --targets none --projector sg2-64 \
  --precisions bf16 --proj-images 200 --proj-steps 300 --out "$O/projector-bf16.json"
# fp32: the batched form (the rule now) against the grouped one (the rule before), same run
TAIL=6 step projector-fp32 75 "$PY" benchmarks/bench_train.py --device "$DEV" --targets none --projector sg2-64 \
  --precisions fp32 --proj-forms auto,grouped --proj-images 200 --proj-steps 50 --out "$O/projector-fp32.json"
TAIL=12 step train-glyph 100 "$PY" benchmarks/bench_train.py --device "$DEV" --targets glyph-32@256,glyph-32@1024 \
  --precisions fp32,bf16 --cuda-graphs --steps 16 --warmup 4 --no-flops --out "$O/train-glyph.json"
TAIL=8 step encoder-speed 70 "$PY" benchmarks/bench_encoder_speed.py --device "$DEV" --repeats 1 ${ENCODER_METHODS:+--methods "$ENCODER_METHODS"} --out "$O/encoder-speed.json"
# Quality at equal images seen, fp32 against bf16 and fp16 (issue 14): needs the base glyphs as an
# .npz (no fonts on the device: `python scripts/train_zoo.py data --work runs/zoo` here, and
# name runs/zoo/data/base_train.npz in the device tool's carry). Skipped without it.
G="${GLYPHS:-runs/zoo/data/base_train.npz}"
if [ -f "$G" ]; then
  TAIL=10 step precision-quality 240 "$PY" benchmarks/exp_precision_quality.py --device "$DEV" --data "$G" \
    --precisions fp32,bf16,fp16 --seeds 0,1 --iters 1000 --batch 64 --cuda-graphs --out "$O/precision-quality.json"
fi
# Issue 15's capacity lever on a GPU's budget: a glyph encoder (32 maps, as shipped) trained
# from scratch there at batch 128. Needs the base's training glyphs as a zip (no fonts there):
#   python -c "from stylebridge.data.glyphs import write_glyph_dataset as w; w('base', 'runs/base_train', split='train')"
#   (cd runs && zip -qr base_train.zip base_train)   # then carry runs/base_train.zip
# Skipped without it. encoder.safetensors (every 250 iterations) and log.jsonl come back.
E="${ENCODER_DATA:-runs/base_train.zip}"
if [ -f "$E" ]; then
  step encoder-train 240 "$PY" -m stylebridge.cli.main encoder train src/stylebridge/zoo/glyphs/base.safetensors \
    --outdir /tmp/encoder-run --data "$E" --batch 128 --iters 3000 --snap 250 --channels 32 --lr 1e-3 \
    --lr-rampdown 0.25 --perceptual pixel --progressive 100 --file-dtype fp16 --device "$DEV" --no-progress
  cp /tmp/encoder-run/encoder.safetensors /tmp/encoder-run/log.jsonl "$O/" 2>/dev/null
  tar czf "$ARCHIVE" -C "$(dirname "$O")" "$(basename "$O")"
fi
# Issue 16's compute: continue the v2 glyph base for BASE_MINUTES (scripts/prepare-device-base.sh
# made .device/zoo2; carry .device). The newest snapshot comes back in 15 MB parts beside the
# archive (the device tool returns files of at most 16 MiB); prepare-device-base.sh --restore
# puts it back into runs/zoo4/base (the v2 phase continued: --recipe v2-long, session 16).
if [ -f .device/zoo2/base/options.json ] && { [ -z "${STEPS:-}" ] || [[ ",$STEPS," == *",base-v2,"* ]]; }; then
  BM="${BASE_MINUTES:-6}"
  # CUDA graphs first (at batch 32 the host, not the GPU, is the limit; gpu-check has just run
  # check_train_cuda_graphs); if that chunk fails, the rest of the minutes without them.
  G0=$(date +%s)
  ran() { grep -q "^base phase [0-9]*: " "$O/base-v2.log" 2>/dev/null; }  # stage_base's last line
  if [ "$DEV" = cuda ] && [ "${BASE_GRAPHS:-1}" = 1 ]; then
    TAIL=6 step base-v2 $(( BM * 60 + 120 )) "$PY" scripts/train_zoo.py base --work .device/zoo2 --recipe v2-long \
      --device "$DEV" --minutes "$BM" --chunk "${BASE_CHUNK:-2000}" --cuda-graphs
    if ! ran; then
      mv "$O/base-v2.log" "$O/base-v2-graphs.log" 2>/dev/null
      BM=$(( BM - ($(date +%s) - G0) / 60 ))
    fi
  fi
  if ! ran && [ "$BM" -ge 1 ]; then
    TAIL=6 step base-v2 $(( BM * 60 + 120 )) "$PY" scripts/train_zoo.py base --work .device/zoo2 --recipe v2-long \
      --device "$DEV" --minutes "$BM" --chunk "${BASE_CHUNK:-1000}"
  fi
  s=$(ls .device/zoo2/base/network-snapshot-*.safetensors | sort | tail -n 1)
  P="${OUT:-$(dirname "$O")}"
  split -b 15m -d "$s" "$P/base-v2.part." && basename "$s" > "$P/base-v2.name"
  cp .device/zoo2/base/log.jsonl "$P/base-v2.log.jsonl"
  echo "   $(basename "$s") back in parts in $P"
fi
echo "== done in $(( $(date +%s) - T0 )) s; logs and JSON in $ARCHIVE"

"""bf16 training on a CPU with AVX512-BF16 (issue 14's CPU target: bf16 at least 1.8x fp32's
images/s on glyph-32): the strided FIR filters in fp32 (current) against in bf16 (the
baseline, what autocast does by itself), measured in the same run, alternating.

    python benchmarks/bench_bf16_cpu.py [--threads 1] [--clock cpu] [--repeats 3] [--batches 32,64]

Rows:
* the strided depthwise FIR convolutions of a glyph-32 discriminator (downsample2d at 32, 16
  and 8 px, batch 32), forward + backward under bf16 autocast: oneDNN's bf16 kernel for them
  is many times slower than fp32 on such a CPU;
* whole glyph-32 training iterations (ADA, lazy R1 as `train` runs them): fp32, bf16 with the
  FIR in bf16, bf16 as shipped; the speed-up of each against fp32.
* with `--baseline-rev REV` (default: the commit issue 14 was filed against, when training was
  fp32 only), also fp32 as that revision's trainer runs it: its `src/` is read out of git
  (`git archive`) and timed in a fresh subprocess each round (one warm-up iteration, which
  also runs the lazy R1), in the same alternating rounds. Issue 14's target
  is "bf16 at least 1.8x today's fp32 images/s", today being that revision; `vs_baseline_rev`
  says how far each row is from it. `--baseline-rev none` skips it (no git needed).
On a CPU without bf16 instructions every bf16 row is far slower (no bf16 kernels at all).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import _clock, make_trainer  # noqa: E402
from common import print_table, write_json  # noqa: E402

from stylebridge.networks import ops  # noqa: E402
from stylebridge.utils.precision import native_bf16  # noqa: E402


@contextlib.contextmanager
def fir_in_bf16():
    """The baseline: no fp32 detour for the strided FIR (autocast's bf16 throughout)."""
    saved = ops._bf16_on_cpu
    ops._bf16_on_cpu = lambda x: False
    try:
        yield
    finally:
        ops._bf16_on_cpu = saved


def timed(fn, args, reps: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(args.repeats):
        t0 = _clock(args)
        for _ in range(reps):
            fn()
        best = min(best, (_clock(args) - t0) / reps)
    return best * 1e3


def fir_rows(args) -> list[dict]:
    f = ops.setup_filter()
    rows = []
    for C, res in ((64, 32), (128, 16), (128, 8)):
        x = torch.randn(32, C, res, res).bfloat16().requires_grad_(True)

        def step():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                y = ops.downsample2d(x, f)
            y.float().sum().backward()

        current = timed(step, args, 5)
        with fir_in_bf16():
            base = timed(step, args, 5)
        rows.append({"workload": f"downsample2d {res}->{res // 2} px, {C} ch, batch 32, fwd+bwd",
                     "baseline_ms": base, "current_ms": current, "speedup": base / current})
        print(rows[-1], flush=True)
    return rows


ISSUE_14_REV = "38e7edc"  # main when issue 14 was filed (2026-11-27): the trainer was fp32 only

# One timed round of an older revision's trainer, run with that revision's `src` first on the path.
# Only the API both revisions share: TrainOptions(config, data_array, batch, aug, ...) and step().
_REV_ROUND = r"""
import json, sys, time
import numpy as np, torch
from stylebridge.train import TrainOptions
from stylebridge.train.loop import Trainer
a = json.loads(sys.argv[1])
if a["threads"]:
    torch.set_num_threads(a["threads"])
clock = time.process_time if a["clock"] == "cpu" else time.perf_counter
data = np.random.RandomState(0).randint(0, 256, size=[64, 1, 32, 32], dtype=np.uint8)
tr = Trainer(TrainOptions(config="glyph-32", data_array=data, outdir="/nonexistent", batch=a["batch"],
                          progress=False, device="cpu", pl_weight=0.0, aug="ada", seed=0))
tr.step()
t0 = clock()
for _ in range(a["steps"]):
    tr.step()
print(json.dumps({"ms": (clock() - t0) / a["steps"] * 1e3}))
"""


def extract_rev(rev: str, dest: Path) -> Path:
    """`rev`'s src/ (git archive) under `dest`; a clear error when git or the revision is missing."""
    repo = Path(__file__).resolve().parents[1]
    try:
        tar = subprocess.run(["git", "-C", str(repo), "archive", rev, "src"], check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(f"--baseline-rev {rev}: cannot read it from git in {repo} ({e}); "
                         "run from a git checkout or pass --baseline-rev none") from None
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(dest, filter="data")
    return dest / "src"


def rev_round(src: Path, batch: int, args) -> float:
    """ms per iteration of one timed round of the trainer in `src`, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    arg = json.dumps({"threads": args.threads, "clock": args.clock, "batch": batch, "steps": args.steps})
    p = subprocess.run([sys.executable, "-c", _REV_ROUND, arg], env=env, capture_output=True, text=True)
    if p.returncode != 0:  # that revision's trainer failed: say how, in its own words
        tail = "\n".join(p.stderr.splitlines()[-5:])
        raise SystemExit(f"--baseline-rev: the trainer of {src.parent} failed:\n{tail}")
    return json.loads(p.stdout.strip().splitlines()[-1])["ms"]


def train_rows(args, rev_src: Path | None) -> list[dict]:
    rows = []
    base = f"fp32 at {args.baseline_rev} (issue 14's today)"
    for batch in (int(b) for b in args.batches.split(",")):
        trainers = {name: make_trainer("glyph-32", batch, prec, "cpu", args, False)
                    for name, prec in (("fp32", "fp32"), ("bf16, FIR in bf16", "bf16"), ("bf16", "bf16"))}
        ms = {name: float("inf") for name in trainers}
        if rev_src is not None:
            ms[base] = float("inf")
        for _ in range(args.repeats):  # alternating rounds: the same machine state for each
            for name, tr in trainers.items():
                with fir_in_bf16() if name == "bf16, FIR in bf16" else contextlib.nullcontext():
                    ms[name] = min(ms[name], timed(tr.step, argparse.Namespace(**{**vars(args), "repeats": 1}),
                                                   args.steps))
            if rev_src is not None:
                ms[base] = min(ms[base], rev_round(rev_src, batch, args))
        for name in ms:
            rows.append({"workload": f"glyph-32 training iteration, batch {batch}", "precision": name,
                         "ms": ms[name], "images_per_s": batch / ms[name] * 1e3, "vs_fp32": ms["fp32"] / ms[name],
                         "vs_baseline_rev": ms[base] / ms[name] if base in ms else None})
            print(rows[-1], flush=True)
    return rows


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=16, help="training iterations per timed round (16: one lazy R1)")
    ap.add_argument("--batches", default="32")
    ap.add_argument("--baseline-rev", default=ISSUE_14_REV,
                    help=f"git revision whose fp32 trainer is timed too (default {ISSUE_14_REV}, issue 14's "
                         "today); 'none' skips it")
    ap.add_argument("--skip-fir", action="store_true", help="only the training rows")
    ap.add_argument("--out", default="benchmarks/results/bf16_cpu.json")
    args = ap.parse_args(argv)
    # make_trainer reads these of bench_train's options
    args.pl_weight, args.aug = 0.0, "ada"
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"native bf16 on this CPU: {native_bf16('cpu')}", flush=True)
    fir = [] if args.skip_fir else fir_rows(args)
    with tempfile.TemporaryDirectory() as tmp:
        rev_src = None if args.baseline_rev == "none" else extract_rev(args.baseline_rev, Path(tmp))
        train = train_rows(args, rev_src)
    cols = ["workload", "precision", "ms", "images_per_s", "vs_fp32"] + (["vs_baseline_rev"] if rev_src else [])
    result = {"args": vars(args), "native_bf16": native_bf16("cpu"), "fir": fir, "train": train,
              "table": (print_table(fir, ["workload", "baseline_ms", "current_ms", "speedup"]) + "\n" if fir else "")
              + print_table(train, cols)}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

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
On a CPU without bf16 instructions every bf16 row is far slower (no bf16 kernels at all).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
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


def train_rows(args) -> list[dict]:
    rows = []
    for batch in (int(b) for b in args.batches.split(",")):
        trainers = {name: make_trainer("glyph-32", batch, prec, "cpu", args, False)
                    for name, prec in (("fp32", "fp32"), ("bf16, FIR in bf16", "bf16"), ("bf16", "bf16"))}
        ms = {name: float("inf") for name in trainers}
        for _ in range(args.repeats):  # alternating rounds: the same machine state for each
            for name, tr in trainers.items():
                with fir_in_bf16() if name == "bf16, FIR in bf16" else contextlib.nullcontext():
                    ms[name] = min(ms[name], timed(tr.step, argparse.Namespace(**{**vars(args), "repeats": 1}),
                                                   args.steps))
        for name in trainers:
            rows.append({"workload": f"glyph-32 training iteration, batch {batch}", "precision": name,
                         "ms": ms[name], "images_per_s": batch / ms[name] * 1e3, "vs_fp32": ms["fp32"] / ms[name]})
            print(rows[-1], flush=True)
    return rows


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=16, help="training iterations per timed round (16: one lazy R1)")
    ap.add_argument("--batches", default="32")
    ap.add_argument("--out", default="benchmarks/results/bf16_cpu.json")
    args = ap.parse_args(argv)
    # make_trainer reads these of bench_train's options
    args.pl_weight, args.aug = 0.0, "ada"
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"native bf16 on this CPU: {native_bf16('cpu')}", flush=True)
    fir, train = fir_rows(args), train_rows(args)
    result = {"args": vars(args), "native_bf16": native_bf16("cpu"), "fir": fir, "train": train,
              "table": print_table(fir, ["workload", "baseline_ms", "current_ms", "speedup"]) + "\n"
              + print_table(train, ["workload", "precision", "ms", "images_per_s", "vs_fp32"])}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

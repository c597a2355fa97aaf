"""Seconds per fine-tuning iteration at the 256 px StyleGAN2 config (fp32), batch 4, CPU:
our loop (batched modulated conv, lazy R1 every 16 iterations with NVIDIA's lr/beta
correction) against the naive loop (grouped "fused" modulated conv, R1 in every step),
in the same process.

Ours is reported amortised over the R1 interval: (15 * t_plain + t_with_R1) / 16.
Path-length regularisation is off in both (--pl-weight 0).

    OMP_NUM_THREADS=2 python benchmarks/bench_finetune.py --iters 2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from stylebridge.formats import save_checkpoint
from stylebridge.networks import create_discriminator, create_generator, get_config
from stylebridge.train import TrainOptions
from stylebridge.train.loop import Trainer


def _time_steps(tr: Trainer, n: int, at: int | None = None) -> list[float]:
    out = []
    for _ in range(n):
        if at is not None:
            tr.iteration = at
        t = time.perf_counter()
        tr.step()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="stylegan2-256")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--iters", type=int, default=2, help="timed iterations per variant (after 1 warm-up)")
    ap.add_argument("--json", default="benchmarks/results/bench_finetune.json")
    args = ap.parse_args()

    cfg = get_config(args.config, num_fp16_res=0)
    rng = np.random.RandomState(0)
    data = (rng.rand(8, cfg.img_resolution, cfg.img_resolution, 3) * 255).astype(np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        base = save_checkpoint(Path(tmp) / "base.safetensors", G=create_generator(cfg),
                               D=create_discriminator(cfg))
        common = dict(base=str(base), data_array=data, outdir=tmp, batch=args.batch, progress=False,
                      freeze_mapping=True, pl_weight=0.0, device="cpu")
        results = {}
        ours = Trainer(TrainOptions(**common))
        _time_steps(ours, 1, at=1)                       # warm-up (no R1)
        plain = _time_steps(ours, args.iters, at=1)      # iterations without R1
        with_r1 = _time_steps(ours, 1, at=16)            # an R1 iteration
        iv = ours.opts.d_reg_interval
        t_ours = ((iv - 1) * float(np.mean(plain)) + with_r1[0]) / iv
        results["ours"] = {"sec_per_iter": t_ours, "plain_iters": plain, "r1_iter": with_r1[0],
                           "modconv": "batched", "r1": f"lazy, every {iv}"}
        del ours
        naive = Trainer(TrainOptions(**common, lazy_reg=False, fused_modconv=True))
        _time_steps(naive, 1)
        t = _time_steps(naive, args.iters)
        results["naive"] = {"sec_per_iter": float(np.mean(t)), "iters": t, "modconv": "grouped (fused)",
                            "r1": "every step"}
    ratio = results["naive"]["sec_per_iter"] / results["ours"]["sec_per_iter"]
    record = {"config": dataclasses.asdict(cfg), "batch": args.batch, "device": "cpu",
              "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
              "torch": torch.__version__, "results": results, "speedup": ratio}
    print(f"{args.config} fp32, batch {args.batch}, CPU, {torch.get_num_threads()} threads")
    print(f"{'variant':<8} {'s/iter':>8}  details")
    print(f"{'ours':<8} {results['ours']['sec_per_iter']:8.2f}  batched modconv, lazy R1 (plain "
          f"{np.mean(results['ours']['plain_iters']):.2f} s, R1 iteration {results['ours']['r1_iter']:.2f} s)")
    print(f"{'naive':<8} {results['naive']['sec_per_iter']:8.2f}  grouped modconv, R1 every step")
    print(f"speed-up: {ratio:.2f}x")
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

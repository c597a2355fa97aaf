"""Training and projector throughput per precision: images/s and achieved TFLOP/s of the real
training step (G main, D main, lazy R1 and path length at their intervals, EMA), fp32 as the
baseline measured in the same run; and image-steps/s of the projector.

    python benchmarks/bench_train.py                       # CPU: glyph-32, fp32 vs bf16
    python benchmarks/bench_train.py --device cuda --targets glyph-32@256,sg2-64@32 --steps 32
    python benchmarks/bench_train.py --targets sg2-64@32 --channels-last

Targets are NAME@BATCH: glyph-32 (registry) and sg2-64 (the config NVIDIA's `train.py --cfg
auto` picks at 64 px: stylegan2-64 with channel_base 16384, channel_max 512, 2 mapping layers;
issue 14), or any registry name. Precisions: fp32 and bf16 everywhere, fp16 on CUDA.

FLOPs are counted, not estimated: torch.utils.flop_counter.FlopCounterMode records every
convolution, transposed convolution and matrix product (forward, backward and the double
backward of R1 / path length) of the same iterations as the timed ones, on a second trainer
at batch min(batch, 4) with the same iteration phase; the count per image is independent of
the batch (every op is per sample). Element-wise work (activations, FIR filters' depthwise
convolutions are counted, bias/lrelu are not) is left out, as in NVIDIA's and the issue's
count. Timed windows start after `--warmup` iterations and, by default, span 16 iterations
so that lazy R1 (every 16) and path length (every 4, when --pl-weight > 0) are amortised as
in a real run; on a slow CPU pass --steps 4 (main steps and one path-length step only).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402

from stylebridge.train import TrainOptions  # noqa: E402
from stylebridge.train.loop import Trainer, parse_config  # noqa: E402

SG2_64 = '{"name":"stylegan2-64","channel_base":16384,"channel_max":512,"mapping_layers":2}'
ALIASES = {"sg2-64": SG2_64}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _clock(args) -> float:
    """Wall time, or with --clock cpu this process's CPU time: on a shared machine with one
    thread per process (--threads 1) that is what the work costs, whatever the other load."""
    return time.process_time() if args.clock == "cpu" else time.perf_counter()


def make_trainer(config: str, batch: int, prec: str, device: str, args, channels_last: bool) -> Trainer:
    cfg = ALIASES.get(config, config)
    gcfg = parse_config(cfg)
    res, ch = gcfg.img_resolution, gcfg.img_channels
    rng = np.random.RandomState(0)
    data = rng.randint(0, 256, size=[64, ch, res, res], dtype=np.uint8)
    tr = Trainer(TrainOptions(config=cfg, data_array=data, outdir="/nonexistent", batch=batch, progress=False,
                              device=device, precision=prec, pl_weight=args.pl_weight, aug=args.aug, seed=0))
    if channels_last:
        for net in (tr.G, tr.D, tr.G_ema):
            net.to(memory_format=torch.channels_last)
    return tr


def train_row(config: str, batch: int, prec: str, device: torch.device, args, channels_last: bool) -> dict:
    tr = make_trainer(config, batch, prec, str(device), args, channels_last)
    for _ in range(args.warmup):
        tr.step()
    _sync(device)
    t0 = _clock(args)
    for _ in range(args.steps):
        tr.step()
    _sync(device)
    sec = (_clock(args) - t0) / args.steps
    # FLOPs of the same iteration indices, on a small batch.
    fb = min(batch, 4)
    fc = make_trainer(config, fb, prec, str(device), args, channels_last)
    for _ in range(args.warmup):
        fc.step()
    with FlopCounterMode(display=False) as counter:
        for _ in range(args.steps):
            fc.step()
    flop_per_img = counter.get_total_flops() / (args.steps * fb)
    ips = batch / sec
    label = prec + ("+cl" if channels_last else "")
    return {"target": f"{config}@{batch}", "device": str(device), "precision": label, "ms_per_iter": sec * 1e3,
            "images_per_s": ips, "gflop_per_image": flop_per_img / 1e9, "tflops": ips * flop_per_img / 1e12,
            "params_G": sum(p.numel() for p in tr.G.parameters())}


def projector_row(config: str, prec: str, device: torch.device, args) -> dict:
    from stylebridge.invert.api import invert

    tr = make_trainer(config, 1, "fp32", str(device), args, False)
    G = tr.G_ema
    n = args.proj_images
    with torch.no_grad():
        targets = G.synthesis(G.mapping(torch.randn(n, G.z_dim, device=device)), noise_mode="const").clamp(-1, 1)
    kw = dict(steps=args.proj_steps, early_stop=False, precision=prec, batch_size=n, perceptual="auto")
    invert(G, targets, "wplus", **dict(kw, steps=2))  # warm-up
    _sync(device)
    t0 = _clock(args)
    invert(G, targets, "wplus", **kw)
    _sync(device)
    sec = _clock(args) - t0
    return {"target": f"{config} x{n}", "device": str(device), "precision": prec,
            "image_steps_per_s": n * args.proj_steps / sec, "s_total": sec}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", default="glyph-32@32",
                    help="NAME@BATCH,... (glyph-32, sg2-64 or a registry name); none: only the projector")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cpu,cuda")
    ap.add_argument("--precisions", default=None, help="default: fp32,bf16 (+fp16 on CUDA); fp32 always first")
    ap.add_argument("--steps", type=int, default=16, help="timed iterations (16 amortises lazy R1)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--pl-weight", type=float, default=0.0, help="path-length weight (the zoo and NVIDIA auto: 0)")
    ap.add_argument("--aug", default="none")
    ap.add_argument("--channels-last", action="store_true", help="also time each precision with channels_last")
    ap.add_argument("--projector", default=None, help="also time the projector on this config (e.g. sg2-64)")
    ap.add_argument("--proj-images", type=int, default=8)
    ap.add_argument("--proj-steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: process CPU time (CPU device, --threads 1), robust to other load on the machine")
    ap.add_argument("--out", default="benchmarks/results/train.json")
    args = ap.parse_args(argv)
    if args.clock == "cpu" and (args.threads != 1 or "cuda" in args.device):
        ap.error("--clock cpu measures one CPU thread: use it with --threads 1 on --device cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    rows, prows = [], []
    for dev_name in args.device.split(","):
        device = torch.device(dev_name)
        precs = args.precisions.split(",") if args.precisions else \
            ["fp32", "bf16"] + (["fp16"] if device.type == "cuda" else [])
        precs = ["fp32"] + [p for p in precs if p != "fp32"]
        for target in [t for t in args.targets.split(",") if t != "none"]:
            config, batch = target.rsplit("@", 1)
            base = None
            for prec in precs:
                for cl in (False, True) if args.channels_last else (False,):
                    row = train_row(config, int(batch), prec, device, args, cl)
                    base = base or row["images_per_s"]
                    row["vs_fp32"] = row["images_per_s"] / base
                    rows.append(row)
                    print(row, flush=True)
        if args.projector:
            pbase = None
            for prec in [p for p in precs if p in ("fp32", "bf16")]:
                row = projector_row(args.projector, prec, device, args)
                pbase = pbase or row["image_steps_per_s"]
                row["vs_fp32"] = row["image_steps_per_s"] / pbase
                prows.append(row)
                print(row, flush=True)
    table = rows and print_table(rows, ["target", "device", "precision", "ms_per_iter", "images_per_s", "vs_fp32",
                               "gflop_per_image", "tflops"])
    ptable = print_table(prows, ["target", "device", "precision", "image_steps_per_s", "vs_fp32"]) if prows else ""
    result = {"args": vars(args), "rows": rows, "projector": prows, "table": table, "projector_table": ptable}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

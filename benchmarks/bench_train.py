"""Training and projector throughput per precision: images/s and achieved TFLOP/s of the real
training step (G main, D main, lazy R1 and path length at their intervals, EMA), fp32 as the
baseline measured in the same run; and image-steps/s of the projector.

    python benchmarks/bench_train.py                       # CPU: glyph-32, fp32 vs bf16
    python benchmarks/bench_train.py --device cuda --targets glyph-32@256,sg2-64@32 --steps 32
    python benchmarks/bench_train.py --targets sg2-64@32 --channels-last

Targets are NAME@BATCH: glyph-32 (registry) and sg2-64 (the config NVIDIA's `train.py --cfg
auto` picks at 64 px: stylegan2-64 with channel_base 16384, channel_max 512, 2 mapping layers;
issue 14), or any registry name. Precisions: fp32 and bf16 everywhere, fp16 on CUDA.

FLOPs are counted, not estimated: torch.utils.flop_counter's formulas (CountFlops) record every
convolution, transposed convolution and matrix product (forward, backward and the double
backward of R1 / path length) of the same iterations as the timed ones, on a second trainer
at batch min(batch, 4) with the same iteration phase; the count per image is independent of
the batch (every op is per sample), of the precision and of the memory format, so it is made
once per config (`--no-flops` skips it). Element-wise work (activations, FIR filters' depthwise
convolutions are counted, bias/lrelu are not) is left out, as in NVIDIA's and the issue's
count. Timed windows start after `--warmup` iterations and, by default, span 16 iterations
so that lazy R1 (every 16) and path length (every 4, when --pl-weight > 0) are amortised as
in a real run; on a slow CPU pass --steps 4 (main steps and one path-length step only).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402

from stylebridge.train import TrainOptions  # noqa: E402
from stylebridge.train.loop import Trainer, parse_config  # noqa: E402
from stylebridge.utils.device import fast_cuda  # noqa: E402

SG2_64 = '{"name":"stylegan2-64","channel_base":16384,"channel_max":512,"mapping_layers":2}'
ALIASES = {"sg2-64": SG2_64}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _clock(args) -> float:
    """Wall time, or with --clock cpu this process's CPU time: on a shared machine with one
    thread per process (--threads 1) that is what the work costs, whatever the other load."""
    return time.process_time() if args.clock == "cpu" else time.perf_counter()


def make_trainer(config: str, batch: int, prec: str, device: str, args, channels_last: bool,
                 graphs: bool = False) -> Trainer:
    cfg = ALIASES.get(config, config)
    gcfg = parse_config(cfg)
    res, ch = gcfg.img_resolution, gcfg.img_channels
    rng = np.random.RandomState(0)
    data = rng.randint(0, 256, size=[64, ch, res, res], dtype=np.uint8)
    tr = Trainer(TrainOptions(config=cfg, data_array=data, outdir="/nonexistent", batch=batch, progress=False,
                              device=device, precision=prec, pl_weight=args.pl_weight, aug=args.aug, seed=0,
                              cuda_graphs=graphs))
    if channels_last:
        for net in (tr.G, tr.D, tr.G_ema):
            net.to(memory_format=torch.channels_last)
    return tr


def graph_warmup(tr: Trainer) -> int:
    """Iterations until every kind of iteration (lazy path length every g_reg_interval, lazy
    R1 every d_reg_interval) has had its eager warm-up runs and its capture, rounded to whole
    periods so that the timed window starts where a period does. Session 13 timed graphs
    after 4 warm-up iterations: the R1 kind (every 16) was still eager or being captured
    inside the window, and the 64 px config's graph row (96 ms) came out no faster than eager."""
    o = tr.opts
    period = math.lcm(o.g_reg_interval, o.d_reg_interval) if o.lazy_reg else 1
    return period * (tr.graphs.warmup + 1)


def profile_steps(tr: Trainer, steps: int, path: Path) -> dict:
    """torch.profiler over `steps` iterations: the top operators by device (or CPU) time into
    `path`, and how busy the device was: summed kernel time over wall time, and kernel
    launches per iteration (a launch-bound step shows many launches and a low busy share)."""
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if tr.device.type == "cuda" else [])
    _sync(tr.device)
    t0 = time.perf_counter()
    with profile(activities=acts) as prof:
        for _ in range(steps):
            tr.step()
        _sync(tr.device)
    wall = time.perf_counter() - t0
    ev = prof.key_averages()
    dev_attr = "self_device_time_total" if hasattr(ev[0], "self_device_time_total") else "self_cuda_time_total"
    kernel_us = sum(getattr(e, dev_attr, 0) for e in ev)
    launches = sum(e.count for e in ev if e.key in ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC"))
    sort = dev_attr if tr.device.type == "cuda" else "self_cpu_time_total"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ev.table(sort_by=sort, row_limit=40))
    return {"busy_share": kernel_us / 1e6 / wall if tr.device.type == "cuda" else None,
            "launches_per_iter": launches / steps, "profile": str(path)}


_FLOPS: dict[str, float] = {}


class CountFlops(TorchDispatchMode):
    """FLOPs of every op that torch.utils.flop_counter has a formula for (convolutions and
    their gradients, matrix products), without FlopCounterMode's module tracker: its hooks
    break autograd.grad (R1, path length) in PyTorch 2.11."""

    def __init__(self):
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def count_flops(config: str, device: torch.device, args) -> float:
    """FLOPs per image of the same iteration indices, on a small batch; the count is the same
    for every precision and memory format, so it is made once per config."""
    if config not in _FLOPS:
        fb = 4
        fc = make_trainer(config, fb, "fp32", str(device), args, False)
        for _ in range(args.warmup):
            fc.step()
        with CountFlops() as counter:
            for _ in range(args.steps):
                fc.step()
        _FLOPS[config] = counter.total / (args.steps * fb)
    return _FLOPS[config]


def train_row(config: str, batch: int, prec: str, device: torch.device, args, channels_last: bool,
              graphs: bool = False) -> dict:
    tr = make_trainer(config, batch, prec, str(device), args, channels_last, graphs)
    with fast_cuda(device):  # as `train` runs: TF32 and cuDNN's autotuner on CUDA
        for _ in range(graph_warmup(tr) if graphs else args.warmup):
            tr.step()
        _sync(device)
        t0 = _clock(args)
        for _ in range(args.steps):
            tr.step()
        _sync(device)
        sec = (_clock(args) - t0) / args.steps
        prof = {}
        if args.profile:
            name = (f"profile-{config}@{batch}-{prec}{'-cl' if channels_last else ''}{'-graphs' if graphs else ''}"
                    ".txt").replace("/", "_")
            prof = profile_steps(tr, min(args.steps, 4), Path(args.profile) / name)
    flop_per_img = count_flops(config, device, args) if args.flops else float("nan")
    ips = batch / sec
    label = prec + ("+cl" if channels_last else "") + ("+graphs" if graphs else "")
    return {"target": f"{config}@{batch}", "device": str(device), "precision": label, "ms_per_iter": sec * 1e3,
            "images_per_s": ips, "gflop_per_image": flop_per_img / 1e9, "tflops": ips * flop_per_img / 1e12,
            "params_G": sum(p.numel() for p in tr.G.parameters()), **prof}


def projector_row(config: str, prec: str, device: torch.device, args, form: str = "auto") -> dict:
    """image-steps/s of W+ projection; `form` 'auto' is the synthesis' own choice for a batch
    (the batched modulated conv), 'grouped' forces NVIDIA's grouped form (what a CUDA batch in
    fp32 outside training took until the rule changed): the same-run baseline of that change."""
    from stylebridge.invert.api import invert

    tr = make_trainer(config, 1, "fp32", str(device), args, False)
    G = tr.G_ema
    n = args.proj_images
    with torch.no_grad():
        targets = G.synthesis(G.mapping(torch.randn(n, G.z_dim, device=device)), noise_mode="const").clamp(-1, 1)
    kw = dict(steps=args.proj_steps, early_stop=False, precision=prec, batch_size=n, perceptual="auto",
              **({"fused": True} if form == "grouped" else {}))
    invert(G, targets, "wplus", **dict(kw, steps=2))  # warm-up
    _sync(device)
    t0 = _clock(args)
    invert(G, targets, "wplus", **kw)
    _sync(device)
    sec = _clock(args) - t0
    return {"target": f"{config} x{n}", "device": str(device), "precision": prec, "form": form,
            "image_steps_per_s": n * args.proj_steps / sec, "s_total": sec}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", default="glyph-32@32",
                    help="NAME@BATCH,... (glyph-32, sg2-64 or a registry name); none: only the projector")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cpu,cuda")
    ap.add_argument("--precisions", default=None,
                    help="default: fp32,bf16 (+fp16 on CUDA); fp32 runs first, the others are compared with it")
    ap.add_argument("--steps", type=int, default=16, help="timed iterations (16 amortises lazy R1)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--pl-weight", type=float, default=0.0, help="path-length weight (the zoo and NVIDIA auto: 0)")
    ap.add_argument("--aug", default="none")
    ap.add_argument("--channels-last", action="store_true", help="also time each precision with channels_last")
    ap.add_argument("--projector", default=None, help="also time the projector on this config (e.g. sg2-64)")
    ap.add_argument("--proj-images", type=int, default=8)
    ap.add_argument("--proj-forms", default="auto",
                    help="modulated-conv forms of the projector rows: auto (the batched form for a batch) "
                         "and/or grouped (NVIDIA's; the former CUDA fp32 choice), e.g. auto,grouped")
    ap.add_argument("--proj-steps", type=int, default=20)
    ap.add_argument("--cuda-graphs", action="store_true",
                    help="also time each precision with --cuda-graphs (CUDA): those rows warm up until every kind "
                         "of iteration is captured (64 iterations at the default intervals), ignoring --warmup; "
                         "--steps 16 then times one whole period of lazy regularisation")
    ap.add_argument("--profile", default=None, help="also profile 4 iterations per row; tables into this folder")
    ap.add_argument("--flops", action=argparse.BooleanOptionalAction, default=True,
                    help="count FLOPs per image (a second, small trainer; --no-flops skips it)")
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
        precs = sorted(precs, key=lambda p: p != "fp32")  # fp32 first when listed: the baseline
        for target in [t for t in args.targets.split(",") if t != "none"]:
            config, batch = target.rsplit("@", 1)
            base = None
            for prec in precs:
                variants = [(False, False)] + ([(True, False)] if args.channels_last else []) + \
                    ([(False, True)] if args.cuda_graphs and device.type == "cuda" else [])
                for cl, gr in variants:
                    row = train_row(config, int(batch), prec, device, args, cl, gr)
                    base = base or row["images_per_s"]
                    row["vs_fp32"] = row["images_per_s"] / base
                    rows.append(row)
                    print(row, flush=True)
                    # after each row: a run cut short (a device call's time limit) keeps what it measured
                    write_json(args.out, {"args": vars(args), "rows": rows, "partial": True})
        if args.projector:
            pbase = None
            for prec in [p for p in precs if p in ("fp32", "bf16")]:
                for form in args.proj_forms.split(","):
                    row = projector_row(args.projector, prec, device, args, form)
                    pbase = pbase or row["image_steps_per_s"]
                    row["vs_first"] = row["image_steps_per_s"] / pbase
                    prows.append(row)
                    print(row, flush=True)
    table = rows and print_table(rows, ["target", "device", "precision", "ms_per_iter", "images_per_s", "vs_fp32",
                                        "gflop_per_image", "tflops", "busy_share", "launches_per_iter"])
    ptable = (print_table(prows, ["target", "device", "precision", "form", "image_steps_per_s", "vs_first"])
              if prows else "")
    result = {"args": vars(args), "rows": rows, "projector": prows, "table": table, "projector_table": ptable}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

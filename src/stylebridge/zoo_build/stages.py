"""Training the glyph zoo (issue 8), stage by stage: the glyph datasets, one base generator
trained on ordinary text fonts, then every target domain by the paper's transformation
(fine-tune with the mapping network frozen = FC-FT; FT with the mapping trained for the
ablation), then the models eval_zoo measures. scripts/train_zoo.py is the command line.

Every stage is resumable: runs continue from their last snapshot, finished stages are
skipped; `minutes` stops starting new chunks after that long.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from stylebridge.data.glyphs import render_domain
from stylebridge.errors import CheckpointError, StylebridgeError
from stylebridge.formats import load_checkpoint, save_checkpoint
from stylebridge.train import TrainOptions, finetune, train
from stylebridge.train.loop import find_snapshot
from stylebridge.utils.device import resolve_device
from stylebridge.utils.io import atomic_copy
from stylebridge.utils.precision import default_precision
from stylebridge.zoo_build.variants import DOMAINS, SHIPPED, snapshot_iters, variant_name

ARCH = "glyph-32"
BASE_ITERS_CPU = 3500  # phase 3 of the base (see BASE_PHASES)
FT_ITERS = 1500
BATCH = 32
BASE_BATCH = 64
GAMMA = 0.1  # R1 weight at batch 64 (2 * GAMMA at batch 32). NVIDIA's heuristic (0.0002 * 32^2 / 64 = 0.003)
            # let the first base run collapse to one glyph

# The base is trained in phases; each continues from the previous phase's last snapshot (G, D
# and G_ema; optimiser state and ADA p restart). Phase 1 ran on an H100, phases 2-3 on 2 CPU
# cores: phase 1 alone left the base partly mode-collapsed (mostly '8'/'0'-like blobs), and
# NVIDIA's CIFAR settings (minibatch-stddev over 32 samples, no style mixing) were added then.
BASE_PHASES = (
    dict(iters=2000, batch=BASE_BATCH, gamma=GAMMA, seed=0, mbstd_group=None, style_mixing=0.9),
    dict(iters=500, batch=BATCH, gamma=2 * GAMMA, seed=2, mbstd_group=32, style_mixing=0.9),
    dict(iters=BASE_ITERS_CPU, batch=BATCH, gamma=2 * GAMMA, seed=2, mbstd_group=32, style_mixing=0.0),
)
# v2 (session 9, issue 16: a base that draws every character, its D kept for the styles): one
# long phase from scratch with the settings phases 2-3 found (minibatch-stddev over 32, no
# style mixing, R1 0.2 at batch 32), trained in chunks across sessions and measured along the
# way by scripts/base_curve.py. Its run folder is WORK/base.
BASE_V2_PHASES = (
    dict(iters=30000, batch=BATCH, gamma=2 * GAMMA, seed=5, mbstd_group=32, style_mixing=0.0),
)
# v2-long (session 16): the same phase continued past 30,000 iterations, since the base's sample
# FID was still falling there (12.7 at 25,000, 10.2 at 30,000; issue 16's bar: 7.7). Resumed
# from the 30,000 snapshot (`unstash`, or a copy of WORK/base), the learning rate is constant.
BASE_V2_LONG_PHASES = (dict(BASE_V2_PHASES[0], iters=60000),)
# "first": the first zoo's base (sessions 1-8); "v2": the shipped base since session 16.
BASE_RECIPES = {"first": BASE_PHASES, "v2": BASE_V2_PHASES, "v2-long": BASE_V2_LONG_PHASES}


def zoo_precision(device: str) -> str:
    """The precision of the zoo's runs on this machine: its measured default (bf16 on CPUs with
    AVX512-BF16 or AMX and on recent GPUs, fp32 elsewhere), passed explicitly so that a run
    moving between machines takes each one's. The runs were fp32 until session 11 measured
    glyph-32 from scratch in both (benchmarks/results/precision_quality_glyph32_400.json: FID
    618 / 698 in bf16 against 615 / 699 in fp32 for seeds 0 / 1 after 12,800 images, 1.67x
    faster on an AVX512-BF16 CPU; on an AVX2 CPU bf16 is 37x slower, hence per machine)."""
    return default_precision(resolve_device(device))


def load_array(work: Path, style: str, split: str = "train") -> np.ndarray:
    path = work / "data" / f"{style}_{split}.npz"
    if not path.exists():
        raise StylebridgeError(f"{path} missing: run `python scripts/train_zoo.py data --work {work}` first "
                               "(needs `bash scripts/install-fonts.sh`)")
    with np.load(path) as d:
        return d["images"]


def stage_data(work: Path) -> None:
    (work / "data").mkdir(parents=True, exist_ok=True)
    for style in ("base",) + DOMAINS:
        for split in ("train", "heldout"):
            out = work / "data" / f"{style}_{split}.npz"
            if out.exists():
                continue
            gs = render_domain(style, split)
            np.savez_compressed(out, images=gs.images, labels=gs.labels, font_ids=gs.font_ids,
                                fonts=np.array(gs.fonts))
            print(f"{style} {split}: {len(gs)} glyphs from {len(gs.fonts)} fonts")


def latest_iters(run: Path) -> int:
    """Iterations of a run folder's latest snapshot; 0 when it has none yet."""
    try:
        return snapshot_iters(find_snapshot(run))
    except (CheckpointError, StylebridgeError):
        return 0


def run_chunked(opts: TrainOptions, deadline: float, chunk: int, fn: Callable[[TrainOptions], object]) -> bool:
    """Train in chunks of `chunk` iterations until done or past the deadline. True if done."""
    run = Path(opts.outdir)
    total = opts.iters
    while latest_iters(run) < total:
        if time.time() > deadline:
            return False
        cur = latest_iters(run)
        target = min(total, (cur // chunk + 1) * chunk)
        kw = dict(vars(opts))
        kw.update(iters=target)
        if cur > 0:
            kw.update(resume=str(run), base=None, config=None)
        fn(TrainOptions(**kw))
    return True


def stage_base(work: Path, device: str, minutes: float, phases=BASE_PHASES, cuda_graphs: bool = False,
               init: Path | None = None, chunk: int = 250) -> None:
    """Train the base's phases in chunks; `cuda_graphs` replays each chunk's steps as CUDA
    graphs (a GPU run: at the glyph base's batch the host is the limit, not the GPU).
    `init`: the first phase starts from this checkpoint instead of from scratch (its G, or
    G_ema where it keeps no G; a fresh D where it keeps none, e.g. the shipped base).
    `chunk`: iterations per resumed chunk (snapshots stay every 250)."""
    deadline = time.time() + 60 * minutes
    prev = init
    for i, ph in enumerate(phases):
        run = work / ("base" if i == 0 else f"base-phase{i + 1}")
        start = None if prev is None else prev if prev.is_file() else find_snapshot(prev)
        fresh_d = start is not None and load_checkpoint(start).D is None
        opts = TrainOptions(outdir=str(run), config=ARCH if start is None else None,
                            base=None if start is None else str(start), new_d=fresh_d,
                            data_array=load_array(work, "base"), snap=250, lr_g=0.0025, lr_d=0.0025, aug="ada",
                            device=device, grid_seeds=32, log_every=50, cuda_graphs=cuda_graphs,
                            precision=zoo_precision(device), **ph)
        done = run_chunked(opts, deadline, chunk, train if start is None else finetune)
        print(f"base phase {i + 1}:", "done" if done else "not finished (run again to continue)")
        if not done:
            return
        prev = run


def base_run(work: Path, phases=BASE_PHASES) -> Path:
    """The run folder of the base's last phase (as stage_base names them)."""
    return work / ("base" if len(phases) == 1 else f"base-phase{len(phases)}")


def base_for(work: Path, base_file: Path | None, phases=BASE_PHASES) -> Path:
    """The base the styles start from: `base_file` (e.g. the shipped base) or the last
    snapshot of the base run of recipe `phases`."""
    return base_file if base_file is not None else find_snapshot(base_run(work, phases))


def stage_finetune(work: Path, device: str, minutes: float, iters: int, variants: list[str],
                   styles: tuple[str, ...] = DOMAINS, base_file: Path | None = None, phases=BASE_PHASES,
                   cuda_graphs: bool = False, chunk: int = 250, freeze_g: int = 0) -> None:
    """Fine-tune every style from the last snapshot (G, G_ema, D) of the base run of recipe
    `phases`, or from `base_file`. A base without D (the shipped base keeps G_ema only) gets a
    fresh one, with the base's minibatch-std group (phases 2-3). `cuda_graphs` and `chunk`
    as in `stage_base` (snapshots stay every 250 iterations); `freeze_g`: FreezeG, the base's
    synthesis blocks up to that resolution kept (TrainOptions.freeze_g)."""
    deadline = time.time() + 60 * minutes
    base = base_for(work, base_file, phases)
    fresh_d = load_checkpoint(base).D is None
    for style in styles:
        for variant in variants:
            opts = TrainOptions(outdir=str(work / variant_name(style, variant)), base=str(base),
                                new_d=fresh_d, mbstd_group=BASE_PHASES[-1]["mbstd_group"] if fresh_d else None,
                                data_array=load_array(work, style), iters=iters, batch=BATCH, snap=250,
                                lr_g=0.002, lr_d=0.002, gamma=2 * GAMMA, style_mixing=0.0, aug="ada",
                                freeze_mapping=(variant == "fcft"), freeze_g=freeze_g,
                                device=device, seed=1, grid_seeds=32, log_every=50, precision=zoo_precision(device),
                                cuda_graphs=cuda_graphs)
            done = run_chunked(opts, deadline, chunk, finetune)
            print(f"{variant_name(style, variant)}:", "done" if done else "not finished")


def stage_export(work: Path, snapshots: tuple[int, ...] = (), base_file: Path | None = None,
                 shipped: Path | None = None, phases=BASE_PHASES) -> None:
    """WORK/models/: base.safetensors (G, G_ema, D) and STYLE-VARIANT.safetensors (G_ema,
    fp16): what scripts/eval_zoo.py measures and `package` ships. `shipped`: a zoo folder whose
    style models are exported too, as STYLE-shipped, to compete as they are."""
    out = work / "models"
    c = load_checkpoint(base_for(work, base_file, phases))
    save_checkpoint(out / "base.safetensors", G=c.G, G_ema=c.G_ema, D=c.D)
    for style in DOMAINS if shipped is not None else ():
        if (shipped / f"{style}.safetensors").is_file():
            save_checkpoint(out / f"{style}-{SHIPPED}.safetensors",
                            G_ema=load_checkpoint(shipped / f"{style}.safetensors").G_ema, dtype=torch.float16)
            print("exported", f"{style}-{SHIPPED}")
    for run in sorted(p for p in work.iterdir() if p.is_dir() and p.name.split("-")[0] in DOMAINS):
        if not list(run.glob("network-snapshot-*.safetensors")):
            print("skipped", run.name, "(no snapshot yet)")
            continue
        save_checkpoint(out / f"{run.name}.safetensors", G_ema=load_checkpoint(find_snapshot(run)).G_ema,
                        dtype=torch.float16)
        print("exported", run.name)
        for n in snapshots if run.name.endswith("-fcft") else ():  # earlier FC-FT snapshots compete too
            snap = run / f"network-snapshot-{n:06d}.safetensors"
            if snap.exists():
                save_checkpoint(out / f"{run.name}{n}.safetensors", G_ema=load_checkpoint(snap).G_ema,
                                dtype=torch.float16)
                print("exported", f"{run.name}{n}")


def stage_stash(work: Path, dest: Path, runs: tuple[str, ...] = ("base",)) -> None:
    """Copy the last snapshot of each of `runs` (folders of WORK) and its log into DEST, a
    folder that outlives the machine (the repository: a session's machine and its runs/ are
    gone when it ends). A snapshot holds everything to continue bit for bit; older stashed
    snapshots of the run are removed."""
    for name in runs:
        snap = find_snapshot(work / name)
        out = dest / name
        out.mkdir(parents=True, exist_ok=True)
        lean_snapshot(snap, out / snap.name)  # written (atomically) before the older one goes
        for old in out.glob("network-snapshot-*.safetensors"):
            if old.name != snap.name:
                old.unlink()
        if (work / name / "log.jsonl").is_file():
            atomic_copy(work / name / "log.jsonl", out / "log.jsonl")
        print(f"stashed {name}: {snap.name} -> {out}")


def lean_snapshot(snap: Path, out: Path) -> None:
    """Save the training snapshot `snap` as `out` with what a resume never reads zeroed: Adam's
    first moment where beta1 is 0 (NVIDIA's setting; each step overwrites it with the gradient).
    The resume stays bit for bit; the zeros cost the repository next to nothing."""
    ck = load_checkpoint(snap)
    extra = {k: v for k, v in ck.extra.items() if k != "stylebridge_version"}
    for opt in ("G_opt", "D_opt"):
        sd = extra.get(opt)
        if sd and all(g["betas"][0] == 0 for g in sd["param_groups"]):
            for st in sd["state"].values():
                st["exp_avg"] = torch.zeros_like(st["exp_avg"])
    save_checkpoint(out, G=ck.G, G_ema=ck.G_ema, D=ck.D, extra=extra)


def stage_unstash(dest: Path, work: Path) -> None:
    """Put DEST's stashed runs back into WORK, where `base` / `finetune` continue them. A run
    of WORK that has got as far or further keeps its own snapshots."""
    for out in sorted(p for p in dest.iterdir() if p.is_dir()) if dest.is_dir() else ():
        snap = find_snapshot(out)
        run = work / out.name
        if latest_iters(run) >= snapshot_iters(snap):
            print(f"{run} is at {latest_iters(run)} iterations already: kept")
            continue
        run.mkdir(parents=True, exist_ok=True)
        for src in (snap, out / "log.jsonl"):
            if src.is_file():
                atomic_copy(src, run / src.name)
        print(f"unstashed {out.name}: {snap.name} -> {run}")

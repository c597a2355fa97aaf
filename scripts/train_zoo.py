"""Reproduce the shipped glyph zoo from scratch (issue 8): one base generator trained on
ordinary text fonts, then every target domain by the paper's transformation (fine-tune with
the mapping network frozen = FC-FT, then layer swap), plus the ablation variants (FT with
the mapping trained; FC-FT + LS at each swap resolution) for the README's table.

Every stage is resumable: runs continue from their last snapshot, finished stages are
skipped. Run it in chunks (`--minutes`) where a session or machine is time-limited.

    python scripts/train_zoo.py data   --work runs/zoo            # render the glyph datasets (needs fonts)
    python scripts/train_zoo.py base   --work runs/zoo --minutes 8
    python scripts/train_zoo.py finetune --work runs/zoo --minutes 8
    python scripts/train_zoo.py finetune --work runs/zoo --styles script,outline   # split over processes
    python scripts/train_zoo.py export --work runs/zoo --snapshots 750,1000     # + earlier FC-FT snapshots
    python scripts/eval_zoo.py --models runs/zoo/models --data runs/zoo/data
    python scripts/eval_zoo.py --table                                          # prints the --choose below
    python scripts/train_zoo.py package --work runs/zoo --choose script=ls4@750,pixel=off,...

On a CPU (2 cores) the same commands work; each model takes longer (see TRAINING.md).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
import torch

from stylebridge.train import TrainOptions, finetune, train
from stylebridge.train.loop import find_snapshot
from stylebridge.utils.io import atomic_write_text

DOMAINS = ("script", "pixel", "outline", "blackletter")
ARCH = "glyph-32"
BASE_ITERS_CPU = 3500  # phase 3 of the base (see BASE_PHASES)
FT_ITERS = 1500
BATCH = 32
BASE_BATCH = 64
GAMMA = 0.1  # R1 weight at batch 64 (2 * GAMMA at batch 32). NVIDIA's heuristic (0.0002 * 32^2 / 64 = 0.003)
            # let the first base run collapse to one glyph


def load_array(work: Path, style: str, split: str = "train") -> np.ndarray:
    path = work / "data" / f"{style}_{split}.npz"
    if not path.exists():
        raise SystemExit(f"{path} missing: run `python scripts/train_zoo.py data --work {work}` first "
                         "(needs `bash scripts/install-fonts.sh`)")
    with np.load(path) as d:
        return d["images"]


def stage_data(work: Path) -> None:
    from stylebridge.data.glyphs import render_domain

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


def _done(run: Path, iters: int) -> bool:
    try:
        snap = find_snapshot(run)
    except Exception:
        return False
    return int(snap.stem.split("-")[-1]) >= iters


def _run_chunked(opts: TrainOptions, deadline: float, chunk: int, fn) -> bool:
    """Train in chunks of `chunk` iterations until done or past the deadline. True if done."""
    run = Path(opts.outdir)
    total = opts.iters
    while not _done(run, total):
        if time.time() > deadline:
            return False
        try:
            cur = int(find_snapshot(run).stem.split("-")[-1])
        except Exception:
            cur = 0
        target = min(total, (cur // chunk + 1) * chunk)
        kw = dict(vars(opts))
        kw.update(iters=target)
        if cur > 0:
            kw.update(resume=str(run), base=None, config=None)
        fn(TrainOptions(**kw))
    return True


# The base is trained in phases; each continues from the previous phase's last snapshot (G, D
# and G_ema; optimiser state and ADA p restart). Phase 1 ran on an H100, phases 2-3 on 2 CPU
# cores: phase 1 alone left the base partly mode-collapsed (mostly '8'/'0'-like blobs), and
# NVIDIA's CIFAR settings (minibatch-stddev over 32 samples, no style mixing) were added then.
BASE_PHASES = (
    dict(iters=2000, batch=BASE_BATCH, gamma=GAMMA, seed=0, mbstd_group=None, style_mixing=0.9),
    dict(iters=500, batch=BATCH, gamma=2 * GAMMA, seed=2, mbstd_group=32, style_mixing=0.9),
    dict(iters=BASE_ITERS_CPU, batch=BATCH, gamma=2 * GAMMA, seed=2, mbstd_group=32, style_mixing=0.0),
)


def stage_base(work: Path, device: str, minutes: float, phases=BASE_PHASES) -> None:
    deadline = time.time() + 60 * minutes
    prev = None
    for i, ph in enumerate(phases):
        run = work / ("base" if i == 0 else f"base-phase{i + 1}")
        opts = TrainOptions(outdir=str(run), config=ARCH if prev is None else None,
                            base=None if prev is None else str(find_snapshot(prev)),
                            data_array=load_array(work, "base"), snap=250, lr_g=0.0025, lr_d=0.0025, aug="ada",
                            device=device, grid_seeds=32, log_every=50, **ph)
        done = _run_chunked(opts, deadline, 250, train if prev is None else finetune)
        print(f"base phase {i + 1}:", "done" if done else "not finished (run again to continue)")
        if not done:
            return
        prev = run


def base_run(work: Path) -> Path:
    """The run folder of the base's last phase."""
    return work / f"base-phase{len(BASE_PHASES)}"


def stage_finetune(work: Path, device: str, minutes: float, iters: int, variants: list[str],
                   styles: tuple[str, ...] = DOMAINS) -> None:
    deadline = time.time() + 60 * minutes
    base = find_snapshot(base_run(work))
    for style in styles:
        for variant in variants:
            opts = TrainOptions(outdir=str(work / f"{style}-{variant}"), base=str(base),
                                data_array=load_array(work, style), iters=iters, batch=BATCH, snap=250,
                                lr_g=0.002, lr_d=0.002, gamma=2 * GAMMA, style_mixing=0.0, aug="ada",
                                freeze_mapping=(variant == "fcft"),
                                device=device, seed=1, grid_seeds=32, log_every=50)
            done = _run_chunked(opts, deadline, 250, finetune)
            print(f"{style}-{variant}:", "done" if done else "not finished")


def stage_export(work: Path, snapshots: tuple[int, ...] = ()) -> None:
    """runs/zoo/models/: base.safetensors (G, G_ema, D) and STYLE-VARIANT.safetensors (G_ema,
    fp16): what scripts/eval_zoo.py measures and `package` ships."""
    from stylebridge.formats import load_checkpoint, save_checkpoint

    out = work / "models"
    c = load_checkpoint(find_snapshot(base_run(work)))
    save_checkpoint(out / "base.safetensors", G=c.G, G_ema=c.G_ema, D=c.D)
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


DESCRIPTIONS = {"base": "ordinary text fonts: serif, sans, slab, mono", "script": "script and handwriting",
                "pixel": "pixel / bitmap fonts", "outline": "outline letters",
                "blackletter": "blackletter: textura and fraktur (few-shot: 12 fonts)"}


def stage_package(work: Path, variants: dict[str, tuple[int, int] | None], dest: Path) -> None:
    """Ship G_ema of the base and, per domain, FC-FT swapped at the chosen resolution (fp16),
    variants[style] = (swap resolution, iterations): resolution 0 is no swap, iterations 0
    the final snapshot; None: the domain does not ship. A manifest records each recipe and,
    from WORK/eval.json, its measurements."""
    from stylebridge.formats import load_checkpoint, round_to, save_checkpoint
    from stylebridge.train.swap import swap_layers

    dest.mkdir(parents=True, exist_ok=True)
    evaluation = json.loads((work / "eval.json").read_text()) if (work / "eval.json").exists() else {}
    base = load_checkpoint(work / "models" / "base.safetensors").G_ema
    round_to(base, torch.float16)  # the zoo ships in fp16, as the fine-tuned models came back: round the base alike
    save_checkpoint(dest / "base.safetensors", G_ema=base, dtype=torch.float16)
    base_iters = " + ".join(str(p["iters"]) for p in BASE_PHASES)
    models = {"base": {"file": "base.safetensors", "description": DESCRIPTIONS["base"],
                       "recipe": f"trained from scratch ({ARCH}, {base_iters} iterations in {len(BASE_PHASES)} phases)"}}
    for old in dest.glob("*.safetensors"):  # a domain shipped before and dropped now must not linger
        if old.stem != "base" and variants.get(old.stem, 0) is None:
            old.unlink()
    for style in DOMAINS:
        choice = variants.get(style, (0, 0))
        if choice is None:
            print("not shipped:", style)
            continue
        r, it = choice
        model = f"{style}-fcft" + (str(it) if it else "")
        ft = load_checkpoint(work / "models" / f"{model}.safetensors").G_ema
        G = swap_layers(base, ft, r) if r else ft
        save_checkpoint(dest / f"{style}.safetensors", G_ema=G, dtype=torch.float16)
        entry = {"file": f"{style}.safetensors", "description": DESCRIPTIONS[style],
                 "recipe": f"FC-FT (frozen mapping, {it or FT_ITERS} iterations, ADA)" + (f" + LS {r} px" if r else "")}
        row = evaluation.get(model + (f"-ls{r}" if r else ""))
        if row:
            entry.update(content_accuracy=round(row["content"]["merged"], 3), style_accuracy=round(row["style"], 3),
                         realism_fid=round(row["realism_fid"], 1))
        models[style] = entry
    manifest = {"name": "glyphs", "kind": "glyphs", "base": "base", "resolution": 32, "models": models}
    atomic_write_text(dest / "zoo.json", json.dumps(manifest, indent=2) + "\n")
    if evaluation:
        atomic_write_text(dest / "eval.json", json.dumps(evaluation, indent=2) + "\n")
    print("packaged", dest, sum(p.stat().st_size for p in dest.glob("*.safetensors")) / 1e6, "MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["data", "base", "finetune", "export", "package"])
    ap.add_argument("--work", default="runs/zoo")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--minutes", type=float, default=1e9, help="stop starting new chunks after this long")
    ap.add_argument("--ft-iters", type=int, default=FT_ITERS)
    ap.add_argument("--variants", default="fcft,ft", help="fine-tuning variants: fcft (frozen mapping), ft")
    ap.add_argument("--styles", default=",".join(DOMAINS),
                    help="finetune: which target domains (comma-separated; split them over processes to use more cores)")
    ap.add_argument("--choose", default="", help="package: STYLE=lsR[@N],... (swap resolution, ls0 = no swap; @N: the N-iteration FC-FT snapshot; "
                         "off = do not ship the style)")
    ap.add_argument("--snapshots", default="", help="export: also earlier FC-FT snapshots, e.g. 750,1000")
    ap.add_argument("--dest", default="src/stylebridge/zoo/glyphs")
    args = ap.parse_args()
    work = Path(args.work)
    if args.stage == "data":
        stage_data(work)
    elif args.stage == "base":
        stage_base(work, args.device, args.minutes)
    elif args.stage == "finetune":
        stage_finetune(work, args.device, args.minutes, args.ft_iters, args.variants.split(","),
                       tuple(args.styles.split(",")))
    elif args.stage == "export":
        stage_export(work, tuple(int(n) for n in args.snapshots.split(",") if n))
    else:
        choice = {}
        for kv in filter(None, args.choose.split(",")):
            m = re.fullmatch(r"(\w+)=(?:off|ls(\d+)(?:@(\d+))?)", kv)
            if not m or m[1] not in DOMAINS:
                raise SystemExit(f"--choose: '{kv}' is not STYLE=lsR, STYLE=lsR@N or STYLE=off "
                                 f"(STYLE one of {', '.join(DOMAINS)})")
            choice[m[1]] = None if kv.endswith("=off") else (int(m[2]), int(m[3] or 0))
        stage_package(work, choice, Path(args.dest))


if __name__ == "__main__":
    main()

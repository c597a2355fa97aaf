"""Reproduce the shipped glyph zoo from scratch (issue 8): one base generator trained on
ordinary text fonts, then every target domain by the paper's transformation (fine-tune with
the mapping network frozen = FC-FT, then layer swap), plus the ablation variants (FT with
the mapping trained; FC-FT + LS at each swap resolution) for the README's table.

Every stage is resumable: runs continue from their last snapshot, finished stages are
skipped. Run it in chunks (`--minutes`) where a session or machine is time-limited.

    python scripts/train_zoo.py data   --work runs/zoo            # render the glyph datasets (needs fonts)
    python scripts/train_zoo.py base   --work runs/zoo --recipe first --minutes 8
    python scripts/train_zoo.py base   --work runs/zoo2 --recipe v2 --minutes 160   # the v2 base, in chunks
    python scripts/train_zoo.py base   --work runs/zoo3 --recipe v2 --init src/stylebridge/zoo/glyphs/base.safetensors
    python scripts/train_zoo.py stash  --work runs/zoo3      # the base run's last snapshot -> stash/zoo3 (commit it)
    python scripts/train_zoo.py unstash --work runs/zoo3     # on the next machine: back into runs/zoo3, then `base`
    python scripts/train_zoo.py finetune --work runs/zoo2 --recipe v2 --variants fcft  # styles from its last snapshot
    python scripts/train_zoo.py finetune --work runs/zoo --recipe first --minutes 8
    python scripts/train_zoo.py finetune --work runs/zoo --recipe first --styles script,outline   # split over processes
    python scripts/train_zoo.py export --work runs/zoo --recipe first --snapshots 750,1000  # + earlier FC-FT snapshots
    python scripts/eval_zoo.py --models runs/zoo/models --data runs/zoo/data
    python scripts/eval_zoo.py --table                                          # prints the --choose below
    python scripts/train_zoo.py package --work runs/zoo --recipe first --choose script=ls4@750,pixel=off,...
    python scripts/train_zoo.py package --work runs/zoo3fg8 --choose script=ls0,outline=ls0@750,... \
        --strength outline=0.9 --encoder ENC.safetensors --encoder-entry '{"appearance": "mean", "steps": 50}'
    python scripts/train_zoo.py base --work runs/zoo4 --recipe v2-long   # the v2 phase continued past 30,000

Styles can also be re-trained from the shipped base (with its D since session 16; a base without
one gets a fresh D) while the others stay, the shipped models competing with the new ones (see TRAINING.md):

    python scripts/train_zoo.py finetune --work runs/zoo7 --base-file src/stylebridge/zoo/glyphs/base.safetensors \
        --styles blackletter --variants fcft --ft-iters 3000
    python scripts/train_zoo.py export --work runs/zoo7 --base-file src/stylebridge/zoo/glyphs/base.safetensors \
        --snapshots 1000,2000 --shipped src/stylebridge/zoo/glyphs
    python scripts/eval_zoo.py --models runs/zoo7/models --data runs/zoo/data --out runs/zoo7/eval.json
    python scripts/train_zoo.py package --work runs/zoo7 --choose script=keep,outline=keep,blackletter=ls8@2000

On a CPU (2 cores) the same commands work; each model takes longer (see TRAINING.md).
The stages live in stylebridge.zoo_build; this file only reads the command line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stylebridge.errors import StylebridgeError
from stylebridge.zoo_build.package import stage_package, stage_references
from stylebridge.zoo_build.stages import (
    BASE_RECIPES,
    FT_ITERS,
    stage_base,
    stage_data,
    stage_export,
    stage_finetune,
    stage_stash,
    stage_unstash,
)
from stylebridge.zoo_build.variants import DOMAINS, parse_choice, parse_entry, parse_strengths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["data", "base", "finetune", "export", "package", "references", "stash",
                                      "unstash"])
    ap.add_argument("--work", default="runs/zoo")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--recipe", default="v2", choices=sorted(BASE_RECIPES),
                    help="base: v2 (the shipped base: one long phase, WORK/base; issue 16), v2-long "
                         "(that phase continued to 60,000 iterations) or first (the first zoo's three phases); "
                         "finetune / export / package: the base run they start from (its last snapshot)")
    ap.add_argument("--minutes", type=float, default=1e9, help="stop starting new chunks after this long")
    ap.add_argument("--cuda-graphs", action="store_true",
                    help="base / finetune: replay the training steps as CUDA graphs (one CUDA device; see "
                         "`train --help`)")
    ap.add_argument("--chunk", type=int, default=250,
                    help="base / finetune: iterations per chunk (each chunk resumes from the last snapshot; a GPU "
                         "run takes 1000 or more: the resume and graph capture would cost more than the steps)")
    ap.add_argument("--ft-iters", type=int, default=FT_ITERS)
    ap.add_argument("--freeze-g", type=int, default=0,
                    help="finetune: FreezeG, keep the base's synthesis blocks up to this resolution (e.g. 8); use a "
                         "work folder of its own (its runs have the same names)")
    ap.add_argument("--variants", default="fcft,ft", help="fine-tuning variants: fcft (frozen mapping), ft")
    ap.add_argument("--styles", default=",".join(DOMAINS),
                    help="finetune: which target domains (comma-separated; split them over processes to use more "
                         "cores)")
    ap.add_argument("--choose", default="", help="package: STYLE=lsR[@N],... (swap resolution, ls0 = no swap; @N: "
                    "the N-iteration FC-FT snapshot; off = do not ship the style; keep = its shipped model stays)")
    ap.add_argument("--snapshots", default="", help="export: also earlier FC-FT snapshots, e.g. 750,1000")
    ap.add_argument("--dest", default="src/stylebridge/zoo/glyphs")
    ap.add_argument("--base-file", default=None,
                    help="finetune / export: start the styles from this base checkpoint (e.g. the shipped base) "
                         "instead of the base run's last snapshot")
    ap.add_argument("--init", default=None,
                    help="base: start the first phase from this checkpoint instead of from scratch (e.g. the "
                         "shipped base: its G_ema as G, a fresh D)")
    ap.add_argument("--shipped", default=None,
                    help="export: also this zoo folder's style models, as STYLE-shipped, to compete as they are")
    ap.add_argument("--stash", default=None,
                    help="stash / unstash: the folder that carries runs between machines (default: stash/NAME "
                         "for --work .../NAME, committed to the repository)")
    ap.add_argument("--runs", default="base", help="stash: which run folders of WORK (comma-separated)")
    ap.add_argument("--recipe-note", default="", help="package: appended to the recipe of newly packaged styles")
    ap.add_argument("--strength", default="", help="package: STYLE=A,... the style strength a newly packaged style "
                    "is drawn at (chosen on validation glyphs: benchmarks/exp_strength.py)")
    ap.add_argument("--encoder", default=None, help="package: ship this encoder file (trained for the packaged base) "
                    "as DEST/encoder.safetensors")
    ap.add_argument("--encoder-entry", default="{}", help="package: with --encoder, its zoo.json entry as JSON "
                    "(description, recipe, appearance, steps: translate/zoo.py)")
    args = ap.parse_args()
    if args.chunk < 1:
        ap.error(f"--chunk must be at least 1 iteration, got {args.chunk}")
    work = Path(args.work)
    base_file = Path(args.base_file) if args.base_file else None
    stash = Path(args.stash) if args.stash else Path("stash") / work.name
    if args.init and not Path(args.init).is_file():
        raise SystemExit(f"--init {args.init}: no such checkpoint file")
    try:
        if args.stage == "data":
            stage_data(work)
        elif args.stage == "base":
            stage_base(work, args.device, args.minutes, phases=BASE_RECIPES[args.recipe], cuda_graphs=args.cuda_graphs,
                       chunk=args.chunk, init=Path(args.init) if args.init else None)
        elif args.stage == "finetune":
            stage_finetune(work, args.device, args.minutes, args.ft_iters, args.variants.split(","),
                           tuple(args.styles.split(",")), base_file=base_file, phases=BASE_RECIPES[args.recipe],
                           cuda_graphs=args.cuda_graphs, chunk=args.chunk, freeze_g=args.freeze_g)
        elif args.stage == "export":
            stage_export(work, tuple(int(n) for n in args.snapshots.split(",") if n), base_file=base_file,
                         shipped=Path(args.shipped) if args.shipped else None, phases=BASE_RECIPES[args.recipe])
        elif args.stage == "stash":
            stage_stash(work, stash, tuple(args.runs.split(",")))
        elif args.stage == "unstash":
            stage_unstash(stash, work)
        elif args.stage == "references":  # (also part of package) real held-out glyphs per shipped style
            stage_references(work / "data", Path(args.dest))
        else:
            stage_package(work, parse_choice(args.choose), Path(args.dest), recipe_note=args.recipe_note,
                          phases=BASE_RECIPES[args.recipe], strengths=parse_strengths(args.strength),
                          encoder=Path(args.encoder) if args.encoder else None,
                          encoder_entry=parse_entry(args.encoder_entry))
    except StylebridgeError as e:
        raise SystemExit(str(e)) from None


if __name__ == "__main__":
    main()

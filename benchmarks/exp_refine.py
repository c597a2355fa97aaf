"""How to refine an encoder's codes (issue 15): peak learning rate and steps of the W+
refinement that starts from the encoder's codes, against today's default (W+ from the mean
w, 200 steps), on the glyphs of bench_encoder.py (held-out base fonts, RandomState(0) sample;
`--set pillow`: Pillow's default font; `--set validation`: glyphs of held-out fonts that no
benchmark reports on, to choose defaults on). The encoder's codes get the default feedback passes.

    python benchmarks/exp_refine.py [--encoder FILE] [--lrs 0.02,0.05,0.1] [--steps 20,40,80]
                                    [--ramps 0.05:0.25,0:0.5] [--set held-out|pillow] [--early-stop 16:8:0.002]
                                    [--precision bf16]

Per row: seconds per image (batches of 32, this machine, after a warm-up call), LPIPS-VGG, SSIM and content
accuracy of the reconstruction. Prints the table, writes JSON. The refinement's default
(REFINE_LR in stylebridge.invert.api) is the lr with the lowest mean LPIPS over the step
counts measured (20 and 40). --ramps: warm-up and ramp-down shares of the steps
(ProjectorConfig.lr_rampup / lr_rampdown; default: the projector's own).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_encoder import glyph_sets, timed_inversion  # noqa: E402
from common import print_table, write_json  # noqa: E402

from stylebridge.metrics.glyph_classifier import load_glyph_classifier  # noqa: E402
from stylebridge.metrics.lpips import load_lpips  # noqa: E402
from stylebridge.translate import Zoo  # noqa: E402
from stylebridge.zoo import shipped_zoo_dir  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="runs/zoo/data")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--encoder", default=None, help="encoder file (default: the zoo's)")
    ap.add_argument("--lrs", default="0.02,0.05,0.1")
    ap.add_argument("--steps", default="20,40,80")
    ap.add_argument("--ramps", default=None, help="UP:DOWN shares of the lr schedule, comma-separated")
    ap.add_argument("--set", choices=["held-out", "pillow", "validation"], default="held-out",
                    help="held-out base fonts, Pillow's default font (the demo's input), or --n glyphs of the "
                         "held-out fonts that no benchmark reports on (exp_feedback.py's validation set)")
    ap.add_argument("--skip-default", action="store_true", help="leave out the W+ 200 row (the slowest)")
    ap.add_argument("--early-stop", default=None, metavar="MIN:PATIENCE:TOL",
                    help="also each encoder row with the projector's early stopping from MIN steps (an image "
                         "stops when its loss has not improved by TOL, relative, for PATIENCE steps)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="arithmetic of the encoder rows' refinement (the W+ 200 row, the reference, stays fp32): "
                         "bf16 where the CPU has it (README, bench_invert_precision.py)")
    ap.add_argument("--out", default="benchmarks/results/refine.json")
    args = ap.parse_args(argv)
    zoo = Zoo.from_dir(shipped_zoo_dir())
    G = zoo[zoo.base]
    if args.encoder:
        from stylebridge.encoder import load_encoder

        E = load_encoder(args.encoder, G)
    else:
        E = zoo.encoder()
    if args.set == "validation":
        from exp_feedback import validation_set

        x, y, _ = validation_set(Path(args.data), args.n)
    else:
        sets = glyph_sets(Path(args.data), args.n, G.img_resolution, pillow_only=args.set == "pillow")
        x, y = sets["held-out fonts" if args.set == "held-out" else "Pillow default font"]
    clf, lp = load_glyph_classifier(), load_lpips("vgg", "cpu")
    common = {"perceptual": "pixel", "precision": "fp32", "seed": 0}
    runs = [] if args.skip_default else [("wplus 200 (default)", "wplus", {"steps": 200})]
    ramps = [None] if not args.ramps else [tuple(map(float, r.split(":"))) for r in args.ramps.split(",")]
    tag = "" if args.precision == "fp32" else f", {args.precision}"
    runs += [(f"encoder + {s} @ lr {lr}" + (f", ramps {r[0]}:{r[1]}" if r else "") + tag, "encoder",
              {"encoder": E, "steps": s, "lr": lr, "precision": args.precision,
               **({"lr_rampup": r[0], "lr_rampdown": r[1]} if r else {})})
             for r in ramps for lr in map(float, args.lrs.split(",")) for s in map(int, args.steps.split(","))]
    if args.early_stop:
        mn, pat, tol = args.early_stop.split(":")
        es = {"early_stop": True, "min_steps": int(mn), "patience": int(pat), "tol": float(tol)}
        runs += [(f"{name}, early stop {args.early_stop}", method, {**opts, **es})
                 for name, method, opts in runs if method == "encoder"]
    rows = []
    for name, method, opts in runs:
        metrics, res = timed_inversion(G, x, y, method, {**common, **opts}, clf, lp)
        row = {"method": name, **metrics, "steps": float(res.steps.float().mean())}
        rows.append(row)
        print(row, flush=True)
    table = print_table(rows, ["method", "s_per_img", "steps", "lpips", "ssim", "content"])
    write_json(args.out, {"n": len(x), "set": args.set, "encoder": str(args.encoder or zoo.encoder_path),
                          "precision": args.precision,
                          "rows": rows, "table": table})
    return {"rows": rows}


if __name__ == "__main__":
    main()

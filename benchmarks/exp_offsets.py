"""Do codes nearer W translate with more style (issue 15)? e4e's premise, measured on
translation: each W+ code is pulled toward its mean over layers, ws' = m + scale * (ws - m),
before the target models render it (the reconstruction is not touched). scale 1 is today's
translation, 0 one w for every layer.

    python benchmarks/exp_offsets.py [--n 256] [--scales 1,0.75,0.5,0.25,0] [--wplus] [--swap 0:3,3:5,5:8]
                                     [--mean-appearance]

Measured on exp_feedback.py's validation set (glyphs of held-out fonts that no benchmark
reports on). Codes: the encoder with its default feedback passes, and with `--wplus` today's
default W+ optimisation (200 steps, pixel + gradient loss, as bench_encoder.py). Per code
and scale: mean content and style accuracy of the translations into the shipped styles.
`--swap A:B,...` (with --wplus): also the encoder's codes with style inputs A..B-1 taken from
W+'s codes, to see which layers carry the difference in style. `--mean-appearance`: also each
code's translation with the target's mean w in the style inputs that the translator's
multi-modal columns give an appearance code (its own `mix` and `appearance_codes` at
truncation 0: what `translate --modes 1 --trunc 0` draws). Prints the table, writes JSON.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_encoder import DEFAULT_STEPS, STYLES  # noqa: E402
from common import print_table, write_json  # noqa: E402
from exp_feedback import validation_set  # noqa: E402

from stylebridge.invert.api import invert, render  # noqa: E402
from stylebridge.metrics.glyph_classifier import accuracies, load_glyph_classifier  # noqa: E402
from stylebridge.translate import Zoo  # noqa: E402
from stylebridge.translate.translator import default_content_layers, with_mean_appearance  # noqa: E402
from stylebridge.zoo import shipped_zoo_dir  # noqa: E402
from stylebridge.zoo_build.evaluation import style_share, train_style_classifier  # noqa: E402


def pulled(ws: torch.Tensor, scale: float) -> torch.Tensor:
    m = ws.mean(dim=1, keepdim=True)
    return m + scale * (ws - m)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="runs/zoo/data")
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--scales", default="1,0.75,0.5,0.25,0")
    ap.add_argument("--wplus", action="store_true", help="also W+ codes (200 steps: about 1.2 s per glyph here)")
    ap.add_argument("--swap", default="", help="A:B,... style-input ranges taken from W+'s codes (with --wplus)")
    ap.add_argument("--mean-appearance", action="store_true", help="also translations with the target's mean w "
                    "in the appearance inputs")
    ap.add_argument("--out", default="benchmarks/results/offsets.json")
    args = ap.parse_args(argv)
    zoo = Zoo.from_dir(shipped_zoo_dir())
    G = zoo[zoo.base]
    x, y, nfonts = validation_set(Path(args.data), args.n)
    clf = load_glyph_classifier()
    style_clf, ceiling = train_style_classifier(Path(args.data))
    codes = {"encoder": invert(G, x, "encoder", encoder=zoo.encoder()).ws}
    if args.wplus:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            codes["wplus 200"] = invert(G, x, "wplus", batch_size=32, steps=DEFAULT_STEPS, perceptual="pixel",
                                        precision="fp32", seed=0).ws
    for r in filter(None, args.swap.split(",")):
        if "wplus 200" not in codes:
            ap.error("--swap needs --wplus")
        a, b = map(int, r.split(":"))
        hybrid = codes["encoder"].clone()
        hybrid[:, a:b] = codes["wplus 200"][:, a:b]
        codes[f"encoder, W+ inputs {a}:{b}"] = hybrid
    k = default_content_layers(G)
    runs = [(name, ws, scale, False) for name, ws in codes.items()
            for scale in map(float, args.scales.split(",") if "W+ inputs" not in name else ["1"])]
    if args.mean_appearance:
        runs += [(f"{name}, target's mean w in inputs {k}:", ws, 1.0, True) for name, ws in codes.items()
                 if "W+ inputs" not in name]
    rows = []
    for name, ws, scale, mean_app in runs:
        row = {"codes": name, "scale": scale}
        pw = pulled(ws, scale)
        row["reconstruction_content"] = accuracies(clf.predict(render(G, pw).clamp(-1, 1)), y)["merged"]
        for st in STYLES:
            if mean_app:
                pw = with_mean_appearance(zoo[st], ws, k)  # the translator's appearance 'mean'
            out = render(zoo[st], pw).clamp(-1, 1)
            row[f"{st}_content"] = accuracies(clf.predict(out), y)["merged"]
            row[f"{st}_style"] = style_share(style_clf, out, st)
        row["mean_content"] = float(np.mean([row[f"{st}_content"] for st in STYLES]))
        row["mean_style"] = float(np.mean([row[f"{st}_style"] for st in STYLES]))
        rows.append(row)
        print(row, flush=True)
    table = print_table(rows, ["codes", "scale", "reconstruction_content", "mean_content", "mean_style"]
                        + [f"{st}_{m}" for st in STYLES for m in ("content", "style")])
    write_json(args.out, {"n": len(x), "fonts": nfonts, "style_ceiling": ceiling, "rows": rows, "table": table})
    return {"rows": rows}


if __name__ == "__main__":
    main()

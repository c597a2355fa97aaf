"""How many style inputs should carry the input's content code, per shipped style (issue 16)?
With the target's mean appearance (the shipped default translation), the first k style inputs
take the encoder's code and the rest the target's mean w: fewer content layers, more of the
target's look and fewer of the input's characters.

    python benchmarks/exp_content_layers.py [--n 512] [--ks 2,3,4,5,6]

Measured on glyphs of held-out base fonts that no benchmark reports on: exp_feedback.py's
validation fonts (disjoint from bench_encoder.py's), less the 310 glyphs scripts/eval_zoo.py
reports on. Codes: the shipped encoder with its default feedback passes. Per style and k:
content and style accuracy of the translations, and their shares of the ceilings (the glyph
classifier's and the style classifier's accuracy on real held-out glyphs of that style).
The rule that picks k per style is zoo_build.variants' (`choose`): most style among the ks whose
content reaches MIN_CONTENT of the classifier's ceiling. Prints the table, writes JSON.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402
from exp_feedback import validation_set  # noqa: E402

from stylebridge.invert.api import invert, render  # noqa: E402
from stylebridge.metrics.glyph_classifier import accuracies, load_glyph_classifier  # noqa: E402
from stylebridge.translate.translator import default_content_layers, with_mean_appearance  # noqa: E402
from stylebridge.translate.zoo import Zoo  # noqa: E402
from stylebridge.zoo import shipped_zoo_dir  # noqa: E402
from stylebridge.zoo_build.evaluation import load_glyphs, style_share, train_style_classifier  # noqa: E402
from stylebridge.zoo_build.variants import MIN_CONTENT  # noqa: E402

EVAL_ZOO_INPUTS = 310  # scripts/eval_zoo.py's test glyphs: RandomState(0).choice(len, 310)


def validation_glyphs(data: Path, n: int) -> tuple[torch.Tensor, np.ndarray]:
    x_all, _ = load_glyphs(data, "base", "heldout")
    test = set(np.random.RandomState(0).choice(len(x_all), EVAL_ZOO_INPUTS, replace=False).tolist())
    x, y, _ = validation_set(data, 4 * n)
    keep = [i for i in range(len(x)) if not any(torch.equal(x[i], x_all[j]) for j in test)][:n]
    return x[keep], y[keep]


def validation_codes(data: Path, n: int, codes=None):
    """What both validation experiments start from: the shipped zoo, `validation_glyphs` (x, y),
    the glyph classifier, a style classifier trained here with its ceilings, and the glyphs'
    codes by the shipped encoder with its default feedback passes. With `codes` (images -> W+
    codes, e.g. an optimisation in another base) the same without the zoo: (x, y, clf,
    style_clf, ceilings, ws)."""
    if codes is not None:
        x, y = validation_glyphs(data, n)
        print(f"validation: {len(x)} glyphs", flush=True)
        return (x, y, load_glyph_classifier(), *train_style_classifier(data), codes(x))
    zoo = Zoo.from_dir(shipped_zoo_dir())
    G, E = zoo[zoo.base], zoo.encoder()
    x, y = validation_glyphs(data, n)
    print(f"validation: {len(x)} glyphs", flush=True)
    clf = load_glyph_classifier()
    style_clf, style_ceiling = train_style_classifier(data)
    ws = invert(G, x, "encoder", encoder=E, batch_size=64).ws
    return zoo, x, y, clf, style_clf, style_ceiling, ws


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="runs/zoo/data")
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--ks", default="2,3,4,5,6")
    ap.add_argument("--out", default="benchmarks/results/content_layers.json")
    args = ap.parse_args(argv)
    data = Path(args.data)
    zoo, x, y, clf, style_clf, style_ceiling, ws = validation_codes(data, args.n)
    G = zoo[zoo.base]
    rows = []
    for style in [n for n in zoo.names if n != zoo.base]:
        real, y_real = load_glyphs(data, style, "heldout")
        ceiling = accuracies(clf.predict(real), y_real)["merged"]
        for k in [int(k) for k in args.ks.split(",")]:
            with torch.no_grad():
                out = render(zoo[style], with_mean_appearance(zoo[style], ws, k)).clamp(-1, 1)
            content = accuracies(clf.predict(out), y)["merged"]
            st = style_share(style_clf, out, style)
            rows.append({"style": style, "k": k, "default": k == default_content_layers(G), "content": content,
                         "content_share": content / ceiling, "style_acc": st,
                         "style_share": st / style_ceiling[style], "ceiling": ceiling,
                         "style_ceiling": style_ceiling[style]})
            print(rows[-1], flush=True)
    chosen = {}
    for style in dict.fromkeys(r["style"] for r in rows):
        ok = [r for r in rows if r["style"] == style and r["content_share"] >= MIN_CONTENT]
        chosen[style] = max(ok, key=lambda r: (r["style_acc"], r["k"]))["k"] if ok else None
    print_table(rows, ["style", "k", "default", "content", "content_share", "style_acc", "style_share"])
    print(f"chosen k (most style with content >= {MIN_CONTENT:.2f} of the ceiling):", chosen)
    result = {"n": len(x), "rows": rows, "chosen": chosen, "rule": f"content_share >= {MIN_CONTENT}, most style"}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

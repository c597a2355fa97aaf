"""Does a fine-tuned style keep the characters of the base's own samples? (issue 16: the
styles' translations of held-out glyphs lose their characters.) For 500 codes w = mapping(z)
of the base (seed 0, psi 1), the share of G_style(w) that the glyph classifier reads as the
same character as base(w) (merged look-alike groups), with w in every style input ("own w")
and with the style's mean w after the content layers (the zoo's "mean" appearance). These
codes are the ones the fine-tune trained on, so a low share means the fine-tuned synthesis
itself draws other characters, whatever the inversion does. With --data, also the share of
the mean-appearance drawings that eval_zoo's style classifier reads as the model's style (the
name's first part): a quick proxy of eval_zoo's two numbers without its 5-minute inversion.
--strengths draws each model also at those style strengths (train/swap.py `with_strength`).

    python benchmarks/exp_sample_content.py --models runs/zoo3/models [--names script-fcft,...] [--data runs/zoo3/data]
        [--strengths 0.75,1.25] [--out FILE]

(models: a train_zoo.py export folder, its base.safetensors and STYLE-VARIANT files; default
names: every style file there; default FILE: benchmarks/results/sample_content.json)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402

from stylebridge.formats import load_checkpoint  # noqa: E402
from stylebridge.metrics.glyph_classifier import accuracies, load_glyph_classifier  # noqa: E402
from stylebridge.train.swap import with_strength  # noqa: E402
from stylebridge.translate.translator import default_content_layers, with_mean_appearance  # noqa: E402
from stylebridge.zoo_build.evaluation import style_share, train_style_classifier  # noqa: E402
from stylebridge.zoo_build.package import shipping_base  # noqa: E402


def draw(G, ws: torch.Tensor) -> torch.Tensor:
    return torch.cat([G.synthesis(ws[i:i + 100], noise_mode="const").clamp(-1, 1) for i in range(0, len(ws), 100)])


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True)
    ap.add_argument("--names", default="", help="comma-separated model names in MODELS (default: all but base)")
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--strengths", default="1", help="comma-separated style strengths (1 = as trained)")
    ap.add_argument("--data", default=None, help="train_zoo.py data folder: also measure the style share")
    ap.add_argument("--out", default="benchmarks/results/sample_content.json")
    args = ap.parse_args(argv)
    models = Path(args.models)
    names = [n for n in args.names.split(",") if n] or sorted(
        p.stem for p in models.glob("*.safetensors") if p.stem != "base")
    base, clf = shipping_base(models), load_glyph_classifier()
    k = default_content_layers(base)
    style_clf = train_style_classifier(Path(args.data))[0] if args.data else None
    z = torch.randn(args.samples, base.z_dim, generator=torch.Generator().manual_seed(0))
    rows = []
    with torch.no_grad():
        w = base.mapping(z, None)
        y = np.asarray(clf.predict(draw(base, w)))
        for name in names:
            trained = load_checkpoint(models / f"{name}.safetensors").G_ema  # read once, drawn at every strength
            for a in (float(t) for t in args.strengths.split(",")):
                G = with_strength(base, trained, a)
                mean = draw(G, with_mean_appearance(G, w, k))
                rows.append({"model": name, "strength": a, "own_w": accuracies(clf.predict(draw(G, w)), y)["merged"],
                             "mean_appearance": accuracies(clf.predict(mean), y)["merged"]})
                if style_clf is not None:
                    rows[-1]["style"] = style_share(style_clf, mean, name.split("-")[0])
                print(rows[-1], flush=True)
    print_table(rows, ["model", "strength", "own_w", "mean_appearance"] + (["style"] if style_clf is not None else []))
    payload = {"models": str(models), "samples": args.samples, "content_layers": k, "rows": rows}
    write_json(args.out, payload)
    return payload


if __name__ == "__main__":
    main()

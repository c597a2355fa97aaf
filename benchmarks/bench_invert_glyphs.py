"""Inversion method table on REAL images of a trained model's domain: glyphs of held-out
base fonts (never seen in training) inverted with the shipped base glyph model.

    python benchmarks/bench_invert_glyphs.py [--data runs/zoo/data] [--n 32] [--steps 200]

Needs the rendered held-out glyphs (scripts/train_zoo.py data, which needs the fonts) and
LPIPS weights (stylebridge weights install). Prints SSIM, LPIPS-VGG, content accuracy and
seconds per image per method (after a warm-up inversion of 2 images, in batches of 32, as
bench_encoder's `timed_inversion` times every method); writes JSON.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_encoder import timed_inversion  # noqa: E402
from common import print_table, write_json  # noqa: E402

from stylebridge.metrics.glyph_classifier import load_glyph_classifier  # noqa: E402
from stylebridge.metrics.lpips import load_lpips  # noqa: E402
from stylebridge.translate import Zoo  # noqa: E402
from stylebridge.zoo import shipped_zoo_dir  # noqa: E402

VARIANTS = [
    ("sefa", {}), ("sefa top-64", {"topk": 64}), ("sefa clamp 3", {"clamp": 3.0}),
    ("w", {}), ("wplus", {}),
]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="runs/zoo/data")
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--perceptual", default="pixel")
    ap.add_argument("--out", default="benchmarks/results/invert_glyphs.json")
    args = ap.parse_args(argv)
    zoo = Zoo.from_dir(shipped_zoo_dir())
    G = zoo[zoo.base]
    with np.load(Path(args.data) / "base_heldout.npz") as d:
        idx = np.random.RandomState(0).choice(len(d["images"]), args.n, replace=False)
        x = torch.from_numpy(d["images"][idx]).float() / 127.5 - 1
        y = d["labels"][idx]
    clf, lp = load_glyph_classifier(), load_lpips("vgg", "cpu")
    rows = []
    for name, extra in VARIANTS:
        opts = dict(perceptual=args.perceptual, steps=args.steps, **extra)
        metrics, res = timed_inversion(G, x, y, name.split()[0], opts, clf, lp)  # after a warm-up on 2 images
        rows.append({"method": name, **metrics, "steps": float(res.steps.float().mean())})
        print(rows[-1], flush=True)
    table = print_table(rows, ["method", "s_per_img", "steps", "ssim", "lpips", "content"])
    res = {"rows": rows, "table": table, "n": args.n, "steps": args.steps, "perceptual": args.perceptual}
    write_json(args.out, res)
    return res


if __name__ == "__main__":
    main()

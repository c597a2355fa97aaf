"""Inversion method table on REAL images of a trained model's domain: glyphs of held-out
base fonts (never seen in training) inverted with the shipped base glyph model.

    python benchmarks/bench_invert_glyphs.py [--data runs/zoo/data] [--n 32] [--steps 200]

Needs the rendered held-out glyphs (scripts/train_zoo.py data, which needs the fonts) and
LPIPS weights (stylebridge weights install). Prints SSIM, LPIPS-VGG, content accuracy and
seconds per image per method; writes JSON.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402

from stylebridge.data.images import to_uint8  # noqa: E402
from stylebridge.invert.api import invert  # noqa: E402
from stylebridge.metrics.glyph_classifier import accuracies, load_glyph_classifier  # noqa: E402
from stylebridge.metrics.lpips import load_lpips  # noqa: E402
from stylebridge.metrics.ssim import ssim  # noqa: E402
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
        method = name.split()[0]
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = invert(G, x, method, perceptual=args.perceptual, batch_size=args.n, steps=args.steps, **extra)
        sec = (time.perf_counter() - t0) / args.n
        rec = to_uint8(res.reconstruction).float() / 127.5 - 1
        with torch.no_grad():
            l = lp(rec, x)
        rows.append({"method": name, "s_per_img": sec, "steps": float(res.steps.float().mean()),
                     "ssim": float(ssim(rec, x).mean()), "lpips": float(l.mean()),
                     "content": accuracies(clf.predict(rec), y)["merged"]})
        print(rows[-1], flush=True)
    table = print_table(rows, ["method", "s_per_img", "steps", "ssim", "lpips", "content"])
    res = {"rows": rows, "table": table, "n": args.n, "steps": args.steps, "perceptual": args.perceptual}
    write_json(args.out, res)
    return res


if __name__ == "__main__":
    main()

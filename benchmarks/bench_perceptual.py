"""Which inversion loss and precision should be the default? Quality per second on real
glyphs: held-out base fonts (never seen in training) inverted with the shipped base glyph
model, once per (perceptual loss, precision), the CLI's other defaults unchanged.

    OMP_NUM_THREADS=1 python benchmarks/bench_perceptual.py [--n 4] [--variants pixel:fp32:300,...]

Needs the fonts (scripts/install-fonts.sh) and LPIPS weights (stylebridge weights install).
Quality per second: pixel at the CLI's 300 steps against LPIPS at as many steps as fit in
about the same time (60) and at 300. Quality is measured on the saved 8-bit reconstruction: \
SSIM, LPIPS-VGG and the share the
glyph classifier reads as the input character. Prints a table and writes JSON.
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

from stylebridge.data.glyphs import render_domain  # noqa: E402
from stylebridge.data.images import to_uint8  # noqa: E402
from stylebridge.invert.api import invert  # noqa: E402
from stylebridge.metrics.glyph_classifier import accuracies, load_glyph_classifier  # noqa: E402
from stylebridge.metrics.lpips import load_lpips  # noqa: E402
from stylebridge.metrics.ssim import ssim  # noqa: E402
from stylebridge.translate import Zoo  # noqa: E402
from stylebridge.zoo import shipped_zoo_dir  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--variants", default="pixel:fp32:300,lpips:fp32:60,lpips:fp32:300,pixel:bf16:300",
                    help="PERCEPTUAL:PRECISION[:STEPS], comma-separated (STEPS default: --steps).")
    ap.add_argument("--out", default="benchmarks/results/perceptual.json")
    args = ap.parse_args(argv)
    zoo = Zoo.from_dir(shipped_zoo_dir())
    G = zoo[zoo.base]
    g = render_domain("base", "heldout", size=G.img_resolution)
    idx = np.random.RandomState(0).choice(len(g.images), args.n, replace=False)
    x = torch.from_numpy(g.images[idx]).float() / 127.5 - 1
    y = g.labels[idx]
    clf, lp = load_glyph_classifier(), load_lpips("vgg", "cpu")
    rows = []
    for variant in args.variants.split(","):
        perceptual, precision, *rest = variant.split(":")
        steps = int(rest[0]) if rest else args.steps
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = invert(G, x, "wplus", perceptual=perceptual, batch_size=args.n, steps=steps,
                         precision=precision)
        sec = (time.perf_counter() - t0) / args.n
        rec = to_uint8(res.reconstruction).float() / 127.5 - 1
        with torch.no_grad():
            d = lp(rec, x)
        rows.append({"perceptual": perceptual, "precision": precision, "max_steps": steps, "s_per_img": sec,
                     "steps": float(res.steps.float().mean()), "ssim": float(ssim(rec, x).mean()),
                     "lpips": float(d.mean()), "content": accuracies(clf.predict(rec), y)["merged"]})
        print(rows[-1], flush=True)
    table = print_table(rows, ["perceptual", "precision", "max_steps", "s_per_img", "steps", "ssim", "lpips",
                               "content"])
    res = {"rows": rows, "table": table, "n": args.n, "steps": args.steps, "threads": torch.get_num_threads()}
    write_json(args.out, res)
    return res


if __name__ == "__main__":
    main()

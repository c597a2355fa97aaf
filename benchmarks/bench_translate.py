"""Translation speed on CPU: the cost of generating translations from known latents (one
generator forward per output) against the inversion that precedes them.

    python benchmarks/bench_translate.py [--zoo src/stylebridge/zoo/glyphs] [--n 8] \
        [--out benchmarks/results/translate.json]

Baseline in the same run: one plain generator forward per image of the same model.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, timeit, write_json  # noqa: E402

from stylebridge.translate import Translator, Zoo  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoo", default="src/stylebridge/zoo/glyphs")
    ap.add_argument("--n", type=int, default=8, help="input images")
    ap.add_argument("--modes", type=int, default=3)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--out", default="benchmarks/results/translate.json")
    args = ap.parse_args(argv)
    zoo = Zoo.from_dir(args.zoo)
    G = zoo[zoo.base]
    targets = zoo.resolve("all", exclude=zoo.base)
    for t in targets:
        zoo[t]
    with torch.no_grad():
        z = torch.randn(args.n, G.z_dim, generator=torch.Generator().manual_seed(1))
        x = G(z, noise_mode="random").clamp(-1, 1)
    tr = Translator(zoo, method="wplus", perceptual="pixel", batch_size=args.n, steps=args.steps)
    t0 = time.perf_counter()
    inv = tr.invert(zoo.base, x)
    t_inv = (time.perf_counter() - t0) / args.n
    outputs = args.n * len(targets) * (1 + args.modes)
    t_tr = timeit(lambda: tr.translate(x, to=targets, modes=args.modes, inversion=inv), repeats=3) / outputs
    ws = inv.ws

    def plain():
        with torch.no_grad():
            for i in range(args.n):
                G.synthesis(ws[i:i + 1], noise_mode="const")
    t_fwd = timeit(plain, repeats=3) / args.n
    rows = [{"part": "inversion (W+, early stop)", "ms_per_item": t_inv * 1e3, "items": args.n,
             "steps": float(inv.steps.float().mean())},
            {"part": "translation from latent (per output)", "ms_per_item": t_tr * 1e3, "items": outputs},
            {"part": "baseline: one generator forward", "ms_per_item": t_fwd * 1e3, "items": args.n}]
    table = print_table(rows, ["part", "ms_per_item", "items", "steps"])
    print(f"translation per output / generator forward: {t_tr / t_fwd:.2f}x; "
          f"inversion / translation: {t_inv / t_tr:.0f}x")
    res = {"rows": rows, "table": table, "translate_vs_forward": t_tr / t_fwd}
    write_json(args.out, res)
    return res


if __name__ == "__main__":
    main()

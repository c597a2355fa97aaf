"""How many feedback passes, at what gain, should correct an encoder's codes (issue 15)?

A feedback pass corrects the encoder's code w of an image x by what the encoder gets wrong
on its own reconstruction: w <- w + gain * (E(x) - E(G(w))) (stylebridge.invert.api.encode).
It needs no training. Measured on a validation set that no other benchmark uses: glyphs of
held-out base fonts that bench_encoder.py's sample does not touch (whole fonts left out),
so the defaults are not chosen on the sets they are reported on.

    python benchmarks/exp_feedback.py [--n 1024] [--gains 0.125,0.25,0.375,0.5] [--passes 0,1,2,3]

Per row: LPIPS-VGG, L1, SSIM and content accuracy of the reconstruction (batched render, as
the feedback passes render), and seconds per image of the codes (2 threads, batches of 64).
Rule, fixed before measuring: the highest content accuracy; ties (within one glyph) go to
fewer passes, then to lower LPIPS. Prints the table, writes JSON.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_encoder import glyph_sets  # noqa: E402
from common import print_table, write_json  # noqa: E402

from stylebridge.data.images import to_uint8  # noqa: E402
from stylebridge.invert.api import encode  # noqa: E402
from stylebridge.metrics.glyph_classifier import accuracies, load_glyph_classifier  # noqa: E402
from stylebridge.metrics.lpips import load_lpips  # noqa: E402
from stylebridge.metrics.ssim import ssim  # noqa: E402
from stylebridge.translate import Zoo  # noqa: E402
from stylebridge.zoo import shipped_zoo_dir  # noqa: E402
from stylebridge.zoo_build.evaluation import load_glyphs  # noqa: E402


def validation_set(data: Path, n: int, bench_n: int = 64) -> tuple[torch.Tensor, np.ndarray, int]:
    """`n` held-out base glyphs (RandomState(1)) from fonts that bench_encoder's sample of
    `bench_n` (RandomState(0), glyph_sets) does not touch -> (images, labels, fonts)."""
    x, y = load_glyphs(data, "base", "heldout")
    fonts = np.load(data / "base_heldout.npz")["font_ids"]
    bench = np.random.RandomState(0).choice(len(x), min(bench_n, len(x)), replace=False)
    pool = np.flatnonzero(~np.isin(fonts, fonts[bench]))
    idx = np.random.RandomState(1).choice(pool, min(n, len(pool)), replace=False)
    return x[idx], y[idx], len(np.unique(fonts[idx]))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="runs/zoo/data")
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--gains", default="0.125,0.25,0.375,0.5")
    ap.add_argument("--passes", default="0,1,2,3")
    ap.add_argument("--out", default="benchmarks/results/feedback.json")
    args = ap.parse_args(argv)
    zoo = Zoo.from_dir(shipped_zoo_dir())
    G, E = zoo[zoo.base], zoo.encoder()
    x, y, nfonts = validation_set(Path(args.data), args.n)
    assert not any(torch.equal(a, b) for a in x[:8] for b in glyph_sets(Path(args.data), 64, G.img_resolution)
                   ["held-out fonts"][0]), "validation glyphs overlap the benchmark's"
    clf, lp = load_glyph_classifier(), load_lpips("vgg", "cpu")
    print(f"validation: {len(x)} glyphs of {nfonts} held-out fonts", flush=True)
    encode(E, x[:64], G=G, feedback=1)  # warm-up
    rows = []
    passes = [int(p) for p in args.passes.split(",")]
    for gain in ([0.0] if passes == [0] else [float(g) for g in args.gains.split(",")]):
        for k in passes:
            if k == 0 and gain != float(args.gains.split(",")[0]):
                continue  # no pass: the gain does not matter, measured once
            t0 = time.perf_counter()
            ws = encode(E, x, G=G, feedback=k, gain=gain)
            sec = (time.perf_counter() - t0) / len(x)
            with torch.no_grad():
                rec = torch.cat([G.synthesis(ws[s:s + 128], noise_mode="const", fused=False)
                                 for s in range(0, len(ws), 128)])
                rec = to_uint8(rec).float() / 127.5 - 1
                row = {"passes": k, "gain": gain if k else None, "s_per_img": sec,
                       "lpips": float(torch.cat([lp(rec[s:s + 256], x[s:s + 256])
                                                 for s in range(0, len(x), 256)]).mean()),
                       "l1": float((rec - x).abs().mean()), "ssim": float(ssim(rec, x).mean()),
                       "content": accuracies(clf.predict(rec), y)["merged"]}
            rows.append(row)
            print(row, flush=True)
    tie = 1.0 / len(x)
    best_c = max(r["content"] for r in rows)
    best = min((r for r in rows if r["content"] >= best_c - tie - 1e-12), key=lambda r: (r["passes"], r["lpips"]))
    table = print_table(rows, ["passes", "gain", "s_per_img", "lpips", "l1", "ssim", "content"])
    print("chosen:", {k: best[k] for k in ("passes", "gain", "content", "lpips")})
    write_json(args.out, {"n": len(x), "fonts": nfonts, "encoder": str(zoo.encoder_path), "rows": rows,
                          "chosen": best, "table": table, "threads": torch.get_num_threads()})
    return {"rows": rows, "chosen": best}


if __name__ == "__main__":
    main()

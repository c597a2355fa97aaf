"""Seconds per image of each inversion method of the encoder benchmark on one device, with
the reconstruction's content accuracy as a check that the fast path computes the same thing
(issue 15 asks for CUDA timings when a device is lent).

    python benchmarks/bench_encoder_speed.py --device cuda [--out FILE]

(default FILE: benchmarks/results/encoder_speed_DEVICE.json)

Inputs: the 62 characters drawn with Pillow's default font (needs no data folder), on the
shipped glyph zoo and its encoder; the methods and settings are bench_encoder.py's (pixel
loss, fp32: on CUDA TF32 as the projector sets it). Each method runs once to warm up (CUDA
context, cuDNN plans), then `--repeats` timed runs (median), batches of 32 as in
bench_encoder. Also the demo's inversion of "Hello" (5 glyphs), and for the encoder rows the
codes alone (what a translation needs; `invert` also renders the reconstruction exactly, one
image at a time, which is about half the encoder's time on a CPU).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_encoder import glyph_sets, methods  # noqa: E402
from common import print_table, write_json  # noqa: E402

from stylebridge.data.images import to_uint8  # noqa: E402
from stylebridge.invert.api import encode, invert  # noqa: E402
from stylebridge.invert.options import ENCODER_FEEDBACK  # noqa: E402
from stylebridge.metrics.glyph_classifier import accuracies, load_glyph_classifier  # noqa: E402
from stylebridge.translate import Zoo  # noqa: E402
from stylebridge.zoo import shipped_zoo_dir  # noqa: E402


def _timed(fn, device: torch.device, repeats: int) -> tuple[float, object]:
    out = fn()  # warm-up
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2], out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--methods", default="", help="comma-separated method names (default: all)")
    ap.add_argument("--out", default=None, help="default: benchmarks/results/encoder_speed_DEVICE.json")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    zoo = Zoo.from_dir(shipped_zoo_dir(), device=device)
    G, encoder = zoo[zoo.base], zoo.encoder()
    x, y = glyph_sets(Path("/nonexistent"), 0, G.img_resolution, pillow_only=True)["Pillow default font"]
    hello = glyph_sets(Path("/nonexistent"), 0, G.img_resolution, "Hello", pillow_only=True)["Pillow default font"][0]
    clf = load_glyph_classifier()
    wanted = [m for m in args.methods.split(",") if m]
    rows = []
    for name, method, opts in methods(encoder):
        if wanted and name not in wanted:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sec, res = _timed(lambda: invert(G, x, method, batch_size=32, **opts), device, args.repeats)
            demo, _ = _timed(lambda: invert(G, hello, method, batch_size=32, **opts), device, args.repeats)
        rec = to_uint8(res.reconstruction.cpu()).float() / 127.5 - 1
        # The codes alone (what a translation needs) and the exact one-image render of the
        # reconstruction that `invert` returns besides: for the encoder the render is half the time.
        codes = sec
        if method == "encoder" and not opts.get("steps"):
            passes = opts.get("feedback", ENCODER_FEEDBACK)  # invert's default passes
            codes, _ = _timed(lambda: encode(encoder, x, 32, G=G, feedback=passes), device, args.repeats)
        rows.append({"method": name, "device": str(device), "s_per_img": sec / len(x),
                     "codes_s_per_img": codes / len(x), "demo_hello_s": demo,
                     "content": accuracies(clf.predict(rec), y)["merged"]})
        print(rows[-1], flush=True)
    table = print_table(rows, ["method", "device", "s_per_img", "codes_s_per_img", "demo_hello_s", "content"])
    result = {"n": len(x), "rows": rows, "table": table}
    write_json(args.out or f"benchmarks/results/encoder_speed_{device.type}.json", result)
    return result


if __name__ == "__main__":
    main()

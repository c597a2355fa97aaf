"""W+ inversion in bf16 against fp32 (the default), at the default steps and at more steps
in about fp32's time: which a user of a CPU with AVX512-BF16 (or AMX) should ask for.

    python benchmarks/bench_invert_precision.py [--data runs/zoo/data] [--n 128] [--plan fp32:200,bf16:200,bf16:350]

Inputs as in bench_encoder.py: `--n` glyphs of held-out base fonts (RandomState(0) sample)
and the 62 characters drawn with Pillow's default font, inverted with the shipped glyph base
or `--base CKPT` (pixel loss, seed 0, batches of 32, after a 10-step warm-up call per row). The first entry of
`--plan` is the baseline, measured in the same run. Per row: seconds per image, LPIPS-VGG,
SSIM and content accuracy of the reconstruction (rendered in fp32 as `invert` saves it), and
the speed-up over the baseline. On a CPU without bf16 instructions bf16 is many times slower.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_encoder import glyph_sets, timed_inversion  # noqa: E402
from common import print_table, write_json  # noqa: E402

from stylebridge.formats import load_checkpoint  # noqa: E402
from stylebridge.metrics.glyph_classifier import load_glyph_classifier  # noqa: E402
from stylebridge.metrics.lpips import load_lpips  # noqa: E402
from stylebridge.translate import Zoo  # noqa: E402
from stylebridge.utils.precision import native_bf16  # noqa: E402
from stylebridge.zoo import shipped_zoo_dir  # noqa: E402


def parse_plan(text: str) -> list[tuple[str, int]]:
    plan = []
    for item in text.split(","):
        prec, _, steps = item.partition(":")
        if prec not in ("fp32", "bf16") or not steps.isdigit():
            raise SystemExit(f"--plan: PRECISION:STEPS items (fp32 or bf16), got {item!r}")
        plan.append((prec, int(steps)))
    return plan


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="runs/zoo/data")
    ap.add_argument("--n", type=int, default=128, help="held-out base glyphs")
    ap.add_argument("--plan", default="fp32:200,bf16:200,bf16:350",
                    help="PRECISION:STEPS,...; the first is the baseline")
    ap.add_argument("--base", default=None,
                    help="a checkpoint to invert with instead of the shipped glyph base (its G_ema), e.g. a training "
                         "snapshot")
    ap.add_argument("--out", default="benchmarks/results/invert_precision.json")
    args = ap.parse_args(argv)
    plan = parse_plan(args.plan)
    if args.base:
        G = load_checkpoint(args.base).G_ema.float().eval()
    else:
        zoo = Zoo.from_dir(shipped_zoo_dir())
        G = zoo[zoo.base]
    clf, lp = load_glyph_classifier(), load_lpips("vgg", "cpu")
    rows = []
    for setname, (x, y) in glyph_sets(Path(args.data), args.n, G.img_resolution).items():
        base = None
        for prec, steps in plan:
            opts = dict(perceptual="pixel", precision=prec, seed=0, steps=steps)
            # warm-up at the timed batch (oneDNN picks kernels per precision and shape)
            m, _ = timed_inversion(G, x, y, "wplus", opts, clf, lp, warmup_n=32, warmup_opts={"steps": 10})
            base = base or m["s_per_img"]
            rows.append({"set": setname, "precision": prec, "steps": steps, "s_per_img": m["s_per_img"],
                         "speedup": base / m["s_per_img"], **{k: m[k] for k in ("lpips", "ssim", "content")}})
            print(rows[-1], flush=True)
    table = print_table(rows, ["set", "precision", "steps", "s_per_img", "speedup", "lpips", "ssim", "content"])
    result = {"base": args.base or "shipped", "n_heldout": args.n, "native_bf16": native_bf16("cpu"),
              "threads": torch.get_num_threads(),
              "rows": rows, "table": table}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

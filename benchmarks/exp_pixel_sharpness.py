"""Where each glyph style lives (issue 16: pixel never learnt its style): how often the zoo's
style classifier (zoo_build.evaluation.train_style_classifier, as eval_zoo trains it) still
reads real held-out glyphs of a style as that style after a Gaussian blur of sigma 0.4-1.0 px
or a trip through 16 px (G's FIR down- and upsampling: what a layer swap at 16 px keeps);
and whether a base generator draws softer glyphs than real ones (share of the inked area
that is grey, between -0.8 and 0.8, for real base glyphs blurred by 0-0.7 px against the
1000 random samples, psi 1, seed 0, of each base given).

    python benchmarks/exp_pixel_sharpness.py [--data runs/zoo/data] [--bases FILE,...] [--out FILE]

(default bases: the shipped base; default FILE: benchmarks/results/pixel_sharpness.json)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402

from stylebridge.formats import load_checkpoint  # noqa: E402
from stylebridge.networks import ops  # noqa: E402
from stylebridge.zoo import shipped_zoo_dir  # noqa: E402
from stylebridge.zoo_build.evaluation import load_glyphs, style_share, train_style_classifier  # noqa: E402
from stylebridge.zoo_build.variants import DOMAINS  # noqa: E402

SIGMAS = (0.0, 0.4, 0.6, 0.8, 1.0)


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur (7 taps, replicated borders) of x [N, 1, H, W]."""
    if sigma == 0:
        return x
    r = torch.arange(-3, 4, dtype=torch.float32)
    k = torch.exp(-r ** 2 / (2 * sigma * sigma))
    k = k / k.sum()
    x = F.conv2d(F.pad(x, (3, 3, 0, 0), mode="replicate"), k.view(1, 1, 1, 7))
    return F.conv2d(F.pad(x, (0, 0, 3, 3), mode="replicate"), k.view(1, 1, 7, 1))


def through_16px(x: torch.Tensor) -> torch.Tensor:
    f = ops.setup_filter()
    return ops.upsample2d(ops.downsample2d(x, f), f)


def grey_share(x: torch.Tensor) -> float:
    """Share of the inked area (> -0.8) that is grey (< 0.8): anti-aliasing and blur."""
    return float(((x > -0.8) & (x < 0.8)).float().sum() / (x > -0.8).float().sum())


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="runs/zoo/data")
    ap.add_argument("--bases", default=str(shipped_zoo_dir() / "base.safetensors"),
                    help="comma-separated base checkpoints whose samples are measured")
    ap.add_argument("--out", default="benchmarks/results/pixel_sharpness.json")
    args = ap.parse_args(argv)
    data = Path(args.data)
    clf, ceilings = train_style_classifier(data)
    styles = []
    for st in DOMAINS:
        x, _ = load_glyphs(data, st, "heldout")
        row = {"style": st, **{f"blur {s}": style_share(clf, blur(x, s).clamp(-1, 1), st) for s in SIGMAS}}
        row["through 16 px"] = style_share(clf, through_16px(x).clamp(-1, 1), st)
        styles.append(row)
        print(row, flush=True)
    x, _ = load_glyphs(data, "base", "heldout")
    x = x[:1000]
    sharp = [{"images": f"real base glyphs, blur {s}", "grey_share": grey_share(blur(x, s))}
             for s in (0, 0.3, 0.5, 0.7)]
    sharp.append({"images": "real pixel glyphs", "grey_share": grey_share(load_glyphs(data, "pixel", "heldout")[0])})
    for path in args.bases.split(","):
        G = load_checkpoint(path).G_ema.float().eval()
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            y = G(torch.randn(1000, G.z_dim, generator=g), None, noise_mode="const").clamp(-1, 1)
        sharp.append({"images": f"samples of {path}", "grey_share": grey_share(y)})
    for r in sharp:
        print(r, flush=True)
    t1 = print_table(styles, ["style"] + [f"blur {s}" for s in SIGMAS] + ["through 16 px"])
    t2 = print_table(sharp, ["images", "grey_share"])
    result = {"ceilings": ceilings, "styles": styles, "sharpness": sharp, "tables": [t1, t2]}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

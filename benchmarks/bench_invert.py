"""Inversion speed and quality on CPU: NVIDIA's projector recipe vs our default, plus the
method table (SeFa variants, W, W+).

    OMP_NUM_THREADS=2 python benchmarks/bench_invert.py --baseline-steps 1000 --json out.json

Generator: a 64 px StyleGAN2 (w_dim 128, channels <= 128), random weights with the mean w
estimated from 10k samples and noise strengths 0.1: no trained 64 px model exists in the
project yet, so the numbers compare optimisers on the same landscape, not absolute quality.
Targets: 4 images the generator did NOT produce: its samples for seeds 100-103 with random
noise, then changed outside its range (contrast/gamma change, a 3x3 blur and pixel noise).

Baseline = NVIDIA's projector recipe: W, perceptual distance only, per-image noise maps
optimised with noise regularisation 1e5, latent noise 0.05 ramped, lr 0.1 with ramps,
one image at a time, fp32, grouped (fused) convolutions, no early stopping. Perceptual
net: LPIPS-VGG16 when its weights are installed, else the fallback named in the output.
Reported LPIPS (VGG) and SSIM are of the saved 8-bit reconstruction against the target.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, write_json  # noqa: E402

from stylebridge.data.images import to_uint8  # noqa: E402
from stylebridge.formats.loader import estimate_w_avg  # noqa: E402
from stylebridge.invert.api import invert  # noqa: E402
from stylebridge.invert.perceptual import make_perceptual  # noqa: E402
from stylebridge.invert.projector import ProjectorConfig  # noqa: E402
from stylebridge.metrics.ssim import ssim  # noqa: E402
from stylebridge.networks import GeneratorConfig, create_generator  # noqa: E402


def build_generator(res: int) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = GeneratorConfig(img_resolution=res, z_dim=128, w_dim=128, mapping_layers=4, channel_base=4096,
                          channel_max=128)
    G = create_generator(cfg).eval().requires_grad_(False)
    G.mapping.w_avg.copy_(estimate_w_avg(G))
    for m in G.modules():
        if hasattr(m, "noise_strength"):
            m.noise_strength.fill_(0.1)
    return G


@torch.no_grad()
def make_targets(G, n: int = 4) -> torch.Tensor:
    gen = torch.Generator().manual_seed(100)
    img = G(torch.randn(n, G.z_dim, generator=gen), noise_mode="random", generator=gen)
    img = ((img + 1) / 2).clamp(0, 1) ** 0.8 * 1.1 - 0.05               # gamma + contrast
    k = torch.tensor([1.0, 2.0, 1.0])
    k = (k[:, None] * k[None]) / 16
    img = F.conv2d(F.pad(img, [1, 1, 1, 1], mode="replicate"), k.expand(img.shape[1], 1, 3, 3), groups=img.shape[1])
    img = img + 0.03 * torch.randn(img.shape, generator=gen)
    return (img.clamp(0, 1) * 2 - 1)


def score(rec: torch.Tensor, targets: torch.Tensor, lpips) -> tuple[list[float], list[float]]:
    q = to_uint8(rec).float() / 127.5 - 1
    with torch.no_grad():
        return lpips(q, targets).tolist(), ssim(q, targets).float().tolist()


def run(G, targets, lpips, label, method, batch_size, **kw):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = invert(G, targets, method, batch_size=batch_size, **kw)
    sec = (time.perf_counter() - t0) / len(targets)
    lp, ss = score(r.reconstruction, targets, lpips)
    return {"run": label, "method": method, "perceptual": r.perceptual, "s_per_img": sec,
            "steps": float(r.steps.float().mean()), "lpips": sum(lp) / len(lp), "ssim": sum(ss) / len(ss),
            "lpips_each": lp, "ssim_each": ss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--res", type=int, default=64)
    ap.add_argument("--baseline-steps", type=int, default=1000, help="NVIDIA: 1000 (reduce to keep the run short)")
    ap.add_argument("--steps", type=int, default=None, help="our max steps (default: ProjectorConfig.steps)")
    ap.add_argument("--table-steps", type=int, default=None, help="max steps of the method table runs")
    ap.add_argument("--no-table", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    G = build_generator(args.res)
    targets = make_targets(G)
    pname, lpips = make_perceptual("auto", device="cpu", warn=True)
    print(f"{args.res} px generator, {len(targets)} targets, perceptual net for losses and scores: {pname}, "
          f"threads {torch.get_num_threads()}")
    rows = []
    base = dict(method="w", steps=args.baseline_steps, pixel_weight=0.0, perceptual_weight=1.0, optimize_noise=True,
                noise_reg=1e5, latent_noise=0.05, precision="fp32", fused=True, early_stop=False)
    rows.append(run(G, targets, lpips, f"baseline NVIDIA ({args.baseline_steps} steps, 1 img)",
                    batch_size=1, **base))
    ours = {} if args.steps is None else {"steps": args.steps}
    d = ProjectorConfig()
    rows.append(run(G, targets, lpips, "ours default (batched)", d.method, batch_size=len(targets), **ours))
    b, o = rows[0], rows[1]
    print_table(rows, ["run", "perceptual", "s_per_img", "steps", "lpips", "ssim"])
    verdict = {"speedup": b["s_per_img"] / o["s_per_img"], "lpips_reached": o["lpips"] <= b["lpips"],
               "ssim_no_worse": o["ssim"] >= b["ssim"] - 1e-3}
    verdict["target_met"] = verdict["lpips_reached"] and verdict["ssim_no_worse"] and verdict["speedup"] >= 3
    print(verdict)

    table = []
    if not args.no_table:
        ts = {} if args.table_steps is None else {"steps": args.table_steps}
        variants = [("sefa", {}), ("sefa", {"topk": 32}), ("sefa", {"clamp": 2.0}), ("w", {}), ("wplus", {})]
        for method, extra in variants:
            label = method + "".join(f" {k}={v}" for k, v in extra.items())
            table.append(run(G, targets, lpips, label, method, batch_size=len(targets), **ts, **extra))
        print_table(table, ["run", "s_per_img", "steps", "lpips", "ssim"])
    if args.json:
        write_json(args.json, {"res": args.res, "perceptual": pname, "baseline_vs_ours": rows, "verdict": verdict,
                               "methods": table, "defaults": {k: v for k, v in vars(d).items() if k != "betas"}})


if __name__ == "__main__":
    main()

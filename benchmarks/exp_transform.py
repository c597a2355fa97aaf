"""Small CPU experiment of the model transformation T = S(F(G_s)) on synthetic domains.

Source domain A: a white disc (random centre and radius) on black. Target domain B: the
same layouts, drawn as a red, horizontally striped disc on blue. We train a tiny-32 base
on A, fine-tune it on B with the mapping trained (FT) and frozen (FC-FT), swap the
blocks <= 4 / 8 / 16 px back from the base (FC-FT+LS), and measure on the same seeds:

* domain statistic: mean(blue - red) over the image in [0, 1] units (A ~ 0, B ~ 0.6);
* layout: centroid of each image's deviation from its median colour (the disc's centre);
  reported as the mean pixel distance to the base model's centroid for the same z;
* model distance (Eq. 1, stylebridge.metrics.model_distance, LPIPS-VGG) to the base.

    OMP_NUM_THREADS=2 python benchmarks/exp_transform.py --out runs/exp_transform
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from stylebridge.data.images import make_grid, save_image
from stylebridge.formats import load_checkpoint
from stylebridge.networks.stylegan2 import Generator
from stylebridge.train import TrainOptions, finetune, swap_layers, train


def draw_domain(n: int, target: bool, size: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[:size, :size] + 0.5
    out = np.zeros((n, size, size, 3), np.uint8)
    for i in range(n):
        r = rng.uniform(4, 9)
        cy, cx = rng.uniform(r + 1, size - r - 1, 2)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        if target:
            out[i] = (30, 60, 230)
            stripes = (yy.astype(int) // 2) % 2 == 0
            out[i][disc & stripes] = (235, 40, 40)
            out[i][disc & ~stripes] = (150, 20, 20)
        else:
            out[i][disc] = (255, 255, 255)
    return out


def domain_stat(img01: torch.Tensor) -> torch.Tensor:
    return (img01[:, 2] - img01[:, 0]).mean(dim=[1, 2])


def centroids(img01: torch.Tensor) -> torch.Tensor:
    med = img01.flatten(2).median(dim=2).values[:, :, None, None]
    w = (img01 - med).square().sum(dim=1).sqrt()                # [N, H, W]
    H, W = w.shape[1:]
    ys, xs = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij")
    tot = w.sum(dim=[1, 2]).clamp_min(1e-8)
    return torch.stack([(w * ys).sum(dim=[1, 2]) / tot, (w * xs).sum(dim=[1, 2]) / tot], dim=1)


@torch.no_grad()
def sample(G: Generator, n: int = 256, seed: int = 123) -> torch.Tensor:
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    return ((G(z, noise_mode="const") + 1) / 2).clamp(0, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/exp_transform")
    ap.add_argument("--base-iters", type=int, default=1500)
    ap.add_argument("--ft-iters", type=int, default=400)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--distance-samples", type=int, default=500)
    args = ap.parse_args()
    out = Path(args.out)
    A, B = draw_domain(2000, False, seed=1), draw_domain(2000, True, seed=2)
    t0 = time.time()
    common = dict(batch=args.batch, progress=True, aug="none", seed=0, log_every=50)
    base = train(TrainOptions(config="tiny-32", data_array=A, outdir=str(out / "base"), iters=args.base_iters,
                              snap=args.base_iters, **common))
    ft = finetune(TrainOptions(base=str(base), data_array=B, outdir=str(out / "ft"), iters=args.ft_iters,
                               snap=args.ft_iters, freeze_mapping=False, **common))
    fc = finetune(TrainOptions(base=str(base), data_array=B, outdir=str(out / "fc_ft"), iters=args.ft_iters,
                               snap=args.ft_iters, freeze_mapping=True, **common))
    train_s = time.time() - t0
    G_s, G_ft, G_fc = (load_checkpoint(p).G_ema for p in (base, ft, fc))
    models = {"base": G_s, "FT (mapping trained)": G_ft, "FC-FT": G_fc}
    for r in (4, 8, 16):
        models[f"FC-FT+LS<= {r}px"] = swap_layers(G_s, G_fc, r)

    from stylebridge.metrics.distance import model_distance

    real = {"real A": torch.from_numpy(A[:256]).permute(0, 3, 1, 2).float() / 255,
            "real B": torch.from_numpy(B[:256]).permute(0, 3, 1, 2).float() / 255}
    rows = {}
    for name, x in real.items():
        rows[name] = {"domain_stat": float(domain_stat(x).mean())}
    c_base = centroids(sample(G_s))
    grids = []
    for name, G in models.items():
        x = sample(G)
        c = centroids(x)
        row = {"domain_stat": float(domain_stat(x).mean()),
               "layout_shift_px": float((c - c_base).norm(dim=1).mean())}
        if name != "base":
            d = model_distance(G_s, G, samples=args.distance_samples, seed=0)
            row.update({"model_distance": d["distance"], "sem": d["sem"], "lpips_net": d["lpips_net"]})
        rows[name] = row
        grids.append(x[:8])
    save_image(make_grid(torch.cat(grids) * 2 - 1, nrow=8, padding=1), out / "models_grid.png")
    shuffled = centroids(sample(G_s)[torch.randperm(256, generator=torch.Generator().manual_seed(0))])
    shift = float((shuffled - c_base).norm(dim=1).mean())
    rows["(chance: base vs base with shuffled seeds)"] = {"layout_shift_px": shift}
    result = {"rows": rows, "train_seconds": train_s, "args": vars(args),
              "grid": str(out / "models_grid.png") + " (rows: " + ", ".join(models) + "; 8 seeds each)"}
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'model':<45} {'domain(B-R)':>11} {'layout px':>9} {'distance':>9} {'sem':>7}")
    for name, r in rows.items():
        print(f"{name:<45} {r.get('domain_stat', float('nan')):11.3f} {r.get('layout_shift_px', float('nan')):9.2f} "
              f"{r.get('model_distance', float('nan')):9.4f} {r.get('sem', float('nan')):7.4f}")
    print(f"train time {train_s:.0f} s; grid {result['grid']}")


if __name__ == "__main__":
    main()

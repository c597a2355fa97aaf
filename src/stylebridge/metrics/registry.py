"""The metrics by name. Each is a function returning a plain dict of numbers and settings.

    from stylebridge.metrics.registry import METRICS, compute
    compute("fid", a="real_folder", b=G, num_gen=10000)      # {'fid': ..., 'n_a': ..., 'n_b': ...}

Sources `a` / `b` of fid and kid are image folders (or file lists) or generators
(`G(z, c, truncation_psi=, noise_mode=)`); lpips and ssim pair the images of two folders
in sorted order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from stylebridge.data.images import list_images, load_image
from stylebridge.errors import StylebridgeError
from stylebridge.metrics.distance import lpips_diversity, lpips_semantic, model_distance, summarize
from stylebridge.metrics.ssim import ssim as ssim_batch
from stylebridge.metrics.stats import (
    cached_folder_features,
    fid_from_features,
    generator_features,
    kernel_inception_distance,
    load_inception,
)
from stylebridge.metrics.weights import WEIGHTS


def _features(src, extractor, network: str, num_gen: int, seed: int, batch_size: int, device,
              resolution: int | None, use_cache: bool, progress: bool) -> np.ndarray:
    if isinstance(src, torch.nn.Module):
        return generator_features(src, extractor, num_gen, seed, batch_size, device, progress=progress)
    return cached_folder_features(src, extractor, network, batch_size, device, resolution,
                                  use_cache=use_cache, progress=progress)


def _extractor(extractor, device):
    if extractor is None:
        return load_inception(device), f"inception-fid:{WEIGHTS['inception'].content_sha256[:16]}"
    return extractor, getattr(extractor, "cache_name", type(extractor).__name__)


def fid(a, b, num_gen: int = 50000, seed: int = 0, batch_size: int = 32, device="cpu",
        resolution: int | None = None, use_cache: bool = True, extractor=None, progress: bool = False) -> dict:
    """Fréchet Inception Distance between two sources (folders or generators)."""
    ext, name = _extractor(extractor, device)
    fa = _features(a, ext, name, num_gen, seed, batch_size, device, resolution, use_cache, progress)
    fb = _features(b, ext, name, num_gen, seed + 1, batch_size, device, resolution, use_cache, progress)
    value = fid_from_features(fa, fb)
    return {"fid": value, "n_a": int(len(fa)), "n_b": int(len(fb))}


def kid(a, b, num_gen: int = 50000, seed: int = 0, batch_size: int = 32, device="cpu",
        resolution: int | None = None, use_cache: bool = True, extractor=None, num_subsets: int = 100,
        max_subset_size: int = 1000, progress: bool = False) -> dict:
    """Kernel Inception Distance (unbiased, NVIDIA's subsets) between two sources."""
    ext, name = _extractor(extractor, device)
    fa = _features(a, ext, name, num_gen, seed, batch_size, device, resolution, use_cache, progress)
    fb = _features(b, ext, name, num_gen, seed + 1, batch_size, device, resolution, use_cache, progress)
    out = kernel_inception_distance(fa, fb, num_subsets, max_subset_size, seed)
    out.update({"n_a": int(len(fa)), "n_b": int(len(fb))})
    return out


def _pairs(a, b) -> list[tuple[Path, Path]]:
    fa, fb = list_images(a), list_images(b)
    if len(fa) != len(fb):
        raise StylebridgeError(
            f"paired metrics need equally many images: {len(fa)} in '{a}' but {len(fb)} in '{b}' "
            "(images are paired in sorted order)"
        )
    return list(zip(fa, fb))


def _paired_batches(a, b, resolution, batch_size):
    pairs = _pairs(a, b)
    for i in range(0, len(pairs), batch_size):
        chunk = pairs[i:i + batch_size]
        xa = [load_image(p, resolution) for p, _ in chunk]
        xb = [load_image(q, resolution) for _, q in chunk]
        for k, (x, y) in enumerate(zip(xa, xb)):
            if x.shape != y.shape:
                raise StylebridgeError(
                    f"'{chunk[k][0]}' is {tuple(x.shape[1:])} but '{chunk[k][1]}' is {tuple(y.shape[1:])}; "
                    "pass a resolution to resize both"
                )
        yield xa, xb


@torch.no_grad()
def lpips(a, b, net: str = "vgg", device="cpu", resolution: int | None = None, batch_size: int = 16,
          lpips_model=None) -> dict:
    """Mean LPIPS between images of two folders paired in sorted order."""
    from stylebridge.metrics.lpips import load_lpips

    lp = lpips_model if lpips_model is not None else load_lpips(net, device)
    vals: list[float] = []
    for xa, xb in _paired_batches(a, b, resolution, 1 if resolution is None else batch_size):
        vals += lp(torch.stack(xa).to(device), torch.stack(xb).to(device)).double().cpu().tolist()
    out = summarize(vals, "lpips")
    out["lpips_net"] = lp.net_name
    return out


def ssim(a, b, resolution: int | None = None, batch_size: int = 16) -> dict:
    """Mean SSIM between images of two folders paired in sorted order."""
    vals: list[float] = []
    for xa, xb in _paired_batches(a, b, resolution, 1 if resolution is None else batch_size):
        vals += ssim_batch(torch.stack(xa), torch.stack(xb)).tolist()
    return summarize(vals, "ssim")


METRICS: dict[str, Callable[..., dict]] = {
    "fid": fid,
    "kid": kid,
    "lpips": lpips,
    "ssim": ssim,
    "model_distance": model_distance,
    "lpips_diversity": lpips_diversity,
    "lpips_semantic": lpips_semantic,
}


def compute(name: str, **kwargs) -> dict:
    if name not in METRICS:
        raise StylebridgeError(f"unknown metric '{name}'; known: {', '.join(METRICS)}")
    return METRICS[name](**kwargs)

"""Perceptual path length (Karras et al. 2019), as NVIDIA's stylegan2-ada-pytorch computes it
(metrics/perceptual_path_length.py), with our LPIPS-VGG v0.1 in place of its traced vgg16.pt
(Zhang et al.'s weights too: values agree to the precision of the conversions, not bit for bit).

Per sample: z0, z1 ~ N(0, I); t ~ U(0, 1) ('full') or t = 0 ('end'); in W the mapped codes
are lerped at t and t + eps, in Z the z are slerped first; the noise maps are redrawn for each
batch (one map per layer, shared by the batch, so both ends of a pair see the same noise); the
two images are rendered in fp32, centre-cropped for faces (rows 3/8..7/8, columns 2/8..6/8),
averaged over blocks of (resolution // 256)^2 pixels, and d = LPIPS(img(t), img(t + eps)) / eps^2. PPL is the mean of d
over the samples between their 1st ('lower') and 99th ('higher') percentiles.

NVIDIA's metric names, as (space, sampling, crop): ppl_zfull (z, full, crop), ppl_wfull,
ppl_zend, ppl_wend (crop) and ppl2_wend (w, end, no crop). All draws come from one CPU
torch.Generator seeded with `seed`, so a run repeats on any device.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from stylebridge.errors import StylebridgeError
from stylebridge.metrics.distance import get_lpips
from stylebridge.metrics.lpips import MIN_SIZE, match_channels
from stylebridge.utils.device import tf32

PRESETS: dict[str, tuple[str, str, bool]] = {
    "ppl_zfull": ("z", "full", True),
    "ppl_wfull": ("w", "full", True),
    "ppl_zend": ("z", "end", True),
    "ppl_wend": ("w", "end", True),
    "ppl2_wend": ("w", "end", False),
}
EPSILON = 1e-4
SAMPLES = 50_000


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of unit directions: the result has norm 1 (as NVIDIA's)."""
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    d = (a * b).sum(dim=-1, keepdim=True)
    p = t * torch.acos(d)
    c = b - d * a
    c = c / c.norm(dim=-1, keepdim=True)
    out = a * torch.cos(p) + c * torch.sin(p)
    return out / out.norm(dim=-1, keepdim=True)


def filtered_mean(dist: np.ndarray) -> float:
    """The mean of the values between the 1st percentile (method 'lower') and the 99th
    ('higher'): NVIDIA's outlier filter."""
    dist = np.asarray(dist, dtype=np.float64)
    lo = np.percentile(dist, 1, method="lower")
    hi = np.percentile(dist, 99, method="higher")
    return float(dist[(dist >= lo) & (dist <= hi)].mean())


def centre_crop(img: torch.Tensor) -> torch.Tensor:
    """NVIDIA's face crop: with c = H // 8, rows 3c..7c and columns 2c..6c."""
    c = img.shape[2] // 8
    return img[:, :, c * 3:c * 7, c * 2:c * 6]


@contextlib.contextmanager
def _fresh_noise(G, gen: torch.Generator):
    """Every `noise_const` buffer replaced by a new N(0, 1) map for the duration (G's own
    buffers are put back afterwards; G is never changed)."""
    saved = []
    try:
        for module in G.modules():
            buf = module._buffers.get("noise_const")
            if buf is not None:
                saved.append((module, buf))
                module._buffers["noise_const"] = torch.randn(buf.shape, generator=gen).to(buf.device, buf.dtype)
        yield
    finally:
        for module, buf in saved:
            module._buffers["noise_const"] = buf


def check_options(G, space: str, sampling: str, crop: bool, samples: int, epsilon: float, batch_size: int) -> None:
    if space not in ("z", "w"):
        raise StylebridgeError(f"PPL space must be 'z' or 'w', got {space!r}")
    if sampling not in ("full", "end"):
        raise StylebridgeError(f"PPL sampling must be 'full' or 'end', got {sampling!r}")
    if samples < 1 or batch_size < 1:
        raise StylebridgeError("samples and batch size must be positive")
    if not 0 < epsilon <= 0.1:
        raise StylebridgeError(f"epsilon must be in (0, 0.1], got {epsilon}")
    if getattr(G, "c_dim", 0):
        raise StylebridgeError("PPL of class-conditional generators is not supported")
    side = (G.img_resolution // 2 if crop else G.img_resolution) // max(1, G.img_resolution // 256)
    if side < MIN_SIZE["vgg"]:
        raise StylebridgeError(f"PPL compares {side} px images{' after the crop' if crop else ''}; LPIPS-VGG needs "
                               f"at least {MIN_SIZE['vgg']} px" + (": use ppl2_wend (no crop)" if crop else ""))


@torch.no_grad()
def perceptual_path_length(G, samples: int = SAMPLES, epsilon: float = EPSILON, space: str = "w",
                           sampling: str = "end", crop: bool = False, batch_size: int = 2, seed: int = 0,
                           lpips_net="vgg", progress: bool = False) -> dict:
    """PPL of generator G (defaults: NVIDIA's ppl2_wend, 50,000 samples, batch 2 as its
    metric runs it: the noise maps are shared within a batch). Returns {'ppl', 'n', 'space',
    'sampling', 'crop', 'epsilon', 'seed', 'lpips_net', 'median'}. On CUDA, TF32 is off for
    the duration (as NVIDIA's calc_metrics sets it): its rounding is far above epsilon."""
    check_options(G, space, sampling, crop, samples, epsilon, batch_size)
    device = G.mapping.w_avg.device
    with tf32(False, device):
        return _ppl(G, samples, epsilon, space, sampling, crop, batch_size, seed, lpips_net, progress, device)


def _ppl(G, samples, epsilon, space, sampling, crop, batch_size, seed, lpips_net, progress, device) -> dict:
    lp = get_lpips(lpips_net, device)
    gen = torch.Generator().manual_seed(int(seed))
    starts = range(0, samples, batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="PPL", unit="batch")
    dist = []
    for start in starts:
        n = min(batch_size, samples - start)
        t = torch.rand([n], generator=gen) * (1 if sampling == "full" else 0)
        z0, z1 = torch.randn([n * 2, G.z_dim], generator=gen).to(device).chunk(2)
        t = t.to(device)[:, None]
        if space == "w":
            w0, w1 = G.mapping(torch.cat([z0, z1]), None).chunk(2)
            ws = torch.cat([w0.lerp(w1, t[:, :, None]), w0.lerp(w1, t[:, :, None] + epsilon)])
        else:
            ws = G.mapping(torch.cat([slerp(z0, z1, t), slerp(z0, z1, t + epsilon)]), None)
        with _fresh_noise(G, gen):
            img = G.synthesis(ws, noise_mode="const", dtype=torch.float32, force_fp32=True).float()
        if crop:
            img = centre_crop(img)
        factor = G.img_resolution // 256
        if factor > 1:
            img = img.reshape([-1, img.shape[1], img.shape[2] // factor, factor, img.shape[3] // factor,
                               factor]).mean([3, 5])
        a, b = match_channels(img).chunk(2)
        dist.append((lp(a, b).double() / epsilon ** 2).cpu())
    d = torch.cat(dist).numpy()
    return {"ppl": filtered_mean(d), "median": float(np.median(d)), "n": int(len(d)), "space": space,
            "sampling": sampling, "crop": bool(crop), "epsilon": epsilon, "seed": int(seed), "lpips_net": lp.net_name}

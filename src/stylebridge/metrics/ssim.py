"""SSIM (Wang et al. 2004): Gaussian window 11x11, sigma 1.5, K1 = 0.01, K2 = 0.03.

Local statistics over 'valid' windows (no padding, as in the original MATLAB code and
pytorch-msssim), SSIM map averaged over pixels and channels. Images in [-1, 1] have data
range 2 (the same value as on 0..255 images with L = 255).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gaussian_window(size: int = 11, sigma: float = 1.5, dtype=torch.float64) -> torch.Tensor:
    x = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(a: torch.Tensor, b: torch.Tensor, data_range: float = 2.0, window: int = 11, sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """SSIM per image: [N, C, H, W] x 2 -> [N] (differentiable; computed in float64 on CPU
    or the inputs' dtype elsewhere)."""
    assert a.shape == b.shape and a.ndim == 4, \
        f"SSIM needs two equal [N, C, H, W] batches, got {tuple(a.shape)}, {tuple(b.shape)}"
    n, c, h, w = a.shape
    if h < window or w < window:
        raise ValueError(f"SSIM needs images of at least {window}x{window} pixels, got {h}x{w}")
    dtype = torch.float64 if a.device.type == "cpu" else a.dtype
    a, b = a.to(dtype), b.to(dtype)
    g = gaussian_window(window, sigma, dtype).to(a.device)
    gx = g.view(1, 1, 1, window).repeat(c, 1, 1, 1)
    gy = g.view(1, 1, window, 1).repeat(c, 1, 1, 1)

    def blur(x):  # separable valid Gaussian filter per channel
        return F.conv2d(F.conv2d(x, gx, groups=c), gy, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    s_aa = blur(a * a) - mu_a**2
    s_bb = blur(b * b) - mu_b**2
    s_ab = blur(a * b) - mu_a * mu_b
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    m = ((2 * mu_a * mu_b + c1) * (2 * s_ab + c2)) / ((mu_a**2 + mu_b**2 + c1) * (s_aa + s_bb + c2))
    return m.mean(dim=(1, 2, 3))

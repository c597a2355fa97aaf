import numpy as np
import pytest
import torch

from stylebridge.metrics.ssim import ssim


def _reference_ssim(x, y, L=2.0, size=11, sigma=1.5):
    """Straightforward SSIM: explicit 2-D Gaussian window at every valid position."""
    ax = np.arange(size) - (size - 1) / 2
    g = np.exp(-(ax[:, None] ** 2 + ax[None] ** 2) / (2 * sigma**2))
    g /= g.sum()
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    vals = []
    for ch in range(x.shape[0]):
        for i in range(x.shape[1] - size + 1):
            for j in range(x.shape[2] - size + 1):
                a, b = x[ch, i:i + size, j:j + size], y[ch, i:i + size, j:j + size]
                ma, mb = (g * a).sum(), (g * b).sum()
                va, vb = (g * (a - ma) ** 2).sum(), (g * (b - mb) ** 2).sum()
                cov = (g * (a - ma) * (b - mb)).sum()
                vals.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
    return float(np.mean(vals))


def test_ssim_equals_reference_on_random_images():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 16, 14, generator=g) * 2 - 1
    y = (x + 0.3 * torch.randn(2, 3, 16, 14, generator=g)).clamp(-1, 1)
    s = ssim(x, y)
    for n in range(2):
        assert s[n].item() == pytest.approx(_reference_ssim(x[n].double().numpy(), y[n].double().numpy()), abs=1e-10)
    assert torch.allclose(ssim(x, x), torch.ones(2, dtype=torch.float64))
    assert (s < 0.9).all()


def test_ssim_too_small():
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8))

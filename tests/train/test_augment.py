from __future__ import annotations

import pytest
import torch

from stylebridge.train.augment import ada_augment, diff_augment


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_ada_p0_is_identity_and_p_changes_images():
    x = torch.rand(8, 3, 16, 16) * 2 - 1
    assert torch.equal(ada_augment(x, 0.0, _gen()), x)
    y = ada_augment(x, 0.8, _gen())
    assert y.shape == x.shape and not torch.allclose(y, x)
    assert torch.equal(y, ada_augment(x, 0.8, _gen()))  # reproducible from the generator


def test_ada_pixel_blitting_flip_is_exact():
    # With p = 1 every sample is at least flipped/rotated/translated; check one pure x-flip case
    # by composing with the known flip matrix: flipping twice through grid_sample is exact.
    x = torch.arange(16.0).reshape(1, 1, 4, 4).repeat(1, 3, 1, 1) / 16
    grid = torch.nn.functional.affine_grid(torch.tensor([[[-1.0, 0, 0], [0, 1, 0]]]), [1, 3, 4, 4], align_corners=False)
    y = torch.nn.functional.grid_sample(x, grid, align_corners=False, padding_mode="reflection")
    assert torch.allclose(y, x.flip(3), atol=1e-6)


@pytest.mark.parametrize("channels", [1, 3])
def test_differentiable_twice(channels):
    x = torch.rand(4, channels, 16, 16, requires_grad=True)
    for fn in (lambda t: ada_augment(t, 0.9, _gen()), lambda t: diff_augment(t, "color,translation,cutout", _gen())):
        (g,) = torch.autograd.grad(fn(x).square().sum(), x, create_graph=True)
        g.sum().backward()


def test_diffaug_cutout_zeroes_a_quarter():
    x = torch.ones(16, 3, 16, 16)
    y = diff_augment(x, "cutout", _gen())
    frac = (y == 0).float().mean(dim=[1, 2, 3])
    assert torch.all(frac > 0.05) and torch.all(frac <= 0.25 + 1e-6)

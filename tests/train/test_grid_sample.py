"""ADA's geometric resampling needs a double backward for R1 through augmentation; CUDA has
none built in, so augment.grid_sample_reflect supplies it. It must equal PyTorch's own
(CPU) first and second derivatives."""

import torch
import torch.nn.functional as F

from stylebridge.train.augment import grid_sample_reflect


def test_double_backward_matches_pytorch_cpu():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    theta = torch.tensor([[[0.9, 0.2, 0.1], [-0.1, 1.1, 0.05]]] * 2, dtype=torch.float64)
    grid = F.affine_grid(theta, [2, 3, 8, 8], align_corners=False)
    w = torch.randn(3, 3, 3, 3, dtype=torch.float64, requires_grad=True)

    def r1_like(fn):
        y = F.conv2d(fn(x), w).tanh().sum()
        (g,) = torch.autograd.grad(y, x, create_graph=True)
        return torch.autograd.grad(g.square().sum(), w)[0]

    ours = r1_like(lambda t: grid_sample_reflect(t, grid))
    ref = r1_like(lambda t: F.grid_sample(t, grid, mode="bilinear", padding_mode="reflection", align_corners=False))
    assert torch.allclose(ours, ref, rtol=1e-10, atol=1e-12)
    assert ours.abs().max() > 0
    assert torch.autograd.gradgradcheck(lambda t: grid_sample_reflect(t, grid), (x,))

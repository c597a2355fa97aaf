"""The StyleGAN2 objective: non-saturating logistic loss, R1 on reals, path-length
regularisation, plus style mixing when generating. Pure functions over the networks;
the loop decides when each runs (lazy regularisation) and how it is weighted."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from stylebridge.networks.stylegan2 import Discriminator, Generator


def default_gamma(resolution: int, batch: int) -> float:
    """NVIDIA's heuristic R1 weight (stylegan2-ada 'auto' config): 0.0002 * res^2 / batch."""
    return 0.0002 * resolution**2 / batch


def ema_beta(batch: int, ema_kimg: float | None) -> float:
    """Per-step EMA decay for a half-life of `ema_kimg` thousand images (default batch*10/32)."""
    kimg = batch * 10 / 32 if ema_kimg is None else ema_kimg
    return 0.5 ** (batch / max(kimg * 1000, 1e-8))


def mix_styles(ws: torch.Tensor, ws2: torch.Tensor, cutoff: torch.Tensor) -> torch.Tensor:
    """Style mixing with the cutoff as a tensor: layers from `cutoff` on take `ws2`; a cutoff
    of ws.shape[1] (or more) keeps `ws`. The same values as slicing at a Python int, with no
    branch and no host value: a captured CUDA graph replays it with each iteration's cutoff."""
    assert ws.ndim == 3 and ws.shape == ws2.shape, (ws.shape, ws2.shape)
    layer = torch.arange(ws.shape[1], device=ws.device)
    return torch.where((layer < cutoff.to(ws.device))[None, :, None], ws, ws2)


def g_main_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating logistic loss of G: softplus(-D(G(z)))."""
    return F.softplus(-fake_logits).mean()


def d_main_loss(fake_logits: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
    """Logistic loss of D: softplus(D(G(z))) + softplus(-D(x))."""
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()


def r1_penalty(D: Discriminator | Callable[..., torch.Tensor], real: torch.Tensor, c: torch.Tensor | None,
               augment: Callable[[torch.Tensor], torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample squared gradient norm of D's logits w.r.t. the (un-augmented) reals, and
    the logits. The graph is kept so that the penalty can be back-propagated into D."""
    real = real.detach().requires_grad_(True)
    logits = D(augment(real), c)
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True, only_inputs=True)
    return grad.square().sum(dim=[1, 2, 3]), logits


def path_length_penalty(G: Generator, ws: torch.Tensor, pl_mean: torch.Tensor, pl_decay: float,
                        fused: bool | None, gen: torch.Generator,
                        force_fp32: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """StyleGAN2 path-length regulariser: (|J_w^T y| - a)^2 with y ~ N(0, I) / sqrt(HW) and a
    the running mean of the lengths. Returns (per-sample penalty, updated pl_mean)."""
    ws = ws.detach().requires_grad_(True) if not ws.requires_grad else ws
    img = G.synthesis(ws, noise_mode="random", fused=fused, generator=gen, force_fp32=force_fp32).float()
    noise = torch.randn(img.shape, generator=gen, device=gen.device).to(img.device)
    noise = noise / math.sqrt(img.shape[2] * img.shape[3])
    (grad,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=True, only_inputs=True)
    lengths = grad.square().sum(dim=2).mean(dim=1).sqrt()
    new_mean = pl_mean.lerp(lengths.mean().detach(), pl_decay)
    return (lengths - new_mean).square(), new_mean

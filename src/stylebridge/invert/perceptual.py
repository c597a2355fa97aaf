"""Per-image perceptual distances for inversion, with offline fallbacks.

Kinds (`make_perceptual`); 'auto' (the default) is `pixel` on a CPU and, on a GPU, the
first of these that is available (see invert/options.py for the measurement):

1. `lpips`: LPIPS-VGG16 from `stylebridge.metrics.lpips` (needs the weights that
   `stylebridge weights install` puts in place);
2. `discriminator`: when LPIPS is unavailable and the checkpoint has a discriminator,
   the distance between its block features (each block's output scaled to unit length
   along channels per pixel, as LPIPS does, then the mean squared difference, averaged
   over blocks). The minibatch-std epilogue is not used, so images never interact;
3. `pixel`: otherwise, multi-scale pixel + gradient loss: at full, 1/2 and 1/4 size
   (2x2 average pooling), the mean absolute difference of the images and of their
   horizontal and vertical finite differences (edges), averaged over scales.

Every distance returns one value per image ([N]) and is a sum of per-image terms, so a
batch gives exactly the per-image losses.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F

from stylebridge.errors import StylebridgeError
from stylebridge.invert.options import DEFAULT_PERCEPTUAL, PERCEPTUAL, auto_perceptual, check_choice
from stylebridge.metrics import lpips as lpips_mod  # called as lpips_mod.load_lpips: tests replace it there

INSTALL_HINT = "stylebridge weights install"
Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _to_rgb(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 3:
        return x
    if x.shape[1] == 1:
        return x.repeat(1, 3, 1, 1)
    return x[:, :3]


def load_lpips_vgg(device) -> torch.nn.Module:
    """LPIPS-VGG16, or WeightsMissingError (a StylebridgeError) when its weights are not installed."""
    return lpips_mod.load_lpips("vgg", device).eval().requires_grad_(False)


def lpips_distance(net: torch.nn.Module) -> Distance:
    def dist(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        d = net(_to_rgb(x), _to_rgb(y))
        return d.reshape(x.shape[0], -1).float().mean(dim=1)
    return dist


def discriminator_distance(D: torch.nn.Module) -> Distance:
    D = D.eval().requires_grad_(False)

    def feats(x: torch.Tensor) -> list[torch.Tensor]:
        out, h = [], None
        for _, block in D.blocks():
            h = block(h, x if h is None else None)
            out.append(h / (h.square().sum(dim=1, keepdim=True) + 1e-10).sqrt())
        return out

    def dist(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        fx, fy = feats(x), feats(y)
        return torch.stack([(a.float() - b.float()).square().sum(dim=1).mean(dim=[1, 2])
                            for a, b in zip(fx, fy)]).mean(dim=0)
    return dist


def pixel_gradient_distance(x: torch.Tensor, y: torch.Tensor, scales: int = 3) -> torch.Tensor:
    terms = []
    for s in range(scales):
        if s:
            if x.shape[-1] < 4:
                break
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
        d = (x - y).float()
        terms.append(d.abs().mean(dim=[1, 2, 3]))
        terms.append((d[..., :, 1:] - d[..., :, :-1]).abs().mean(dim=[1, 2, 3]))
        terms.append((d[..., 1:, :] - d[..., :-1, :]).abs().mean(dim=[1, 2, 3]))
    return torch.stack(terms).sum(dim=0) / (len(terms) / 3)


def make_perceptual(kind: str = DEFAULT_PERCEPTUAL, D: torch.nn.Module | None = None, device="cpu",
                    warn: bool = True) -> tuple[str, Distance]:
    """kind: one of options.PERCEPTUAL. Returns (name used, distance). 'auto' follows
    `options.auto_perceptual`: pixel on a CPU; on a GPU LPIPS, else D's features, else pixel."""
    check_choice(kind, PERCEPTUAL, "perceptual loss")
    if kind == "auto":
        order = auto_perceptual(device)
        if order[0] == "lpips":
            try:
                return "lpips", lpips_distance(load_lpips_vgg(device))
            except StylebridgeError as e:
                fallback = "discriminator" if D is not None else "pixel"
                if warn:
                    warnings.warn(f"LPIPS-VGG16 unavailable ({e}); run `{INSTALL_HINT}` for the paper's loss. "
                                  f"Using the {fallback} fallback perceptual loss.", stacklevel=2)
                kind = fallback
        else:
            kind = order[0]
    if kind == "lpips":
        try:
            return "lpips", lpips_distance(load_lpips_vgg(device))
        except StylebridgeError as e:
            raise StylebridgeError(f"{e}; install the weights with `{INSTALL_HINT}`") from None
    if kind == "discriminator":
        if D is None:
            raise StylebridgeError("perceptual loss 'discriminator' needs a checkpoint with a discriminator (D)")
        return "discriminator", discriminator_distance(D)
    return "pixel", pixel_gradient_distance

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
batch gives exactly the per-image losses. The projector compares every step against the
same targets: `against(dist, targets)` computes the targets' side once where the distance
can (LPIPS and D features: one backbone pass fewer per step, about 1/15 of a 64 px LPIPS
step's FLOPs).
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


class FeatureDistance:
    """A distance between two images' feature lists: `features(x)` and `compare(fx, fy)` ->
    [N]. Calling it computes both sides; `against` computes the targets' side once."""

    def __init__(self, features: Callable[[torch.Tensor], list[torch.Tensor]],
                 compare: Callable[[list[torch.Tensor], list[torch.Tensor]], torch.Tensor]):
        self.features, self.compare = features, compare

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.compare(self.features(x), self.features(y))


def against(dist: Distance, targets: torch.Tensor) -> Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]:
    """`cmp(x, idx)` = dist(x, targets[idx]) (idx None: all targets), with the targets' features
    computed once, here, when `dist` is a FeatureDistance (call it in the autocast context
    the comparisons run in: the cached features carry its precision)."""
    if not isinstance(dist, FeatureDistance):
        return lambda x, idx: dist(x, targets if idx is None else targets[idx])
    with torch.no_grad():
        fy = dist.features(targets)
    return lambda x, idx: dist.compare(dist.features(x), fy if idx is None else [f[idx] for f in fy])


def lpips_distance(net: torch.nn.Module) -> FeatureDistance:
    def features(x: torch.Tensor) -> list[torch.Tensor]:
        net.check_size(x)
        return net.features(_to_rgb(x))

    def compare(fx: list[torch.Tensor], fy: list[torch.Tensor]) -> torch.Tensor:
        return net.compare(fx, fy).reshape(fx[0].shape[0], -1).float().mean(dim=1)
    return FeatureDistance(features, compare)


def discriminator_distance(D: torch.nn.Module) -> FeatureDistance:
    D = D.eval().requires_grad_(False)

    def features(x: torch.Tensor) -> list[torch.Tensor]:
        out, h = [], None
        for _, block in D.blocks():
            h = block(h, x if h is None else None)
            out.append(h / (h.square().sum(dim=1, keepdim=True) + 1e-10).sqrt())
        return out

    def compare(fx: list[torch.Tensor], fy: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack([(a.float() - b.float()).square().sum(dim=1).mean(dim=[1, 2])
                            for a, b in zip(fx, fy)]).mean(dim=0)
    return FeatureDistance(features, compare)


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

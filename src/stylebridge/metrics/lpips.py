"""LPIPS v0.1 (Zhang et al. 2018) with our own VGG16 / AlexNet: differentiable, no torchvision.

d(x, y) = sum over taps l of mean_hw( w_l . (f_l(x)/|f_l(x)| - f_l(y)/|f_l(y)|)^2 ),
with f_l the backbone's activations after LPIPS's scaling layer, channel-wise unit
normalisation and the learned 1x1 linear heads w_l (v0.1).

    from stylebridge.metrics.lpips import load_lpips
    lp = load_lpips("vgg", device)     # raises a clear error when the weights are missing
    d = lp(img_a, img_b)               # [N] distances, images [N, 3, H, W] in [-1, 1]
"""

from __future__ import annotations

import os

import torch
from torch import nn

from stylebridge.errors import StylebridgeError
from stylebridge.metrics.backbones import AlexNetFeatures, VGG16Features
from stylebridge.metrics.weights import load_weights

NETS = {"vgg": ("vgg16", "lpips_vgg", VGG16Features), "alex": ("alexnet", "lpips_alex", AlexNetFeatures)}

# LPIPS's ScalingLayer: maps [-1, 1] images to ImageNet-normalised inputs.
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
MIN_SIZE = {"vgg": 16, "alex": 31}  # smallest image side the backbone's pools accept


def _unit_normalize(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    return x / (torch.sqrt(torch.sum(x * x, dim=1, keepdim=True)) + eps)


def match_channels(x: torch.Tensor) -> torch.Tensor:
    """[N, 1|3|4, H, W] -> [N, 3, H, W]: grey repeated, alpha dropped."""
    if x.shape[1] == 1:
        return x.expand(-1, 3, -1, -1)
    if x.shape[1] == 4:
        return x[:, :3]
    return x


class LPIPS(nn.Module):
    """Learned perceptual distance; `forward(a, b)` -> [N]. Parameters are frozen (no grad),
    gradients flow to the inputs. `weights`: None builds random weights (tests); a dict with
    keys 'backbone' and 'heads' (state dicts) loads them."""

    def __init__(self, net: str = "vgg", weights: dict[str, dict[str, torch.Tensor]] | None = None):
        super().__init__()
        if net not in NETS:
            raise StylebridgeError(f"unknown LPIPS network '{net}'; choose one of {', '.join(NETS)}")
        self.net_name = net
        self.backbone = NETS[net][2]()
        chans = self.backbone.channels
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in chans)
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE).view(1, 3, 1, 1), persistent=False)
        if weights is not None:
            self.backbone.load_official(weights["backbone"])
            self.load_heads(weights["heads"])
        self.eval().requires_grad_(False)

    def load_heads(self, heads: dict[str, torch.Tensor]) -> None:
        """Load LPIPS's own head keys (`lin0.model.1.weight`, ...)."""
        want = {f"lin{i}.model.1.weight" for i in range(len(self.lins))}
        if set(heads) != want:
            raise StylebridgeError(f"LPIPS heads: expected keys {sorted(want)}, got {sorted(heads)}")
        for i, lin in enumerate(self.lins):
            w = heads[f"lin{i}.model.1.weight"]
            if tuple(w.shape) != tuple(lin.weight.shape):
                raise StylebridgeError(f"LPIPS head {i}: shape {tuple(w.shape)} != {tuple(lin.weight.shape)}")
            with torch.no_grad():
                lin.weight.copy_(w)

    def train(self, mode: bool = True):
        return super().train(False)  # always eval: no dropout, fixed statistics

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Unit-normalised backbone activations of [-1, 1] images."""
        x = (match_channels(x) - self.shift) / self.scale
        return [_unit_normalize(f) for f in self.backbone(x)]

    def forward(self, a: torch.Tensor, b: torch.Tensor, spatial: bool = False) -> torch.Tensor:
        assert a.ndim == 4 and a.shape == b.shape, \
            f"LPIPS needs two equal batches, got {tuple(a.shape)} and {tuple(b.shape)}"
        self.check_size(a)
        return self.compare(self.features(a), self.features(b), spatial=a.shape[2:] if spatial else None)

    def check_size(self, a: torch.Tensor) -> None:
        """Refuse images smaller than the backbone takes, in one line."""
        if min(a.shape[2:]) < MIN_SIZE[self.net_name]:
            raise StylebridgeError(
                f"LPIPS-{self.net_name} needs images of at least {MIN_SIZE[self.net_name]}x{MIN_SIZE[self.net_name]} "
                f"pixels, got {a.shape[2]}x{a.shape[3]}; resize them or use "
                + ("net 'vgg'" if self.net_name == "alex" else "larger images")
            )

    def compare(self, fa: list[torch.Tensor], fb: list[torch.Tensor], spatial=None) -> torch.Tensor:
        """The distance from two images' `features` ([N] per image; with `spatial` = (H, W),
        the map [N, 1, H, W]). Lets a caller compute one side's features once."""
        total = 0
        for lin, x, y in zip(self.lins, fa, fb):
            d = lin((x - y) ** 2)  # [N, 1, h, w]
            if spatial is not None:
                d = nn.functional.interpolate(d, size=tuple(spatial), mode="bilinear", align_corners=False)
                total = total + d
            else:
                total = total + d.mean(dim=(2, 3))
        return total[:, 0] if spatial is None else total

    def extra_repr(self) -> str:
        return f"net={self.net_name!r}"


def lpips_weights(net: str, backbone_path: str | os.PathLike | None = None,
                  heads_path: str | os.PathLike | None = None) -> dict[str, dict[str, torch.Tensor]]:
    if net not in NETS:
        raise StylebridgeError(f"unknown LPIPS network '{net}'; choose one of {', '.join(NETS)}")
    backbone, heads, _ = NETS[net]
    return {"backbone": load_weights(backbone, backbone_path), "heads": load_weights(heads, heads_path)}


def load_lpips(net: str = "vgg", device: str | torch.device = "cpu", backbone_path=None, heads_path=None) -> LPIPS:
    """LPIPS with installed weights on `device`; WeightsMissingError says how to install them."""
    return LPIPS(net, lpips_weights(net, backbone_path, heads_path)).to(device)


def load_vgg16(device: str | torch.device = "cpu", path=None) -> VGG16Features:
    """The ImageNet VGG16 feature stack (frozen, eval), returning relu1_2 .. relu5_3.

    Inputs must be ImageNet-normalised ((x01 - mean) / std); use `LPIPS.features` for
    [-1, 1] images."""
    m = VGG16Features()
    m.load_official(load_weights("vgg16", path))
    return m.eval().requires_grad_(False).to(device)

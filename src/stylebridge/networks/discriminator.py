"""StyleGAN2's discriminator (NVIDIA's resnet architecture), with NVIDIA's parameter names."""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
import torch.nn as nn

from stylebridge.networks import ops
from stylebridge.networks.config import DiscriminatorConfig
from stylebridge.networks.layers import Conv2dLayer, FullyConnectedLayer
from stylebridge.networks.layers import assert_shape as _assert_shape
from stylebridge.networks.mapping import MappingNetwork


class MinibatchStdLayer(nn.Module):
    def __init__(self, group_size: int, num_channels: int = 1):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, C, H, W = x.shape
        G = min(self.group_size, N) if self.group_size is not None else N
        if N % G != 0:
            raise ValueError(f"minibatch-std: batch size {N} must be divisible by the group size {G}")
        F_, c = self.num_channels, C // self.num_channels
        y = x.reshape(G, -1, F_, c, H, W)            # [G, n, F, c, H, W]
        y = y - y.mean(dim=0)
        y = y.square().mean(dim=0)
        y = (y + 1e-8).sqrt()
        y = y.mean(dim=[2, 3, 4])                    # [n, F]
        y = y.reshape(-1, F_, 1, 1).repeat(G, 1, H, W)
        return torch.cat([x, y], dim=1)


class DiscriminatorBlock(nn.Module):
    def __init__(
        self,
        in_channels: int,             # Input channels, 0 = first block (reads the image).
        tmp_channels: int,            # Channels of the intermediate layer.
        out_channels: int,            # Output channels.
        resolution: int,              # Resolution of this block's input.
        img_channels: int,            # Image channels.
        conv_clamp: float | None = None,
        use_fp16: bool = False,
    ):
        super().__init__()
        self.in_channels, self.resolution, self.img_channels = in_channels, resolution, img_channels
        self.tmp_channels, self.use_fp16 = tmp_channels, use_fp16
        self.register_buffer("resample_filter", ops.setup_filter())
        if in_channels == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, activation="lrelu", conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, activation="lrelu", down=2, conv_clamp=conv_clamp)
        self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, down=2)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, dtype=torch.float32):
        if self.in_channels == 0:
            _assert_shape(img, [None, self.img_channels, self.resolution, self.resolution], "img")
            x = self.fromrgb(img.to(dtype))
        else:
            _assert_shape(x, [None, self.in_channels, self.resolution, self.resolution], "x")
            x = x.to(dtype)
        y = self.skip(x, gain=math.sqrt(0.5))
        x = self.conv0(x)
        x = self.conv1(x, gain=math.sqrt(0.5))
        return y + x


class DiscriminatorEpilogue(nn.Module):
    def __init__(self, in_channels: int, cmap_dim: int, resolution: int, cfg: DiscriminatorConfig):
        super().__init__()
        self.in_channels, self.cmap_dim, self.resolution = in_channels, cmap_dim, resolution
        nstd = cfg.mbstd_num_channels
        self.mbstd = MinibatchStdLayer(cfg.mbstd_group_size, nstd) if nstd > 0 else None
        self.conv = Conv2dLayer(in_channels + nstd, in_channels, 3, activation="lrelu", conv_clamp=cfg.conv_clamp)
        self.fc = FullyConnectedLayer(in_channels * resolution**2, in_channels, activation="lrelu")
        self.out = FullyConnectedLayer(in_channels, 1 if cmap_dim == 0 else cmap_dim)

    def forward(self, x: torch.Tensor, cmap: torch.Tensor | None) -> torch.Tensor:
        _assert_shape(x, [None, self.in_channels, self.resolution, self.resolution], "x")
        x = x.to(torch.float32)
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.conv(x)
        x = self.fc(x.flatten(1))
        x = self.out(x)
        if self.cmap_dim > 0:
            x = (x * cmap).sum(dim=1, keepdim=True) * (1 / math.sqrt(self.cmap_dim))
        return x


class Discriminator(nn.Module):
    """StyleGAN2 residual discriminator with minibatch standard deviation."""

    def __init__(self, config: DiscriminatorConfig):
        super().__init__()
        self.config = config
        cfg = config
        self.c_dim, self.img_resolution, self.img_channels = cfg.c_dim, cfg.img_resolution, cfg.img_channels
        self.block_resolutions = cfg.block_resolutions
        log2 = int(math.log2(cfg.img_resolution))
        fp16_resolution = max(2 ** (log2 + 1 - cfg.num_fp16_res), 8)
        cmap_dim = cfg.cmap_dim if cfg.cmap_dim is not None else cfg.channels(4)
        if cfg.c_dim == 0:
            cmap_dim = 0
        for res in self.block_resolutions:
            block = DiscriminatorBlock(
                in_channels=cfg.channels(res) if res < cfg.img_resolution else 0,
                tmp_channels=cfg.channels(res),
                out_channels=cfg.channels(res // 2),
                resolution=res,
                img_channels=cfg.img_channels,
                conv_clamp=cfg.conv_clamp,
                use_fp16=res >= fp16_resolution,
            )
            setattr(self, f"b{res}", block)
        if cfg.c_dim > 0:
            self.mapping = MappingNetwork(z_dim=0, c_dim=cfg.c_dim, w_dim=cmap_dim, num_ws=None, w_avg_beta=None,
                                          num_layers=cfg.mapping_layers or 8)
        self.b4 = DiscriminatorEpilogue(cfg.channels(4), cmap_dim, 4, cfg)

    def blocks(self) -> Iterator[tuple[int, DiscriminatorBlock]]:
        for res in self.block_resolutions:
            yield res, getattr(self, f"b{res}")

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None, force_fp32: bool = False) -> torch.Tensor:
        _assert_shape(img, [None, self.img_channels, self.img_resolution, self.img_resolution], "img")
        x = None
        for _res, block in self.blocks():
            half = block.use_fp16 and not force_fp32 and img.device.type == "cuda"
            dtype = torch.float16 if half else torch.float32
            x = block(x, img if x is None else None, dtype=dtype)
        cmap = None
        if self.c_dim > 0:
            if c is None:
                raise ValueError(f"this discriminator is class-conditional: pass c with shape [N, {self.c_dim}]")
            cmap = self.mapping(None, c)
        return self.b4(x, cmap)

"""StyleGAN2 generator in pure PyTorch (the discriminator: discriminator.py; shared layers: layers.py).

Parameter and buffer names equal those of NVIDIA's stylegan2-ada-pytorch
(`training/networks.py`), so NVIDIA state dicts load one to one and our checkpoints
read naturally to anyone who knows that code. The arithmetic follows the same
definitions (see `ops.py`); tests/networks compares against stored reference outputs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Literal

import numpy as np
import torch
import torch.nn as nn

from stylebridge.networks import ops
from stylebridge.networks.config import GeneratorConfig
from stylebridge.networks.discriminator import Discriminator  # noqa: F401  (re-exported: one import for both networks)
from stylebridge.networks.layers import Conv2dLayer, FullyConnectedLayer  # noqa: F401
from stylebridge.networks.layers import assert_shape as _assert_shape
from stylebridge.networks.mapping import MappingNetwork  # noqa: F401  (re-exported)

NoiseMode = Literal["const", "random", "none"]



# --------------------------------------------------------------------------- synthesis


class SynthesisLayer(nn.Module):
    def __init__(
        self,
        in_channels: int,             # Input channels.
        out_channels: int,            # Output channels.
        w_dim: int,                   # Intermediate latent size.
        resolution: int,              # Output resolution of this layer.
        up: int = 1,                  # Upsampling factor (1 or 2).
        use_noise: bool = True,       # Add per-pixel noise?
        conv_clamp: float | None = None,  # Clamp the output to +-conv_clamp.
    ):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.resolution, self.up, self.use_noise, self.conv_clamp = resolution, up, use_noise, conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.register_buffer("resample_filter", ops.setup_filter())
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 3, 3]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def forward(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        noise_mode: NoiseMode = "random",
        fused: bool = True,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        N = x.shape[0]
        _assert_shape(x, [None, self.in_channels, self.resolution // self.up, self.resolution // self.up], "x")
        styles = self.affine(w)
        noise = None
        if self.use_noise and noise_mode == "random":
            r = self.resolution
            noise = torch.randn([N, 1, r, r], device=x.device, generator=generator) * self.noise_strength
        elif self.use_noise and noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        elif noise_mode not in ("random", "const", "none"):
            raise ValueError(f"noise_mode must be 'const', 'random' or 'none', got {noise_mode!r}")
        if not fused:
            return ops.modulated_conv_lrelu(x, self.weight, styles, self.bias, noise, up=self.up,
                                            resample_filter=self.resample_filter, clamp=self.conv_clamp)
        x = ops.modulated_conv2d(x, self.weight, styles, noise=noise, up=self.up,
                                 resample_filter=self.resample_filter, fused=True)
        return ops.bias_act(x, self.bias, act="lrelu", clamp=self.conv_clamp, inplace=True)  # x: our own

    def extra_repr(self) -> str:
        return f"in={self.in_channels}, out={self.out_channels}, res={self.resolution}, up={self.up}"


class ToRGBLayer(nn.Module):
    def __init__(
        self,
        in_channels: int,             # Input channels.
        out_channels: int,            # Image channels.
        w_dim: int,                   # Intermediate latent size.
        conv_clamp: float | None = None,  # Clamp the output to +-conv_clamp.
    ):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused: bool = True) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        if not fused:
            return ops.modulated_torgb(x, self.weight, styles, self.bias, clamp=self.conv_clamp)
        x = ops.modulated_conv2d(x, self.weight, styles, demodulate=False, fused=True)
        return ops.bias_act(x, self.bias, clamp=self.conv_clamp, inplace=True)


class SynthesisBlock(nn.Module):
    def __init__(
        self,
        in_channels: int,             # Input channels, 0 = first block (learned constant).
        out_channels: int,            # Output channels.
        w_dim: int,                   # Intermediate latent size.
        resolution: int,              # Resolution of this block.
        img_channels: int,            # Image channels.
        use_fp16: bool = False,       # Run this block in fp16 on CUDA.
        conv_clamp: float | None = None,  # Clamp convolution outputs.
    ):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.resolution, self.img_channels, self.use_fp16 = resolution, img_channels, use_fp16
        self.w_dim = w_dim
        self.register_buffer("resample_filter", ops.setup_filter())
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2, conv_clamp=conv_clamp)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp)
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
        self.num_conv = 1 if in_channels == 0 else 2
        self.num_torgb = 1

    def forward(
        self,
        x: torch.Tensor | None,
        img: torch.Tensor | None,
        ws: torch.Tensor,                     # [N, num_conv + num_torgb, w_dim]
        dtype: torch.dtype = torch.float32,   # compute dtype of the convolutions
        noise_mode: NoiseMode = "random",
        fused: bool = True,
        generator: torch.Generator | None = None,
        memory_format: torch.memory_format = torch.contiguous_format,  # of the activations x
    ) -> tuple[torch.Tensor, torch.Tensor]:
        _assert_shape(ws, [None, self.num_conv + self.num_torgb, self.w_dim], "ws")
        w_iter: Iterator[torch.Tensor] = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            x = self.const.to(dtype).unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = self.conv1(x.contiguous(memory_format=memory_format), next(w_iter), noise_mode, fused, generator)
        else:
            _assert_shape(x, [None, self.in_channels, self.resolution // 2, self.resolution // 2], "x")
            x = x.to(dtype).contiguous(memory_format=memory_format)
            x = self.conv0(x, next(w_iter), noise_mode, fused, generator)
            x = self.conv1(x, next(w_iter), noise_mode, fused, generator)
        if img is not None:
            _assert_shape(img, [None, self.img_channels, self.resolution // 2, self.resolution // 2], "img")
            img = ops.upsample2d(img, self.resample_filter)
        y = self.torgb(x, next(w_iter), fused).to(torch.float32)
        img = img + y if img is not None else y
        return x, img


class SynthesisNetwork(nn.Module):
    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = cfg.w_dim, cfg.img_resolution, cfg.img_channels
        self.block_resolutions = cfg.block_resolutions
        log2 = int(math.log2(cfg.img_resolution))
        fp16_resolution = max(2 ** (log2 + 1 - cfg.num_fp16_res), 8)
        self.num_ws = 0
        for res in self.block_resolutions:
            block = SynthesisBlock(
                in_channels=cfg.channels(res // 2) if res > 4 else 0,
                out_channels=cfg.channels(res),
                w_dim=cfg.w_dim,
                resolution=res,
                img_channels=cfg.img_channels,
                use_fp16=res >= fp16_resolution,
                conv_clamp=cfg.conv_clamp,
            )
            self.num_ws += block.num_conv
            setattr(self, f"b{res}", block)
        self.num_ws += 1  # the last toRGB
        assert self.num_ws == cfg.num_ws

    def blocks(self) -> Iterator[tuple[int, SynthesisBlock]]:
        for res in self.block_resolutions:
            yield res, getattr(self, f"b{res}")

    def ws_index(self, res: int) -> int:
        """Index of the first w that the block at `res` reads."""
        return 0 if res == 4 else 2 * int(math.log2(res)) - 5

    def forward(
        self,
        ws: torch.Tensor,                      # [N, num_ws, w_dim]
        noise_mode: NoiseMode = "const",       # 'const' (stored noise), 'random' or 'none'
        fused: bool | None = None,             # None: choose the faster form for the device
        dtype: torch.dtype = torch.float32,    # torch.float32 or torch.bfloat16 (fp16: CUDA blocks per config)
        force_fp32: bool = False,              # ignore the config's fp16 blocks
        generator: torch.Generator | None = None,  # RNG for noise_mode='random'
    ) -> torch.Tensor:
        _assert_shape(ws, [None, self.num_ws, self.w_dim], "ws")
        ws = ws.to(torch.float32)
        N = ws.shape[0]
        # Forms: a single image takes the grouped form, NVIDIA's arithmetic, so `G(z)` draws
        # NVIDIA's pixels; a batch takes the batched form, faster by measurement on every
        # device (README "Generate": 256 px fp32 at batch 8, 305 against 634 ms/img on a CPU,
        # 1.84 against 2.87 ms/img on an H100; with autograd, as training and the projector
        # run, 1.5-2.1x on a CPU). On a CPU without autograd the batched form runs with
        # channels-last activations (oneDNN's NHWC convolutions: 256 px, 1 thread, 0.61 s per
        # image against 0.70-0.78 s grouped, so `generate --fast` asks for it even for one
        # image); with autograd (training, projector) NHWC gained nothing on the glyph models.
        cpu_inference = ws.device.type == "cpu" and not torch.is_grad_enabled()
        if fused is None:
            fused = N == 1
        fmt = torch.channels_last if cpu_inference and not fused else torch.contiguous_format
        x = img = None
        for res, block in self.blocks():
            i = self.ws_index(res)
            block_dtype = dtype
            if block.use_fp16 and not force_fp32 and ws.device.type == "cuda":
                block_dtype = torch.float16
            x, img = block(x, img, ws.narrow(1, i, block.num_conv + block.num_torgb),
                           dtype=block_dtype, noise_mode=noise_mode, fused=fused, generator=generator,
                           memory_format=fmt)
        return img


class Generator(nn.Module):
    """StyleGAN2 generator: z -> mapping -> ws [N, num_ws, w_dim] -> synthesis -> image."""

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        self.z_dim, self.c_dim, self.w_dim = config.z_dim, config.c_dim, config.w_dim
        self.img_resolution, self.img_channels = config.img_resolution, config.img_channels
        self.synthesis = SynthesisNetwork(config)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(
            z_dim=config.z_dim,
            c_dim=config.c_dim,
            w_dim=config.w_dim,
            num_ws=self.num_ws,
            num_layers=config.mapping_layers,
            embed_features=config.embed_features,
            layer_features=config.layer_features,
            lr_multiplier=config.mapping_lr_multiplier,
            w_avg_beta=config.w_avg_beta,
        )

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: NoiseMode = "const",
        **synthesis_kwargs,
    ) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, **synthesis_kwargs)

    def extra_repr(self) -> str:
        c = self.config
        return f"res={c.img_resolution}, channels={c.img_channels}, z={c.z_dim}, w={c.w_dim}, num_ws={self.num_ws}"


def style_mix(ws_a: torch.Tensor, ws_b: torch.Tensor, layers) -> torch.Tensor:
    """Copy the ws at the given layer indices from `ws_b` into `ws_a` (NVIDIA style_mixing.py)."""
    out = ws_a.clone()
    idx = list(layers)
    out[:, idx] = ws_b[:, idx]
    return out


def z_from_seed(seed: int, z_dim: int) -> torch.Tensor:
    """z exactly as NVIDIA's generate.py draws it: RandomState(seed).randn(1, z_dim)."""
    return torch.from_numpy(np.random.RandomState(seed).randn(1, z_dim))

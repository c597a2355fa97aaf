"""StyleGAN2 generator and discriminator in pure PyTorch.

Parameter and buffer names equal those of NVIDIA's stylegan2-ada-pytorch
(`training/networks.py`), so NVIDIA state dicts load one to one and our checkpoints
read naturally to anyone who knows that code. The arithmetic follows the same
definitions (see `ops.py`); tests/networks compares against stored reference outputs.
"""

from __future__ import annotations

import math
from typing import Iterator, Literal

import numpy as np
import torch
import torch.nn as nn

from stylebridge.networks import ops
from stylebridge.networks.config import DiscriminatorConfig, GeneratorConfig

NoiseMode = Literal["const", "random", "none"]


def _assert_shape(t: torch.Tensor, shape: list[int | None], what: str) -> None:
    ok = t.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, t.shape))
    assert ok, f"{what}: expected shape {shape}, got {list(t.shape)}"


# --------------------------------------------------------------------------- layers


class FullyConnectedLayer(nn.Module):
    def __init__(
        self,
        in_features: int,             # Number of input features.
        out_features: int,            # Number of output features.
        bias: bool = True,            # Add a bias before the activation?
        activation: str = "linear",   # 'linear' or 'lrelu'.
        lr_multiplier: float = 1.0,   # Learning-rate multiplier (equalised learning rate).
        bias_init: float = 0.0,       # Initial value of the bias.
    ):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias
        if b is not None:
            b = b.to(x.dtype)
            if self.bias_gain != 1:
                b = b * self.bias_gain
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return ops.bias_act(x.matmul(w.t()), b, act=self.activation)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, act={self.activation}"


class Conv2dLayer(nn.Module):
    """Equalised-lr convolution with optional 2x downsampling (discriminator)."""

    def __init__(
        self,
        in_channels: int,             # Input channels.
        out_channels: int,            # Output channels.
        kernel_size: int,             # Width and height of the kernel.
        bias: bool = True,            # Add a bias?
        activation: str = "linear",   # 'linear' or 'lrelu'.
        down: int = 1,                # Downsampling factor (1 or 2).
        conv_clamp: float | None = None,  # Clamp the output to +-conv_clamp.
    ):
        super().__init__()
        self.activation, self.down, self.conv_clamp = activation, down, conv_clamp
        self.register_buffer("resample_filter", ops.setup_filter())
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = (self.weight * self.weight_gain).to(x.dtype)
        x = ops.conv2d_resample(x, w, self.resample_filter, down=self.down)
        act_gain = (ops.SQRT2 if self.activation == "lrelu" else 1.0) * gain
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return ops.bias_act(x, self.bias, act=self.activation, gain=act_gain, clamp=clamp)


# --------------------------------------------------------------------------- mapping


class MappingNetwork(nn.Module):
    def __init__(
        self,
        z_dim: int,                      # Input latent (z) size, 0 = no latent.
        c_dim: int,                      # Conditioning label size, 0 = no label.
        w_dim: int,                      # Intermediate latent (w) size.
        num_ws: int | None,              # Number of w vectors to broadcast to (None = no broadcast).
        num_layers: int = 8,             # Number of fully connected layers.
        embed_features: int | None = None,  # Label embedding size (None = w_dim).
        layer_features: int | None = None,  # Hidden layer size (None = w_dim).
        lr_multiplier: float = 0.01,     # Learning-rate multiplier of the layers.
        w_avg_beta: float | None = 0.995,  # Decay of the tracked mean of w (None = no tracking).
    ):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers, self.w_avg_beta = num_layers, w_avg_beta
        embed_features = w_dim if embed_features is None else embed_features
        if c_dim == 0:
            embed_features = 0
        layer_features = w_dim if layer_features is None else layer_features
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for i in range(num_layers):
            layer = FullyConnectedLayer(features[i], features[i + 1], activation="lrelu", lr_multiplier=lr_multiplier)
            setattr(self, f"fc{i}", layer)
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(
        self,
        z: torch.Tensor | None,                 # [N, z_dim]
        c: torch.Tensor | None = None,          # [N, c_dim]
        truncation_psi: float = 1.0,            # 1 = no truncation; 0 = always w_avg
        truncation_cutoff: int | None = None,   # truncate only the first `cutoff` ws (None = all)
        update_w_avg: bool = False,             # track the running mean of w (training)
    ) -> torch.Tensor:
        x = None
        if self.z_dim > 0:
            _assert_shape(z, [None, self.z_dim], "z")
            x = ops.normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            if c is None:
                raise ValueError(f"this generator is class-conditional: pass c with shape [N, {self.c_dim}]")
            _assert_shape(c, [None, self.c_dim], "c")
            y = ops.normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        if update_w_avg and self.w_avg_beta is not None:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            assert self.w_avg_beta is not None
            if self.num_ws is None or truncation_cutoff is None:
                x = self.w_avg.lerp(x, truncation_psi)
            else:
                x = x.clone()
                x[:, :truncation_cutoff] = self.w_avg.lerp(x[:, :truncation_cutoff], truncation_psi)
        return x


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
        return ops.bias_act(x, self.bias, act="lrelu", clamp=self.conv_clamp)

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
        return ops.bias_act(x, self.bias, clamp=self.conv_clamp)


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
    ) -> tuple[torch.Tensor, torch.Tensor]:
        _assert_shape(ws, [None, self.num_conv + self.num_torgb, self.w_dim], "ws")
        w_iter: Iterator[torch.Tensor] = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            x = self.const.to(dtype).unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = self.conv1(x, next(w_iter), noise_mode, fused, generator)
        else:
            _assert_shape(x, [None, self.in_channels, self.resolution // 2, self.resolution // 2], "x")
            x = x.to(dtype)
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
        if fused is None:
            fused = N == 1 or (ws.device.type == "cuda" and not self.training and dtype == torch.float32)
        x = img = None
        for res, block in self.blocks():
            i = self.ws_index(res)
            block_dtype = dtype
            if block.use_fp16 and not force_fp32 and ws.device.type == "cuda":
                block_dtype = torch.float16
            x, img = block(x, img, ws.narrow(1, i, block.num_conv + block.num_torgb),
                           dtype=block_dtype, noise_mode=noise_mode, fused=fused, generator=generator)
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


# --------------------------------------------------------------------------- discriminator


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
        for res, block in self.blocks():
            dtype = torch.float16 if (block.use_fp16 and not force_fp32 and img.device.type == "cuda") else torch.float32
            x = block(x, img if x is None else None, dtype=dtype)
        cmap = None
        if self.c_dim > 0:
            if c is None:
                raise ValueError(f"this discriminator is class-conditional: pass c with shape [N, {self.c_dim}]")
            cmap = self.mapping(None, c)
        return self.b4(x, cmap)

"""The layers both networks are built from (NVIDIA's FullyConnectedLayer and Conv2dLayer:
equalized learning rate, bias + activation, FIR up/downsampling, optional clamp) and the
shape check each block starts with."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from stylebridge.networks import ops


def assert_shape(t: torch.Tensor, shape: list[int | None], what: str) -> None:
    ok = t.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, t.shape))
    assert ok, f"{what}: expected shape {shape}, got {list(t.shape)}"


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

"""Architecture configs: one dataclass per network, saved with the weights as data.

Field names follow NVIDIA's stylegan2-ada-pytorch constructor arguments so that the
`init_kwargs` of an NVIDIA pickle translate one to one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

from stylebridge.errors import CheckpointError
from stylebridge.utils.config import ConfigData

_Config = TypeVar("_Config", bound="_NetworkConfig")


class _NetworkConfig(ConfigData):
    """What both configs share: the image checks, channels per resolution, and data in and
    out (`to_dict` is what a checkpoint stores; `from_dict` refuses unknown fields)."""

    def _check_image(self) -> None:
        res = self.img_resolution
        if not isinstance(res, int) or res < 4 or res > 1024 or (res & (res - 1)) != 0:
            raise CheckpointError(f"img_resolution must be a power of two between 4 and 1024, got {res!r}")
        if self.img_channels not in (1, 3, 4):
            raise CheckpointError(f"img_channels must be 1, 3 or 4, got {self.img_channels}")

    def channels(self, res: int) -> int:
        return min(self.channel_base // res, self.channel_max)


@dataclass
class GeneratorConfig(_NetworkConfig):
    z_dim: int = 512                # Dimensionality of the input latent z.
    c_dim: int = 0                  # Dimensionality of the class label (0 = unconditional).
    w_dim: int = 512                # Dimensionality of the intermediate latent w.
    img_resolution: int = 256       # Output resolution (power of two, 4..1024).
    img_channels: int = 3           # Output channels: 1 (grey), 3 (RGB) or 4 (RGBA).
    mapping_layers: int = 8         # Number of fully connected layers in the mapping network.
    mapping_lr_multiplier: float = 0.01  # Learning-rate multiplier of the mapping layers.
    w_avg_beta: float = 0.995       # Decay of the running mean of w (tracked during training).
    embed_features: int | None = None  # Label embedding size (None = w_dim).
    layer_features: int | None = None  # Hidden size of the mapping layers (None = w_dim).
    channel_base: int = 32768       # Channels at resolution r: min(channel_base // r, channel_max).
    channel_max: int = 512          # Upper bound on the channels of any layer.
    num_fp16_res: int = 0           # Run the N highest resolutions in fp16 (CUDA only).
    conv_clamp: float | None = None # Clamp convolution outputs to +-conv_clamp (None = off).
    architecture: str = "skip"      # Synthesis architecture; only 'skip' (StyleGAN2 default).

    def __post_init__(self) -> None:
        self._check_image()
        if self.architecture != "skip":
            raise CheckpointError(f"only the 'skip' synthesis architecture is supported, got {self.architecture!r}")
        for name in ("z_dim", "w_dim", "mapping_layers", "channel_base", "channel_max"):
            if int(getattr(self, name)) < 1:
                raise CheckpointError(f"{name} must be positive, got {getattr(self, name)}")
        if self.c_dim < 0:
            raise CheckpointError(f"c_dim must be >= 0, got {self.c_dim}")

    @property
    def block_resolutions(self) -> list[int]:
        return [2**i for i in range(2, int(math.log2(self.img_resolution)) + 1)]

    @property
    def num_ws(self) -> int:
        return 2 * int(math.log2(self.img_resolution)) - 2


@dataclass
class DiscriminatorConfig(_NetworkConfig):
    c_dim: int = 0                  # Dimensionality of the class label (0 = unconditional).
    img_resolution: int = 256       # Input resolution (power of two, 4..1024).
    img_channels: int = 3           # Input channels: 1, 3 or 4.
    channel_base: int = 32768       # Channels at resolution r: min(channel_base // r, channel_max).
    channel_max: int = 512          # Upper bound on the channels of any layer.
    num_fp16_res: int = 0           # Run the N highest resolutions in fp16 (CUDA only).
    conv_clamp: float | None = None # Clamp convolution outputs to +-conv_clamp (None = off).
    cmap_dim: int | None = None     # Projection size for conditioning (None = channels at 4x4).
    mbstd_group_size: int = 4       # Minibatch-stddev group size.
    mbstd_num_channels: int = 1     # Minibatch-stddev feature channels (0 = off).
    mapping_layers: int = 0         # Layers of the label mapping network (conditional only; 0 = NVIDIA default 8).
    architecture: str = "resnet"    # Only 'resnet' (StyleGAN2 default).

    def __post_init__(self) -> None:
        self._check_image()
        if self.architecture != "resnet":
            raise CheckpointError(f"only the 'resnet' discriminator architecture is supported, "
                                  f"got {self.architecture!r}")

    @property
    def block_resolutions(self) -> list[int]:
        return [2**i for i in range(int(math.log2(self.img_resolution)), 2, -1)]


def matching_discriminator(g: GeneratorConfig) -> DiscriminatorConfig:
    """The discriminator config NVIDIA's training script pairs with a generator config."""
    return DiscriminatorConfig(
        c_dim=g.c_dim,
        img_resolution=g.img_resolution,
        img_channels=g.img_channels,
        channel_base=g.channel_base,
        channel_max=g.channel_max,
        num_fp16_res=g.num_fp16_res,
        conv_clamp=g.conv_clamp,
    )

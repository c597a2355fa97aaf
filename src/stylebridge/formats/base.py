"""What every checkpoint reader returns: configs plus state dicts in OUR key layout.

Our key layout is exactly NVIDIA stylegan2-ada-pytorch's `state_dict()` layout for
`training.networks.Generator` / `Discriminator` (e.g. `mapping.fc0.weight`,
`mapping.w_avg`, `synthesis.b4.const`, `synthesis.b8.conv0.affine.weight`,
`synthesis.b8.conv0.noise_const`, `synthesis.b8.torgb.weight`, `synthesis.b8.resample_filter`,
`b8.conv1.weight`, `b4.fc.weight`, ...). Foreign readers translate into it with key tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from stylebridge.networks.config import DiscriminatorConfig, GeneratorConfig


@dataclass
class NetworkState:
    config: GeneratorConfig | DiscriminatorConfig
    state_dict: dict[str, torch.Tensor]


@dataclass
class RawCheckpoint:
    format: str                                  # 'native', 'nvidia_pkl', 'rosinality', 'tf_pkl'
    G: NetworkState | None = None                # the trained generator
    G_ema: NetworkState | None = None            # its exponential moving average (used for sampling)
    D: NetworkState | None = None                # discriminator
    w_avg_known: bool = True                     # False: mapping.w_avg must be estimated by the loader
    extra: dict[str, Any] = field(default_factory=dict)  # optimizer states, training state, notes

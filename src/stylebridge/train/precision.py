"""Arithmetic precision of training: the mechanics of each mode, in one place.

* ``fp32``: every block in fp32, whatever the network's config says (``force_fp32``).
* ``bf16``: ``torch.autocast`` to bfloat16 around the synthesis network and the
  discriminator (convolutions and matmuls in bf16, reductions in fp32); the mapping network,
  the losses, the optimizers and the parameters stay fp32. bf16 has fp32's exponent range, so
  nothing overflows and no loss scaling is needed. Runs on CUDA and on CPUs.
* ``fp16``: NVIDIA's stylegan2-ada scheme, CUDA only: the ``num_fp16_res`` highest
  resolutions of G and D compute in fp16 with their outputs clamped to +-``conv_clamp``
  (defaults 4 and 256, as NVIDIA's train.py sets them), everything else in fp32. Like NVIDIA
  there is no loss scaler: the clamp keeps activations finite and the trainer replaces
  non-finite gradients (nan -> 0, +-inf -> +-1e5) before each optimizer step. A network whose
  config has no fp16 blocks gets them (its config records it, so snapshots keep it).

Default (``precision=None``): `utils.precision.default_precision`, chosen by measurement
(README "Training speed"): bf16 where the device computes bf16 natively, fp32 elsewhere.
"""

from __future__ import annotations

import contextlib
import dataclasses

import torch

from stylebridge.errors import StylebridgeError
from stylebridge.utils.precision import PRECISIONS, default_precision, native_bf16

__all__ = ["PRECISIONS", "native_bf16", "default_precision", "resolve_precision", "autocast", "full_precision",
           "with_fp16_blocks"]

FP16_RES = 4          # NVIDIA train.py: fp16 in the 4 highest resolutions ...
FP16_CONV_CLAMP = 256  # ... with convolution outputs clamped to +-256


def resolve_precision(precision: str | None, device: torch.device | str) -> str:
    """`precision` checked for `device`, or the device's default when None."""
    device = torch.device(device)
    if precision is None:
        return default_precision(device)
    if precision not in PRECISIONS:
        raise StylebridgeError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp16" and device.type != "cuda":
        raise StylebridgeError(f"--precision fp16 needs a CUDA device (NVIDIA's fp16 blocks); on {device.type} "
                               "use fp32 or bf16")
    return precision


def autocast(precision: str, device: torch.device, cache: bool = True) -> contextlib.AbstractContextManager:
    """The context the synthesis network and the discriminator run in; `cache=False` turns off
    autocast's cache of cast weights (required inside a captured CUDA graph)."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=cache)
    return contextlib.nullcontext()


def full_precision(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """Leave the autocast of `autocast(precision, device)` for the duration (augmentation,
    losses); nothing to leave when that precision runs no autocast."""
    if precision == "bf16":
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()


def with_fp16_blocks(net: torch.nn.Module, num_fp16_res: int = FP16_RES,
                     conv_clamp: float = FP16_CONV_CLAMP) -> torch.nn.Module:
    """`net` (a Generator or Discriminator) rebuilt with fp16 blocks and conv_clamp when its
    config has none (the weights are copied; a config that already has them is kept)."""
    cfg = net.config
    if cfg.num_fp16_res > 0 and cfg.conv_clamp is not None:
        return net
    new_cfg = dataclasses.replace(cfg, num_fp16_res=cfg.num_fp16_res or num_fp16_res,
                                  conv_clamp=cfg.conv_clamp if cfg.conv_clamp is not None else conv_clamp)
    out = type(net)(new_cfg)
    out.load_state_dict(net.state_dict())
    return out.to(next(net.parameters()).device).train(net.training)

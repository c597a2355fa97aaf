"""Which arithmetic a device does well: the measured policy that training (and any verb that
wants a device default) uses for bf16.

Measured (README "Training speed"): on CPUs with AVX512-BF16 or AMX a bf16 3x3 convolution
ran 2x faster than fp32; on an AVX2-only CPU (no bf16 instructions) the same convolution in
bf16 ran 37x SLOWER than fp32 (oneDNN has no bf16 kernel there and falls back to reference
code). CUDA GPUs with native bf16 (Ampere and newer) run it on tensor cores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

PRECISIONS = ("fp32", "bf16", "fp16")


def native_bf16(device: torch.device | str) -> bool:
    """Whether `device` has bf16 arithmetic in hardware (not emulated)."""
    import torch  # here, not at the top: the command line reads PRECISIONS for --help

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, p, lambda: False)() for p in probes)
    return False


def default_precision(device: torch.device | str) -> str:
    """bf16 where the device computes it natively, else fp32."""
    return "bf16" if native_bf16(device) else "fp32"

"""Device settings that library functions switch for their own duration only.

`tf32(enabled, device)` sets TensorFloat-32 for cuBLAS matmuls and cuDNN convolutions on a
CUDA device (Ampere and newer run fp32 matmuls and convolutions on tensor cores with a
10-bit mantissa; older GPUs ignore the flag) and restores the previous flags on exit, so no
process-wide setting outlives the call. Inversion and training turn it on; `generate`'s
exact mode turns it off (PyTorch enables it for cuDNN convolutions by default).
On other devices it does nothing.
resolve_device(name) turns a device name into a torch.device, for the library and the CLI alike.
torch is imported inside the functions: the CLI starts without it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from stylebridge.errors import StylebridgeError


def _read() -> tuple[str, tuple]:
    """The current flags in whichever API the process used: PyTorch refuses to read the
    legacy `allow_tf32` flags once the newer `fp32_precision` ones were set, and vice versa."""
    import torch

    try:
        return "legacy", (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    except RuntimeError:
        return "new", (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision)


def _write(api: str, flags: tuple) -> None:
    import torch

    if api == "legacy":
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = flags
    else:
        torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision = flags


@contextlib.contextmanager
def tf32(enabled: bool, device) -> Iterator[None]:
    """TF32 on (enabled=True) or off for CUDA matmuls and convolutions, for the duration."""
    import torch

    if device is None or torch.device(device).type != "cuda":
        yield
        return
    api, saved = _read()
    if api == "legacy":
        _write(api, (enabled, enabled))
    else:
        mode = "tf32" if enabled else "ieee"
        _write(api, (mode, mode))
    try:
        yield
    finally:
        _write(api, saved)


def resolve_device(name: str):
    """'auto' (cuda if available, else cpu), 'cpu', 'cuda', 'cuda:N' -> torch.device; a clear
    error for others. Imports torch only when called (the CLI starts without it)."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as e:
        raise StylebridgeError(f"unknown device '{name}' (use cpu, cuda or cuda:N)") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise StylebridgeError(f"device '{name}' asked for, but this torch has no CUDA GPU; use --device cpu")
    return dev

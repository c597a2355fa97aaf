"""Device settings that library functions switch for their own duration only.

`tf32(enabled, device)` sets TensorFloat-32 for cuBLAS matmuls and cuDNN convolutions on a
CUDA device (Ampere and newer run fp32 matmuls and convolutions on tensor cores with a
10-bit mantissa; older GPUs ignore the flag) and restores the previous flags on exit, so no
process-wide setting outlives the call. Inversion and training turn it on; `generate`'s
exact mode turns it off (PyTorch enables it for cuDNN convolutions by default).
On other devices it does nothing.
`fast_cuda(device)` is what training runs under (inversion uses `tf32` alone: its batch shrinks
as images converge, and each new shape would be autotuned again): TF32 on, and cuDNN's autotuner
on (`cudnn.benchmark`, as NVIDIA's training loop sets it: the same shapes repeat every step,
so timing the convolution algorithms once per shape pays back at once). Restored on exit.
resolve_device(name) turns a device name into a torch.device, for the library and the CLI alike.
upload(t, device) moves a CPU tensor (a batch, latents drawn on the CPU) to the device without
making the host wait for the device.
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


def upload(t, device):
    """`t` (drawn or loaded on the CPU) on `device`, without a host wait. A plain CPU-to-CUDA
    copy synchronises the stream (PyTorch's blocking copy is cudaMemcpyAsync + a stream sync):
    the host stops queueing until every kernel before it has run, and the GPU then idles while
    the next ones are launched, once per copy in every step of a loop. Here the copy goes
    through pinned memory without blocking (PyTorch keeps the pinned block alive until the copy
    is done); other accelerators get a non-blocking copy; the CPU gets `t` itself."""
    import torch

    device = torch.device(device)
    if device.type == "cpu" or t.device.type != "cpu":
        return t.to(device)
    if device.type == "cuda":
        t = t.pin_memory()
    return t.to(device, non_blocking=True)


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


@contextlib.contextmanager
def fast_cuda(device) -> Iterator[None]:
    """TF32 and cuDNN's autotuner on for the duration (CUDA only; elsewhere nothing)."""
    import torch

    if device is None or torch.device(device).type != "cuda":
        yield
        return
    saved = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        with tf32(True, device):
            yield
    finally:
        torch.backends.cudnn.benchmark = saved


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

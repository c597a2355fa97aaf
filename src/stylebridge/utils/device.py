"""Device names ('auto', 'cpu', 'cuda:1') -> torch devices, for the library and the CLI alike."""

from __future__ import annotations

from stylebridge.errors import StylebridgeError


def resolve_device(name: str):
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

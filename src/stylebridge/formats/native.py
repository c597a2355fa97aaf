"""The native checkpoint: one `.safetensors` file, weights plus configs as data.

Layout:
* tensors `G.<key>`, `G_ema.<key>`, `D.<key>` in NVIDIA's state-dict layout;
* any extra state (optimizer states, RNG states, training counters) flattened into
  tensors `state.<path>` plus a JSON skeleton in the metadata;
* metadata (strings): `format` = "stylebridge", `format_version`, `stylebridge_version`,
  `networks` = JSON {name: {"kind": "generator"|"discriminator", "config": {...}}},
  `extra` = JSON skeleton of the extra state.

Nothing in the file is code: loading reads tensors and JSON only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from stylebridge import __version__
from stylebridge.errors import CheckpointError
from stylebridge.formats.base import NetworkState, RawCheckpoint
from stylebridge.networks.config import DiscriminatorConfig, GeneratorConfig
from stylebridge.utils.io import atomic_path

FORMAT_NAME = "stylebridge"
FORMAT_VERSION = 1
NETWORK_NAMES = ("G", "G_ema", "D")
_TENSOR = "__tensor__"
_NDARRAY = "__ndarray__"
_TUPLE = "__tuple__"


def _flatten(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace tensors / arrays in a nested structure by references; collect them."""
    if isinstance(obj, torch.Tensor):
        key = f"state.{prefix}"
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {_TENSOR: key}
    if isinstance(obj, np.ndarray):
        key = f"state.{prefix}"
        tensors[key] = torch.from_numpy(np.ascontiguousarray(obj).copy())
        return {_NDARRAY: key}
    if isinstance(obj, dict):
        for k in obj:
            if not isinstance(k, (str, int)):
                raise TypeError(f"state key {k!r} at {prefix!r} must be str or int")
        return {"__dict__": [[k, _flatten(v, f"{prefix}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_flatten(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
        return {_TUPLE: items} if isinstance(obj, tuple) else items
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix!r} in a checkpoint")


def _unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if _TENSOR in obj:
            return tensors[obj[_TENSOR]]
        if _NDARRAY in obj:
            return tensors[obj[_NDARRAY]].numpy()
        if _TUPLE in obj:
            return tuple(_unflatten(v, tensors) for v in obj[_TUPLE])
        if "__dict__" in obj:
            return {k: _unflatten(v, tensors) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [_unflatten(v, tensors) for v in obj]
    return obj


def save_checkpoint(
    path: str | Path,
    G: torch.nn.Module | None = None,
    G_ema: torch.nn.Module | None = None,
    D: torch.nn.Module | None = None,
    extra: dict[str, Any] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write a native checkpoint atomically. `dtype=torch.float16` halves the file size
    (weights are cast back to float32 on loading)."""
    tensors: dict[str, torch.Tensor] = {}
    networks: dict[str, Any] = {}
    for name, net in (("G", G), ("G_ema", G_ema), ("D", D)):
        if net is None:
            continue
        kind = "discriminator" if isinstance(net.config, DiscriminatorConfig) else "generator"
        networks[name] = {"kind": kind, "config": net.config.to_dict()}
        for k, v in net.state_dict().items():
            v = v.detach().cpu().contiguous().clone()
            if dtype is not None and v.is_floating_point():
                v = v.to(dtype)
            tensors[f"{name}.{k}"] = v
    if not networks:
        raise ValueError("save_checkpoint needs at least one of G, G_ema, D")
    skeleton = _flatten(extra or {}, "extra", tensors)
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "stylebridge_version": __version__,
        "networks": json.dumps(networks),
        "extra": json.dumps(skeleton),
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def round_to(net: torch.nn.Module, dtype: torch.dtype = torch.float16) -> torch.nn.Module:
    """Round a network's floating-point parameters and buffers in place to the values a
    `save_checkpoint(..., dtype=dtype)` file holds, so that it computes exactly what its
    reduced-precision copy will (a layer swap between an fp32 base and fp16 fine-tunes, for
    example, then matches the shipped files). Returns `net`."""
    with torch.no_grad():
        for t in list(net.parameters()) + list(net.buffers()):
            if t.is_floating_point():
                t.copy_(t.to(dtype).to(t.dtype))
    return net


def is_native(path: str | Path) -> bool:
    try:
        with safe_open(str(path), framework="pt") as f:
            return (f.metadata() or {}).get("format") == FORMAT_NAME
    except Exception:
        return False


def read_native(path: str | Path) -> RawCheckpoint:
    """Read a native checkpoint into configs + state dicts (no modules built)."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{path}: not a readable safetensors file ({e}); the file may be truncated or corrupt") from None
    if meta.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: a safetensors file, but not a stylebridge checkpoint (no 'format: stylebridge' metadata)")
    version = int(meta.get("format_version", "0"))
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version} is newer than this stylebridge "
                              f"({__version__}) reads; upgrade stylebridge")
    try:
        networks = json.loads(meta["networks"])
        skeleton = json.loads(meta.get("extra", "{}"))
    except (KeyError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: damaged metadata ({e})") from None
    raw = RawCheckpoint(format="native")
    for name in NETWORK_NAMES:
        if name not in networks:
            continue
        entry = networks[name]
        cls = DiscriminatorConfig if entry["kind"] == "discriminator" else GeneratorConfig
        cfg = cls.from_dict(entry["config"])
        prefix = name + "."
        sd = {k[len(prefix):]: v.float() if v.dtype in (torch.float16, torch.bfloat16) else v
              for k, v in tensors.items() if k.startswith(prefix)}
        setattr(raw, name, NetworkState(cfg, sd))
    raw.extra = _unflatten(skeleton, tensors) if skeleton else {}
    raw.extra["stylebridge_version"] = meta.get("stylebridge_version")
    return raw

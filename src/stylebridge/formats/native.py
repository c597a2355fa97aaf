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
from stylebridge.formats.layout import check_layout, discriminator_shapes, generator_shapes, parse_config
from stylebridge.networks.config import DiscriminatorConfig, GeneratorConfig
from stylebridge.utils.io import atomic_path

FORMAT_NAME = "stylebridge"
FORMAT_VERSION = 1
NETWORK_NAMES = ("G", "G_ema", "D")
_TENSOR = "__tensor__"
_NDARRAY = "__ndarray__"
_TUPLE = "__tuple__"


def flatten_tree(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
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
        return {"__dict__": [[k, flatten_tree(v, f"{prefix}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [flatten_tree(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
        return {_TUPLE: items} if isinstance(obj, tuple) else items
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix!r} in a checkpoint")


MAX_DEPTH = 32  # nesting of the extra state (optimizer states need about 5)


def unflatten_tree(obj: Any, tensors: dict[str, torch.Tensor], depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise CheckpointError(f"the extra state is nested more than {MAX_DEPTH} levels deep")
    if isinstance(obj, dict):
        for tag in (_TENSOR, _NDARRAY):
            if tag in obj:
                key = obj[tag]
                if not isinstance(key, str) or key not in tensors:
                    raise CheckpointError(f"the extra state refers to a tensor {str(key)[:60]!r} "
                                          "the file does not hold")
                return tensors[key] if tag == _TENSOR else tensors[key].numpy()
        if _TUPLE in obj and isinstance(obj[_TUPLE], list):
            return tuple(unflatten_tree(v, tensors, depth + 1) for v in obj[_TUPLE])
        if "__dict__" in obj and isinstance(obj["__dict__"], list):
            items = obj["__dict__"]
            if not all(isinstance(kv, list) and len(kv) == 2 and isinstance(kv[0], (str, int)) for kv in items):
                raise CheckpointError("the extra state holds a malformed dict entry")
            return {k: unflatten_tree(v, tensors, depth + 1) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [unflatten_tree(v, tensors, depth + 1) for v in obj]
    return obj


def _strict_json(text: Any, what: str) -> Any:
    """JSON with duplicate keys, NaN/Infinity and deep nesting refused (CheckpointError)."""
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise CheckpointError(f"{what}: the key {dup[:60]!r} appears twice")
        return dict(pairs)

    def no_constant(name):
        raise CheckpointError(f"{what}: {name} is not a number")
    if not isinstance(text, (str, bytes)):
        raise CheckpointError(f"{what}: expected JSON text")
    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant)
    except RecursionError:
        raise CheckpointError(f"{what}: nested too deeply") from None
    except CheckpointError:
        raise
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, ints over 4300 digits
        raise CheckpointError(f"{what}: not valid JSON ({str(e)[:80]})") from None


def read_header(path: Path) -> dict[str, Any]:
    """The safetensors header, parsed by us first: its length within the file, valid JSON, no
    key twice (the safetensors library keeps the last one silently), string metadata."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        if not 0 < n <= min(size - 8, 100_000_000):
            raise CheckpointError(f"{path}: the safetensors header claims {n} bytes in a {size}-byte file; "
                                  "the file is truncated or corrupt")
        header = _strict_json(f.read(n), f"{path}: safetensors header")
    meta = header.get("__metadata__", {}) if isinstance(header, dict) else None
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CheckpointError(f"{path}: the safetensors header is not a JSON object with string metadata")
    return header


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
    skeleton = flatten_tree(extra or {}, "extra", tensors)
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "stylebridge_version": __version__,
        "networks": json.dumps(networks),
        "extra": json.dumps(skeleton),
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        save_safetensors(tensors, tmp, metadata)
    return path


def save_safetensors(tensors: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str]) -> None:
    """safetensors' `save_file`, with the header's keys in sorted order: the library writes the
    metadata in a hash map's order, different in every process, so the same weights made files
    that differed in their bytes (a re-packaged zoo showed every model as changed). The header
    keeps its length (the same keys and values), so the data offsets stay valid."""
    save_file(tensors, str(path), metadata=metadata)
    with open(path, "r+b") as f:
        n = int.from_bytes(f.read(8), "little")
        raw = f.read(n)
        header = json.loads(raw)
        header["__metadata__"] = dict(sorted(header.get("__metadata__", {}).items()))
        canon = json.dumps(dict(sorted(header.items(), key=lambda kv: (kv[0] != "__metadata__", kv[0]))),
                           separators=(",", ":"), ensure_ascii=False).encode()
        assert len(canon) <= n, "the canonical header cannot be longer than the library's"  # same items
        f.seek(8)
        f.write(canon + b" " * (n - len(canon)))


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


def read_native(path: str | Path) -> RawCheckpoint:
    """Read a native checkpoint into configs + state dicts (no modules built). Everything is
    checked before it is used: the header (see `read_header`), the version, each network's kind
    and typed, bounded config, and every tensor's shape against the config's layout."""
    path = Path(path)
    meta = read_header(path).get("__metadata__", {})
    if meta.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: a safetensors file, but not a stylebridge checkpoint "
                              "(no 'format: stylebridge' metadata)")
    version = meta.get("format_version", "0")
    if not (version.isdigit() and len(version) < 6):
        raise CheckpointError(f"{path}: format_version {version[:20]!r} is not a version number")
    if int(version) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version} is newer than this stylebridge "
                              f"({__version__}) reads; upgrade stylebridge")
    if "networks" not in meta:
        raise CheckpointError(f"{path}: damaged metadata (no 'networks')")
    networks = _strict_json(meta["networks"], f"{path}: networks metadata")
    skeleton = _strict_json(meta.get("extra", "{}"), f"{path}: extra metadata")
    if not isinstance(networks, dict):
        raise CheckpointError(f"{path}: damaged metadata ('networks' is not a JSON object)")
    configs = {}
    for name in NETWORK_NAMES:
        if name in networks:
            entry = networks[name]
            if not isinstance(entry, dict):
                raise CheckpointError(f"{path} [{name}]: damaged metadata (not a JSON object)")
            configs[name] = parse_config(entry.get("kind"), entry.get("config"), f"{path} [{name}]")
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{path}: not a readable safetensors file ({e}); "
                              "the file may be truncated or corrupt") from None
    raw = RawCheckpoint(format="native")
    for name, cfg in configs.items():
        prefix = name + "."
        sd = {k[len(prefix):]: v.float() if v.dtype in (torch.float16, torch.bfloat16) else v
              for k, v in tensors.items() if k.startswith(prefix)}
        shapes = generator_shapes(cfg) if isinstance(cfg, GeneratorConfig) else discriminator_shapes(cfg)
        check_layout(sd, shapes, f"{path} [{name}]")
        setattr(raw, name, NetworkState(cfg, sd))
    try:
        raw.extra = unflatten_tree(skeleton, tensors) if skeleton else {}
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from None
    if not isinstance(raw.extra, dict):
        raise CheckpointError(f"{path}: the extra state is not a dict")
    raw.extra["stylebridge_version"] = meta.get("stylebridge_version")
    return raw

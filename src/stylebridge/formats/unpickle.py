"""A restricted unpickler: reads StyleGAN pickles as inert data and never runs their code.

A pickle is a small program: every GLOBAL/STACK_GLOBAL names a callable that the standard
unpickler imports and calls. NVIDIA's network pickles, for instance, call
`torch_utils.persistence._reconstruct_persistent_obj(meta)`, and NVIDIA's own implementation of
that function `exec`s the source text `meta['module_src']` stored in the file. Here,
`find_class` answers only an allow-list of (module, name) pairs, each mapped to an inert
container or to a reconstructor that builds plain data (tensors, numpy arrays, dicts). Any other
name raises `UnsafePickleError` before anything is called; `module_src` is kept as a hash only.

What NVIDIA's pickles contain (observed in a file written by their training code, pickle
protocol 4): a dict of `_reconstruct_persistent_obj` calls whose `meta['state']` is the module's
`__dict__` (`_parameters`, `_buffers`, `_modules`, `_init_kwargs`, hook `OrderedDict`s, numpy
scalars such as `weight_gain`); tensors as `torch._utils._rebuild_parameter(
_rebuild_tensor_v2(torch.storage._load_from_bytes(b), offset, size, stride, requires_grad,
OrderedDict()), requires_grad, OrderedDict())`, where `b` is a legacy `torch.save` of one storage
that we read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import collections
import hashlib
import io
import pickle
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from stylebridge.errors import CheckpointError, UnsafePickleError

# ------------------------------------------------------------------------------------------------
# Inert containers


@dataclass
class PersistentObject:
    """What `torch_utils.persistence._reconstruct_persistent_obj(meta)` stands for, without the code."""

    class_name: str
    version: int
    state: dict[str, Any]
    module_src: str = field(default="", repr=False)  # the embedded source: inert text, NEVER executed
    module_src_sha256: str = ""


class EasyDictRecord(dict):
    """Stand-in for `dnnlib.util.EasyDict` (a dict with attribute access)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class StorageType:
    """Stand-in for the legacy `torch.FloatStorage` etc. class names inside zip pickles."""

    dtype: torch.dtype


# ------------------------------------------------------------------------------------------------
# Safe reconstructors


# Classes of NVIDIA's training/networks.py, stylegan3's networks_stylegan2/3.py and augment.py.
KNOWN_PERSISTENT_CLASSES = frozenset({
    "Generator", "MappingNetwork", "SynthesisNetwork", "SynthesisBlock", "SynthesisLayer", "ToRGBLayer",
    "FullyConnectedLayer", "Conv2dLayer", "Discriminator", "DiscriminatorBlock", "DiscriminatorEpilogue",
    "MinibatchStdLayer", "AugmentPipe", "SynthesisInput",
})


def _reconstruct_persistent_obj(meta: Any) -> PersistentObject:
    if not isinstance(meta, dict):
        raise UnsafePickleError("persistent object meta is not a dict")
    if meta.get("class_name") not in KNOWN_PERSISTENT_CLASSES:
        raise UnsafePickleError(f"this pickle references code outside the known StyleGAN classes: persistent class "
                                f"{str(meta.get('class_name'))[:80]!r}; stylebridge never runs code from checkpoints")
    if meta.get("type") != "class":
        raise UnsafePickleError(f"persistent object of unsupported type {meta.get('type')!r}")
    src = meta.get("module_src", "")
    state = meta.get("state")
    if not isinstance(state, dict):
        raise CheckpointError(f"persistent object {meta.get('class_name')!r} has no state dict")
    src_bytes = src.encode("utf-8", "replace") if isinstance(src, str) else b""
    return PersistentObject(
        class_name=str(meta.get("class_name")),
        version=int(meta.get("version", -1)),
        state=dict(state),
        module_src=src if isinstance(src, str) else "",
        module_src_sha256=hashlib.sha256(src_bytes).hexdigest(),
    )


def _load_storage_from_bytes(b: Any) -> Any:
    """`torch.storage._load_from_bytes`: a legacy `torch.save` of one storage; loaded weights-only."""
    if not isinstance(b, (bytes, bytearray)):
        raise UnsafePickleError("torch.storage._load_from_bytes called with a non-bytes argument")
    try:
        obj = torch.load(io.BytesIO(bytes(b)), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights only" in str(e).lower():
            raise UnsafePickleError(f"a tensor storage in this pickle references code: {str(e).splitlines()[0]}; "
                                    "stylebridge never runs code from checkpoints") from e
        raise
    if not isinstance(obj, (torch.storage.TypedStorage, torch.storage.UntypedStorage)):
        raise UnsafePickleError(f"torch.storage._load_from_bytes produced {type(obj).__name__}, not a storage")
    return obj


def _is_int_tuple(x: Any) -> bool:
    return isinstance(x, (tuple, list, torch.Size)) and all(isinstance(v, int) for v in x)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    if not isinstance(storage, (torch.storage.TypedStorage, torch.storage.UntypedStorage)):
        raise UnsafePickleError(f"tensor rebuilt from {type(storage).__name__}, not a storage")
    if not (isinstance(storage_offset, int) and _is_int_tuple(size) and _is_int_tuple(stride)):
        raise CheckpointError("corrupt tensor record in pickle (offset/size/stride)")
    return torch._utils._rebuild_tensor_v2(storage, storage_offset, tuple(size), tuple(stride), False,
                                           collections.OrderedDict())


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *state):
    if not isinstance(data, torch.Tensor):
        raise UnsafePickleError(f"parameter rebuilt from {type(data).__name__}, not a tensor")
    return data


def _safe_dtype(*args: Any) -> np.dtype:
    dt = np.dtype(*args)
    if dt.hasobject:
        raise UnsafePickleError("numpy object arrays are not allowed in checkpoints")
    return dt


def _np_reconstruct(cls: Any, shape: Any, dtype_code: Any) -> np.ndarray:
    if cls is not np.ndarray:
        raise UnsafePickleError(f"numpy _reconstruct of {cls!r}")
    return np.ndarray.__new__(np.ndarray, shape, dtype_code)


def _np_scalar(dtype: Any, data: Any = None) -> Any:
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, (bytes, bytearray)):
        raise UnsafePickleError("numpy scalar with object dtype or non-bytes payload")
    return np.frombuffer(bytes(data), dtype=dtype, count=1)[0]


def _np_frombuffer(buf: Any, dtype: Any, shape: Any, order: str) -> np.ndarray:
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickleError("numpy _frombuffer with object dtype")
    arr = np.frombuffer(bytes(buf), dtype=dtype)
    return arr.reshape(shape, order=order).copy()


def _codecs_encode(text: Any, encoding: str = "utf-8") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError("_codecs.encode outside the bytes-from-latin1 idiom")
    return text.encode("latin1")


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """`copyreg._reconstructor` (pickle protocol < 2): only for our own inert classes."""
    if base is not object or not isinstance(cls, type) or not cls.__module__.startswith("stylebridge."):
        raise UnsafePickleError(f"copyreg._reconstructor for {cls!r}")
    return object.__new__(cls)


def _torch_size(*args: Any) -> torch.Size:
    return torch.Size(*args)


_NUMPY_PREFIXES = ("numpy.core", "numpy._core")

BASE_GLOBALS: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage_from_bytes,
    ("torch", "Size"): _torch_size,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("dnnlib.util", "EasyDict"): EasyDictRecord,
    ("dnnlib", "EasyDict"): EasyDictRecord,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytearray"): bytearray,
    ("_codecs", "encode"): _codecs_encode,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("builtins", "object"): object,
    ("numpy", "dtype"): _safe_dtype,
    ("numpy", "ndarray"): np.ndarray,
}
for _p in _NUMPY_PREFIXES:
    BASE_GLOBALS[(f"{_p}.multiarray", "_reconstruct")] = _np_reconstruct
    BASE_GLOBALS[(f"{_p}.multiarray", "scalar")] = _np_scalar
    BASE_GLOBALS[(f"{_p}.numeric", "_frombuffer")] = _np_frombuffer
for _name in ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"):
    BASE_GLOBALS[("torch", _name)] = getattr(torch, _name)
_STORAGE_TYPES = {"FloatStorage": torch.float32, "HalfStorage": torch.float16, "BFloat16Storage": torch.bfloat16,
                  "DoubleStorage": torch.float64, "LongStorage": torch.int64, "IntStorage": torch.int32,
                  "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
                  "BoolStorage": torch.bool}
for _name, _dt in _STORAGE_TYPES.items():
    BASE_GLOBALS[("torch", _name)] = StorageType(_dt)


def unsafe_message(module: str, name: str) -> str:
    return (f"this pickle references code outside the known StyleGAN classes: {module}.{name}; "
            "stylebridge never runs code from checkpoints")


class RestrictedUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` whose `find_class` knows only `BASE_GLOBALS` plus `extra`."""

    def __init__(self, file: Any, extra: Mapping[tuple[str, str], Any] | None = None,
                 storage_reader: Callable[[str], bytes] | None = None) -> None:
        super().__init__(file)
        self._allowed = dict(BASE_GLOBALS)
        self._allowed.update(extra or {})
        self._storage_reader = storage_reader
        self._storages: dict[str, torch.storage.TypedStorage] = {}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(unsafe_message(module, name)) from None

    def persistent_load(self, pid: Any) -> Any:
        # Zip-format torch.save pickles: ('storage', storage_type, key, location, numel).
        if self._storage_reader is None or not (isinstance(pid, tuple) and len(pid) >= 4 and pid[0] == "storage"):
            raise UnsafePickleError(f"unsupported persistent id in pickle: {str(pid)[:60]}")
        stype, key = pid[1], str(pid[2])
        dtype = stype.dtype if isinstance(stype, StorageType) else stype
        if not isinstance(dtype, torch.dtype):
            raise UnsafePickleError(f"storage of unknown type {stype!r}")
        if key not in self._storages:
            data = bytearray(self._storage_reader(key))
            flat = torch.frombuffer(data, dtype=torch.uint8) if data else torch.empty(0, dtype=torch.uint8)
            self._storages[key] = torch.storage.TypedStorage(wrap_storage=flat.untyped_storage(), dtype=dtype,
                                                             _internal=True)
        return self._storages[key]


def restricted_load(data: bytes, extra: Mapping[tuple[str, str], Any] | None = None, name: str = "checkpoint") -> Any:
    """Unpickle `data` (a plain pickle or a torch zip archive) with only allow-listed globals.

    Raises UnsafePickleError for any other global, CheckpointError for truncated/corrupt data.
    """
    try:
        if data[:4] == b"PK\x03\x04":
            zf = zipfile.ZipFile(io.BytesIO(data))
            pkls = [n for n in zf.namelist() if n.endswith("data.pkl")]
            if len(pkls) != 1:
                raise CheckpointError(f"{name}: zip archive without exactly one data.pkl")
            prefix = pkls[0][: -len("data.pkl")]
            reader = lambda key: zf.read(f"{prefix}data/{key}")  # noqa: E731
            return RestrictedUnpickler(io.BytesIO(zf.read(pkls[0])), extra, reader).load()
        return RestrictedUnpickler(io.BytesIO(data), extra).load()
    except (UnsafePickleError, CheckpointError):
        raise
    except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, KeyError, IndexError, TypeError,
            ValueError, AttributeError, RuntimeError, MemoryError, OverflowError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{name} is truncated or corrupt (unpickling failed: {type(e).__name__}: {e})") from e

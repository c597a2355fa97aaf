"""A fake accelerator for CPU tests: catches the mistakes that only a GPU would show.

Inside `fake_accelerator()`, tensors moved or created on `FAKE` (the `meta` device name,
free on every build) are real CPU tensors wrapped in `OnDevice`, which reports `FAKE` as
its device and computes on the CPU. Every aten op goes through one dispatch mode that
applies CUDA's rules before running it:

* an op mixing a tensor on the device with a CPU tensor of one or more dimensions raises
  (0-dim CPU tensors pass, as CUDA accepts them as scalars);
* indexing: a device tensor may be indexed by CPU indices, a CPU tensor never by device
  indices (the error `ran[active] += 1` raised on CUDA);
* copies between the two (`.to`, `.cpu()`, `copy_`) are allowed (and counted as uploads, as
  is `t[i] = 0.5`, which on CUDA copies a 0-dim CPU tensor up); `.numpy()` of a device
  tensor fails as on CUDA.

`torch.Generator(device=FAKE)` gives a CPU generator that reports `FAKE`, so code that
draws with `device=gen.device` behaves as on a GPU. The values are the CPU's, so results
can be compared with a plain CPU run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_unflatten

FAKE = torch.device("meta")
CPU = torch.device("cpu")
aten = torch.ops.aten

_COPIES = {aten._to_copy.default, aten.copy_.default, aten.copy.default, aten._copy_from.default,
           aten._copy_from_and_resize.default}
_INDEXING = {aten.index.Tensor, aten.index_put_.default, aten.index_put.default, aten._index_put_impl_.default,
             aten._unsafe_index.Tensor, aten._unsafe_index_put.default}


class CrossDeviceError(RuntimeError):
    pass


class OnDevice(torch.Tensor):
    """A CPU tensor `elem` that claims to live on FAKE."""

    elem: torch.Tensor
    __slots__ = ["elem"]

    @staticmethod
    def __new__(cls, elem: torch.Tensor):
        assert not isinstance(elem, OnDevice) and elem.device == CPU
        r = torch.Tensor._make_wrapper_subclass(cls, elem.size(), strides=elem.stride(),
                                                storage_offset=elem.storage_offset(), dtype=elem.dtype,
                                                layout=elem.layout, device=FAKE, requires_grad=elem.requires_grad)
        r.elem = elem
        return r

    def __repr__(self):
        return f"OnDevice({self.elem!r})"

    def tolist(self):  # PyTorch refuses tolist() on subclasses; CUDA tensors allow it (a sync)
        return self.cpu().tolist()

    def numpy(self, *args, **kwargs):
        raise TypeError("can't convert a device tensor to numpy: use Tensor.cpu() first (as on CUDA)")

    def __array__(self, *args, **kwargs):
        return self.numpy()

    __torch_function__ = torch._C._disabled_torch_function_impl

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        return _run(func, args, kwargs or {})


def _is_fake_device(d) -> bool:
    return d is not None and torch.device(d) == FAKE


def _plain(t) -> bool:
    return isinstance(t, torch.Tensor) and not isinstance(t, OnDevice)


def _desc(t: torch.Tensor) -> str:
    return f"{'device' if isinstance(t, OnDevice) else 'cpu'} tensor {tuple(t.shape)} {t.dtype}"


def _check(func, args, kwargs, fake: list, plain: list) -> None:
    if func in _COPIES or not (fake or _is_fake_device(kwargs.get("device"))):
        return
    if func in _INDEXING:
        self, indices = args[0], args[1]
        if _plain(self) and any(isinstance(i, OnDevice) for i in indices if i is not None):
            raise CrossDeviceError(f"{func}: indices should be either on cpu or on the same device as the "
                                   f"indexed tensor (cpu); indexed a {_desc(self)} with device indices")
        others = [a for a in list(args[2:]) if isinstance(a, torch.Tensor)]
        bad = [a for a in others if _plain(a) and a.ndim > 0] if isinstance(self, OnDevice) else []
        if bad:
            raise CrossDeviceError(f"{func}: values {_desc(bad[0])} for a device tensor")
        return
    bad = [t for t in plain if t.ndim > 0]
    if bad:
        raise CrossDeviceError(f"{func}: expected all tensors to be on the same device, got a "
                               f"{_desc(bad[0])} with a {_desc(fake[0]) if fake else 'device factory'}")


def _run(func, args, kwargs):
    flat, spec = tree_flatten((args, kwargs))
    if any(_plain(a) and a.device == FAKE for a in flat):  # a valueless meta tensor slipped through
        raise AssertionError(f"fakedevice: {func} got a real meta tensor; intercept how it was made")
    fake = [a for a in flat if isinstance(a, OnDevice)]
    plain = [a for a in flat if _plain(a)]
    _check(func, args, kwargs, fake, plain)
    to_fake = _is_fake_device(kwargs.get("device"))
    wrappers = {id(a.elem): a for a in fake}
    a2, k2 = tree_unflatten([a.elem if isinstance(a, OnDevice) else a for a in flat], spec)
    if to_fake:
        k2 = dict(k2, device=CPU)
    out = func(*a2, **k2)
    if func is aten._to_copy.default and "device" in kwargs:
        on_device = to_fake
    else:
        on_device = bool(fake) or to_fake
    if func in (aten.copy_.default, aten._copy_from.default, aten._copy_from_and_resize.default):
        on_device = isinstance(args[1] if func is not aten.copy_.default else args[0], OnDevice)

    def wrap(t):
        if not isinstance(t, torch.Tensor):
            return t
        if id(t) in wrappers:  # in-place ops and out= return their argument
            return wrappers[id(t)]
        if any(t is a for a in plain):
            return t
        return OnDevice(t) if on_device else t
    o_flat, o_spec = tree_flatten(out)
    return tree_unflatten([wrap(t) for t in o_flat], o_spec)


# Ops whose output size depends on device values (CUDA synchronises to learn it): always, and
# indexing / assignment with a boolean mask.
_SIZE_FROM_VALUES = {aten.nonzero.default, aten.masked_select.default, aten._unique2.default,
                     aten.unique_consecutive.default, aten.unique_dim.default, aten.repeat_interleave.Tensor}
_VALUE_SHAPED = {aten.index.Tensor, aten.index_put_.default, aten.index_put.default}


class _Mode(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.syncs = 0
        self.blocking_uploads = 0
        self.uploads = 0  # every copy of a CPU tensor to the device, blocking or not

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is aten._to_copy.default and _plain(args[0]) and _is_fake_device(kwargs.get("device")):
            self.uploads += 1  # inside a captured CUDA graph this copy would replay from a freed host buffer
            if not kwargs.get("non_blocking"):
                self.blocking_uploads += 1  # CUDA: a blocking host-to-device copy waits for the stream
        elif func is aten.copy_.default and isinstance(args[0], OnDevice) and _plain(args[1]):
            self.uploads += 1  # into a device tensor from a CPU one, 0-dim too (`t[i] = 0.5` makes one): a
            # memcpy that a CUDA graph capture refuses ("Cannot copy between CPU and CUDA tensors")
        # The output's size depends on device values: CUDA reads them back first.
        if func in _SIZE_FROM_VALUES and isinstance(args[0] if args else None, OnDevice):
            self.syncs += 1
        elif func in _VALUE_SHAPED and any(isinstance(a, OnDevice) and a.dtype == torch.bool
                                           for a in tree_flatten((args, kwargs))[0]):
            self.syncs += 1
        if isinstance(args[0] if args else None, OnDevice) and (
                func in (aten._local_scalar_dense.default, aten.equal.default, aten.allclose.default,
                         aten.is_nonzero.default)
                or (func is aten._to_copy.default and "device" in kwargs and not _is_fake_device(kwargs["device"]))):
            self.syncs += 1  # the host waits: .item(), .tolist(), bool(), .cpu(), torch.equal / allclose
        return _run(func, args, kwargs)


def _cpu_index(idx):
    if isinstance(idx, list):
        return torch.tensor(idx)
    if isinstance(idx, tuple):
        return tuple(_cpu_index(i) for i in idx)
    return idx


class _FromData(TorchFunctionMode):
    """Tensors that PyTorch builds from Python data below the dispatcher: torch.tensor(data,
    device=FAKE) is built on the CPU and moved; list indices of a device tensor become CPU
    index tensors (allowed on CUDA, where PyTorch makes them on the device)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.tensor, torch.as_tensor, torch.asarray) and _is_fake_device(kwargs.get("device")):
            return func(*args, **dict(kwargs, device=CPU)).to(FAKE)
        if func in (torch.Tensor.__getitem__, torch.Tensor.__setitem__) and isinstance(args[0], OnDevice):
            args = (args[0], _cpu_index(args[1])) + tuple(args[2:])
            if func is torch.Tensor.__setitem__ and isinstance(args[2], (bool, int, float)):
                # CUDA's `t[i] = 0.5` makes the value a 0-dim CPU tensor and copies it up
                args = args[:2] + (torch.tensor(args[2], dtype=args[0].dtype),)
        return func(*args, **kwargs)


_RealGenerator = torch.Generator


class FakeGenerator(_RealGenerator):
    """`torch.Generator(device=FAKE)`: a CPU generator that reports FAKE as its device."""

    def __new__(cls, device="cpu"):
        if _is_fake_device(device):
            return _RealGenerator.__new__(cls, device="cpu")
        return _RealGenerator(device)

    def __init__(self, device="cpu"):
        pass

    @property
    def device(self):
        return FAKE


@contextlib.contextmanager
def fake_accelerator() -> Iterator[_Mode]:
    """Run code with FAKE as a second device that follows CUDA's mixing rules. The object
    yielded counts in `.syncs` the reads of device values by the host (device-to-host
    copies and scalars: where a CUDA program waits for the GPU), and in `.blocking_uploads`
    the blocking copies of CPU tensors to the device (on CUDA each waits for the stream too:
    stylebridge.utils.device.upload avoids them), and in `.uploads` every copy of a CPU
    tensor to the device (code captured as a CUDA graph may make none)."""
    saved = torch.Generator
    torch.Generator = FakeGenerator
    try:
        with _FromData(), _Mode() as mode:
            yield mode
    finally:
        torch.Generator = saved

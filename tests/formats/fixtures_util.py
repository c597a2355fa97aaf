"""Test helpers: load reference fixtures and rebuild foreign checkpoint files from them.

The fixtures (tests/fixtures/*.safetensors, made by scripts/make_reference_fixtures.py with the
official code) hold tensors only. Here we rebuild, WITHOUT NVIDIA's code, pickles with the same
opcode structure as NVIDIA's (observed in a pickle written by their training code):
`torch_utils.persistence._reconstruct_persistent_obj(meta)` with meta = {type, version,
module_src, class_name, state}, state = the module `__dict__` (training flag, `_parameters`,
`_buffers`, `_non_persistent_buffers_set`, hook OrderedDicts, `_modules`, attributes,
`_init_args`, `_init_kwargs`), tensors through torch's own reduction (`_rebuild_parameter`,
`_rebuild_tensor_v2`, `torch.storage._load_from_bytes`). The names are resolved through
temporary stand-in modules that exist only while pickling.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import pickle
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DUMMY_SRC = "# module source text (a stand-in; stylebridge never executes it)\n"
BUFFERS = ("resample_filter", "noise_const", "w_avg")
HOOK_DICTS = ("_backward_pre_hooks", "_backward_hooks", "_forward_hooks", "_forward_hooks_with_kwargs",
              "_forward_hooks_always_called", "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs",
              "_state_dict_hooks", "_state_dict_pre_hooks", "_load_state_dict_pre_hooks",
              "_load_state_dict_post_hooks")


def load_fixture(name: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    path = FIXTURES / f"{name}.safetensors"
    with safe_open(str(path), "pt") as f:
        meta = dict(f.metadata() or {})
    return load_file(str(path)), meta


def sub(t: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in t.items() if k.startswith(prefix)}


# ------------------------------------------------------------------------------------------------
# Stand-in modules for pickling


class _Persistent:
    """Pickles as `torch_utils.persistence._reconstruct_persistent_obj(meta)`."""

    def __init__(self, meta: dict[str, Any]) -> None:
        self.meta = meta

    def __reduce__(self):
        return (sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj, (self.meta,))


@contextlib.contextmanager
def stand_in_modules(extra: dict[str, dict[str, Any]] | None = None):
    """Temporarily register modules so that pickle can name e.g. torch_utils.persistence."""
    def _recon(meta):  # never called: only its name is pickled
        raise AssertionError

    class EasyDict(dict):
        pass

    spec = {"torch_utils": {}, "torch_utils.persistence": {"_reconstruct_persistent_obj": _recon},
            "dnnlib": {}, "dnnlib.util": {"EasyDict": EasyDict}}
    spec.update(extra or {})
    added = []
    for name, attrs in spec.items():
        if name in sys.modules:
            continue
        mod = types.ModuleType(name)
        for k, v in attrs.items():
            v.__module__ = name
            v.__qualname__ = k
            setattr(mod, k, v)
        sys.modules[name] = mod
        added.append(name)
    try:
        yield spec
    finally:
        for name in added:
            del sys.modules[name]


def _class_of(path: str, kind: str) -> str:
    last = path.split(".")[-1] if path else ""
    if not path:
        return "Generator" if kind == "G" else "Discriminator"
    if last in ("mapping",):
        return "MappingNetwork"
    if last == "synthesis":
        return "SynthesisNetwork"
    if last.startswith("fc") or last in ("affine", "embed", "out"):
        return "FullyConnectedLayer"
    if last == "mbstd":
        return "MinibatchStdLayer"
    if last.startswith("b") and last[1:].isdigit():
        if kind == "G":
            return "SynthesisBlock"
        return "DiscriminatorEpilogue" if last == "b4" else "DiscriminatorBlock"
    if kind == "G" and last in ("conv0", "conv1"):
        return "SynthesisLayer"
    if last == "torgb":
        return "ToRGBLayer"
    return "Conv2dLayer"  # D's fromrgb/conv0/conv1/skip/conv


def _attrs(path: str, cls: str, kind: str, init: dict[str, Any]) -> dict[str, Any]:
    """Module attributes NVIDIA's classes set in __init__ that our reader consults."""
    if kind == "G":
        mk = init.get("mapping_kwargs", {})
        sk = init.get("synthesis_kwargs", {})
    else:
        mk, sk = init.get("mapping_kwargs", {}), init
    if cls == "MappingNetwork":
        return {"num_layers": mk.get("num_layers", 8), "w_avg_beta": 0.995 if kind == "G" else None}
    if cls == "FullyConnectedLayer":
        lr = mk.get("lr_multiplier", 0.01) if path.split(".")[-1].startswith("fc") and "mapping" in path else 1
        return {"activation": "lrelu", "bias_gain": lr, "weight_gain": np.float32(0.5)}
    if cls in ("SynthesisLayer", "Conv2dLayer"):
        return {"conv_clamp": sk.get("conv_clamp"), "activation": "lrelu", "use_noise": True}
    if cls in ("SynthesisBlock", "DiscriminatorBlock"):
        return {"use_fp16": False, "architecture": "skip" if kind == "G" else "resnet"}
    if cls == "DiscriminatorEpilogue":
        return {"cmap_dim": init.get("cmap_dim") or 0, "architecture": "resnet"}
    if cls == "MinibatchStdLayer":
        ek = init.get("epilogue_kwargs", {})
        return {"group_size": ek.get("mbstd_group_size", 4), "num_channels": ek.get("mbstd_num_channels", 1)}
    return {k: init[k] for k in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels") if k in init}


def _module_tree(sd: dict[str, torch.Tensor], kind: str, init: dict[str, Any], classes=None, src=DUMMY_SRC):
    tree: dict[str, Any] = {"": {}}
    for key in sd:
        parts = key.split(".")
        for i in range(1, len(parts)):
            tree.setdefault(".".join(parts[:i]), {})
    if kind == "D":
        tree.setdefault("b4.mbstd", {})
    classes = classes or {}
    easy = sys.modules["dnnlib.util"].EasyDict

    def build(path: str) -> _Persistent:
        cls = classes.get(path) or _class_of(path, kind)
        prefix = path + "." if path else ""
        state: dict[str, Any] = {"training": False, "_parameters": {}, "_buffers": {},
                                 "_non_persistent_buffers_set": set()}
        for h in HOOK_DICTS:
            state[h] = collections.OrderedDict()
        state["_is_full_backward_hook"] = None
        children = sorted({k[len(prefix):].split(".")[0] for k in tree if k.startswith(prefix) and k != path
                           and "." not in k[len(prefix):]}, key=lambda s: (len(s), s))
        for key, v in sd.items():
            if key.startswith(prefix) and "." not in key[len(prefix):]:
                name = key[len(prefix):]
                if name in BUFFERS:
                    state["_buffers"][name] = v.clone()
                else:
                    state["_parameters"][name] = torch.nn.Parameter(v.clone(), requires_grad=False)
        state["_modules"] = {c: build(prefix + c) for c in children}
        state.update(_attrs(path, cls, kind, init))
        if not path:
            state["_init_args"] = ()
            state["_init_kwargs"] = {k: (easy(v) if isinstance(v, dict) else v) for k, v in init.items()}
        return _Persistent({"type": "class", "version": 6, "module_src": src, "class_name": cls, "state": state})
    return build("")


def nvidia_pickle_bytes(name: str, src: str = DUMMY_SRC, classes_g=None, drop=(), extra_entries=None) -> bytes:
    """An NVIDIA-structured network pickle ({training_set_kwargs, G, D, G_ema, augment_pipe})
    for fixture `name`; G is a copy of G_ema."""
    t, meta = load_fixture(name)
    gk, dk = json.loads(meta["G_init_kwargs"]), json.loads(meta["D_init_kwargs"])
    g_sd, d_sd = sub(t, "G_ema."), sub(t, "D.")
    for k in drop:
        g_sd.pop(k, None)
    with stand_in_modules():
        data = {"training_set_kwargs": {"class_name": "training.dataset.ImageFolderDataset", "path": "x.zip",
                                        "resolution": gk["img_resolution"], "use_labels": gk["c_dim"] > 0},
                "G": _module_tree(g_sd, "G", gk, classes_g, src), "D": _module_tree(d_sd, "D", dk, None, src),
                "G_ema": _module_tree(g_sd, "G", gk, classes_g, src), "augment_pipe": None}
        data.update(extra_entries or {})
        return pickle.dumps(data, protocol=4)


# ------------------------------------------------------------------------------------------------
# TensorFlow pickles


class _TFNetworkBase:
    """Instances pickle like `dnnlib.tflib.network.Network`: NEWOBJ(cls) + BUILD(__getstate__())."""

    def __getstate__(self):
        return self._state


def tf_pickle_bytes(name: str = "tf16") -> bytes:
    t, meta = load_fixture(name)
    arrays: dict[str, dict[str, np.ndarray]] = {}
    for k, v in t.items():
        if k.startswith("tf."):
            comp, var = k[3:].split(".", 1)
            arrays.setdefault(comp, {})[var] = v.numpy()

    class Network(_TFNetworkBase):
        pass

    with stand_in_modules({"dnnlib.tflib": {}, "dnnlib.tflib.network": {"Network": Network}}):
        def net(nm, kw, comp, comps):
            variables = [(k, np.array(a)) for k, a in arrays[comp].items()]
            obj = Network()
            obj._state = {"version": 4, "name": nm, "static_kwargs": kw, "components": comps,
                           "build_module_src": DUMMY_SRC, "build_func_name": "G_main", "variables": variables}
            return obj
        G = net("G", json.loads(meta["G_static_kwargs"]), "G",
                {"mapping": net("G_mapping", {}, "G/mapping", {}),
                 "synthesis": net("G_synthesis", {}, "G/synthesis", {})})
        D = net("D", json.loads(meta["D_static_kwargs"]), "D", {})
        return pickle.dumps((G, D, G), protocol=3)


# ------------------------------------------------------------------------------------------------
# rosinality


def rosinality_ckpt(name: str = "rosinality32", latent_avg: bool = True, args: bool = True) -> dict[str, Any]:
    t, meta = load_fixture(name)
    g_ema, d = sub(t, "g_ema."), sub(t, "d.")
    ckpt: dict[str, Any] = {"g": {k: v.clone() for k, v in g_ema.items()}, "g_ema": g_ema, "d": d,
                            "g_optim": {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.zeros(2)}},
                                        "param_groups": [{"lr": 0.002, "params": [0]}]},
                            "d_optim": {"state": {}, "param_groups": [{"lr": 0.002, "params": []}]},
                            "ada_aug_p": 0.0}
    if latent_avg:
        ckpt["latent_avg"] = t["latent_avg"]
    if args:
        ckpt["args"] = argparse.Namespace(size=int(meta["size"]), n_mlp=int(meta["n_mlp"]),
                                          latent=int(meta["style_dim"]), channel_multiplier=1, path="lmdb")
    return ckpt


def save_torch(obj: Any, path: Path) -> Path:
    buf = io.BytesIO()
    torch.save(obj, buf)
    path.write_bytes(buf.getvalue())
    return path

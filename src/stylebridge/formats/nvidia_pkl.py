"""NVIDIA stylegan2-ada-pytorch / stylegan3 (StyleGAN2 networks) pickles, read without their code.

The pickle is a dict `{G, D, G_ema, augment_pipe, training_set_kwargs, ...}` whose networks are
`torch_utils.persistence` objects (see unpickle.py). We read each one's state as data: tensors
from the nested `_parameters` / `_buffers` / `_modules`, the architecture from `_init_kwargs`
cross-checked against attributes stored in the modules and against tensor shapes. Our key layout
IS NVIDIA's `state_dict()` layout, so the key table is the identity; `generator_shapes` /
`discriminator_shapes` state the layout (key -> shape) for a config and every reader checks its
output against them: every tensor filled exactly once, with the right shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from stylebridge.errors import CheckpointError
from stylebridge.formats.base import NetworkState, RawCheckpoint
from stylebridge.formats.layout import check_layout, discriminator_shapes, generator_shapes
from stylebridge.formats.unpickle import PersistentObject, restricted_load
from stylebridge.networks.config import DiscriminatorConfig, GeneratorConfig

SUPPORTED_VERSION = 6  # torch_utils.persistence._version of both official repositories

# ------------------------------------------------------------------------------------------------
# Reading persistent objects


def flatten_state(obj: PersistentObject, prefix: str = "") -> dict[str, torch.Tensor]:
    """`state_dict()` of a pickled module: parameters, persistent buffers, then submodules."""
    st = obj.state
    out: dict[str, torch.Tensor] = {}
    skip = set(st.get("_non_persistent_buffers_set") or ())
    for group in ("_parameters", "_buffers"):
        for k, v in (st.get(group) or {}).items():
            if v is None or (group == "_buffers" and k in skip):
                continue
            if not isinstance(v, torch.Tensor):
                raise CheckpointError(f"{prefix}{k}: expected a tensor, found {type(v).__name__}")
            out[prefix + k] = v.detach().clone().float() if v.is_floating_point() else v.detach().clone()
    for k, m in (st.get("_modules") or {}).items():
        if m is None:
            continue
        if not isinstance(m, PersistentObject):
            raise CheckpointError(f"{prefix}{k}: submodule of unknown kind {type(m).__name__}")
        out.update(flatten_state(m, f"{prefix}{k}."))
    return out


def _child(obj: PersistentObject, name: str) -> PersistentObject | None:
    m = (obj.state.get("_modules") or {}).get(name)
    return m if isinstance(m, PersistentObject) else None


def _kwargs(obj: PersistentObject) -> dict[str, Any]:
    kw = obj.state.get("_init_kwargs")
    if not isinstance(kw, dict):
        raise CheckpointError(f"{obj.class_name}: the pickle holds no init_kwargs; cannot tell its architecture")
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in kw.items()}


def _reject(what: str, key: str, value: Any, allowed: Any) -> None:
    if value != allowed:
        raise CheckpointError(f"{what}: {key}={value!r} is not supported (stylebridge implements the "
                              f"StyleGAN2 default {allowed!r})")


def _check_known(what: str, kw: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(kw) - known)
    if unknown:
        raise CheckpointError(f"{what}: unknown constructor arguments {unknown}; this is not a StyleGAN2 network "
                              "stylebridge can read")


def _channels_from(cfg_channels, shapes: dict[int, int], what: str) -> None:
    for res, ch in shapes.items():
        if cfg_channels(res) != ch:
            raise CheckpointError(f"{what}: block {res}x{res} has {ch} channels but channel_base/channel_max "
                                  f"of its kwargs give {cfg_channels(res)}")


def generator_config(obj: PersistentObject) -> GeneratorConfig:
    what = f"generator ({obj.class_name})"
    syn = _child(obj, "synthesis")
    mapping = _child(obj, "mapping")
    if obj.class_name != "Generator" or syn is None or mapping is None:
        raise CheckpointError(f"{what}: not a StyleGAN2 generator (class {obj.class_name})")
    kids = {(m.class_name if isinstance(m, PersistentObject) else type(m).__name__)
            for m in (syn.state.get("_modules") or {}).values()}
    if "SynthesisInput" in kids or syn.class_name != "SynthesisNetwork" or kids != {"SynthesisBlock"}:
        raise CheckpointError(f"{what}: this is a StyleGAN3 (alias-free, {sorted(kids)[:3]}) generator; "
                              "stylebridge reads StyleGAN2 networks only (stylegan3 repo: --cfg=stylegan2)")
    kw = _kwargs(obj)
    mk = dict(kw.pop("mapping_kwargs", {}) or {})
    sk = dict(kw.pop("synthesis_kwargs", {}) or {})
    for k in [k for k in kw if k not in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")]:
        sk[k] = kw.pop(k)                       # stylegan3's networks_stylegan2: **synthesis_kwargs
    _check_known(what, mk, {"num_layers", "embed_features", "layer_features", "activation", "lr_multiplier",
                            "w_avg_beta"})
    _check_known(what, sk, {"channel_base", "channel_max", "num_fp16_res", "conv_clamp", "architecture",
                            "resample_filter", "use_noise", "activation", "fp16_channels_last",
                            "fused_modconv_default", "kernel_size"})
    _reject(what, "activation", mk.get("activation", "lrelu"), "lrelu")
    _reject(what, "activation", sk.get("activation", "lrelu"), "lrelu")
    _reject(what, "resample_filter", list(sk.get("resample_filter", [1, 3, 3, 1])), [1, 3, 3, 1])
    _reject(what, "use_noise", sk.get("use_noise", True), True)
    _reject(what, "kernel_size", sk.get("kernel_size", 3), 3)
    st = flatten_state(obj)
    # Values stored in the modules themselves override kwargs defaults that differ between repos.
    blocks = [m for m in (syn.state.get("_modules") or {}).values()]
    b4 = _child(syn, "b4")
    conv_clamp = (_child(b4, "conv1").state.get("conv_clamp") if b4 and _child(b4, "conv1") else sk.get("conv_clamp"))
    num_fp16 = sum(1 for b in blocks if b.state.get("use_fp16"))
    w_avg_beta = mapping.state.get("w_avg_beta", mk.get("w_avg_beta", 0.995))
    if w_avg_beta is None or "mapping.w_avg" not in st:
        raise CheckpointError(f"{what}: the mapping network tracks no w_avg (w_avg_beta=None); not supported")
    fc0 = _child(mapping, "fc0")
    lr_mul = float(fc0.state.get("bias_gain", mk.get("lr_multiplier", 0.01))) if fc0 else 0.01
    arch = b4.state.get("architecture", sk.get("architecture", "skip")) if b4 else "skip"
    num_layers = int(mapping.state.get("num_layers", mk.get("num_layers", 8)))
    w_dim = int(kw["w_dim"])
    embed = st["mapping.embed.weight"].shape[0] if "mapping.embed.weight" in st else None
    layer = st["mapping.fc0.weight"].shape[0] if num_layers > 1 else None
    cfg = GeneratorConfig(
        z_dim=int(kw["z_dim"]), c_dim=int(kw["c_dim"]), w_dim=w_dim,
        img_resolution=int(kw["img_resolution"]), img_channels=int(kw["img_channels"]),
        mapping_layers=num_layers, mapping_lr_multiplier=lr_mul, w_avg_beta=float(w_avg_beta),
        embed_features=None if embed in (None, w_dim) else int(embed),
        layer_features=None if layer in (None, w_dim) else int(layer),
        channel_base=int(sk.get("channel_base", 32768)), channel_max=int(sk.get("channel_max", 512)),
        num_fp16_res=num_fp16, conv_clamp=None if conv_clamp is None else float(conv_clamp), architecture=arch,
    )
    _channels_from(cfg.channels, {r: st[f"synthesis.b{r}.conv1.weight"].shape[0] for r in cfg.block_resolutions
                                  if f"synthesis.b{r}.conv1.weight" in st}, what)
    return cfg


def discriminator_config(obj: PersistentObject) -> DiscriminatorConfig:
    what = f"discriminator ({obj.class_name})"
    if obj.class_name != "Discriminator" or _child(obj, "b4") is None:
        raise CheckpointError(f"{what}: not a StyleGAN2 discriminator")
    kw = _kwargs(obj)
    bk = dict(kw.pop("block_kwargs", {}) or {})
    mk = dict(kw.pop("mapping_kwargs", {}) or {})
    ek = dict(kw.pop("epilogue_kwargs", {}) or {})
    _check_known(what, kw, {"c_dim", "img_resolution", "img_channels", "architecture", "channel_base", "channel_max",
                            "num_fp16_res", "conv_clamp", "cmap_dim"})
    _check_known(what, bk, {"activation", "resample_filter", "freeze_layers", "fp16_channels_last"})
    _check_known(what, mk, {"num_layers", "embed_features", "layer_features", "activation", "lr_multiplier"})
    _check_known(what, ek, {"mbstd_group_size", "mbstd_num_channels", "activation"})
    _reject(what, "activation", bk.get("activation", "lrelu"), "lrelu")
    _reject(what, "resample_filter", list(bk.get("resample_filter", [1, 3, 3, 1])), [1, 3, 3, 1])
    c_dim = int(kw["c_dim"])
    b4 = _child(obj, "b4")
    mbstd = _child(b4, "mbstd")
    group = mbstd.state.get("group_size") if mbstd else None
    nch = int(mbstd.state.get("num_channels", 1)) if mbstd else 0
    blocks = [m for k, m in (obj.state.get("_modules") or {}).items() if k.startswith("b") and k != "b4"]
    arch = (blocks[0].state.get("architecture", kw.get("architecture", "resnet")) if blocks
            else kw.get("architecture", "resnet"))
    conv = _child(b4, "conv")
    conv_clamp = conv.state.get("conv_clamp") if conv is not None else kw.get("conv_clamp")
    mapping = _child(obj, "mapping")
    map_layers = 0
    if mapping is not None:
        map_layers = int(mapping.state.get("num_layers", mk.get("num_layers", 8)))
        fc0 = _child(mapping, "fc0")
        if fc0 is not None and abs(float(fc0.state.get("bias_gain", 0.01)) - 0.01) > 1e-9:
            raise CheckpointError(f"{what}: label mapping with lr_multiplier {fc0.state.get('bias_gain')} "
                                  "(stylebridge's discriminator uses NVIDIA's default 0.01)")
    cfg = DiscriminatorConfig(
        c_dim=c_dim, img_resolution=int(kw["img_resolution"]), img_channels=int(kw["img_channels"]),
        channel_base=int(kw.get("channel_base", 32768)), channel_max=int(kw.get("channel_max", 512)),
        num_fp16_res=sum(1 for b in blocks if b.state.get("use_fp16")),
        conv_clamp=None if conv_clamp is None else float(conv_clamp),
        cmap_dim=b4.state.get("cmap_dim") or None if c_dim else None,
        mbstd_group_size=int(group) if group is not None else 4, mbstd_num_channels=nch,
        mapping_layers=map_layers, architecture=arch,
    )
    if group is None and mbstd is not None:
        raise CheckpointError(f"{what}: minibatch-stddev over the entire batch (group_size=None) is not supported")
    return cfg


def _network(obj: Any, key: str, kind: str) -> NetworkState:
    if not isinstance(obj, PersistentObject):
        raise CheckpointError(f"pickle entry {key!r} is {type(obj).__name__}, not a pickled network")
    if obj.version != SUPPORTED_VERSION:
        raise CheckpointError(f"{key}: torch_utils.persistence version {obj.version}, expected {SUPPORTED_VERSION}")
    try:
        cfg = generator_config(obj) if kind == "G" else discriminator_config(obj)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:  # a kwarg missing or of a wrong type
        raise CheckpointError(f"{key}: the network's constructor arguments are malformed "
                              f"({type(e).__name__}: {str(e)[:80]})") from None
    sd = flatten_state(obj)
    expected = generator_shapes(cfg) if kind == "G" else discriminator_shapes(cfg)
    check_layout(sd, expected, key)
    return NetworkState(cfg, sd)


def read_nvidia_data(data: Any, name: str = "pickle") -> RawCheckpoint:
    """Turn an unpickled NVIDIA snapshot dict (inert records) into a RawCheckpoint."""
    if not isinstance(data, dict) or not any(k in data for k in ("G", "G_ema", "D")):
        raise CheckpointError(f"{name}: not an NVIDIA network pickle (expected a dict with G, G_ema, D)")
    raw = RawCheckpoint(format="nvidia_pkl")
    for key, kind in (("G", "G"), ("G_ema", "G"), ("D", "D")):
        if data.get(key) is not None:
            setattr(raw, key, _network(data[key], key, kind))
    if data.get("augment_pipe") is not None:
        raw.extra["notes"] = ["augment_pipe ignored (ADA augmentation state is not used by stylebridge)"]
    tsk = data.get("training_set_kwargs")
    if isinstance(tsk, dict):
        raw.extra["training_set_kwargs"] = {k: v for k, v in tsk.items()
                                            if isinstance(v, (str, int, float, bool, type(None)))}
    return raw


def read_pickle(path: str | Path) -> RawCheckpoint:
    """Any supported pickle: NVIDIA PyTorch network pickles and NVIDIA TensorFlow pickles."""
    from stylebridge.formats.tf_pkl import TF_GLOBALS, is_tf_data, read_tf_data

    path = Path(path)
    data = restricted_load(path.read_bytes(), extra=TF_GLOBALS, name=str(path))
    if is_tf_data(data):
        return read_tf_data(data, name=str(path))
    return read_nvidia_data(data, name=str(path))

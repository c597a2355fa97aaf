"""The tensor layout of our networks, stated without building them: NVIDIA's `state_dict()` keys
and shapes for a config (`generator_shapes` / `discriminator_shapes`), and `check_layout`, which
every reader (native, NVIDIA and TensorFlow pickles, rosinality) runs on what it read before any
module is allocated: every tensor present exactly once, with the right shape, nothing else.
`parse_config` reads a config stored as data (typed, bounded) and `check_size` refuses configs
whose network would be larger than any StyleGAN2 stylebridge reads.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from stylebridge.errors import CheckpointError
from stylebridge.networks.config import DiscriminatorConfig, GeneratorConfig


def resample_filter() -> torch.Tensor:
    """NVIDIA's `upfirdn2d.setup_filter([1,3,3,1])`: outer product normalised to sum 1."""
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    f = f[:, None] * f[None, :]
    return f / f.sum()


def _fc(out: dict, key: str, n_out: int, n_in: int, bias: bool = True) -> None:
    out[f"{key}.weight"] = (n_out, n_in)
    if bias:
        out[f"{key}.bias"] = (n_out,)


def generator_shapes(cfg: GeneratorConfig) -> dict[str, tuple[int, ...]]:
    s: dict[str, tuple[int, ...]] = {}
    embed = 0 if cfg.c_dim == 0 else (cfg.embed_features or cfg.w_dim)
    layer = cfg.layer_features or cfg.w_dim
    feats = [cfg.z_dim + embed] + [layer] * (cfg.mapping_layers - 1) + [cfg.w_dim]
    if cfg.c_dim:
        _fc(s, "mapping.embed", embed, cfg.c_dim)
    for i in range(cfg.mapping_layers):
        _fc(s, f"mapping.fc{i}", feats[i + 1], feats[i])
    s["mapping.w_avg"] = (cfg.w_dim,)
    for res in cfg.block_resolutions:
        b = f"synthesis.b{res}"
        out_ch = cfg.channels(res)
        s[f"{b}.resample_filter"] = (4, 4)
        convs = []
        if res == 4:
            s[f"{b}.const"] = (out_ch, 4, 4)
        else:
            convs.append(("conv0", cfg.channels(res // 2)))
        convs.append(("conv1", out_ch))
        for name, in_ch in convs:
            k = f"{b}.{name}"
            s[f"{k}.weight"] = (out_ch, in_ch, 3, 3)
            _fc(s, f"{k}.affine", in_ch, cfg.w_dim)
            s[f"{k}.noise_const"] = (res, res)
            s[f"{k}.noise_strength"] = ()
            s[f"{k}.bias"] = (out_ch,)
            s[f"{k}.resample_filter"] = (4, 4)
        s[f"{b}.torgb.weight"] = (cfg.img_channels, out_ch, 1, 1)
        s[f"{b}.torgb.bias"] = (cfg.img_channels,)
        _fc(s, f"{b}.torgb.affine", out_ch, cfg.w_dim)
    return s


def discriminator_shapes(cfg: DiscriminatorConfig) -> dict[str, tuple[int, ...]]:
    s: dict[str, tuple[int, ...]] = {}
    for res in cfg.block_resolutions:
        b = f"b{res}"
        tmp, out = cfg.channels(res), cfg.channels(res // 2)
        s[f"{b}.resample_filter"] = (4, 4)
        if res == cfg.img_resolution:
            s[f"{b}.fromrgb.weight"] = (tmp, cfg.img_channels, 1, 1)
            s[f"{b}.fromrgb.bias"] = (tmp,)
            s[f"{b}.fromrgb.resample_filter"] = (4, 4)
        for name, o, i, k, bias in [("conv0", tmp, tmp, 3, True), ("conv1", out, tmp, 3, True),
                                    ("skip", out, tmp, 1, False)]:
            s[f"{b}.{name}.weight"] = (o, i, k, k)
            if bias:
                s[f"{b}.{name}.bias"] = (o,)
            s[f"{b}.{name}.resample_filter"] = (4, 4)
    c4 = cfg.channels(4)
    cmap = 0
    if cfg.c_dim:
        cmap = cfg.cmap_dim or c4
        n = cfg.mapping_layers or 8
        _fc(s, "mapping.embed", cmap, cfg.c_dim)
        for i in range(n):
            _fc(s, f"mapping.fc{i}", cmap, cmap)
    s["b4.conv.weight"] = (c4, c4 + cfg.mbstd_num_channels, 3, 3)
    s["b4.conv.bias"] = (c4,)
    s["b4.conv.resample_filter"] = (4, 4)
    _fc(s, "b4.fc", c4, c4 * 16)
    _fc(s, "b4.out", cmap or 1, c4)
    return s


def check_layout(produced: dict[str, torch.Tensor], expected: dict[str, tuple[int, ...]], what: str) -> None:
    """Every expected key present exactly once with its shape; nothing else."""
    missing = [k for k in expected if k not in produced]
    extra = [k for k in produced if k not in expected]
    if missing or extra:
        parts = ([f"missing {len(missing)} tensors (first: {missing[:3]})"] if missing else []) + \
                ([f"{len(extra)} unexpected tensors (first: {[k[:80] for k in extra[:3]]})"] if extra else [])
        raise CheckpointError(f"{what}: tensors do not fit the architecture: " + "; ".join(parts))
    for k, shape in expected.items():
        if tuple(produced[k].shape) != tuple(shape):
            raise CheckpointError(f"{what}: tensor {k} has shape {tuple(produced[k].shape)} in the checkpoint "
                                  f"but the architecture needs {tuple(shape)}")


# ------------------------------------------------------------------------------------------------
# Configs from files: typed and bounded before anything is allocated

MAX_PARAMETERS = 200_000_000  # a 1024 px StyleGAN2 generator has 30 M; 200 M floats = 800 MB
_BOUNDS = {  # field: largest value a file may ask for (the smallest is 0 or 1, see the config)
    "z_dim": 8192, "w_dim": 8192, "c_dim": 100_000, "embed_features": 8192, "layer_features": 8192,
    "cmap_dim": 8192, "mapping_layers": 32, "channel_base": 2**20, "channel_max": 8192, "num_fp16_res": 16,
    "mbstd_group_size": 1024, "mbstd_num_channels": 64, "img_resolution": 1024, "img_channels": 4,
}
_KINDS = {"generator": GeneratorConfig, "discriminator": DiscriminatorConfig}


def _field_value(name: str, annotation: str, v, what: str):
    """`v` checked against a config field's annotation ('int', 'float | None', 'str', ...)."""
    optional = annotation.endswith("| None")
    base = annotation.split("|")[0].strip()
    if v is None and optional:
        return None
    ok = (base == "int" and isinstance(v, int) and not isinstance(v, bool)) or \
         (base == "float" and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)) or \
         (base == "str" and isinstance(v, str) and len(v) < 100)
    if not ok:
        shown = repr(v) if len(repr(v)) < 40 else type(v).__name__
        raise CheckpointError(f"{what}: config field {name} must be {annotation.replace('float', 'a number')}"
                              f", got {shown}")
    if base != "str" and not (-1e-9 <= v <= _BOUNDS.get(name, 1e6)):
        raise CheckpointError(f"{what}: config field {name}={v:g} is out of range (0 to {_BOUNDS.get(name, 1e6):g})")
    return float(v) if base == "float" else v


def parse_config(kind, fields, what: str) -> GeneratorConfig | DiscriminatorConfig:
    """A config stored as data (native files): `kind` 'generator' or 'discriminator', `fields` a
    dict whose every value has its field's type and a value within bounds; then `check_size`."""
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise CheckpointError(f"{what}: network kind must be 'generator' or 'discriminator', got "
                              f"{kind!r:.40}")
    if not isinstance(fields, dict):
        raise CheckpointError(f"{what}: the network has no config")
    types = {f.name: str(f.type) for f in dataclasses.fields(cls)}
    unknown = sorted(str(k)[:40] for k in fields if k not in types)
    if unknown:
        raise CheckpointError(f"{what}: unknown config fields {unknown[:5]}")
    cfg = cls(**{k: _field_value(k, types[k], v, what) for k, v in fields.items()})
    check_size(cfg, what)
    return cfg


def check_size(cfg: GeneratorConfig | DiscriminatorConfig, what: str) -> None:
    """Refuse a config whose network would hold more than MAX_PARAMETERS values (counted from
    the layout, nothing allocated)."""
    for name, hi in _BOUNDS.items():
        v = getattr(cfg, name, None)
        if isinstance(v, (int, float)) and not 0 <= v <= hi:
            raise CheckpointError(f"{what}: config field {name}={v:g} is out of range (0 to {hi:g})")
    shapes = generator_shapes(cfg) if isinstance(cfg, GeneratorConfig) else discriminator_shapes(cfg)
    n = sum(math.prod(s) for s in shapes.values())
    if n > MAX_PARAMETERS:
        raise CheckpointError(f"{what}: the config asks for a network of {n / 1e6:.0f} M parameters; stylebridge "
                              f"reads networks of up to {MAX_PARAMETERS / 1e6:.0f} M")

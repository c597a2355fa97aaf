"""rosinality/stylegan2-pytorch `.pt` checkpoints: read (weights only) and write.

A checkpoint is a `torch.save`d dict: `g`, `g_ema`, `d` (state dicts), optionally `latent_avg`
(mean w, from convert_weight.py), `g_optim`, `d_optim`, `args` (an argparse.Namespace from
train.py) and `ada_aug_p`. It is read with `torch.load(weights_only=True)`; `argparse.Namespace`
is the one extra class allowed (an inert attribute bag).

Storage conventions, checked against both codes (so the key table needs no rescaling):
  * EqualLinear stores `weight` and `bias` unscaled and applies `weight * lr_mul/sqrt(in)` and
    `bias * lr_mul` at run time; NVIDIA's FullyConnectedLayer stores and applies exactly the same
    (weight_gain = lr_multiplier/sqrt(in), bias_gain = lr_multiplier), so the mapping layers
    (lr_mul 0.01) copy 1:1. rosinality's lr_mlp is not stored in the file: 0.01 is assumed.
  * ModulatedConv2d `weight` [1, O, I, k, k] = NVIDIA's [O, I, k, k] (both scale by 1/sqrt(I k k)
    at run time); `modulation` = `affine` (bias init 1 in both); upsampling kernels are stored
    with the same orientation (both converters flip TF's Conv0_up kernels).
  * StyledConv's bias lives in its FusedLeakyReLU (`activate.bias`), NVIDIA's in the layer
    (`bias`); both apply leaky_relu(x + b, 0.2) * sqrt(2). ToRGB bias [1, C, 1, 1] -> [C].
  * NoiseInjection `noise.weight` [1] -> `noise_strength` []; buffers `noises.noise_i`
    [1, 1, R, R] -> `noise_const` [R, R] with noise_0 -> b4.conv1, noise_{2k-1} -> b(2^(k+2)).conv0,
    noise_{2k} -> b(2^(k+2)).conv1.
  * Discriminator: ConvLayer = [Blur] + EqualConv2d (no bias when activated) + FusedLeakyReLU(bias);
    NVIDIA's Conv2dLayer holds weight and bias; blur kernels are not weights (checked, not copied).
  * Channels: rosinality's table {4..32: 512, 64: 256 m, 128: 128 m, ...} is NVIDIA's
    channel_base = 16384 m, channel_max = 512.
"""

from __future__ import annotations

import argparse
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from stylebridge.errors import CheckpointError
from stylebridge.formats.base import NetworkState, RawCheckpoint
from stylebridge.formats.layout import check_layout, discriminator_shapes, generator_shapes, resample_filter
from stylebridge.networks.config import DiscriminatorConfig, GeneratorConfig
from stylebridge.utils.io import atomic_path

NOISE_SEED = 0  # seed of the noise buffers made up for old checkpoints that stored none


def _blur(factor: int) -> torch.Tensor:
    """rosinality's make_kernel([1,3,3,1]) * factor**2 (Upsample / upsampling Blur) or * 1 (Blur)."""
    return resample_filter() * factor**2


def _res_of_conv(i: int) -> int:
    return 2 ** (3 + i // 2)


# (pattern, our key for the groups, transform). A target of None: not a weight (checked, dropped).
G_TABLE: list[tuple[str, Any, Any]] = [
    (r"style\.(\d+)\.(weight|bias)", lambda i, p: f"mapping.fc{int(i) - 1}.{p}", None),
    (r"input\.input", lambda: "synthesis.b4.const", lambda t: t[0]),
    (r"conv1\.conv\.weight", lambda: "synthesis.b4.conv1.weight", lambda t: t[0]),
    (r"conv1\.conv\.modulation\.(weight|bias)", lambda p: f"synthesis.b4.conv1.affine.{p}", None),
    (r"conv1\.noise\.weight", lambda: "synthesis.b4.conv1.noise_strength", lambda t: t.reshape([])),
    (r"conv1\.activate\.bias", lambda: "synthesis.b4.conv1.bias", None),
    (r"to_rgb1\.conv\.weight", lambda: "synthesis.b4.torgb.weight", lambda t: t[0]),
    (r"to_rgb1\.conv\.modulation\.(weight|bias)", lambda p: f"synthesis.b4.torgb.affine.{p}", None),
    (r"to_rgb1\.bias", lambda: "synthesis.b4.torgb.bias", lambda t: t.reshape(-1)),
    (r"convs\.(\d+)\.conv\.weight", lambda i: f"synthesis.b{_res_of_conv(int(i))}.conv{int(i) % 2}.weight",
     lambda t: t[0]),
    (r"convs\.(\d+)\.conv\.modulation\.(weight|bias)",
     lambda i, p: f"synthesis.b{_res_of_conv(int(i))}.conv{int(i) % 2}.affine.{p}", None),
    (r"convs\.(\d+)\.noise\.weight", lambda i: f"synthesis.b{_res_of_conv(int(i))}.conv{int(i) % 2}.noise_strength",
     lambda t: t.reshape([])),
    (r"convs\.(\d+)\.activate\.bias", lambda i: f"synthesis.b{_res_of_conv(int(i))}.conv{int(i) % 2}.bias", None),
    (r"convs\.(\d+)\.conv\.blur\.kernel", None, lambda t: _blur(2)),
    (r"to_rgbs\.(\d+)\.conv\.weight", lambda k: f"synthesis.b{2 ** (3 + int(k))}.torgb.weight", lambda t: t[0]),
    (r"to_rgbs\.(\d+)\.conv\.modulation\.(weight|bias)",
     lambda k, p: f"synthesis.b{2 ** (3 + int(k))}.torgb.affine.{p}", None),
    (r"to_rgbs\.(\d+)\.bias", lambda k: f"synthesis.b{2 ** (3 + int(k))}.torgb.bias", lambda t: t.reshape(-1)),
    (r"to_rgbs\.(\d+)\.upsample\.kernel", None, lambda t: _blur(2)),
    (r"noises\.noise_(\d+)", lambda i: _noise_key(int(i)), lambda t: t[0, 0]),
]


def _noise_key(i: int) -> str:
    if i == 0:
        return "synthesis.b4.conv1.noise_const"
    return f"synthesis.b{2 ** ((i + 1) // 2 + 2)}.conv{(i + 1) % 2}.noise_const"


def _d_table(size: int) -> list[tuple[str, Any, Any]]:
    res = lambda i: size // 2 ** (int(i) - 1)  # noqa: E731  convs.i (i >= 1) is the block at this resolution
    return [
        (r"convs\.0\.0\.weight", lambda: f"b{size}.fromrgb.weight", None),
        (r"convs\.0\.1\.bias", lambda: f"b{size}.fromrgb.bias", None),
        (r"convs\.(\d+)\.conv1\.0\.weight", lambda i: f"b{res(i)}.conv0.weight", None),
        (r"convs\.(\d+)\.conv1\.1\.bias", lambda i: f"b{res(i)}.conv0.bias", None),
        (r"convs\.(\d+)\.conv2\.0\.kernel", None, lambda t: _blur(1)),
        (r"convs\.(\d+)\.conv2\.1\.weight", lambda i: f"b{res(i)}.conv1.weight", None),
        (r"convs\.(\d+)\.conv2\.2\.bias", lambda i: f"b{res(i)}.conv1.bias", None),
        (r"convs\.(\d+)\.skip\.0\.kernel", None, lambda t: _blur(1)),
        (r"convs\.(\d+)\.skip\.1\.weight", lambda i: f"b{res(i)}.skip.weight", None),
        (r"final_conv\.0\.weight", lambda: "b4.conv.weight", None),
        (r"final_conv\.1\.bias", lambda: "b4.conv.bias", None),
        (r"final_linear\.0\.(weight|bias)", lambda p: f"b4.fc.{p}", None),
        (r"final_linear\.1\.(weight|bias)", lambda p: f"b4.out.{p}", None),
    ]


def apply_table(sd: dict[str, torch.Tensor], table, what: str) -> dict[str, torch.Tensor]:
    """Map every source tensor through exactly one rule; every target written exactly once."""
    out: dict[str, torch.Tensor] = {}
    for key, t in sd.items():
        for pattern, target, fn in table:
            m = re.fullmatch(pattern, key)
            if not m:
                continue
            if target is None:  # a fixed blur kernel: must be the standard [1,3,3,1] one
                if t.shape != fn(t).shape or not torch.allclose(t.float(), fn(t)):
                    raise CheckpointError(f"{what}: {key} is not the standard [1,3,3,1] blur kernel; not supported")
                break
            ours = target(*m.groups())
            if ours in out:
                raise CheckpointError(f"{what}: two tensors map to {ours} (second: {key})")
            v = t.detach().float()
            out[ours] = (fn(v) if fn else v).clone()
            break
        else:
            raise CheckpointError(f"{what}: unexpected tensor {key} {tuple(t.shape)} (not a rosinality StyleGAN2 key)")
    return out


def _infer_channel_base(chans: dict[int, int], size: int, multiplier: int | None, what: str) -> tuple[int, int]:
    cmax = chans[4]
    below = {r: c for r, c in chans.items() if c < cmax}
    if below:
        r0 = min(below)
        base = below[r0] * r0
    elif cmax == 512:
        base = 16384 * (multiplier or 2)        # rosinality's default channel_multiplier is 2
    else:
        base = cmax * size
    for r, c in chans.items():
        if min(base // r, cmax) != c:
            raise CheckpointError(f"{what}: channel counts {dict(sorted(chans.items()))} cannot be expressed as "
                                  "min(channel_base // res, channel_max)")
    return base, cmax


def read_rosinality_state(ckpt: dict[str, Any], name: str = "checkpoint") -> RawCheckpoint:
    if not isinstance(ckpt, dict) or not any(k in ckpt for k in ("g", "g_ema", "d")):
        raise CheckpointError(f"{name}: not a rosinality checkpoint (expected a dict with g, g_ema, d)")
    args = ckpt.get("args")
    multiplier = getattr(args, "channel_multiplier", None) if args is not None else None
    raw = RawCheckpoint(format="rosinality")
    notes: list[str] = ["mapping lr multiplier 0.01 assumed (rosinality's lr_mlp is not stored in checkpoints)"]
    latent_avg = ckpt.get("latent_avg")
    for key, ours in (("g", "G"), ("g_ema", "G_ema")):
        sd = ckpt.get(key)
        if sd is None:
            continue
        what = f"{name} [{key}]"
        if not isinstance(sd, dict) or "style.1.weight" not in sd or "conv1.conv.weight" not in sd:
            raise CheckpointError(f"{what}: not a rosinality StyleGAN2 generator state dict")
        n_mlp = sum(1 for k in sd if re.fullmatch(r"style\.\d+\.weight", k))
        style_dim = sd["style.1.weight"].shape[1]
        log_size = 2 + sum(1 for k in sd if re.fullmatch(r"to_rgbs\.\d+\.conv\.weight", k))
        size = 2**log_size
        chans = {4: sd["conv1.conv.weight"].shape[1]}
        chans.update({_res_of_conv(2 * k): sd[f"convs.{2 * k}.conv.weight"].shape[1] for k in range(log_size - 2)})
        base, cmax = _infer_channel_base(chans, size, multiplier, what)
        img_channels = sd["to_rgb1.conv.weight"].shape[1]
        cfg = GeneratorConfig(z_dim=style_dim, w_dim=style_dim, img_resolution=size, img_channels=img_channels,
                              mapping_layers=n_mlp, channel_base=base, channel_max=cmax)
        out = apply_table(sd, G_TABLE, what)
        for k in generator_shapes(cfg):
            if k.endswith("resample_filter"):
                out[k] = resample_filter()
        noise_keys = [k for k in generator_shapes(cfg) if k.endswith("noise_const") and k not in out]
        if noise_keys:
            gen = torch.Generator().manual_seed(NOISE_SEED)
            for k in noise_keys:
                r = int(re.search(r"\.b(\d+)\.", k).group(1))
                out[k] = torch.randn([r, r], generator=gen)
            notes.append(f"{key}: no stored noise buffers; const noise drawn with seed {NOISE_SEED}")
        if latent_avg is not None:
            w = torch.as_tensor(latent_avg).detach().float().reshape(-1)
            if w.numel() != style_dim:
                raise CheckpointError(f"{name}: latent_avg has {w.numel()} values, the generator's w has {style_dim}")
            out["mapping.w_avg"] = w.clone()
        else:
            out["mapping.w_avg"] = torch.zeros(style_dim)
            raw.w_avg_known = False
        check_layout(out, generator_shapes(cfg), what)
        setattr(raw, ours, NetworkState(cfg, out))
    sd = ckpt.get("d")
    if sd is not None:
        what = f"{name} [d]"
        if not isinstance(sd, dict) or "convs.0.0.weight" not in sd:
            raise CheckpointError(f"{what}: not a rosinality StyleGAN2 discriminator state dict")
        n_blocks = sum(1 for k in sd if re.fullmatch(r"convs\.\d+\.conv1\.0\.weight", k))
        size = 2 ** (n_blocks + 2)
        chans = {size: sd["convs.0.0.weight"].shape[0], 4: sd["final_conv.0.weight"].shape[0]}
        chans.update({size // 2**i: sd[f"convs.{i}.conv2.1.weight"].shape[0] for i in range(1, n_blocks + 1)})
        base, cmax = _infer_channel_base(chans, size, multiplier, what)
        cfg_d = DiscriminatorConfig(img_resolution=size, img_channels=sd["convs.0.0.weight"].shape[1],
                                    channel_base=base, channel_max=cmax, mbstd_group_size=4, mbstd_num_channels=1)
        out = apply_table(sd, _d_table(size), what)
        for k in discriminator_shapes(cfg_d):
            if k.endswith("resample_filter"):
                out[k] = resample_filter()
        check_layout(out, discriminator_shapes(cfg_d), what)
        raw.D = NetworkState(cfg_d, out)
    for k in ("g_optim", "d_optim", "ada_aug_p"):
        if k in ckpt:
            raw.extra[k] = ckpt[k]
    if args is not None:
        raw.extra["args"] = dict(vars(args)) if hasattr(args, "__dict__") else args
    raw.extra["notes"] = notes
    return raw


def check_torch_zip(path: Path) -> None:
    """Refuse a torch zip whose entries could inflate: `torch.save` stores every entry
    uncompressed, so their sizes add up to less than the file's, checked before reading any."""
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: damaged or truncated torch file ({e})") from None
    total = sum(i.file_size for i in infos)
    packed = [i.filename[:60] for i in infos if i.compress_type != zipfile.ZIP_STORED]
    if packed or total > size:
        raise CheckpointError(f"{path}: its zip entries claim {total / 2**20:.1f} MB uncompressed in a "
                              f"{size / 2**20:.1f} MB file{f' (compressed: {packed[:2]})' if packed else ''}; "
                              "torch saves entries uncompressed, so this is not a torch checkpoint")


def read_rosinality(path: str | Path) -> RawCheckpoint:
    path = Path(path)
    check_torch_zip(path)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises UnpicklingError/RuntimeError/... for damaged or unsafe files
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if "weights only" in str(e).lower() or "Unsupported global" in str(e):
            from stylebridge.errors import UnsafePickleError
            raise UnsafePickleError(f"{path}: this torch file references code outside plain tensors ({msg}); "
                                    "stylebridge never runs code from checkpoints") from None
        raise CheckpointError(f"{path}: damaged or truncated torch file ({msg})") from None
    try:
        return read_rosinality_state(ckpt, name=str(path))
    except CheckpointError:
        raise
    except (IndexError, KeyError, AttributeError, TypeError, ValueError, RuntimeError) as e:
        # a tensor of the wrong rank or kind where the layout inference looks (shapes are then
        # checked in full by check_layout before anything is built)
        raise CheckpointError(f"{path}: the tensors do not have the shapes of a rosinality StyleGAN2 checkpoint "
                              f"({type(e).__name__}: {str(e)[:100]})") from None


# ------------------------------------------------------------------------------------------------
# Writer


def rosinality_multiplier(cfg: GeneratorConfig | DiscriminatorConfig) -> int:
    """The channel_multiplier whose rosinality channel table equals this config, or raise."""
    for m in (2, 1, 4):
        table = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * m, 128: 128 * m, 256: 64 * m, 512: 32 * m, 1024: 16 * m}
        if all(cfg.channels(r) == table[r] for r in [2**i for i in range(2, int(math.log2(cfg.img_resolution)) + 1)]):
            return m
    raise CheckpointError(f"rosinality's code hard-codes 512 channels up to 32x32 and 256*m, 128*m, ... above; "
                          f"channel_base={cfg.channel_base}, channel_max={cfg.channel_max} cannot be expressed "
                          "(convert to native format instead)")


def _invert(ours: dict[str, torch.Tensor], table, extra: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Inverse of apply_table for the keys produced by `extra` (rosinality key -> template)."""
    out: dict[str, torch.Tensor] = {}
    for key, template in extra.items():
        for pattern, target, _fn in table:
            m = re.fullmatch(pattern, key)
            if m:
                out[key] = (template.clone() if target is None
                            else ours[target(*m.groups())].reshape(template.shape).clone())
                break
    return out


def _g_template(cfg: GeneratorConfig) -> dict[str, torch.Tensor]:
    """rosinality Generator state-dict keys and shapes (values only for the blur kernels)."""
    t: dict[str, torch.Tensor] = {}
    e = torch.empty
    for i in range(cfg.mapping_layers):
        t[f"style.{i + 1}.weight"] = e(cfg.w_dim, cfg.w_dim)
        t[f"style.{i + 1}.bias"] = e(cfg.w_dim)
    c4 = cfg.channels(4)
    t["input.input"] = e(1, c4, 4, 4)

    def styled(p: str, cin: int, cout: int, up: bool) -> None:
        t[f"{p}.conv.weight"] = e(1, cout, cin, 3, 3)
        if up:
            t[f"{p}.conv.blur.kernel"] = _blur(2)
        t[f"{p}.conv.modulation.weight"] = e(cin, cfg.w_dim)
        t[f"{p}.conv.modulation.bias"] = e(cin)
        t[f"{p}.noise.weight"] = e(1)
        t[f"{p}.activate.bias"] = e(cout)

    def torgb(p: str, cin: int, up: bool) -> None:
        t[f"{p}.bias"] = e(1, cfg.img_channels, 1, 1)
        if up:
            t[f"{p}.upsample.kernel"] = _blur(2)
        t[f"{p}.conv.weight"] = e(1, cfg.img_channels, cin, 1, 1)
        t[f"{p}.conv.modulation.weight"] = e(cin, cfg.w_dim)
        t[f"{p}.conv.modulation.bias"] = e(cin)

    styled("conv1", c4, c4, False)
    torgb("to_rgb1", c4, False)
    log_size = int(math.log2(cfg.img_resolution))
    cin = c4
    for k, i in enumerate(range(3, log_size + 1)):
        cout = cfg.channels(2**i)
        styled(f"convs.{2 * k}", cin, cout, True)
        styled(f"convs.{2 * k + 1}", cout, cout, False)
        torgb(f"to_rgbs.{k}", cout, True)
        cin = cout
    for n in range((log_size - 2) * 2 + 1):
        r = 2 ** ((n + 5) // 2)
        t[f"noises.noise_{n}"] = e(1, 1, r, r)
    return t


def _d_template(cfg: DiscriminatorConfig) -> dict[str, torch.Tensor]:
    t: dict[str, torch.Tensor] = {}
    e = torch.empty
    size = cfg.img_resolution
    t["convs.0.0.weight"] = e(cfg.channels(size), cfg.img_channels, 1, 1)
    t["convs.0.1.bias"] = e(cfg.channels(size))
    for i, r in enumerate(cfg.block_resolutions, start=1):
        cin, cout = cfg.channels(r), cfg.channels(r // 2)
        t[f"convs.{i}.conv1.0.weight"] = e(cin, cin, 3, 3)
        t[f"convs.{i}.conv1.1.bias"] = e(cin)
        t[f"convs.{i}.conv2.0.kernel"] = _blur(1)
        t[f"convs.{i}.conv2.1.weight"] = e(cout, cin, 3, 3)
        t[f"convs.{i}.conv2.2.bias"] = e(cout)
        t[f"convs.{i}.skip.0.kernel"] = _blur(1)
        t[f"convs.{i}.skip.1.weight"] = e(cout, cin, 1, 1)
    c4 = cfg.channels(4)
    t["final_conv.0.weight"] = e(c4, c4 + 1, 3, 3)
    t["final_conv.1.bias"] = e(c4)
    t["final_linear.0.weight"] = e(c4, c4 * 16)
    t["final_linear.0.bias"] = e(c4)
    t["final_linear.1.weight"] = e(1, c4)
    t["final_linear.1.bias"] = e(1)
    return t


def rosinality_state_dicts(G_ema: NetworkState, D: NetworkState | None = None, G: NetworkState | None = None,
                           check_channels: bool = True) -> dict[str, Any]:
    """Our state dicts -> rosinality's `{'g_ema', 'g', 'd', 'latent_avg'}` (strict-loadable by their code)."""
    cfg = G_ema.config
    assert isinstance(cfg, GeneratorConfig)
    if cfg.img_channels != 3:
        raise CheckpointError(f"rosinality's ToRGB layers have 3 channels; this model has {cfg.img_channels}")
    if cfg.c_dim:
        raise CheckpointError("rosinality's generator is unconditional; this model has class labels (c_dim > 0)")
    if (cfg.z_dim != cfg.w_dim or cfg.embed_features or cfg.layer_features
            or abs(cfg.mapping_lr_multiplier - 0.01) > 1e-12):
        raise CheckpointError("rosinality's mapping network needs z_dim == w_dim, no custom layer sizes and lr 0.01")
    if cfg.conv_clamp is not None:
        raise CheckpointError("rosinality's code has no conv_clamp; this model clamps convolution outputs")
    if check_channels:
        rosinality_multiplier(cfg)
    out: dict[str, Any] = {}
    for name, st in (("g_ema", G_ema), ("g", G)):
        if st is not None:
            out[name] = _invert(st.state_dict, G_TABLE, _g_template(st.config))
    if D is not None:
        dc = D.config
        assert isinstance(dc, DiscriminatorConfig)
        if dc.c_dim or dc.img_channels != 3 or dc.mbstd_group_size != 4 or dc.mbstd_num_channels != 1 or dc.conv_clamp:
            raise CheckpointError("this discriminator cannot be expressed in rosinality's code "
                                  "(needs 3 channels, no labels, minibatch-stddev group 4 x 1, no conv_clamp)")
        if check_channels:
            rosinality_multiplier(dc)
        out["d"] = _invert(D.state_dict, _d_table(dc.img_resolution), _d_template(dc))
    out["latent_avg"] = G_ema.state_dict["mapping.w_avg"].clone()
    return out


def _as_state(net: Any) -> NetworkState | None:
    if net is None or isinstance(net, NetworkState):
        return net
    cfg = getattr(net, "config", None) or getattr(net, "cfg", None)
    if cfg is None:
        raise CheckpointError(f"cannot tell the architecture of {type(net).__name__} (no .config)")
    return NetworkState(cfg, {k: v.detach().cpu().float() for k, v in net.state_dict().items()})


def save_rosinality(path: str | Path, G: Any, G_ema: Any, D: Any = None) -> None:
    """Write a rosinality `.pt` that `Generator(size, style_dim, n_mlp, channel_multiplier)
    .load_state_dict(ckpt['g_ema'])` accepts strictly. G / G_ema / D: modules with `.config`
    or NetworkState; G_ema required."""
    g_ema = _as_state(G_ema)
    if g_ema is None:
        raise CheckpointError("save_rosinality needs G_ema")
    ckpt = rosinality_state_dicts(g_ema, _as_state(D), _as_state(G))
    with atomic_path(path) as tmp:
        torch.save(ckpt, tmp)

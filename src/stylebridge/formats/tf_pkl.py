"""NVIDIA TensorFlow StyleGAN2 / StyleGAN2-ADA pickles: numpy arrays only, no TensorFlow, no code.

Such a file pickles the tuple `(G, D, Gs)` of `dnnlib.tflib.network.Network` objects whose
`__getstate__` is a dict: `version`, `name`, `static_kwargs` (constructor arguments),
`components` (sub-networks, e.g. G's `mapping` and `synthesis`), `build_module_src` (Python
source: kept as inert text, never executed), `build_func_name`, `variables` (a list of
`(name, numpy array)`), and from version 5 `input_shapes` etc. The only globals allowed on top
of unpickle.BASE_GLOBALS are `dnnlib.tflib.network.Network` (-> `TFNetworkRecord`) and numpy's
array reconstruction.

Conversion rules (the same as NVIDIA's legacy.py `convert_tf_generator/discriminator`):
  * dense weights are stored [in, out] in TF: ours = weight.T
  * conv weights are HWIO in TF: ours (OIHW) = weight.transpose(3, 2, 0, 1)
  * the generator's upsampling convs (`Conv0_up`) were applied by TF as a transposed conv, so
    their kernels are also flipped in both spatial axes: ours = weight[::-1, ::-1].transpose(3, 2, 0, 1)
    (the discriminator's `Conv1_down` and `Skip` are NOT flipped)
  * modulation biases are stored without TF's runtime `+1`: ours = mod_bias + 1
  * noise inputs `noise{i}` [1, 1, R, R]: ours = noise[0, 0]; b4.conv1 <- noise0,
    b{R}.conv0 <- noise{2*log2(R)-5}, b{R}.conv1 <- noise{2*log2(R)-4}
  * `Const/const` [1, C, 4, 4]: ours = const[0]; `dlatent_avg` -> mapping.w_avg
  * channel_base = 2 * fmap_base (TF counts stages from 4x4 = stage 1)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from stylebridge.errors import CheckpointError
from stylebridge.formats.base import NetworkState, RawCheckpoint
from stylebridge.formats.layout import discriminator_shapes, generator_shapes, resample_filter
from stylebridge.networks.config import DiscriminatorConfig, GeneratorConfig


class TFNetworkRecord:
    """Inert stand-in for `dnnlib.tflib.network.Network`: holds the pickled state as data."""

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise CheckpointError("TensorFlow network record without a state dict")
        self.version = int(state.get("version", 0))
        self.name = str(state.get("name", ""))
        self.static_kwargs = dict(state.get("static_kwargs") or {})
        self.components = dict(state.get("components") or {})
        self.build_func_name = str(state.get("build_func_name", ""))
        self.variables = list(state.get("variables") or [])


TF_GLOBALS: dict[tuple[str, str], Any] = {("dnnlib.tflib.network", "Network"): TFNetworkRecord}


def is_tf_data(data: Any) -> bool:
    return isinstance(data, tuple) and len(data) == 3 and all(isinstance(n, TFNetworkRecord) for n in data)


def collect_tf_params(net: TFNetworkRecord, prefix: str = "") -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for item in net.variables:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise CheckpointError(f"{net.name}: malformed variable entry")
        name, value = item
        out[prefix + str(name)] = np.asarray(value)
    for cname, comp in net.components.items():
        if not isinstance(comp, TFNetworkRecord):
            raise CheckpointError(f"{net.name}: component {cname!r} is not a network")
        out.update(collect_tf_params(comp, f"{prefix}{cname}/"))
    return out


def _kwargs_reader(net: TFNetworkRecord, what: str):
    known: set[str] = set()
    kw = net.static_kwargs

    def get(name: str, default: Any = None) -> Any:
        known.add(name)
        v = kw.get(name, default)
        return default if v is None else v

    def finish(*ignored: str) -> None:
        known.update(ignored)
        unknown = sorted(set(kw) - known)
        if unknown:
            raise CheckpointError(f"{what}: unknown TensorFlow kwargs {unknown}; "
                                  "not a StyleGAN2 network stylebridge reads")
    return get, finish


def _need(what: str, key: str, value: Any, allowed: Any) -> None:
    if value != allowed:
        raise CheckpointError(f"{what}: {key}={value!r} is not supported (StyleGAN2 default is {allowed!r})")


def _oihw(w: np.ndarray, flip: bool = False) -> np.ndarray:
    if flip:
        w = w[::-1, ::-1]
    return w.transpose(3, 2, 0, 1)


def _open(net: TFNetworkRecord, what: str, orig_pattern: str, kind: str):
    """The opening both converters share: version, kwargs reader, variables, and the choices
    every StyleGAN2 network of ours makes (not progressive growing, lrelu, [1,3,3,1] filter)."""
    if net.version < 4:
        raise CheckpointError(f"{what}: TensorFlow pickle version {net.version} is too old (need >= 4)")
    get, finish = _kwargs_reader(net, what)
    p = collect_tf_params(net)
    if any(re.fullmatch(orig_pattern, k) for k in p):
        raise CheckpointError(f"{what}: 'orig' (progressive-growing) {kind} architecture is not supported")
    _need(what, "nonlinearity", get("nonlinearity", "lrelu"), "lrelu")
    _need(what, "resample_kernel", list(get("resample_kernel", [1, 3, 3, 1])), [1, 3, 3, 1])
    return get, finish, p


def _fill(rules: list[tuple[str, Callable[..., Any] | None]], shapes: dict[str, tuple[int, ...]],
          params: dict[str, np.ndarray], what: str) -> dict[str, torch.Tensor]:
    """Apply the first matching rule to every key of our layout; each key filled exactly once."""
    out: dict[str, torch.Tensor] = {}
    for key, shape in shapes.items():
        for pattern, fn in rules:
            m = re.fullmatch(pattern, key)
            if m:
                try:
                    value = resample_filter().numpy() if fn is None else fn(*m.groups())
                except KeyError as e:
                    raise CheckpointError(f"{what}: TensorFlow variable {e.args[0]} (for {key}) is missing") from None
                t = torch.from_numpy(np.array(value, dtype=np.float32, order="C"))  # a copy; keeps 0-d shapes
                if tuple(t.shape) != tuple(shape):
                    raise CheckpointError(f"{what}: {key} has shape {tuple(t.shape)} in the checkpoint but the "
                                          f"architecture needs {tuple(shape)}")
                out[key] = t
                break
        else:
            raise CheckpointError(f"{what}: no TensorFlow variable maps to {key}")
    return out


def convert_tf_generator(net: TFNetworkRecord, what: str = "G") -> NetworkState:
    get, finish, p = _open(net, what, r"synthesis/ToRGB_lod\d+/.*", "generator")
    _need(what, "mapping_nonlinearity", get("mapping_nonlinearity", "lrelu"), "lrelu")
    _need(what, "use_noise", get("use_noise", True), True)
    cfg = GeneratorConfig(
        z_dim=int(get("latent_size", 512)), c_dim=int(get("label_size", 0)), w_dim=int(get("dlatent_size", 512)),
        img_resolution=int(get("resolution", 1024)), img_channels=int(get("num_channels", 3)),
        mapping_layers=int(get("mapping_layers", 8)), mapping_lr_multiplier=float(get("mapping_lrmul", 0.01)),
        w_avg_beta=float(get("w_avg_beta", get("dlatent_avg_beta", 0.995))),
        embed_features=get("label_fmaps", None), layer_features=get("mapping_fmaps", None),
        channel_base=int(get("fmap_base", 16384)) * 2, channel_max=int(get("fmap_max", 512)),
        num_fp16_res=int(get("num_fp16_res", 0)), conv_clamp=get("conv_clamp", None),
        architecture=str(get("architecture", "skip")),
    )
    finish("truncation_psi", "truncation_cutoff", "style_mixing_prob", "structure", "fmap_decay_is_one")
    n = lambda r: int(math.log2(int(r)))  # noqa: E731
    rules: list[tuple[str, Callable[..., Any] | None]] = [
        (r"mapping\.w_avg", lambda: p["dlatent_avg"]),
        (r"mapping\.embed\.weight", lambda: p["mapping/LabelEmbed/weight"].T),
        (r"mapping\.embed\.bias", lambda: p["mapping/LabelEmbed/bias"]),
        (r"mapping\.fc(\d+)\.weight", lambda i: p[f"mapping/Dense{i}/weight"].T),
        (r"mapping\.fc(\d+)\.bias", lambda i: p[f"mapping/Dense{i}/bias"]),
        (r"synthesis\.b4\.const", lambda: p["synthesis/4x4/Const/const"][0]),
        (r"synthesis\.b4\.conv1\.weight", lambda: _oihw(p["synthesis/4x4/Conv/weight"])),
        (r"synthesis\.b4\.conv1\.bias", lambda: p["synthesis/4x4/Conv/bias"]),
        (r"synthesis\.b4\.conv1\.noise_const", lambda: p["synthesis/noise0"][0, 0]),
        (r"synthesis\.b4\.conv1\.noise_strength", lambda: p["synthesis/4x4/Conv/noise_strength"]),
        (r"synthesis\.b4\.conv1\.affine\.weight", lambda: p["synthesis/4x4/Conv/mod_weight"].T),
        (r"synthesis\.b4\.conv1\.affine\.bias", lambda: p["synthesis/4x4/Conv/mod_bias"] + 1),
        (r"synthesis\.b(\d+)\.conv0\.weight", lambda r: _oihw(p[f"synthesis/{r}x{r}/Conv0_up/weight"], flip=True)),
        (r"synthesis\.b(\d+)\.conv0\.bias", lambda r: p[f"synthesis/{r}x{r}/Conv0_up/bias"]),
        (r"synthesis\.b(\d+)\.conv0\.noise_const", lambda r: p[f"synthesis/noise{2 * n(r) - 5}"][0, 0]),
        (r"synthesis\.b(\d+)\.conv0\.noise_strength", lambda r: p[f"synthesis/{r}x{r}/Conv0_up/noise_strength"]),
        (r"synthesis\.b(\d+)\.conv0\.affine\.weight", lambda r: p[f"synthesis/{r}x{r}/Conv0_up/mod_weight"].T),
        (r"synthesis\.b(\d+)\.conv0\.affine\.bias", lambda r: p[f"synthesis/{r}x{r}/Conv0_up/mod_bias"] + 1),
        (r"synthesis\.b(\d+)\.conv1\.weight", lambda r: _oihw(p[f"synthesis/{r}x{r}/Conv1/weight"])),
        (r"synthesis\.b(\d+)\.conv1\.bias", lambda r: p[f"synthesis/{r}x{r}/Conv1/bias"]),
        (r"synthesis\.b(\d+)\.conv1\.noise_const", lambda r: p[f"synthesis/noise{2 * n(r) - 4}"][0, 0]),
        (r"synthesis\.b(\d+)\.conv1\.noise_strength", lambda r: p[f"synthesis/{r}x{r}/Conv1/noise_strength"]),
        (r"synthesis\.b(\d+)\.conv1\.affine\.weight", lambda r: p[f"synthesis/{r}x{r}/Conv1/mod_weight"].T),
        (r"synthesis\.b(\d+)\.conv1\.affine\.bias", lambda r: p[f"synthesis/{r}x{r}/Conv1/mod_bias"] + 1),
        (r"synthesis\.b(\d+)\.torgb\.weight", lambda r: _oihw(p[f"synthesis/{r}x{r}/ToRGB/weight"])),
        (r"synthesis\.b(\d+)\.torgb\.bias", lambda r: p[f"synthesis/{r}x{r}/ToRGB/bias"]),
        (r"synthesis\.b(\d+)\.torgb\.affine\.weight", lambda r: p[f"synthesis/{r}x{r}/ToRGB/mod_weight"].T),
        (r"synthesis\.b(\d+)\.torgb\.affine\.bias", lambda r: p[f"synthesis/{r}x{r}/ToRGB/mod_bias"] + 1),
        (r".*\.resample_filter", None),
    ]
    return NetworkState(cfg, _fill(rules, generator_shapes(cfg), p, what))


def convert_tf_discriminator(net: TFNetworkRecord, what: str = "D") -> NetworkState:
    get, finish, p = _open(net, what, r"FromRGB_lod\d+/.*", "discriminator")
    c_dim = int(get("label_size", 0))
    if c_dim and float(get("mapping_lrmul", 0.1)) != 0.01:
        raise CheckpointError(f"{what}: conditional TensorFlow discriminator (label mapping lr multiplier "
                              f"{get('mapping_lrmul', 0.1)}) is not supported; use the generator only")
    # Absent = the TF code's default of 4 (legacy.py passes None = whole batch; TF's D used 4).
    group = get("mbstd_group_size", 4)
    cfg = DiscriminatorConfig(
        c_dim=c_dim, img_resolution=int(get("resolution", 1024)), img_channels=int(get("num_channels", 3)),
        channel_base=int(get("fmap_base", 16384)) * 2, channel_max=int(get("fmap_max", 512)),
        num_fp16_res=int(get("num_fp16_res", 0)), conv_clamp=get("conv_clamp", None),
        cmap_dim=get("mapping_fmaps", None), mbstd_group_size=int(group),
        mbstd_num_channels=int(get("mbstd_num_features", 1)), mapping_layers=int(get("mapping_layers", 0)),
        architecture=str(get("architecture", "resnet")),
    )
    get("freeze_layers", 0)
    finish("structure")
    rules: list[tuple[str, Callable[..., Any] | None]] = [
        (r"b(\d+)\.fromrgb\.weight", lambda r: _oihw(p[f"{r}x{r}/FromRGB/weight"])),
        (r"b(\d+)\.fromrgb\.bias", lambda r: p[f"{r}x{r}/FromRGB/bias"]),
        (r"b(\d+)\.conv(\d+)\.weight", lambda r, i: _oihw(p[f"{r}x{r}/Conv{i}{['', '_down'][int(i)]}/weight"])),
        (r"b(\d+)\.conv(\d+)\.bias", lambda r, i: p[f"{r}x{r}/Conv{i}{['', '_down'][int(i)]}/bias"]),
        (r"b(\d+)\.skip\.weight", lambda r: _oihw(p[f"{r}x{r}/Skip/weight"])),
        (r"mapping\.embed\.weight", lambda: p["LabelEmbed/weight"].T),
        (r"mapping\.embed\.bias", lambda: p["LabelEmbed/bias"]),
        (r"mapping\.fc(\d+)\.weight", lambda i: p[f"Mapping{i}/weight"].T),
        (r"mapping\.fc(\d+)\.bias", lambda i: p[f"Mapping{i}/bias"]),
        (r"b4\.conv\.weight", lambda: _oihw(p["4x4/Conv/weight"])),
        (r"b4\.conv\.bias", lambda: p["4x4/Conv/bias"]),
        (r"b4\.fc\.weight", lambda: p["4x4/Dense0/weight"].T),
        (r"b4\.fc\.bias", lambda: p["4x4/Dense0/bias"]),
        (r"b4\.out\.weight", lambda: p["Output/weight"].T),
        (r"b4\.out\.bias", lambda: p["Output/bias"]),
        (r".*\.resample_filter", None),
    ]
    return NetworkState(cfg, _fill(rules, discriminator_shapes(cfg), p, what))


def read_tf_data(data: tuple, name: str = "pickle") -> RawCheckpoint:
    tf_G, tf_D, tf_Gs = data
    raw = RawCheckpoint(format="tf_pkl")
    try:
        raw.G = convert_tf_generator(tf_G, f"{name} [G]")
        raw.G_ema = convert_tf_generator(tf_Gs, f"{name} [Gs]")
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:  # kwargs or variables of a wrong kind
        raise CheckpointError(f"{name}: the TensorFlow networks are malformed ({type(e).__name__}: {str(e)[:80]})") \
            from None
    try:
        raw.D = convert_tf_discriminator(tf_D, f"{name} [D]")
    except CheckpointError as e:
        raw.extra["notes"] = [f"discriminator not loaded: {e}"]
    return raw

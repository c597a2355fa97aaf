"""An e4e-style encoder: image -> W+ code of one base generator, in one forward pass.

The network predicts a single w (as an offset from the base's mean w, in units of the
per-dimension spread of w) and, for every style input after the first, an offset Delta_i
from that w (e4e's "W+ offsets from a single w"): ws_0 = w, ws_i = w + Delta_i. The offsets'
head starts at zero, so an untrained or still locked layer reads exactly w; training keeps
them small (delta penalty) so that codes stay near W, where the fine-tuned models of the
same base draw them as their own samples.

The encoder file is one `.safetensors`: weights `E.<key>`, metadata `format` =
"stylebridge-encoder", `format_version`, `stylebridge_version`, `config` (JSON of
EncoderConfig) and `base_hash` (sha256 of the base's mapping + synthesis state). Loading
reads tensors and JSON only, and an encoder is refused for any generator with another hash.
Snapshots of a training run are the same format with `state.*` tensors and an `extra`
skeleton (see formats/native.py) holding the optimizer and RNG states.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open

from stylebridge import __version__
from stylebridge.errors import CheckpointError
from stylebridge.formats.native import flatten_tree, save_safetensors, unflatten_tree
from stylebridge.networks.stylegan2 import Generator
from stylebridge.utils.config import ConfigData
from stylebridge.utils.io import atomic_path

FORMAT_NAME = "stylebridge-encoder"
FORMAT_VERSION = 1


@dataclass
class EncoderConfig(ConfigData):
    img_resolution: int              # input width and height (the base's resolution)
    img_channels: int                # input channels (the base's)
    num_ws: int                      # style inputs of the base
    w_dim: int                       # w size of the base
    channels: int = 32               # feature maps at full resolution (doubled per halving)
    channel_max: int = 256           # cap on feature maps
    hidden: int = 256                # size of the pooled feature vector feeding the heads

    def channels_at(self, res: int) -> int:
        return min(self.channels * (self.img_resolution // res), self.channel_max)

    def validate(self) -> None:
        r = self.img_resolution
        if r < 8 or r & (r - 1):
            raise CheckpointError(f"encoder resolution must be a power of two >= 8, got {r}")
        if min(self.img_channels, self.num_ws, self.w_dim, self.channels, self.channel_max, self.hidden) < 1:
            raise CheckpointError(f"encoder config has a non-positive size: {self}")

    @classmethod
    def for_generator(cls, G: Generator, **kw) -> EncoderConfig:
        return cls(img_resolution=G.img_resolution, img_channels=G.img_channels, num_ws=G.num_ws, w_dim=G.w_dim, **kw)


def base_hash(G: Generator) -> str:
    """sha256 over the names, shapes and float32 values of G's mapping and synthesis state
    (parameters and buffers, including w_avg and the stored noise maps)."""
    h = hashlib.sha256()
    for prefix, module in (("mapping", G.mapping), ("synthesis", G.synthesis)):
        for k, v in sorted(module.state_dict().items()):
            t = v.detach().to("cpu", torch.float32).contiguous()
            h.update(f"{prefix}.{k}:{tuple(t.shape)};".encode())
            h.update(t.numpy().tobytes())
    return h.hexdigest()


@torch.no_grad()
def w_spread(G: Generator, samples: int = 10_000, seed: int = 0) -> torch.Tensor:
    """Per-dimension standard deviation of w over mapped samples (CPU float32 [w_dim])."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn([samples, G.z_dim], generator=gen).to(G.mapping.w_avg.device)
    w = torch.cat([G.mapping(z[i:i + 2000], None)[:, 0] for i in range(0, samples, 2000)]).double()
    return w.std(0).float().clamp_min(1e-6).cpu()


class Encoder(nn.Module):
    """img [N, C, R, R] in [-1, 1] -> ws [N, num_ws, w_dim]. No batch statistics: images
    never interact."""

    def __init__(self, config: EncoderConfig):
        super().__init__()
        config.validate()
        self.config = config
        c = config
        self.base_hash = ""
        self.from_rgb = nn.Conv2d(c.img_channels, c.channels_at(c.img_resolution), 1)
        self.resolutions = []
        res = c.img_resolution
        while res > 4:
            cin, cout = c.channels_at(res), c.channels_at(res // 2)
            setattr(self, f"b{res}", nn.ModuleList([nn.Conv2d(cin, cin, 3, padding=1),
                                                    nn.Conv2d(cin, cout, 3, padding=1)]))
            self.resolutions.append(res)
            res //= 2
        c4 = c.channels_at(4)
        pooled = sum(c.channels_at(r) for r in self.resolutions)  # global average of every block's input
        self.fc = nn.Linear(c4 * 16 + pooled, c.hidden)
        self.head_w = nn.Linear(c.hidden, c.w_dim)
        self.head_delta = nn.Linear(c.hidden, (c.num_ws - 1) * c.w_dim)
        for m in self.modules():  # variance-preserving for leaky ReLU: features keep their scale with depth
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, a=0.2, nonlinearity="leaky_relu")
                nn.init.zeros_(m.bias)
        nn.init.zeros_(self.head_w.weight)
        nn.init.zeros_(self.head_w.bias)
        nn.init.zeros_(self.head_delta.weight)
        nn.init.zeros_(self.head_delta.bias)
        self.register_buffer("w_avg", torch.zeros([c.w_dim]))     # the base's mean w
        self.register_buffer("w_std", torch.ones([c.w_dim]))      # per-dimension spread of its w

    @classmethod
    def for_generator(cls, G: Generator, **config) -> Encoder:
        E = cls(EncoderConfig.for_generator(G, **config))
        with torch.no_grad():
            E.w_avg.copy_(G.mapping.w_avg.detach().float().cpu())
            E.w_std.copy_(w_spread(G))
        E.base_hash = base_hash(G)
        return E.to(G.mapping.w_avg.device)

    def forward(self, img: torch.Tensor, unlocked: int | None = None, return_deltas: bool = False):
        """`unlocked`: how many offsets Delta_1.. are used (e4e's progressive training; None =
        all). With `return_deltas`, returns (ws, deltas [N, num_ws - 1, w_dim] in w_std units)."""
        c = self.config
        assert img.ndim == 4 and tuple(img.shape[1:]) == (c.img_channels, c.img_resolution, c.img_resolution), \
            f"encoder input {tuple(img.shape)} != [N, {c.img_channels}, {c.img_resolution}, {c.img_resolution}]"
        x = F.leaky_relu(self.from_rgb(img), 0.2)
        pooled = []
        for res in self.resolutions:
            conv0, conv1 = getattr(self, f"b{res}")
            pooled.append(x.mean(dim=[2, 3]))
            x = F.leaky_relu(conv0(x), 0.2)
            x = F.avg_pool2d(F.leaky_relu(conv1(x), 0.2), 2)
        h = F.leaky_relu(self.fc(torch.cat([x.flatten(1)] + pooled, dim=1)), 0.2)
        w = self.w_avg + self.w_std * self.head_w(h).float()
        d = self.head_delta(h).float().view(-1, c.num_ws - 1, c.w_dim)
        if unlocked is not None and unlocked < c.num_ws - 1:
            mask = torch.arange(c.num_ws - 1, device=d.device) < unlocked
            d = d * mask.view(1, -1, 1).to(d.dtype)
        ws = w.unsqueeze(1) + torch.cat([torch.zeros_like(d[:, :1]), d], dim=1) * self.w_std
        return (ws, d) if return_deltas else ws

    def check_base(self, G: Generator, what: str = "encoder") -> None:
        """Refuse G unless this encoder was trained for it (one line)."""
        check_base(self, G, what)


@torch.no_grad()
def widen(E: Encoder, channels: int, noise: float = 1e-3, seed: int = 0) -> Encoder:
    """E with `channels` feature maps at full resolution instead of its own (Net2WiderNet,
    Chen et al. 2016): each old feature map is copied into the new ones it maps to (new map
    j holds old map j mod C), and the layers that read copied maps divide their weights by
    the number of copies, so the wider encoder computes the same codes. The copies would stay
    equal under training (equal gradients): `noise` (times each weight tensor's std) on the
    widened convolutions breaks the tie at the cost of a change of about that size. Lets a
    trained encoder gain capacity without losing what it learnt."""
    old = E.config
    new_cfg = dataclasses.replace(old, channels=channels)
    res_all = [old.img_resolution] + E.resolutions
    for r in res_all + [4]:
        a, b = old.channels_at(r), new_cfg.channels_at(r)
        if b < a or b % a:
            raise CheckpointError(f"cannot widen the encoder from {old.channels} to {channels} channels: at {r} px "
                                  f"{a} maps would become {b} (a multiple of the old count is needed)")
    W = Encoder(new_cfg).to(E.w_avg.device)
    W.base_hash = E.base_hash
    gen = torch.Generator().manual_seed(seed)

    def index(c_old: int, c_new: int) -> tuple[torch.Tensor, int]:
        return torch.arange(c_new, device=E.w_avg.device) % c_old, c_new // c_old

    def conv(new: nn.Conv2d, old_m: nn.Conv2d, cin: tuple[int, int], cout: tuple[int, int], jitter: bool) -> None:
        oi, _ = index(*cout)
        ii, k = index(*cin)
        w = old_m.weight[oi][:, ii] / k
        if jitter and noise > 0:
            w = w + noise * w.std() * torch.randn(w.shape, generator=gen).to(w.device)
        new.weight.copy_(w)
        new.bias.copy_(old_m.bias[oi])

    ch = {r: (old.channels_at(r), new_cfg.channels_at(r)) for r in res_all + [4]}
    conv(W.from_rgb, E.from_rgb, (old.img_channels, old.img_channels), ch[old.img_resolution], jitter=True)
    for r in E.resolutions:
        (n0, n1), (o0, o1) = getattr(W, f"b{r}"), getattr(E, f"b{r}")
        conv(n0, o0, ch[r], ch[r], jitter=True)
        conv(n1, o1, ch[r], ch[r // 2], jitter=True)
    # fc reads the 4x4 map flattened (map-major) and then each block's pooled input.
    cols, div = [], []
    i4, k4 = index(*ch[4])
    cols.append((i4[:, None] * 16 + torch.arange(16, device=i4.device)).flatten())
    div.append(torch.full([len(i4) * 16], float(k4), device=i4.device))
    offset = ch[4][0] * 16
    for r in E.resolutions:
        ir, kr = index(*ch[r])
        cols.append(ir + offset)
        div.append(torch.full([len(ir)], float(kr), device=ir.device))
        offset += ch[r][0]
    W.fc.weight.copy_(E.fc.weight[:, torch.cat(cols)] / torch.cat(div))
    W.fc.bias.copy_(E.fc.bias)
    for name in ("head_w", "head_delta"):
        getattr(W, name).load_state_dict(getattr(E, name).state_dict())
    W.w_avg.copy_(E.w_avg)
    W.w_std.copy_(E.w_std)
    return W


# ----------------------------------------------------------------------------- files


@torch.no_grad()
def rebase(E: Encoder, G: Generator) -> Encoder:
    """E's image trunk (every convolution and the hidden layer) for another base G of the same
    image and latent shape: the heads, which map into E's own base's W space, restart at zero
    (w = G's mean w, as a new encoder starts), w_avg / w_std / the base hash become G's. What
    the trunk learnt about the images carries over; the codes are learnt again."""
    c = E.config
    want = (G.img_resolution, G.img_channels, G.num_ws, G.w_dim)
    have = (c.img_resolution, c.img_channels, c.num_ws, c.w_dim)
    if want != have:
        raise CheckpointError(f"the encoder reads {have[0]} px, {have[1]} channel(s) into {have[2]} x {have[3]} codes; "
                              f"this base draws {want[0]} px, {want[1]} channel(s) from {want[2]} x {want[3]}")
    R = copy.deepcopy(E).float()
    for head in (R.head_w, R.head_delta):
        head.weight.zero_()
        head.bias.zero_()
    R.w_avg.copy_(G.mapping.w_avg.detach().float().cpu())
    R.w_std.copy_(w_spread(G))
    R.base_hash = base_hash(G)
    return R.to(G.mapping.w_avg.device)


def check_base(E: Encoder, G: Generator, what: str = "encoder") -> None:
    """Refuse an encoder trained for another base generator (one line)."""
    h = base_hash(G)
    if E.base_hash != h:
        raise CheckpointError(f"{what} belongs to another base generator (base hash {E.base_hash[:12]}, this model "
                              f"{h[:12]}); train one for it with `stylebridge encoder train CKPT --outdir DIR`")


def save_encoder(path: str | Path, E: Encoder, extra: dict[str, Any] | None = None,
                 dtype: torch.dtype | None = None) -> Path:
    """Write the encoder (and training state `extra`) atomically; `dtype=torch.float16` halves the file."""
    if not E.base_hash:
        raise ValueError("this encoder records no base generator (build it with Encoder.for_generator)")
    tensors = {}
    for k, v in E.state_dict().items():
        v = v.detach().cpu().contiguous().clone()
        tensors[f"E.{k}"] = v.to(dtype) if dtype is not None and v.is_floating_point() else v
    skeleton = flatten_tree(extra or {}, "extra", tensors)
    meta = {"format": FORMAT_NAME, "format_version": str(FORMAT_VERSION), "stylebridge_version": __version__,
            "config": json.dumps(E.config.to_dict()), "base_hash": E.base_hash, "extra": json.dumps(skeleton)}
    path = Path(path)
    with atomic_path(path) as tmp:
        save_safetensors(tensors, tmp, meta)
    return path


def is_encoder_file(path: str | Path) -> bool:
    try:
        with safe_open(str(path), framework="pt") as f:
            return (f.metadata() or {}).get("format") == FORMAT_NAME
    except Exception:
        return False


def read_encoder(path: str | Path) -> tuple[Encoder, dict[str, Any]]:
    """(encoder on the CPU in float32, extra state) from a file written by `save_encoder`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such encoder file")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None
    if meta.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: not a stylebridge encoder (no 'format: {FORMAT_NAME}' metadata)")
    if int(meta.get("format_version", "0")) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: encoder format version {meta['format_version']} is newer than this "
                              f"stylebridge ({__version__}) reads; upgrade stylebridge")
    try:
        cfg = EncoderConfig.from_dict(json.loads(meta["config"]))
        skeleton = json.loads(meta.get("extra", "{}"))
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: damaged encoder metadata ({e})") from None
    E = Encoder(cfg)
    sd = {k[2:]: v.float() if v.is_floating_point() else v for k, v in tensors.items() if k.startswith("E.")}
    try:
        E.load_state_dict(sd)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: encoder weights do not fit its config ({str(e).splitlines()[0]})") from None
    E.base_hash = meta.get("base_hash", "")
    extra = unflatten_tree(skeleton, tensors) if skeleton else {}
    return E, extra


def load_encoder(path: str | Path, G: Generator | None = None) -> Encoder:
    """The encoder in `path`, in eval mode; with `G`, checked against it and moved to its device."""
    E, _ = read_encoder(path)
    E.eval().requires_grad_(False)
    if G is not None:
        check_base(E, G, f"encoder {Path(path).name}")
        E = E.to(G.mapping.w_avg.device)
    return E

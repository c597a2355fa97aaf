"""One loader for every checkpoint format: detect, read, build modules, load strictly."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from stylebridge.errors import CheckpointError
from stylebridge.formats.base import NetworkState, RawCheckpoint
from stylebridge.formats.layout import check_layout, check_size, discriminator_shapes, generator_shapes
from stylebridge.networks.config import DiscriminatorConfig
from stylebridge.networks.stylegan2 import Discriminator, Generator

W_AVG_SAMPLES = 10_000  # samples of the w_avg estimate when a checkpoint has none
W_AVG_SEED = 0


@dataclass
class Checkpoint:
    path: Path
    format: str
    G: Generator | None = None
    G_ema: Generator | None = None
    D: Discriminator | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def generator(self) -> Generator:
        """The generator to sample from: G_ema when present, else G."""
        g = self.G_ema if self.G_ema is not None else self.G
        if g is None:
            raise CheckpointError(f"{self.path}: holds no generator (only {self.contents()})")
        return g

    def contents(self) -> list[str]:
        out = [n for n in ("G", "G_ema", "D") if getattr(self, n) is not None]
        out += sorted(k for k in self.extra if "opt" in k.lower())  # opt_G, g_optim, ...
        return out


def detect_format(path: str | Path) -> str:
    """'native', 'torch_zip' (rosinality .pt), 'pickle' (NVIDIA / TF pickles) or raise."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder; give the checkpoint file inside it")
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) < 8:
        raise CheckpointError(f"{path}: file is empty or truncated ({path.stat().st_size} bytes)")
    if head[:4] == b"PK\x03\x04":
        return "torch_zip"
    # safetensors: 8-byte little-endian header length, then the JSON header. Checked before
    # pickles: a header length whose low byte is 0x80 looks like a pickle's PROTO opcode.
    n = int.from_bytes(head[:8], "little")
    if head[8:9] == b"{" and 0 < n < 100_000_000:
        return "native"
    if head[0] == 0x80 and 2 <= head[1] <= 5:  # pickle PROTO opcode, protocols 2..5
        return "pickle"
    raise CheckpointError(f"{path}: unknown checkpoint format (expected a stylebridge .safetensors, "
                          "an NVIDIA .pkl or a rosinality .pt)")


def read_raw(path: str | Path) -> RawCheckpoint:
    kind = detect_format(path)
    if kind == "native":
        from stylebridge.formats.native import read_native
        return read_native(path)
    if kind == "torch_zip":
        from stylebridge.formats.rosinality import read_rosinality
        try:
            return read_rosinality(path)
        except (zipfile.BadZipFile, RuntimeError, EOFError) as e:
            raise CheckpointError(f"{path}: damaged or truncated torch file ({e})") from None
    from stylebridge.formats.nvidia_pkl import read_pickle
    return read_pickle(path)


def load_strict(module: torch.nn.Module, state_dict: dict[str, torch.Tensor], what: str) -> None:
    """Fill every parameter and buffer exactly once; name the first problem precisely."""
    own = module.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensors (first: {missing[:3]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected tensors (first: {unexpected[:3]})")
        raise CheckpointError(f"{what}: checkpoint does not fit the architecture: " + "; ".join(parts))
    for k, v in own.items():
        if tuple(v.shape) != tuple(state_dict[k].shape):
            raise CheckpointError(f"{what}: tensor {k} has shape {tuple(state_dict[k].shape)} in the checkpoint "
                                  f"but {tuple(v.shape)} in the model")
    with torch.no_grad():
        for k, v in own.items():
            v.copy_(state_dict[k])


def build_network(state: NetworkState, what: str) -> torch.nn.Module:
    """The module for a read network, allocated only once its config is within bounds and every
    tensor fits the config's layout."""
    is_d = isinstance(state.config, DiscriminatorConfig)
    check_size(state.config, what)
    check_layout(state.state_dict, (discriminator_shapes if is_d else generator_shapes)(state.config), what)
    net = Discriminator(state.config) if is_d else Generator(state.config)
    load_strict(net, state.state_dict, what)
    return net


@torch.no_grad()
def estimate_w_avg(G: Generator, samples: int = W_AVG_SAMPLES, seed: int = W_AVG_SEED) -> torch.Tensor:
    """Deterministic estimate of the mean w: mean of mapping(z) over `samples` z drawn from
    torch.Generator().manual_seed(seed), in batches of 1000, accumulated in float64."""
    gen = torch.Generator().manual_seed(seed)
    total = torch.zeros(G.w_dim, dtype=torch.float64)
    done = 0
    c = None
    while done < samples:
        n = min(1000, samples - done)
        z = torch.randn([n, G.z_dim], generator=gen)
        if G.c_dim > 0:
            c = torch.zeros([n, G.c_dim])
            c[:, 0] = 1
        w = G.mapping(z.to(G.mapping.w_avg.device), c)[:, 0]
        total += w.double().sum(dim=0).cpu()
        done += n
    return (total / samples).float()


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu", networks=("G", "G_ema", "D"),
                    generator_only: bool = False) -> Checkpoint:
    """Load any supported checkpoint. Modules are returned in eval mode on `device`.

    `generator_only`: build just the generator to sample from (G_ema when the file has it,
    else G; `Checkpoint.generator`), which is all that sampling, inversion and editing read."""
    path = Path(path)
    raw = read_raw(path)
    ckpt = Checkpoint(path=path, format=raw.format, extra=raw.extra)
    if generator_only:
        networks = ("G_ema",) if raw.G_ema is not None else ("G",)
    for name in networks:
        state = getattr(raw, name)
        if state is None:
            continue
        net = build_network(state, f"{path.name} [{name}]")
        if isinstance(net, Generator) and not raw.w_avg_known:
            net.mapping.w_avg.copy_(estimate_w_avg(net))
            ckpt.notes.append(f"{name}: no stored mean w; estimated from {W_AVG_SAMPLES} mapped samples "
                              f"(seed {W_AVG_SEED})")
        setattr(ckpt, name, net.eval().requires_grad_(False).to(device))
    if ckpt.G is None and ckpt.G_ema is None and ckpt.D is None:
        raise CheckpointError(f"{path}: holds none of the networks G, G_ema, D")
    return ckpt

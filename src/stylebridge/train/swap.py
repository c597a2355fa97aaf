"""Layer swap (the paper's S, Eq. 3) as a standalone model: the mapping network and the
synthesis blocks (with their toRGB) at resolutions <= R come from the source G_s, the
remaining blocks from the target G_t. The result is an ordinary Generator / checkpoint."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import torch

from stylebridge.errors import CheckpointError, StylebridgeError
from stylebridge.formats.loader import load_checkpoint
from stylebridge.formats.native import save_checkpoint
from stylebridge.networks.stylegan2 import Generator


def ls_to_resolution(ls: int) -> int:
    """The paper's LS index (official code's latent index) -> swap resolution: 1->8, 3->16, 5->32."""
    if ls < 1 or ls % 2 == 0:
        raise StylebridgeError(f"--ls must be an odd latent index (1, 3, 5, ...: up to 8, 16, 32 px), got {ls}")
    return 2 ** ((ls + 5) // 2)


def mapping_differs(G_a: Generator, G_b: Generator) -> list[str]:
    """Names of mapping parameters that are not bit-identical (w_avg is a statistic, ignored)."""
    pa, pb = dict(G_a.mapping.named_parameters()), dict(G_b.mapping.named_parameters())
    return [k for k in pa if k not in pb or pa[k].shape != pb[k].shape or not torch.equal(pa[k], pb[k])]


def check_compatible(G_s: Generator, G_t: Generator, force: bool = False) -> None:
    if G_s.config.to_dict() != G_t.config.to_dict():
        t_cfg = G_t.config.to_dict()
        diff = {k: (v, t_cfg[k]) for k, v in G_s.config.to_dict().items() if t_cfg[k] != v}
        shapes_ok = all(a.shape == b.shape for a, b in zip(G_s.state_dict().values(), G_t.state_dict().values())) \
            and list(G_s.state_dict()) == list(G_t.state_dict())
        if not (force and shapes_ok):
            raise StylebridgeError(f"source and target have different architectures ({diff}); layer swap needs "
                                   "two models of one architecture"
                                   + ("" if shapes_ok else " (tensor shapes differ, --force cannot help)"))
    diff = mapping_differs(G_s, G_t)
    if diff and not force:
        raise StylebridgeError(f"the mapping networks of source and target differ ({len(diff)} tensors, first "
                               f"{diff[0]}): they were not derived from one base with a frozen mapping; "
                               "pass --force to swap anyway")


def swap_layers(G_s: Generator, G_t: Generator, resolution: int, force: bool = False) -> Generator:
    """A new generator: mapping and blocks <= `resolution` from G_s, the rest from G_t."""
    if resolution not in G_t.synthesis.block_resolutions:
        raise StylebridgeError(f"swap resolution must be one of {G_t.synthesis.block_resolutions}, got {resolution}")
    check_compatible(G_s, G_t, force)
    out = copy.deepcopy(G_t)
    src = G_s.state_dict()
    prefixes = ["mapping."] + [f"synthesis.b{r}." for r in G_s.synthesis.block_resolutions if r <= resolution]
    with torch.no_grad():
        for k, v in out.state_dict().items():
            if any(k.startswith(p) for p in prefixes):
                v.copy_(src[k])
    return out


def swap_checkpoints(source: str | Path, target: str | Path, out: str | Path, resolution: int,
                     force: bool = False) -> Path:
    """Swap G and G_ema of two checkpoints; write a native model (G, G_ema; no D)."""
    cs, ct = load_checkpoint(source, networks=("G", "G_ema")), load_checkpoint(target, networks=("G", "G_ema"))
    nets = {}
    for name in ("G", "G_ema"):
        gs, gt = getattr(cs, name), getattr(ct, name)
        if gs is None or gt is None:
            continue
        nets[name] = swap_layers(gs, gt, resolution, force)
    if not nets:
        gs, gt = cs.generator, ct.generator
        nets["G_ema"] = swap_layers(gs, gt, resolution, force)
    meta = {"swap": {"source": str(source), "target": str(target), "resolution": int(resolution),
                     "ls": int(2 * math.log2(resolution) - 5) if resolution >= 8 else 0, "forced": bool(force)}}
    return save_checkpoint(out, G=nets.get("G"), G_ema=nets.get("G_ema"), extra=meta)


__all__ = ["swap_layers", "swap_checkpoints", "ls_to_resolution", "check_compatible", "mapping_differs",
           "CheckpointError"]

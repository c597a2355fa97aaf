"""Layer swap (the paper's S, Eq. 3) as a standalone model: the mapping network and the
synthesis blocks (with their toRGB) at resolutions <= R come from the source G_s, the
remaining blocks from the target G_t. The result is an ordinary Generator / checkpoint.

Style strength (beyond the paper): fine-tuning moves the synthesis weights from G_s to G_t;
`with_strength(G_s, G_t, a)` walks a times that step, G_s + a * (G_t - G_s) in every
synthesis weight (a < 1 a fainter style, a > 1 a stronger one; the mapping and the
buffers stay G_t's). Layers that a swap took from G_s do not move at any strength."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import torch

from stylebridge.errors import CheckpointError, StylebridgeError
from stylebridge.formats.loader import load_checkpoint
from stylebridge.formats.native import save_checkpoint
from stylebridge.networks.stylegan2 import Generator
from stylebridge.train.strength import MAX_STRENGTH, check_strength


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


def with_strength(G_s: Generator, G_t: Generator, strength: float, force: bool = False) -> Generator:
    """G_t with its synthesis weights at `strength` times their step from G_s: G_s + a * (G_t - G_s).
    Strength 1 returns G_t itself (no arithmetic, so no rounding); the mapping network and the
    buffers (w_avg, constant noise) are G_t's. G_t must be derived from G_s (`check_compatible`)."""
    a = check_strength(strength)
    if a == 1.0:
        return G_t
    check_compatible(G_s, G_t, force)
    out = copy.deepcopy(G_t)
    src = dict(G_s.synthesis.named_parameters())
    with torch.no_grad():
        for k, v in out.synthesis.named_parameters():
            v.copy_(torch.lerp(src[k], v, a))  # src + a * (v - src); lerp takes any weight
    return out


def swap_checkpoints(source: str | Path, target: str | Path, out: str | Path, resolution: int,
                     force: bool = False, strength: float = 1.0) -> Path:
    """Swap G and G_ema of two checkpoints, at `strength` (`with_strength`, relative to the source);
    write a native model (G, G_ema; no D)."""
    strength = check_strength(strength)
    cs, ct = load_checkpoint(source, networks=("G", "G_ema")), load_checkpoint(target, networks=("G", "G_ema"))
    nets = {}
    for name in ("G", "G_ema"):
        gs, gt = getattr(cs, name), getattr(ct, name)
        if gs is None or gt is None:
            continue
        nets[name] = with_strength(gs, swap_layers(gs, gt, resolution, force), strength, force)
    if not nets:
        gs, gt = cs.generator, ct.generator
        nets["G_ema"] = with_strength(gs, swap_layers(gs, gt, resolution, force), strength, force)
    meta = {"swap": {"source": str(source), "target": str(target), "resolution": int(resolution),
                     "ls": int(2 * math.log2(resolution) - 5) if resolution >= 8 else 0, "forced": bool(force),
                     "strength": strength}}
    return save_checkpoint(out, G=nets.get("G"), G_ema=nets.get("G_ema"), extra=meta)


__all__ = ["swap_layers", "swap_checkpoints", "ls_to_resolution", "check_compatible", "mapping_differs",
           "with_strength", "check_strength", "MAX_STRENGTH", "CheckpointError"]

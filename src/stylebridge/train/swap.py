"""Layer swap (the paper's S, Eq. 3) as a standalone model: the mapping network and the
synthesis blocks (with their toRGB) at resolutions <= R come from the source G_s, the
remaining blocks from the target G_t. The result is an ordinary Generator / checkpoint.

Model blending (Justin Pinkney's blend_models, which users ask for in PyTorch): with a blend
width w > 0 the swap is a ramp instead of a step, each block a mix of both parents (G_t's
share per block: `blend_shares`).

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


MAX_BLEND_WIDTH = 8.0  # in octaves: wider is a near-constant mix at every resolution


def blend_shares(resolutions: list[int], resolution: int, width: float = 0.0) -> dict[int, float]:
    """G_t's share of each synthesis block: 0 up to `resolution` and 1 above it (width 0, the
    layer swap), or the logistic ramp 1 / (1 + exp(-(log2 r - log2 R - 1/2) / width)), centred
    between R and 2R, so that it tends to the swap as the width (in octaves) goes to 0. (Pinkney's
    blend_models centres its ramp on R itself: the same shapes, half an octave earlier.)"""
    if not 0.0 <= width <= MAX_BLEND_WIDTH:  # also refuses nan
        raise StylebridgeError(f"blend width must be between 0 (a layer swap) and {MAX_BLEND_WIDTH:g} octaves, "
                               f"got {width}")
    if width == 0.0:
        return {r: 0.0 if r <= resolution else 1.0 for r in resolutions}
    return {r: _logistic((math.log2(r / resolution) - 0.5) / width) for r in resolutions}


def _logistic(z: float) -> float:
    """1 / (1 + exp(-z)) without overflow for large |z|."""
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def swap_layers(G_s: Generator, G_t: Generator, resolution: int, force: bool = False,
                blend_width: float = 0.0) -> Generator:
    """A new generator: mapping and blocks <= `resolution` from G_s, the rest from G_t; with a
    blend width > 0 each block mixes both, `blend_shares` of G_t (the mapping stays G_s's)."""
    if resolution not in G_t.synthesis.block_resolutions:
        raise StylebridgeError(f"swap resolution must be one of {G_t.synthesis.block_resolutions}, got {resolution}")
    shares = blend_shares(G_t.synthesis.block_resolutions, resolution, blend_width)
    check_compatible(G_s, G_t, force)
    out = copy.deepcopy(G_t)
    src = G_s.state_dict()
    with torch.no_grad():
        for k, v in out.state_dict().items():
            if k.startswith("mapping."):
                v.copy_(src[k])
            elif k.startswith("synthesis.b"):
                y = shares[int(k.split(".")[1][1:])]
                if y == 0.0:
                    v.copy_(src[k])  # exact copies where one parent gives all (and in the plain swap)
                elif y != 1.0 and v.is_floating_point():
                    v.copy_(torch.lerp(src[k], v, y))
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


PREVIEW_SEEDS = tuple(range(8))


@torch.no_grad()
def swap_preview(G_s: Generator, G_t: Generator, seeds=PREVIEW_SEEDS, truncation_psi: float = 1.0,
                 strength: float = 1.0, blend_width: float = 0.0, force: bool = False
                 ) -> tuple[torch.Tensor, list[str]]:
    """What every swap resolution draws, to choose one by eye (the paper's figure of LS
    choices): the same ws (each seed's z, NVIDIA's RandomState(seed), through G_s's mapping)
    drawn by G_s, by G_t (at `strength`) and by the swap (or blend) at each block resolution
    below the output's, as `swap_checkpoints` would write it. -> (images [rows * len(seeds),
    C, H, W] in [-1, 1], one label per row)."""
    from stylebridge.generate import synthesize
    from stylebridge.networks.stylegan2 import z_from_seed

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise StylebridgeError("give at least one seed for the preview")
    check_compatible(G_s, G_t, force)
    a = check_strength(strength)
    at = "" if a == 1.0 else f" x{a:g}"
    device = G_s.mapping.w_avg.device
    z = torch.cat([z_from_seed(s, G_s.z_dim) for s in seeds]).to(device)
    ws = G_s.mapping(z, None, truncation_psi=truncation_psi)
    kind = "blend" if blend_width else "swap <="
    rows = [("source", G_s), ("target" + at, with_strength(G_s, G_t, a, force))]
    rows += [(f"{kind} {r} px{at}", with_strength(G_s, swap_layers(G_s, G_t, r, force, blend_width), a, force))
             for r in G_t.synthesis.block_resolutions[:-1]]
    images = torch.cat([synthesize(M.to(device).eval(), ws, "const").cpu() for _, M in rows])
    return images, [name for name, _ in rows]


def swap_checkpoints(source: str | Path, target: str | Path, out: str | Path, resolution: int,
                     force: bool = False, strength: float = 1.0, blend_width: float = 0.0) -> Path:
    """Swap (or blend, `blend_width` > 0) G and G_ema of two checkpoints, at `strength`
    (`with_strength`, relative to the source); write a native model (G, G_ema; no D)."""
    strength = check_strength(strength)
    blend_shares([resolution], resolution, blend_width)  # a bad width fails before the files load
    cs, ct = load_checkpoint(source, networks=("G", "G_ema")), load_checkpoint(target, networks=("G", "G_ema"))
    nets = {}
    for name in ("G", "G_ema"):
        gs, gt = getattr(cs, name), getattr(ct, name)
        if gs is None or gt is None:
            continue
        nets[name] = with_strength(gs, swap_layers(gs, gt, resolution, force, blend_width), strength, force)
    if not nets:
        gs, gt = cs.generator, ct.generator
        nets["G_ema"] = with_strength(gs, swap_layers(gs, gt, resolution, force, blend_width), strength, force)
    meta = {"swap": {"source": str(source), "target": str(target), "resolution": int(resolution),
                     "ls": int(2 * math.log2(resolution) - 5) if resolution >= 8 else 0, "forced": bool(force),
                     "strength": strength, "blend_width": float(blend_width)}}
    return save_checkpoint(out, G=nets.get("G"), G_ema=nets.get("G_ema"), extra=meta)


__all__ = ["swap_layers", "swap_checkpoints", "swap_preview", "PREVIEW_SEEDS", "ls_to_resolution", "check_compatible",
           "mapping_differs", "with_strength", "check_strength", "MAX_STRENGTH", "blend_shares", "MAX_BLEND_WIDTH",
           "CheckpointError"]

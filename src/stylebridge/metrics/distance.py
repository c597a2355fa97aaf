"""LPIPS-based measures of the paper: model distance (Eq. 1), LPIPS_d and LPIPS_s.

Model distance d(G_a, G_b) = E_z[LPIPS(G_a(z), G_b(z))] with the same z and the same
noise into both models. Noise: when both models hold identical `noise_const` buffers
(models fine-tuned from one base keep them), both run with noise_mode='const'; otherwise
each batch runs with noise_mode='random' after re-seeding the torch RNG with the same
seed for both calls (inside `torch.random.fork_rng`, so the caller's RNG is untouched),
which draws identical noise maps for two models of one architecture. noise_mode='none'
is not used: it changes the images the models actually produce. Outputs are compared
as produced (not clamped or quantised).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from stylebridge.errors import StylebridgeError
from stylebridge.metrics.lpips import LPIPS, load_lpips


def summarize(values: Sequence[float], key: str) -> dict:
    """{key: mean, 'sem': standard error of the mean, 'n'} (NaN where undefined)."""
    v = np.asarray(values, dtype=np.float64)
    sem = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")
    return {key: float(v.mean()) if len(v) else float("nan"), "sem": sem, "n": int(len(v))}


def get_lpips(lpips_net, device) -> LPIPS:
    """An LPIPS module on `device`: a given one moved there, or the named network ('vgg', 'alex') loaded."""
    if isinstance(lpips_net, LPIPS):
        return lpips_net.to(device)
    return load_lpips(str(lpips_net), device)


def _noise_consts(G) -> dict[str, torch.Tensor]:
    return {n: b for n, b in G.named_buffers() if n.endswith("noise_const")}


def same_noise_consts(G_a, G_b) -> bool:
    a, b = _noise_consts(G_a), _noise_consts(G_b)
    return a.keys() == b.keys() and all(a[k].shape == b[k].shape and torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


def _device_of(G) -> torch.device:
    p = next(iter(G.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def model_distance(G_a, G_b, samples: int = 2000, seed: int = 0, batch_size: int = 16, lpips_net="vgg",
                   truncation_psi: float = 1.0, progress: bool = False) -> dict:
    """Eq. 1 of the paper: mean LPIPS between G_a(z) and G_b(z) over `samples` z drawn from
    a torch.Generator seeded with `seed`; returns {'distance', 'sem', 'n', 'noise_mode', ...}."""
    for name in ("z_dim", "c_dim", "img_resolution", "img_channels"):
        if getattr(G_a, name, 0) != getattr(G_b, name, 0):
            raise StylebridgeError(
                f"the two models differ in {name} ({getattr(G_a, name, 0)} vs {getattr(G_b, name, 0)}); "
                "model distance needs two models of one architecture"
            )
    if samples < 1 or batch_size < 1:
        raise StylebridgeError("samples and batch_size must be positive")
    device = _device_of(G_a)
    lp = get_lpips(lpips_net, device)
    noise_mode = "const" if same_noise_consts(G_a, G_b) else "random"
    g = torch.Generator().manual_seed(int(seed))
    devices = [device.index or 0] if device.type == "cuda" else []
    values: list[float] = []
    batches = range(0, samples, batch_size)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc="model distance", unit="batch")
    for b, start in enumerate(batches):
        n = min(batch_size, samples - start)
        z = torch.randn(n, G_a.z_dim, generator=g).to(device)
        c = None
        if getattr(G_a, "c_dim", 0):
            c = torch.nn.functional.one_hot(torch.randint(G_a.c_dim, (n,), generator=g), G_a.c_dim).float().to(device)
        imgs = []
        for G in (G_a, G_b):
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(int(seed) * 1_000_003 + b)  # the same noise for both models
                imgs.append(G(z, c, truncation_psi=truncation_psi, noise_mode=noise_mode).float())
        values += lp(imgs[0], imgs[1]).double().cpu().tolist()
    out = summarize(values, "distance")
    out.update({"noise_mode": noise_mode, "seed": int(seed), "lpips_net": lp.net_name})
    return out


@torch.no_grad()
def lpips_semantic(inputs: torch.Tensor, outputs: torch.Tensor, lpips_net="vgg", batch_size: int = 16) -> dict:
    """LPIPS_s: LPIPS between each input and its translation ([N, C, H, W] in [-1, 1] each;
    the outputs are resized to the inputs' size when they differ)."""
    if inputs.shape[0] != outputs.shape[0]:
        raise StylebridgeError(f"{inputs.shape[0]} inputs but {outputs.shape[0]} outputs")
    lp = get_lpips(lpips_net, inputs.device)
    if outputs.shape[2:] != inputs.shape[2:]:
        outputs = torch.nn.functional.interpolate(outputs, size=inputs.shape[2:], mode="area")
    vals: list[float] = []
    for i in range(0, inputs.shape[0], batch_size):
        vals += lp(inputs[i:i + batch_size], outputs[i:i + batch_size]).double().cpu().tolist()
    out = summarize(vals, "lpips_s")
    out["lpips_net"] = lp.net_name
    return out


@torch.no_grad()
def lpips_diversity(groups: Sequence[torch.Tensor], lpips_net="vgg") -> dict:
    """LPIPS_d: mean LPIPS over all pairs of the multi-modal outputs of each input.
    `groups`: one [K, C, H, W] tensor (K >= 2 outputs of one input) per input."""
    lp = None
    per_input = []
    pairs = 0
    for k, grp in enumerate(groups):
        if grp.ndim != 4 or grp.shape[0] < 2:
            raise StylebridgeError(f"LPIPS_d needs at least 2 outputs per input; group {k} has shape "
                                   f"{tuple(grp.shape)}")
        lp = lp or get_lpips(lpips_net, grp.device)
        i, j = torch.triu_indices(grp.shape[0], grp.shape[0], offset=1)
        d = lp(grp[i], grp[j])
        per_input.append(float(d.double().mean()))
        pairs += int(d.numel())
    if not per_input:
        raise StylebridgeError("LPIPS_d got no inputs")
    out = summarize(per_input, "lpips_d")
    out.update({"pairs": pairs, "lpips_net": lp.net_name})
    return out

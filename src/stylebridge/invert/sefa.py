"""SeFa closed-form factorization (Shen & Zhou 2021) of a StyleGAN2 generator's style space.

Every modulated convolution computes its styles as `s = A_l w + b_l` with the affine
weight `A_l` ([in_channels, w_dim], effective weight = stored weight * weight_gain).
Stacking the chosen layers' weights gives `A` ([sum in_channels, w_dim]); the directions
in W that change the styles most are the eigenvectors of `A^T A`, i.e. the right singular
vectors of `A`, sorted by eigenvalue (= squared singular value), largest first.

As SeFa's reference implementation does, each row of `A` (one style channel) is first
scaled to unit length (`normalize=True`), so wide layers do not dominate by their raw
weight scale; `normalize=False` gives rosinality's variant (plain SVD of the weights).

Layers are the modulated 3x3 convolutions, indexed like the ws they read:
0 = b4.conv1, 1 = b8.conv0, 2 = b8.conv1, 3 = b16.conv0, ... up to num_ws - 2. ToRGB
affines are left out (as in SeFa and rosinality), unless `include_torgb=True`.
Presets: 'all'; 'coarse' = layers up to 8x8 (0-2); 'middle' = 16x16 and 32x32;
'fine' = above 32x32; or a list such as '0-3,7'.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stylebridge.errors import StylebridgeError
from stylebridge.networks.stylegan2 import Generator
from stylebridge.utils.io import atomic_path
from stylebridge.utils.ranges import parse_range_list


def conv_layers(G: Generator) -> list[tuple[int, str, torch.nn.Module]]:
    """(ws index, name, SynthesisLayer) of every modulated 3x3 convolution, in order."""
    out = []
    for res, block in G.synthesis.blocks():
        i = G.synthesis.ws_index(res)
        if block.in_channels != 0:
            out.append((i, f"b{res}.conv0", block.conv0))
            i += 1
        out.append((i, f"b{res}.conv1", block.conv1))
    return out


def _layer_resolution(name: str) -> int:
    return int(name.split(".")[0][1:])


def parse_layers(G: Generator, spec: str | list[int] | None) -> list[int]:
    """'all' | 'coarse' | 'middle' | 'fine' | '0-3,7' | [ints] -> sorted conv-layer indices."""
    layers = conv_layers(G)
    n = len(layers)
    if spec is None or spec == "all":
        return list(range(n))
    if isinstance(spec, str):
        preset = {"coarse": lambda r: r <= 8, "middle": lambda r: 16 <= r <= 32, "fine": lambda r: r > 32}
        if spec in preset:
            idx = [i for i, name, _ in layers if preset[spec](_layer_resolution(name))]
            if not idx:
                raise StylebridgeError(f"layer preset '{spec}' selects no layer at {G.img_resolution} px; use 'all'")
            return idx
        idx = parse_range_list(spec)
    else:
        idx = [int(i) for i in spec]
    bad = [i for i in idx if not 0 <= i < n]
    if bad:
        raise StylebridgeError(f"layers {bad} out of range: this generator has conv layers 0-{n - 1} "
                               "(or use all, coarse, middle, fine)")
    return sorted(set(idx))


def stacked_affine_weights(G: Generator, layers: list[int] | None = None, include_torgb: bool = False,
                           normalize: bool = True) -> torch.Tensor:
    """A = the chosen layers' effective style-affine weights stacked row-wise, float64 [rows, w_dim]."""
    chosen = set(range(len(conv_layers(G)))) if layers is None else set(layers)
    mats = []
    for i, _, layer in conv_layers(G):
        if i in chosen:
            mats.append(layer.affine.weight.detach().double().cpu() * layer.affine.weight_gain)
    if include_torgb:
        for _, block in G.synthesis.blocks():
            mats.append(block.torgb.affine.weight.detach().double().cpu() * block.torgb.affine.weight_gain)
    if not mats:
        raise StylebridgeError("no layers selected for the factorization")
    A = torch.cat(mats, dim=0)
    if normalize:
        A = A / A.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return A


@dataclass
class Basis:
    vectors: torch.Tensor      # [k, w_dim] float32, orthonormal rows, strongest direction first
    values: torch.Tensor       # [k] eigenvalues of A^T A, descending
    layers: list[int]          # conv-layer indices the basis was computed from
    normalize: bool = True

    @property
    def w_dim(self) -> int:
        return int(self.vectors.shape[1])


def factorize(G: Generator, layers: str | list[int] | None = "all", include_torgb: bool = False,
              normalize: bool = True) -> Basis:
    """Eigen-decomposition of A^T A (float64, symmetric solver): all w_dim directions."""
    idx = parse_layers(G, layers)
    A = stacked_affine_weights(G, idx, include_torgb=include_torgb, normalize=normalize)
    vals, vecs = torch.linalg.eigh(A.t() @ A)           # ascending
    order = torch.argsort(vals, descending=True)
    vals, vecs = vals[order].clamp_min(0), vecs[:, order]
    # Fix the sign of each direction (eigenvectors are defined up to sign): largest entry positive.
    sign = torch.sign(vecs.gather(0, vecs.abs().argmax(dim=0, keepdim=True)))
    vecs = vecs * torch.where(sign == 0, torch.ones_like(sign), sign)
    return Basis(vectors=vecs.t().float().contiguous(), values=vals.float(), layers=idx, normalize=normalize)


def save_basis(basis: Basis, path: str | Path) -> Path:
    """npz with 'eigvec' [k, w_dim] (rows = directions), 'eigval' [k], 'layers', 'normalize'."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, eigvec=basis.vectors.numpy(), eigval=basis.values.numpy(),
                     layers=np.asarray(basis.layers, dtype=np.int64), normalize=np.asarray(basis.normalize))
    return path


def load_basis(path: str | Path, w_dim: int | None = None) -> Basis:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as d:
            missing = [k for k in ("eigvec", "eigval") if k not in d]
            if missing:
                raise StylebridgeError(f"{path}: not a basis file (missing {missing}); make one with "
                                       "`stylebridge factorize CKPT --out basis.npz`")
            vec, val = d["eigvec"].astype(np.float32), d["eigval"].astype(np.float32)
            layers = d["layers"].tolist() if "layers" in d else []
            normalize = bool(d["normalize"]) if "normalize" in d else True
    except (OSError, ValueError) as e:
        if isinstance(e, StylebridgeError):
            raise
        raise StylebridgeError(f"{path}: not a readable .npz basis ({e})") from None
    if vec.ndim != 2 or val.shape != (vec.shape[0],):
        raise StylebridgeError(f"{path}: eigvec {vec.shape} / eigval {val.shape} do not fit together")
    if w_dim is not None and vec.shape[1] != w_dim:
        raise StylebridgeError(f"{path}: basis has w_dim {vec.shape[1]}, the generator {w_dim}; "
                               "factorize this checkpoint instead")
    return Basis(torch.from_numpy(vec), torch.from_numpy(val), layers, normalize)


def apply_factor(ws: torch.Tensor, direction: torch.Tensor, degree: float,
                 layers: list[int] | None = None) -> torch.Tensor:
    """Move ws [N, num_ws, w_dim] by `degree` along a unit direction [w_dim] (SeFa's
    apply_factor), at the given ws indices only (None = all)."""
    out = ws.clone()
    d = direction.to(ws.dtype).to(ws.device)
    if layers is None:
        out += degree * d
    else:
        out[:, layers] += degree * d
    return out


@torch.no_grad()
def edit_grid(G: Generator, basis: Basis, indices: list[int], degrees: list[float], seeds: list[int],
              truncation_psi: float = 0.7, layers: list[int] | None = None, noise_mode: str = "const",
              precision: str = "fp32") -> torch.Tensor:
    """Images [len(seeds) * len(indices), len(degrees)] as one tensor [R, D, C, H, W] (float)."""
    from stylebridge.generate import synthesize
    from stylebridge.networks.stylegan2 import z_from_seed

    bad = [i for i in indices if not 0 <= i < basis.vectors.shape[0]]
    if bad:
        raise StylebridgeError(f"direction index {bad} out of range 0..{basis.vectors.shape[0] - 1}")
    device = G.mapping.w_avg.device
    z = torch.cat([z_from_seed(s, G.z_dim) for s in seeds]).to(device)
    ws = G.mapping(z, None, truncation_psi=truncation_psi)
    rows = []
    for s in range(len(seeds)):
        for i in indices:
            batch = torch.cat([apply_factor(ws[s:s + 1], basis.vectors[i], d, layers) for d in degrees])
            rows.append(synthesize(G, batch, noise_mode, precision).cpu())
    return torch.stack(rows)

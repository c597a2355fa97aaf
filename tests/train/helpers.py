"""Shared fixtures for the trainer tests: tiny images and a tiny base checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from stylebridge.data.images import save_image
from stylebridge.formats import save_checkpoint
from stylebridge.networks import create_discriminator, create_generator


def disc_images(n: int = 12, size: int = 16, seed: int = 0) -> np.ndarray:
    """uint8 [n, size, size, 3]: a coloured disc at a random place on a dark background."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[:size, :size]
    out = np.zeros((n, size, size, 3), np.uint8)
    for i in range(n):
        cy, cx, r = rng.uniform(4, size - 4, 2).tolist() + [rng.uniform(2, 4)]
        m = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        out[i][m] = (rng.rand(3) * 200 + 55).astype(np.uint8)
    return out


def write_folder(root: Path, images: np.ndarray) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(images):
        save_image(a, root / f"sub{i % 2}" / f"{i:03d}.png")
    return root


def make_base(path: Path, seed: int = 0, with_d: bool = True, **d_overrides) -> Path:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = create_generator("tiny-16")
        D = create_discriminator("tiny-16", **d_overrides)
    G.mapping.w_avg.normal_()
    return save_checkpoint(path, G=G, G_ema=G, D=D if with_d else None)


def tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))

"""Latent interpolation videos the way NVIDIA's stylegan3 gen_video.py makes them, and the same
walk drawn by several models, one above the other (models derived from one base share its
latent space: the walk shows each domain's version of every frame, as the demo shows styles).

Facts of gen_video.py kept here: the seeds fill a grid of cells (cell (y, x) takes keyframes
seeds[((y * grid_w + x) * K + k) % len(seeds)], optionally shuffled by
RandomState(shuffle_seed)); z = RandomState(seed).randn(z_dim); w = mapping(z, psi); each
cell's keyframes are joined by scipy's cubic interp1d over the sequence repeated 2 * 2 + 1
times (a loop that closes smoothly); frame f shows t = f / w_frames, K * w_frames frames in
all; each image is rendered on its own with the stored noise and rounded as generate.py
rounds; cells are laid out row by row without gaps.

Beyond gen_video.py: the keyframes may be saved codes instead of seeds (`codes=`: the W+ codes
`invert` writes, or NVIDIA's projected_w.npz), so that a walk goes through a user's own images,
and with models of one latent space below, through their translations in every domain.
Then the plan's `cell_seeds` hold indices into the codes, dealt to the cells as seeds are.

Files: .gif or .mp4, written atomically by stylebridge.data.video_io (re-exported here).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.interpolate
import torch

from stylebridge.data.images import to_uint8
from stylebridge.data.video_io import FORMATS, MAX_GIF_BYTES, find_ffmpeg, write_video  # noqa: F401 (re-exported)
from stylebridge.errors import StylebridgeError
from stylebridge.generate import exact_fp32, sampling_form, synthesize
from stylebridge.networks.stylegan2 import Generator, z_from_seed

WRAPS = 2                      # gen_video.py's: the keyframes repeated 2 * WRAPS + 1 times
MAX_SIDE = 16384               # pixels per frame side: beyond what H.264 encoders and players take


@dataclass
class VideoPlan:
    """What a video will hold, known before any rendering (so bad requests fail first)."""
    grid_w: int
    grid_h: int
    keyframes: int             # K: keyframes per cell (the loop's length in seeds)
    w_frames: int              # frames from one keyframe to the next
    cell_seeds: np.ndarray     # [grid_h, grid_w, K] the seed of every keyframe
    size: tuple[int, int]      # (height, width) of a frame in pixels
    channels: int
    scale: int = 1             # every image enlarged this many times (nearest neighbour)

    @property
    def frames(self) -> int:
        return self.keyframes * self.w_frames


def plan_video(models: Sequence[Generator], seeds: Sequence[int], grid: tuple[int, int] = (1, 1),
               num_keyframes: int | None = None, w_frames: int = 120, shuffle_seed: int | None = None,
               scale: int = 1, keys: str = "seeds") -> VideoPlan:
    """Check the request (gen_video.py's rules, one line each) and lay out the seeds (or the
    indices of codes: `keys` names them in messages)."""
    if not models:
        raise StylebridgeError("give at least one model")
    G = models[0]
    for other in models[1:]:
        a = (G.num_ws, G.w_dim, G.img_resolution, G.img_channels)
        b = (other.num_ws, other.w_dim, other.img_resolution, other.img_channels)
        if a != b:
            raise StylebridgeError(f"models drawn together need the same latent space and image size: "
                                   f"(num_ws, w_dim, resolution, channels) {a} vs {b}")
    if G.c_dim:
        raise StylebridgeError("videos of class-conditional generators are not supported")
    grid_w, grid_h = grid
    if grid_w < 1 or grid_h < 1:
        raise StylebridgeError(f"--grid must be at least 1x1, got {grid_w}x{grid_h}")
    seeds = list(seeds)
    if not seeds:
        raise StylebridgeError(f"give at least one of the {keys}")
    cells = grid_w * grid_h
    if num_keyframes is None:
        if len(seeds) % cells:
            raise StylebridgeError(f"{len(seeds)} {keys} do not fill a {grid_w}x{grid_h} grid evenly: give a multiple "
                                   f"of {cells} {keys}, or --num-keyframes")
        num_keyframes = len(seeds) // cells
    if num_keyframes < 1:
        raise StylebridgeError(f"--num-keyframes must be at least 1, got {num_keyframes}")
    if w_frames < 1:
        raise StylebridgeError(f"--w-frames must be at least 1, got {w_frames}")
    if scale < 1:
        raise StylebridgeError(f"--scale must be at least 1, got {scale}")
    all_seeds = np.array([seeds[i % len(seeds)] for i in range(num_keyframes * cells)], dtype=np.int64)
    if shuffle_seed is not None:
        np.random.RandomState(seed=shuffle_seed).shuffle(all_seeds)
    res = G.img_resolution * scale
    h, w = grid_h * res * len(models), grid_w * res
    if max(h, w) > MAX_SIDE:
        raise StylebridgeError(f"frames of {w}x{h} pixels are too large (at most {MAX_SIDE} a side): fewer cells, "
                               "models or a smaller --scale")
    return VideoPlan(grid_w, grid_h, num_keyframes, w_frames, all_seeds.reshape(grid_h, grid_w, num_keyframes),
                     (h, w), G.img_channels, scale)


def keyframe_paths(G: Generator, plan: VideoPlan, truncation_psi: float = 1.0, codes: torch.Tensor | None = None):
    """One scipy interpolant per cell, t (in keyframes, looping) -> ws [num_ws, w_dim]. With
    `codes` [N, num_ws, w_dim] the plan's keyframes index into them (truncation does not apply
    to codes, as in generate.py's --projected-w); else they are seeds through G's mapping."""
    flat = plan.cell_seeds.reshape(-1)
    if codes is not None:
        if codes.ndim != 3 or tuple(codes.shape[1:]) != (G.num_ws, G.w_dim):
            raise StylebridgeError(f"codes of shape {tuple(codes.shape)}: the models need [N, {G.num_ws}, {G.w_dim}]")
        if flat.min() < 0 or flat.max() >= len(codes):
            raise StylebridgeError(f"keyframes index codes 0-{len(codes) - 1}; the plan asks for {int(flat.max())}")
        ws = codes.detach().float().cpu().numpy()[flat]
    else:
        with torch.no_grad():
            z = torch.cat([z_from_seed(int(s), G.z_dim) for s in flat]).to(G.mapping.w_avg.device)
            ws = G.mapping(z, None, truncation_psi=truncation_psi).cpu().numpy()
    ws = ws.reshape(plan.grid_h, plan.grid_w, plan.keyframes, *ws.shape[1:])
    K = plan.keyframes
    x = np.arange(-K * WRAPS, K * (WRAPS + 1))
    return [[scipy.interpolate.interp1d(x, np.tile(ws[y, c], [2 * WRAPS + 1, 1, 1]), kind="cubic", axis=0)
             for c in range(plan.grid_w)] for y in range(plan.grid_h)]


@torch.no_grad()
def video_frames(models: Sequence[Generator], plan: VideoPlan, truncation_psi: float = 1.0,
                 exact: bool = True, codes: torch.Tensor | None = None) -> Iterator[np.ndarray]:
    """The frames, uint8 [H, W, C]: per model a grid of cells, models top to bottom. The ws
    come from the first model's mapping (or from `codes`, see keyframe_paths) and every model
    draws the same ws. exact=True renders each cell on its own with NVIDIA's arithmetic; False
    renders each model's cells in one batched call (a pixel may differ by 1/255)."""
    G = models[0]
    device = G.mapping.w_avg.device
    paths = keyframe_paths(G, plan, truncation_psi, codes)
    fused = sampling_form(exact, device)
    for f in range(plan.frames):
        t = f / plan.w_frames
        ws = torch.from_numpy(np.stack([paths[y][x](t) for y in range(plan.grid_h) for x in range(plan.grid_w)]))
        ws = ws.to(device, torch.float32)
        panels = []
        for M in models:
            if exact:  # NVIDIA's arithmetic: one image per call, TF32 off on CUDA (as generate's exact mode)
                with exact_fp32(device):
                    imgs = torch.cat([synthesize(M, w[None], "const", fused=fused) for w in ws])
            else:
                imgs = synthesize(M, ws, "const", fused=fused)
            imgs = to_uint8(imgs).cpu()                                   # [cells, C, H, W]
            if plan.scale > 1:
                imgs = imgs.repeat_interleave(plan.scale, dim=2).repeat_interleave(plan.scale, dim=3)
            C, H, W = imgs.shape[1:]
            grid = imgs.reshape(plan.grid_h, plan.grid_w, C, H, W).permute(2, 0, 3, 1, 4)
            panels.append(grid.reshape(C, plan.grid_h * H, plan.grid_w * W))
        yield torch.cat(panels, dim=1).permute(1, 2, 0).numpy()


def check_output(path: str | os.PathLike, plan: VideoPlan) -> Path:
    """The output's format and, for .mp4, an ffmpeg to write it: checked before rendering."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise StylebridgeError(f"--output {path.name}: write a .gif or an .mp4 file")
    if suffix == ".gif":
        size = plan.frames * plan.size[0] * plan.size[1] * plan.channels
        if size > MAX_GIF_BYTES:
            raise StylebridgeError(f"a GIF of {plan.frames} frames of {plan.size[1]}x{plan.size[0]} would hold "
                                   f"{size / 1024**3:.1f} GB in memory while it is written: write an .mp4")
    else:
        find_ffmpeg()
    return path

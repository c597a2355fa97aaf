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

Files: .gif (Pillow) or .mp4 (H.264 through an ffmpeg executable: $STYLEBRIDGE_FFMPEG, the
`imageio-ffmpeg` package's, or `ffmpeg` on PATH), written atomically.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.interpolate
import torch

from stylebridge.data.images import to_uint8
from stylebridge.errors import StylebridgeError
from stylebridge.generate import exact_fp32, sampling_form, synthesize
from stylebridge.networks.stylegan2 import Generator, z_from_seed
from stylebridge.utils.io import atomic_path

WRAPS = 2                      # gen_video.py's: the keyframes repeated 2 * WRAPS + 1 times
FORMATS = (".gif", ".mp4")
MAX_GIF_BYTES = 2 * 1024**3    # Pillow keeps every GIF frame in memory: refuse more (write .mp4)
MAX_SIDE = 16384               # pixels per frame side: beyond what H.264 encoders and players take
FFMPEG_ENV = "STYLEBRIDGE_FFMPEG"


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
               scale: int = 1) -> VideoPlan:
    """Check the request (gen_video.py's rules, one line each) and lay out the seeds."""
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
        raise StylebridgeError("give at least one seed")
    cells = grid_w * grid_h
    if num_keyframes is None:
        if len(seeds) % cells:
            raise StylebridgeError(f"{len(seeds)} seeds do not fill a {grid_w}x{grid_h} grid evenly: give a multiple "
                                   f"of {cells} seeds, or --num-keyframes")
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


def keyframe_paths(G: Generator, plan: VideoPlan, truncation_psi: float = 1.0):
    """One scipy interpolant per cell, t (in keyframes, looping) -> ws [num_ws, w_dim]."""
    device = G.mapping.w_avg.device
    flat = plan.cell_seeds.reshape(-1)
    with torch.no_grad():
        z = torch.cat([z_from_seed(int(s), G.z_dim) for s in flat]).to(device)
        ws = G.mapping(z, None, truncation_psi=truncation_psi).cpu().numpy()
    ws = ws.reshape(plan.grid_h, plan.grid_w, plan.keyframes, *ws.shape[1:])
    K = plan.keyframes
    x = np.arange(-K * WRAPS, K * (WRAPS + 1))
    return [[scipy.interpolate.interp1d(x, np.tile(ws[y, c], [2 * WRAPS + 1, 1, 1]), kind="cubic", axis=0)
             for c in range(plan.grid_w)] for y in range(plan.grid_h)]


@torch.no_grad()
def video_frames(models: Sequence[Generator], plan: VideoPlan, truncation_psi: float = 1.0,
                 exact: bool = True) -> Iterator[np.ndarray]:
    """The frames, uint8 [H, W, C]: per model a grid of cells, models top to bottom. The ws
    come from the first model's mapping and every model draws the same ws. exact=True renders
    each cell on its own with NVIDIA's arithmetic; False renders each model's cells in one
    batched call (a pixel may differ by 1/255)."""
    G = models[0]
    device = G.mapping.w_avg.device
    paths = keyframe_paths(G, plan, truncation_psi)
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


def find_ffmpeg() -> str:
    exe = os.environ.get(FFMPEG_ENV)
    if exe:
        if not shutil.which(exe):
            raise StylebridgeError(f"${FFMPEG_ENV}={exe} is not an executable")
        return exe
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        pass
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise StylebridgeError("writing .mp4 needs ffmpeg: `pip install imageio-ffmpeg` (or `pip install "
                               "'stylebridge[video]'`, or apt install ffmpeg), or write a .gif")
    return exe


def write_video(frames: Iterator[np.ndarray], path: str | os.PathLike, fps: float = 60.0) -> Path:
    """Write frames (uint8 [H, W, C], C = 1 or 3) as a .gif or .mp4, atomically: a failure
    leaves no partial file and any earlier file at `path` as it was."""
    path = Path(path)
    if not 0 < fps <= 240:
        raise StylebridgeError(f"--fps must be in (0, 240], got {fps}")
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".gif":
            _write_gif(frames, tmp, fps)
        else:
            _write_mp4(frames, tmp, fps)
    return path


def _write_gif(frames: Iterator[np.ndarray], tmp: Path, fps: float) -> None:
    from PIL import Image

    images = [Image.fromarray(f[..., 0] if f.shape[2] == 1 else _rgb(f)) for f in frames]
    # GIF counts in hundredths of a second: 60 fps is stored as 20 ms (browsers play < 20 ms slower)
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=max(20, round(1000 / fps)),
                   loop=0)


def _write_mp4(frames: Iterator[np.ndarray], tmp: Path, fps: float) -> None:
    first = next(frames)
    H, W = first.shape[:2]
    cmd = [find_ffmpeg(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}",
           "-r", f"{fps:g}", "-i", "-", "-an", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-crf", "18", "-movflags", "+faststart", str(tmp)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for f in _chain(first, frames):
            proc.stdin.write(_rgb(f).tobytes())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    err = proc.stderr.read().decode(errors="replace").strip()
    if proc.wait() != 0:
        raise StylebridgeError(f"ffmpeg could not write the video: {err.splitlines()[-1] if err else 'no message'}")


def _rgb(frame: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] from 1 (grey), 3 or 4 (alpha dropped: video has none) channels."""
    if frame.shape[2] == 1:
        frame = np.repeat(frame, 3, axis=2)
    return np.ascontiguousarray(frame[..., :3])


def _chain(first, rest):
    yield first
    yield from rest

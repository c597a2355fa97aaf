"""Writing frames as a video file: .gif (Pillow) or .mp4 (H.264 through an ffmpeg executable:
$STYLEBRIDGE_FFMPEG, the `imageio-ffmpeg` package's, or `ffmpeg` on PATH), atomically. Used by
`stylebridge video` (stylebridge.video) and `invert --save-video`."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from stylebridge.errors import StylebridgeError
from stylebridge.utils.io import atomic_path

FORMATS = (".gif", ".mp4")
MAX_GIF_BYTES = 2 * 1024**3    # Pillow keeps every GIF frame in memory: refuse more (write .mp4)
FFMPEG_ENV = "STYLEBRIDGE_FFMPEG"


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
        for f in itertools.chain((first,), frames):
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

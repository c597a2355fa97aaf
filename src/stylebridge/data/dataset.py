"""Training data: a folder (recursive) or zip of images, or an in-memory uint8 array,
made square (center crop or pad), resized to the model resolution and cached in memory
as one uint8 tensor [N, C, R, R].

Unreadable files are skipped and counted (`ImageDataset.skipped`), never a crash; an
empty or too small dataset raises DataError with a message that says what was found.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from stylebridge.data.images import IMAGE_EXTENSIONS, _resize, _square, _to_array, list_images
from stylebridge.errors import DataError

MIN_IMAGES = 2


def _array_to_uint8(a: np.ndarray) -> np.ndarray:
    """float [H, W, C] in [0, 1] -> uint8 [C, H, W] (round to nearest)."""
    return np.ascontiguousarray((np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).transpose(2, 0, 1))


def _decode(data: bytes | str | os.PathLike, resolution: int, channels: int, square: str) -> np.ndarray:
    src = io.BytesIO(data) if isinstance(data, bytes) else data
    with Image.open(src) as im:
        im.load()
        im = ImageOps.exif_transpose(im) or im
        a = _to_array(im, channels)
    return _array_to_uint8(_resize(_square(a, square), resolution))


def _from_memory(arr: Any, resolution: int, channels: int, square: str) -> torch.Tensor:
    """uint8 [N, H, W], [N, H, W, C] or [N, C, H, W] (C in 1, 3, 4) -> uint8 [N, channels, R, R]."""
    a = arr.detach().cpu().numpy() if isinstance(arr, torch.Tensor) else np.asarray(arr)
    if a.dtype != np.uint8:
        raise DataError(f"in-memory images must be uint8 (0..255), got dtype {a.dtype}")
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4:
        raise DataError(f"in-memory images must have shape [N, H, W], [N, H, W, C] or [N, C, H, W], got {a.shape}")
    if a.shape[1] not in (1, 3, 4) and a.shape[3] in (1, 3, 4):
        a = a.transpose(0, 3, 1, 2)
    if a.shape[1] not in (1, 3, 4):
        raise DataError(f"in-memory images must have 1, 3 or 4 channels, got shape {a.shape}")
    out = []
    for img in a:
        hwc = img.transpose(1, 2, 0).astype(np.float32) / 255.0
        if hwc.shape[2] != channels:
            mode = {1: "L", 3: "RGB", 4: "RGBA"}[hwc.shape[2]]
            pil = Image.fromarray(np.ascontiguousarray(img.transpose(1, 2, 0) if img.shape[0] > 1 else img[0]), mode)
            hwc = _to_array(pil, channels)
        if hwc.shape[0] == hwc.shape[1] == resolution:
            out.append(np.ascontiguousarray(img if img.shape[0] == channels else _array_to_uint8(hwc)))
        else:
            out.append(_array_to_uint8(_resize(_square(hwc, square), resolution)))
    if not out:
        return torch.zeros([0, channels, resolution, resolution], dtype=torch.uint8)
    return torch.from_numpy(np.stack(out))


class ImageDataset:
    """All images of a source as one uint8 tensor `images` [N, C, R, R] in memory."""

    def __init__(
        self,
        source: str | os.PathLike | np.ndarray | torch.Tensor,  # folder, zip file, image file or uint8 array
        resolution: int,               # output width and height
        channels: int = 3,             # 1 (grey), 3 (RGB) or 4 (RGBA)
        square: str = "crop",          # 'crop': center crop; 'pad': pad with white
        min_images: int = MIN_IMAGES,  # fewer usable images than this is an error
    ):
        if square not in ("crop", "pad"):
            raise DataError(f"square must be 'crop' or 'pad', got {square!r}")
        self.resolution, self.channels = int(resolution), int(channels)
        self.skipped: list[str] = []
        if isinstance(source, (np.ndarray, torch.Tensor)):
            self.name = "<array>"
            self.images = _from_memory(source, self.resolution, self.channels, square)
        else:
            path = Path(source)
            self.name = str(path)
            if path.is_file() and path.suffix.lower() == ".zip":
                self.images = self._load_zip(path, square)
            else:
                self.images = self._load_files(list_images(path), square)
        n = int(self.images.shape[0])
        if n < min_images:
            extra = f" ({len(self.skipped)} unreadable files skipped, first: {self.skipped[0]})" if self.skipped else ""
            raise DataError(f"dataset '{self.name}' has {n} usable image(s){extra}; at least {min_images} are needed")

    def _load_files(self, files: list[Path], square: str) -> torch.Tensor:
        out = []
        for p in files:
            try:
                out.append(_decode(p, self.resolution, self.channels, square))
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
                self.skipped.append(str(p))
        return self._stack(out)

    def _load_zip(self, path: Path, square: str) -> torch.Tensor:
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as e:
            raise DataError(f"cannot open zip file '{path}': {e}") from None
        out = []
        with zf:
            names = sorted(n for n in zf.namelist()
                           if Path(n).suffix.lower() in IMAGE_EXTENSIONS
                           and not any(part.startswith((".", "__MACOSX")) for part in Path(n).parts))
            if not names:
                raise DataError(f"no images found in zip file '{path}'; expected files ending in "
                                f"{', '.join(IMAGE_EXTENSIONS)}")
            for n in names:
                try:
                    out.append(_decode(zf.read(n), self.resolution, self.channels, square))
                except (UnidentifiedImageError, OSError, SyntaxError, ValueError, zipfile.BadZipFile,
                        Image.DecompressionBombError):
                    self.skipped.append(f"{path}:{n}")
        return self._stack(out)

    def _stack(self, out: list[np.ndarray]) -> torch.Tensor:
        if not out:
            return torch.zeros([0, self.channels, self.resolution, self.resolution], dtype=torch.uint8)
        return torch.from_numpy(np.stack(out))

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def batch(self, indices: torch.Tensor, flip: torch.Tensor | None = None) -> torch.Tensor:
        """Float images in [-1, 1] for `indices`; `flip` (bool [B]) mirrors those left-right."""
        x = self.images[indices].to(torch.float32) / 127.5 - 1.0
        if flip is not None and bool(flip.any()):
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
        return x

    def describe(self) -> str:
        s = f"{len(self)} images from {self.name} at {self.resolution}x{self.resolution}, {self.channels} channel(s)"
        return s + (f"; {len(self.skipped)} unreadable files skipped" if self.skipped else "")

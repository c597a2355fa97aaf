"""Robust image I/O shared by every tool: list, load, save, convert and tile images.

Images in memory are float tensors [C, H, W] in [-1, 1] (the range StyleGAN2 generators
produce). `to_uint8` is the one conversion to 8-bit used everywhere, identical to NVIDIA's
`(img * 127.5 + 128).clamp(0, 255).to(torch.uint8)`, so saved images and metric inputs
agree bit for bit with the reference code.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from stylebridge.errors import DataError
from stylebridge.utils.io import atomic_path

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm", ".pgm")
# The only Pillow formats ever opened (`Image.open(formats=...)`): no EPS (Ghostscript), PDF, ...
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF", "PPM")
# Images over this many pixels are refused with one line before decoding (a 100 MP RGB image
# costs 1.2 GB as floats); the environment variable (set by `stylebridge --max-megapixels`)
# raises or lowers it.
DEFAULT_MAX_PIXELS = 100_000_000
MAX_MEGAPIXELS_ENV = "STYLEBRIDGE_MAX_MEGAPIXELS"

_SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".webp": "WEBP",
                 ".tif": "TIFF", ".tiff": "TIFF", ".ppm": "PPM", ".pgm": "PPM", ".gif": "GIF"}


def list_images(dir_or_files: str | os.PathLike | Iterable[str | os.PathLike], recursive: bool = True) -> list[Path]:
    """Image files in a folder (sorted, recursively by default) or a given list of files.

    Hidden files and folders (names starting with '.') are skipped. A folder without
    images or a missing path raises DataError.
    """
    if isinstance(dir_or_files, (str, os.PathLike)):
        root = Path(dir_or_files)
        if root.is_file():
            return [root]
        if not root.is_dir():
            raise DataError(f"image folder '{root}' does not exist")
        pattern = root.rglob("*") if recursive else root.glob("*")
        files = [
            p for p in pattern
            if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
        ]
        if not files:
            raise DataError(
                f"no images found in '{root}'{' (searched recursively)' if recursive else ''}; "
                f"expected files ending in {', '.join(IMAGE_EXTENSIONS)}"
            )
        return sorted(files, key=lambda p: p.as_posix())
    files = [Path(p) for p in dir_or_files]
    for p in files:
        if not p.is_file():
            raise DataError(f"image file '{p}' does not exist")
    return sorted(files, key=lambda p: p.as_posix())


def _to_array(im: Image.Image, channels: int, sixteen_bit: bool = False) -> np.ndarray:
    """Any Pillow mode -> float32 array [H, W, channels] in [0, 1] (`sixteen_bit`: the file's
    mode was I;16, converted to I to be reduced)."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        if mode == "F":
            hi = 1.0 if a.max(initial=0.0) <= 1.0 else 255.0
        elif mode.startswith("I;16") or sixteen_bit or a.max(initial=0) > 255:
            hi = 65535.0
        else:
            hi = 255.0
        grey = np.clip(a / hi, 0.0, 1.0).astype(np.float32)[..., None]
        rgb, alpha = grey, None
    else:
        if mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        elif mode in ("LA", "PA") or (mode == "L" and "transparency" in im.info):
            im = im.convert("LA")
        elif mode in ("1", "L"):
            im = im.convert("L")
        elif mode not in ("RGB", "RGBA"):
            im = im.convert("RGBA" if "A" in mode else "RGB")  # CMYK, YCbCr, LAB, HSV, RGBa, ...
        a = np.asarray(im, dtype=np.float32) / 255.0
        if a.ndim == 2:
            a = a[..., None]
        if im.mode in ("LA", "RGBA"):
            rgb, alpha = a[..., :-1], a[..., -1:]
        else:
            rgb, alpha = a, None
    if channels == 4:
        if rgb.shape[-1] == 1:
            rgb = np.repeat(rgb, 3, axis=-1)
        if alpha is None:
            alpha = np.ones_like(rgb[..., :1])
        return np.concatenate([rgb, alpha], axis=-1)
    if alpha is not None:
        rgb = rgb * alpha + (1.0 - alpha)  # composite over white
    if channels == 1:
        if rgb.shape[-1] == 3:  # ITU-R 601-2 luma, as Pillow's convert('L')
            rgb = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)[:, None]
        return rgb
    if rgb.shape[-1] == 1:
        rgb = np.repeat(rgb, 3, axis=-1)
    return rgb


def _square(a: np.ndarray, mode: str) -> np.ndarray:
    """Center-crop (mode 'crop') or pad with white (mode 'pad') an [H, W, C] array to square."""
    h, w = a.shape[:2]
    if h == w:
        return a
    if mode == "crop":
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        return a[top:top + s, left:left + s]
    s = max(h, w)
    out = np.ones((s, s, a.shape[2]), dtype=a.dtype)
    top, left = (s - h) // 2, (s - w) // 2
    out[top:top + h, left:left + w] = a
    return out


def _resize(a: np.ndarray, resolution: int) -> np.ndarray:
    if a.shape[0] == resolution and a.shape[1] == resolution:
        return a
    chans = [Image.fromarray(np.ascontiguousarray(a[..., c], dtype=np.float32)).resize((resolution, resolution),
                                                                                       Image.LANCZOS)
             for c in range(a.shape[2])]
    return np.clip(np.stack([np.asarray(c) for c in chans], axis=-1), 0.0, 1.0)


def max_pixels() -> int:
    """The pixel bound of `load_image`: $STYLEBRIDGE_MAX_MEGAPIXELS megapixels, else DEFAULT_MAX_PIXELS."""
    value = os.environ.get(MAX_MEGAPIXELS_ENV, "").strip()
    if not value:
        return DEFAULT_MAX_PIXELS
    try:
        mp = float(value)
    except ValueError:
        mp = float("nan")
    if not 0 < mp < 1e6:
        raise DataError(f"{MAX_MEGAPIXELS_ENV}={value!r} is not a number of megapixels between 0 and 1000000")
    return int(mp * 1e6)


def _source_size(source) -> int | None:
    if isinstance(source, (str, os.PathLike)):
        return os.path.getsize(source)
    if hasattr(source, "getbuffer"):
        return source.getbuffer().nbytes
    return None


def open_image(source, what: str, limit: int | None = None,
               hint: str = "scale it down, or raise the bound with stylebridge --max-megapixels N") -> Image.Image:
    """Open an image (header only) of one of IMAGE_FORMATS and refuse it, before any pixel is
    decoded, when it has more than `limit` pixels (default: `max_pixels()`) or is a JPEG too short
    for its size. `source` is a path or a binary file object; `what` names it in messages."""
    limit = max_pixels() if limit is None else int(limit)
    try:
        im = Image.open(source, formats=IMAGE_FORMATS)
    except Image.DecompressionBombError as e:
        raise DataError(f"{what} is too large to decode ({e})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise DataError(f"{what} is not an image stylebridge reads (use {', '.join(IMAGE_FORMATS[:-1])} or "
                        f"{IMAGE_FORMATS[-1]})") from None
    w, h = im.size
    if w * h > limit:
        im.close()
        raise DataError(f"{what} is {w}x{h} = {w * h / 1e6:.3g} megapixels; the limit is {limit / 1e6:g} "
                        f"megapixels ({hint})")
    size = _source_size(source)
    # Every 8x8 block of a (Huffman-coded) JPEG costs at least one bit: a shorter file is
    # truncated, and libjpeg would fill the missing blocks with grey without a word.
    if im.format == "JPEG" and size is not None and size * 8 < (w // 8) * (h // 8):
        im.close()
        raise DataError(f"{what} is damaged or truncated: {size} bytes cannot hold a {w}x{h} JPEG")
    return im


def _reducible(im: Image.Image) -> Image.Image:
    """A mode `Image.reduce` takes, keeping what `_to_array` reads from the original."""
    if im.mode in ("L", "LA", "RGB", "RGBA", "I", "F") and not (im.mode == "L" and "transparency" in im.info):
        return im
    if im.mode == "1":
        return im.convert("L")
    if im.mode.startswith("I;16"):
        return im.convert("I")
    if im.mode == "L":
        return im.convert("LA")
    return im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")


def _decode(im: Image.Image, resolution: int | None, square: str, reduce: bool) -> Image.Image:
    """Decode; with `reduce`, at about twice `resolution` (JPEG: scaled in the decoder by
    `draft`; others: `Image.reduce` by an integer factor right after decoding)."""
    if reduce and resolution:
        target = 2 * int(resolution)
        if im.format == "JPEG":
            im.draft(None, (target, target))
        im.load()
        side = min(im.size) if square == "crop" else max(im.size)
        factor = side // target
        if factor > 1:
            im = _reducible(im).reduce(factor)
    else:
        im.load()
    return ImageOps.exif_transpose(im) or im


def load_image(path, resolution: int | None = None, channels: int = 3,
               square: str = "crop", *, limit: int | None = None, reduce: bool = False,
               what: str | None = None) -> torch.Tensor:
    """Read an image file as a float tensor [channels, H, W] in [-1, 1].

    Handles every Pillow mode (grey, 16-bit grey, palette, RGBA composited over white,
    CMYK, ...) and EXIF orientation. With `resolution`, the image is first made square
    (`square='crop'`: center crop; `'pad'`: pad with white) and then resized with LANCZOS.
    `channels` is 1 (grey), 3 (RGB) or 4 (RGBA; alpha kept, opaque if absent).

    Only IMAGE_FORMATS are opened, and images over `limit` pixels (default `max_pixels()`) are
    refused before decoding (see `open_image`). `path` may also be a binary file object.
    `reduce=True` decodes large images at about twice `resolution` first (bounded memory
    whatever the file claims; results differ slightly from the full-size path).
    """
    if channels not in (1, 3, 4):
        raise DataError(f"channels must be 1, 3 or 4, got {channels}")
    if square not in ("crop", "pad"):
        raise DataError(f"square must be 'crop' or 'pad', got {square!r}")
    if resolution is not None and int(resolution) < 1:
        raise DataError(f"resolution must be positive, got {resolution}")
    if isinstance(path, (str, os.PathLike)):
        path = Path(path)
        if not path.is_file():
            raise DataError(f"image file '{path}' does not exist")
    what = what or f"image '{path}'"
    with open_image(path, what, limit) as im:
        return decode_image(im, what, resolution, channels, square, reduce)


def decode_image(im: Image.Image, what: str, resolution: int | None = None, channels: int = 3,
                 square: str = "crop", reduce: bool = False) -> torch.Tensor:
    """The decoding half of `load_image`, for an image `open_image` opened (and checked)."""
    sixteen_bit = im.mode.startswith("I;16")
    try:
        a = _to_array(_decode(im, resolution, square, reduce), channels, sixteen_bit)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f"cannot read {what}: {e}") from None
    if resolution is not None:
        a = _resize(_square(a, square), int(resolution))
    t = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32))
    return t * 2.0 - 1.0


def to_uint8(img: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float -> uint8 [0, 255], exactly as NVIDIA's scripts round."""
    return (img * 127.5 + 128).clamp(0, 255).to(torch.uint8)


def from_uint8(img: torch.Tensor | np.ndarray) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1] (x / 127.5 - 1, as the LPIPS package loads images)."""
    t = torch.as_tensor(np.asarray(img)) if isinstance(img, np.ndarray) else img
    return t.to(torch.float32) / 127.5 - 1.0


def save_image(image: torch.Tensor | np.ndarray, path: str | os.PathLike) -> Path:
    """Write one image atomically; the format follows the file extension (default PNG).

    Accepts a float tensor [C, H, W] in [-1, 1], a uint8 tensor [C, H, W], or a uint8 numpy
    array [H, W, C] / [H, W]. C may be 1, 3 or 4.
    """
    path = Path(path)
    if isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        if t.ndim == 4 and t.shape[0] == 1:
            t = t[0]
        if t.ndim != 3:
            raise DataError(f"save_image expects one image [C, H, W], got shape {tuple(t.shape)}")
        if t.dtype != torch.uint8:
            t = to_uint8(t.float())
        arr = t.permute(1, 2, 0).numpy()
    else:
        arr = np.asarray(image)
        if arr.dtype != np.uint8:
            raise DataError(f"numpy images must be uint8 [H, W, C], got dtype {arr.dtype}")
        if arr.ndim == 2:
            arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise DataError(f"image must have 1, 3 or 4 channels, got shape {arr.shape}")
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[arr.shape[2]]
    im = Image.fromarray(np.ascontiguousarray(arr[..., 0] if arr.shape[2] == 1 else arr))
    assert im.mode == mode, (im.mode, mode)
    fmt = _SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"unknown image extension '{path.suffix}' for '{path}'; use .png or .jpg")
    if fmt == "JPEG" and mode == "RGBA":
        im = im.convert("RGB")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            im.save(f, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return path


def make_grid(images: torch.Tensor | Sequence[torch.Tensor], nrow: int | None = None,
              padding: int = 0, pad_value: float = 1.0) -> torch.Tensor:
    """Tile images [N, C, H, W] (or a list of [C, H, W]) into one [C, rows*H, nrow*W] image.

    `nrow` images per row (default: about square). Missing cells are filled with `pad_value`.
    """
    if not isinstance(images, torch.Tensor):
        images = torch.stack(list(images))
    if images.ndim != 4:
        raise DataError(f"make_grid expects [N, C, H, W], got shape {tuple(images.shape)}")
    n, c, h, w = images.shape
    if n == 0:
        raise DataError("make_grid got no images")
    nrow = int(nrow) if nrow else max(1, math.ceil(math.sqrt(n)))
    ncol, nrows = min(nrow, n), math.ceil(n / nrow)
    gh, gw = nrows * h + (nrows + 1) * padding, ncol * w + (ncol + 1) * padding
    grid = torch.full((c, gh, gw), pad_value, dtype=images.dtype, device=images.device)
    for i in range(n):
        r, col = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, y:y + h, x:x + w] = images[i]
    return grid


def label_rows(image: torch.Tensor, labels: Sequence[str], pitch: int, offset: int = 0,
               font_size: int = 12, ink: int = 220, background: int | None = None) -> torch.Tensor:
    """A uint8 grid [C, H, W] with a margin on the left naming its rows: row i spans
    pixels offset + i * pitch .. offset + (i + 1) * pitch. Pillow's built-in font, so no font
    files are needed. The margin takes the colour of the grid's top-left pixel by default."""
    from PIL import ImageDraw, ImageFont

    if image.dtype != torch.uint8 or image.ndim != 3:
        raise DataError(f"label_rows expects a uint8 image [C, H, W], got {image.dtype} {tuple(image.shape)}")
    c, h, w = image.shape
    try:
        font = ImageFont.load_default(size=font_size)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        font = ImageFont.load_default()
    margin = max((int(font.getlength(t)) for t in labels), default=0) + font_size
    bg = int(image[0, 0, 0]) if background is None else background
    canvas = Image.new("L", (w + margin, h), bg)
    draw = ImageDraw.Draw(canvas)
    for i, text in enumerate(labels):
        draw.text((font_size // 2, offset + i * pitch + pitch // 2), text, fill=ink, font=font, anchor="lm")
    side = torch.from_numpy(np.asarray(canvas)[:, :margin].copy())[None].expand(c, h, margin)
    return torch.cat([side, image], dim=2)


def labelled_grid(images: torch.Tensor, nrow: int, labels: Sequence[str], padding: int = 2,
                  pad_value: float = 1.0, scale: int = 1, font_size: int | None = None) -> torch.Tensor:
    """make_grid of images [N, C, H, W] in [-1, 1] with `nrow` per row, each row named by
    `labels` in a left margin (as the demo grid) -> uint8 [C, H', W']. Upscaled `scale` times
    (nearest) first, so small models still get legible labels. `font_size` defaults to about
    half a row."""
    img = to_uint8(make_grid(images.clamp(-1, 1), nrow=nrow, padding=padding, pad_value=pad_value))
    if scale > 1:
        img = img.repeat_interleave(scale, dim=1).repeat_interleave(scale, dim=2)
    pitch = scale * (images.shape[-2] + padding)
    ink = 40 if int(img[0, 0, 0]) > 127 else 220
    return label_rows(img, labels, pitch=pitch, offset=scale * padding,
                      font_size=font_size or max(8, min(14, pitch // 2)), ink=ink)

"""Glyph datasets for the embedded font-style demo: the 62 characters A-Z a-z 0-9 rendered
from installed fonts (one domain = one type style), and from Pillow's built-in font.

Framing (the same for every font, so that a domain differs from another only in style):

* white ink (255) on black (0), one grey channel, `size` x `size` pixels (default 32);
  as StyleGAN images in [-1, 1] the background is -1 (`to_unit_range`);
* one scale per font, never per glyph: the font's median capital height is drawn
  `CAP_HEIGHT` of the image high (17/32), reduced where more than a few of the font's 62
  glyphs would leave the image (fonts with long descenders, swashes or wide capitals; the
  reduction stops at `MIN_SHRINK`, and the rare glyph still too large is cropped), so the
  proportions within a font are kept (x-height against capitals, descenders, widths);
* the baseline sits on one row for every glyph and font (`BASELINE` = 23/32 from the top),
  so that 'o' and 'O', 'p' and 'P' differ in size and position as in running text; each
  glyph's ink is centred horizontally;
* rendered at 4x the size and reduced by exact area averaging (anti-aliased, no ringing),
  with Pillow's basic layout (no shaping), so the result depends only on the font file.

Domains, fonts and the held-out split are pinned in `DOMAINS` (file names, so they are
found on a fresh machine after `scripts/install-fonts.sh`).
"""

from __future__ import annotations

import fnmatch
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from stylebridge.data.glyph_fonts import DOMAINS, DomainSpec
from stylebridge.errors import DataError, StylebridgeError

CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
NUM_CLASSES = len(CHARS)
CHAR_TO_LABEL = {c: i for i, c in enumerate(CHARS)}

SUPERSAMPLE = 4
CAP_HEIGHT = 17 / 32        # capital height, as a share of the image height
BASELINE = 23 / 32          # baseline row, as a share of the image height from the top
MARGIN = 1 / 32             # ink keeps at least this far from every edge (most glyphs)
FIT_QUANTILE = 0.9          # the scale keeps this share of a font's glyphs inside the margins
MIN_SHRINK = 0.7            # ... but never draws capitals smaller than this share of CAP_HEIGHT
_REF_SIZE = 256             # font size (px per em) at which a font is measured
_NOTDEF_PROBE = "\U0010fffd"  # a code point no Latin font maps: renders as the missing glyph

FONT_DIRS_ENV = "STYLEBRIDGE_FONT_DIRS"
DEFAULT_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
SPLITS = ("train", "heldout", "all")


@dataclass
class GlyphSet:
    """Rendered glyphs: images uint8 [N, 1, size, size] (ink 255), labels int64 [N] (index into
    CHARS), font_ids int64 [N] (index into fonts), fonts: the font file stems."""

    images: np.ndarray
    labels: np.ndarray
    font_ids: np.ndarray
    fonts: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # font stem -> why it was not used

    def __len__(self) -> int:
        return int(self.labels.shape[0])


class FontUnusable(DataError):
    """A font file cannot give all 62 glyphs (missing glyphs, caps only, unreadable)."""


# ----------------------------------------------------------------------------------------
# Rendering


def _load(font: str | os.PathLike | ImageFont.FreeTypeFont, size: float) -> ImageFont.FreeTypeFont:
    if isinstance(font, ImageFont.FreeTypeFont):
        return font.font_variant(size=size, layout_engine=ImageFont.Layout.BASIC)
    try:
        return ImageFont.truetype(str(font), size=size, layout_engine=ImageFont.Layout.BASIC)
    except OSError as e:
        raise FontUnusable(f"cannot read font file {font}: {e}") from e


def _check_coverage(f: ImageFont.FreeTypeFont, chars: str, name: str) -> None:
    """Raise FontUnusable when a character is missing (drawn as the font's .notdef box or
    empty) or when the font has capitals in place of the lower case."""

    def signature(ch: str) -> tuple:
        m = f.getmask(ch)
        return (m.size, bytes(m))

    notdef = signature(_NOTDEF_PROBE)
    missing = []
    for ch in chars:
        sig = signature(ch)
        if sig[0][0] * sig[0][1] == 0 or not any(sig[1]) or sig == notdef:
            missing.append(ch)
    if missing:
        raise FontUnusable(f"font {name} lacks the glyphs {''.join(missing)!r}")
    same_case = sum(1 for c in chars if c.islower() and c.upper() in chars and signature(c) == signature(c.upper()))
    if same_case >= 6:
        raise FontUnusable(f"font {name} draws {same_case} lower-case letters as capitals")


def _scale_for(f: ImageFont.FreeTypeFont, chars: str, size: int) -> float:
    """Factor from the measuring size to the supersampled render size for one font."""
    S = size * SUPERSAMPLE
    boxes = [f.getbbox(c, anchor="ls") for c in chars]
    caps = [-b[1] for c, b in zip(chars, boxes) if c.isupper()] or [-b[1] for b in boxes]
    cap = float(np.median(caps))
    if cap <= 0:
        raise FontUnusable(f"font {f.getname()[0]} draws its capitals below the baseline")
    q = lambda v: max(float(np.quantile(np.asarray(v, dtype=np.float64), FIT_QUANTILE)), 1.0)  # noqa: E731
    above = q([-b[1] for b in boxes])
    below = q([b[3] for b in boxes])
    width = q([b[2] - b[0] for b in boxes])
    m = MARGIN * S
    target = CAP_HEIGHT * S / cap
    fit = min(target, (BASELINE * S - m) / above, ((1 - BASELINE) * S - m) / below, (S - 2 * m) / width)
    return max(fit, MIN_SHRINK * target)


def render_font(
    font: str | os.PathLike | ImageFont.FreeTypeFont, chars: str = CHARS, size: int = 32, check: bool = True
) -> np.ndarray:
    """Render `chars` from one font: uint8 array [len(chars), size, size], ink 255 on 0.

    `font` is a font file path or a Pillow FreeTypeFont. With `check`, a font that lacks any
    of the 62 glyphs (or draws capitals for the lower case) raises FontUnusable.
    """
    if size < 8:
        raise StylebridgeError(f"glyph size must be at least 8 pixels, got {size}")
    name = Path(font).name if not isinstance(font, ImageFont.FreeTypeFont) else font.getname()[0]
    ref = _load(font, _REF_SIZE)
    if check:
        _check_coverage(ref, CHARS, name)
    scale = _scale_for(ref, CHARS, size)  # one scale from all 62 glyphs, whatever `chars` is
    f = _load(font, _REF_SIZE * scale)
    S = size * SUPERSAMPLE
    base_y = BASELINE * S
    out = np.zeros((len(chars), size, size), dtype=np.uint8)
    for i, ch in enumerate(chars):
        if ch == " ":
            continue
        x0, y0, x1, y1 = f.getbbox(ch, anchor="ls")
        canvas = Image.new("L", (S, S), 0)
        x = (S - (x1 - x0)) / 2 - x0
        ImageDraw.Draw(canvas).text((round(x), round(base_y)), ch, fill=255, font=f, anchor="ls")
        out[i] = np.asarray(canvas.resize((size, size), Image.Resampling.BOX), dtype=np.uint8)
    return out


def builtin_font() -> ImageFont.FreeTypeFont:
    """Pillow's built-in scalable font (Aileron Regular, Pillow >= 10.1): needs no installed fonts."""
    try:
        f = ImageFont.load_default(size=_REF_SIZE)
    except TypeError as e:  # Pillow < 10.1: only a bitmap font without sizes
        raise StylebridgeError("rendering text needs Pillow >= 10.1 (pip install -U pillow)") from e
    if not isinstance(f, ImageFont.FreeTypeFont):
        raise StylebridgeError("this Pillow has no FreeType support; reinstall Pillow from its wheels")
    return f


def render_text_glyphs(text: str, size: int = 32) -> tuple[np.ndarray, list[str]]:
    """Render each non-space character of `text` with Pillow's built-in font, in the framing of
    the glyph domains: uint8 [len, 1, size, size] and the characters drawn. Characters outside
    A-Z a-z 0-9 are rendered too (at the same scale) but the models only know those 62."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        raise StylebridgeError("the text to render has no visible characters")
    imgs = render_font(builtin_font(), "".join(chars), size=size, check=False)
    return imgs[:, None], chars


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """uint8 images (ink 255) -> float32 in [-1, 1] (background -1), the generators' range."""
    return images.astype(np.float32) / 127.5 - 1.0


# ----------------------------------------------------------------------------------------
# Finding the domains' fonts


def font_dirs() -> list[Path]:
    extra = [p for p in os.environ.get(FONT_DIRS_ENV, "").split(os.pathsep) if p]
    return [Path(p).expanduser() for p in (*extra, *DEFAULT_FONT_DIRS)]


@functools.lru_cache(maxsize=4)
def _font_index(dirs: tuple[Path, ...]) -> dict[str, Path]:
    index: dict[str, Path] = {}
    for d in dirs:
        if d.is_dir():
            for p in sorted(d.rglob("*")):
                if p.suffix.lower() in (".ttf", ".otf", ".woff") and p.name not in index:
                    index[p.name] = p
    return index


def domain_spec(style: str) -> DomainSpec:
    if style not in DOMAINS:
        raise StylebridgeError(f"unknown glyph style '{style}'; choose one of {', '.join(DOMAINS)}")
    return DOMAINS[style]


def domain_fonts(style: str, split: str = "all") -> list[Path]:
    """The installed font files of a domain's split, sorted by file name. Fonts are matched by
    the file-name patterns pinned in glyph_fonts.py; a font is held out when its file stem
    matches the domain's held-out patterns."""
    spec = domain_spec(style)
    if split not in SPLITS:
        raise StylebridgeError(f"unknown split '{split}'; choose one of {', '.join(SPLITS)}")
    index = _font_index(tuple(font_dirs()))
    names = {n for pat in spec.fonts for n in index if fnmatch.fnmatchcase(n, pat)}
    names = {n for n in names if not any(fnmatch.fnmatchcase(n, pat) for pat in spec.exclude)}
    found = [index[n] for n in sorted(names)]
    if split != "all":
        want = split == "heldout"
        found = [p for p in found if is_heldout(spec, p.stem) == want]
    return found


def is_heldout(spec: DomainSpec, stem: str) -> bool:
    return any(fnmatch.fnmatchcase(stem, pat) for pat in spec.heldout)


@functools.lru_cache(maxsize=512)
def _render_cached(path: str, mtime: float, size: int) -> np.ndarray:
    arr = render_font(path, CHARS, size)
    arr.setflags(write=False)
    return arr


def render_domain(style: str, split: str = "all", size: int = 32, strict: bool = False) -> GlyphSet:
    """All 62 glyphs of every installed font of a domain's split, in memory.

    Fonts that turn out unusable are skipped (or raise with `strict`). Raises DataError when
    none of the domain's fonts is installed."""
    paths = domain_fonts(style, split)
    images, fonts, skipped = [], [], {}
    for p in paths:
        try:
            images.append(_render_cached(str(p), p.stat().st_mtime, size))
        except FontUnusable as e:
            if strict:
                raise
            skipped[p.stem] = str(e)
            continue
        fonts.append(p.stem)
    if not images:
        raise DataError(
            f"no fonts of the glyph style '{style}' ({split}) are installed; run scripts/install-fonts.sh "
            f"(or point {FONT_DIRS_ENV} at a folder with them)"
        )
    n = len(images)
    return GlyphSet(
        images=np.stack(images).reshape(n * NUM_CLASSES, 1, size, size),
        labels=np.tile(np.arange(NUM_CLASSES, dtype=np.int64), n),
        font_ids=np.repeat(np.arange(n, dtype=np.int64), NUM_CLASSES),
        fonts=fonts,
        skipped=skipped,
    )


# ----------------------------------------------------------------------------------------
# Writing a domain as image files


def glyph_filename(font_stem: str, ch: str) -> str:
    """Relative path of one glyph image: '<font-stem>/<decimal code point>.png' (codes, not
    characters, so 'a' and 'A' do not collide on case-insensitive file systems)."""
    return f"{font_stem}/{ord(ch):03d}.png"


def write_glyph_dataset(style: str, out: str | os.PathLike, split: str = "all", size: int = 32) -> dict:
    """Render a domain's split into `out` as PNG files (8-bit grey, ink white) plus
    `dataset.json`: NVIDIA's layout ({"labels": [[path, label], ...]}) with the style, split,
    characters, framing and the fonts used (stem, file, split). Returns that record."""
    import io
    import json

    from stylebridge.utils.io import atomic_write_bytes, atomic_write_text

    spec = domain_spec(style)
    gs = render_domain(style, split, size)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {p.stem: p for p in domain_fonts(style, split)}
    labels = []
    imgs = gs.images.reshape(len(gs.fonts), NUM_CLASSES, size, size)
    for k, stem in enumerate(gs.fonts):
        for i, ch in enumerate(CHARS):
            rel = glyph_filename(stem, ch)
            buf = io.BytesIO()
            Image.fromarray(imgs[k, i], mode="L").save(buf, format="PNG", optimize=False)
            atomic_write_bytes(out / rel, buf.getvalue())
            labels.append([rel, i])
    record = {
        "style": style,
        "description": spec.description,
        "split": split,
        "size": size,
        "chars": CHARS,
        "framing": {"ink": "white on black", "cap_height": CAP_HEIGHT, "baseline": BASELINE,
                    "supersample": SUPERSAMPLE, "fit_quantile": FIT_QUANTILE, "min_shrink": MIN_SHRINK},
        "fonts": [{"stem": s, "file": files[s].name,
                   "split": "heldout" if is_heldout(spec, s) else "train"} for s in gs.fonts],
        "labels": labels,
    }
    atomic_write_text(out / "dataset.json", json.dumps(record, indent=1) + "\n")
    return record

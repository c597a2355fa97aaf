"""The glyph zoo shipped with stylebridge (trained by the project; see TRAINING.md here)."""

from __future__ import annotations

from pathlib import Path

from stylebridge.errors import StylebridgeError

_HERE = Path(__file__).resolve().parent


def shipped_zoo_dir() -> Path:
    """Folder of the shipped zoo; a clear error when the package was installed without it."""
    glyphs = _HERE / "glyphs"
    if not (glyphs / "zoo.json").is_file():
        raise StylebridgeError(f"the shipped glyph zoo is missing ({glyphs / 'zoo.json'} not found); reinstall "
                               "stylebridge, or give your own zoo folder with --zoo")
    return glyphs

"""Real glyphs beside translations: a glyph zoo may ship, per style, the 62 characters of a
held-out font of that style (zoo.json "references", written by
stylebridge.zoo_build.package.stage_references), so that a reader can judge each translation
against the real thing. The demo's grid and the app's outputs both show them."""

from __future__ import annotations

import torch

from stylebridge.translate.zoo import Zoo


def load_references(zoo: Zoo) -> dict[str, tuple[torch.Tensor, torch.Tensor, str]]:
    """The zoo's real glyphs per style (zoo.json "references": an .npz written by
    stylebridge.zoo_build.package.stage_references): style -> (images in [-1, 1] [62, C, R, R]
    in label order, present [62] bool, font name). Empty when the zoo lists none; a damaged
    file is refused in one line."""
    import zipfile

    import numpy as np

    from stylebridge.data.glyphs import CHARS
    from stylebridge.errors import StylebridgeError

    entry = zoo.meta.get("references")
    if not (isinstance(entry, dict) and isinstance(entry.get("file"), str) and zoo.root is not None):
        return {}
    path = zoo.root / entry["file"]
    G = zoo[zoo.base]
    shape = (len(CHARS), G.img_channels, G.img_resolution, G.img_resolution)
    out = {}
    try:
        with np.load(path, allow_pickle=False) as d:
            for key in d.files:
                style, _, part = key.partition("/")
                if part != "images":
                    continue
                imgs, present, font = d[key], d[f"{style}/present"], str(d[f"{style}/font"])
                if imgs.shape != shape or imgs.dtype != np.uint8 or present.shape != (len(CHARS),):
                    raise ValueError(f"{style}: images {imgs.shape} {imgs.dtype}, expected {shape} uint8")
                out[style] = (torch.from_numpy(imgs).float() / 127.5 - 1, torch.from_numpy(present.astype(bool)),
                              font[:40])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise StylebridgeError(f"{path}: damaged glyph references ({e}); reinstall stylebridge") from None
    return out


def reference_row(ref: tuple[torch.Tensor, torch.Tensor, str] | None, labels: list[str],
                  like: torch.Tensor) -> torch.Tensor | None:
    """Real glyphs for the input characters (black where the font lacks one or the input is
    not one of the 62 characters), or None when no input is a known character."""
    from stylebridge.data.glyphs import CHAR_TO_LABEL

    if ref is None:
        return None
    imgs, present, _ = ref
    idx = [CHAR_TO_LABEL.get(c) for c in labels]
    if not any(i is not None and bool(present[i]) for i in idx):
        return None
    row = torch.full_like(like, -1.0)
    for k, i in enumerate(idx):
        if i is not None and bool(present[i]):
            row[k] = imgs[i]
    return row

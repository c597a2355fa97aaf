"""Translating from saved inversions, shared by the folder jobs (translate/folder.py) and the
evaluation tables (evaluate/tables.py), so both read codes and name their files alike:

    NAME/TARGET.png          plain translation (column 0)
    NAME/TARGET_seedS.png    multi-modal variant with appearance seed S
    NAME/TARGET_refI.png     reference-guided variant with reference I
"""

from __future__ import annotations

from pathlib import Path

import torch

from stylebridge.invert.api import InversionResult, load_code


def inversion_from_code(path: str | Path, reconstruction: torch.Tensor, method: str) -> InversionResult:
    """A finished inversion read back from its code file (NAME.npz: ws and noise maps), for
    `Translator.translate(..., inversion=)`; `reconstruction` is what callers show beside it."""
    ws, noise = load_code(path)
    return InversionResult(ws=ws, v=None, losses=torch.zeros(1), reconstruction=reconstruction,
                           steps=torch.zeros(1, dtype=torch.long), method=method, noise=noise)


def output_name(target: str, column: int, label: str) -> str:
    """File name of one output column of a translation into `target` (labels from TranslationResult)."""
    suffix = "" if column == 0 else ("_" + label.replace("seed ", "seed").replace("reference ", "ref"))
    return f"{target}{suffix}.png"

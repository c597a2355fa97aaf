"""Folder jobs: translate every image of a folder into one or more domains, resumable and
sharded, with one grid per input and an index.html.

Layout of OUT/:
    latents/NAME.npz, latents/NAME.png, latents/summary.csv   (the source inversion, reused)
    NAME/TARGET.png                    plain translation
    NAME/TARGET_seedS.png              multi-modal variants
    NAME/TARGET_refI.png               reference-guided variants
    NAME/grid.png                      rows = targets: input | reconstruction | outputs ...
    index.html                         every grid
An input is done when NAME/grid.png exists (written last); re-runs skip it.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Callable, Sequence

import torch

from stylebridge.data.images import load_image, make_grid, save_image, to_uint8
from stylebridge.invert.api import invert_folder, shard_inputs
from stylebridge.translate.outputs import inversion_from_code, output_name
from stylebridge.translate.translator import Translator
from stylebridge.utils.io import atomic_write_text


def grid_rows(inputs: torch.Tensor, recon: torch.Tensor, outputs: dict[str, torch.Tensor], i: int) -> torch.Tensor:
    """One grid for input i: a row per target, [input | reconstruction | outputs...]."""
    rows = []
    width = max(v.shape[1] for v in outputs.values()) + 2
    blank = torch.ones_like(inputs[i])
    for t, v in outputs.items():
        cells = [inputs[i], recon[i]] + list(v[i])
        cells += [blank] * (width - len(cells))
        rows.extend(cells)
    return make_grid(torch.stack(rows), nrow=width, padding=2, pad_value=1.0)


def write_index(outdir: Path, names: Sequence[str], targets: Sequence[str], labels: Sequence[str]) -> Path:
    items = "\n".join(
        f'<figure><img src="{html.escape(n)}/grid.png" alt="{html.escape(n)}"><figcaption>{html.escape(n)}'
        f"</figcaption></figure>" for n in names)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>stylebridge translations</title>
<style>body{{font-family:sans-serif;margin:1em}} figure{{display:inline-block;margin:0.5em}}
img{{image-rendering:pixelated;min-width:240px}}</style></head>
<body><h1>stylebridge translations</h1>
<p>Rows: {html.escape(", ".join(targets))}. Columns: input, reconstruction, {html.escape(", ".join(labels))}.</p>
{items}
</body></html>
"""
    path = outdir / "index.html"
    atomic_write_text(path, page)
    return path


def translate_folder(translator: Translator, inputs: str | Path | Sequence[str | Path], outdir: str | Path, *,
                     to="all", source: str | None = None, modes: int = 0, seed: int = 0,
                     content_layers: int | None = None, truncation_psi: float = 0.5,
                     reference: Sequence[str | Path] | None = None, latents: str | Path | None = None,
                     shard: str | None = None, log: Callable[[str], None] = print) -> dict:
    outdir = Path(outdir)
    zoo = translator.zoo
    source = source or zoo.base
    targets = zoo.resolve(to)
    for t in targets:
        zoo.check_pair(source, t)
    Gs = zoo[source]
    latent_dir = Path(latents) if latents else outdir / "latents"
    inv = invert_folder(Gs, inputs, latent_dir, method=translator.method, D=zoo.discriminator(source),
                        perceptual=translator.perceptual, batch_size=translator.batch_size, shard=shard, log=log,
                        **translator.invert_options)
    ref = None
    if reference:
        ref = torch.stack([load_image(r, Gs.img_resolution, Gs.img_channels) for r in reference])
    mine, _, _ = shard_inputs(inputs, shard)
    done = skipped = 0
    finished = []
    for f, n in mine:
        code = latent_dir / f"{n}.npz"
        if (outdir / n / "grid.png").exists():
            skipped += 1
            finished.append(n)
            continue
        if not code.exists():  # unreadable input, reported by invert_folder
            continue
        image = load_image(f, Gs.img_resolution, Gs.img_channels)[None]
        recon = load_image(latent_dir / f"{n}.png", Gs.img_resolution, Gs.img_channels)[None]
        inversion = inversion_from_code(code, recon, translator.method)
        res = translator.translate(image, to=targets, source=source, modes=modes, seed=seed,
                                   content_layers=content_layers, truncation_psi=truncation_psi, reference=ref,
                                   inversion=inversion)
        for t, out in res.outputs.items():
            for j, label in enumerate(res.labels[t]):
                save_image(to_uint8(out[0, j]), outdir / n / output_name(t, j, label))
        save_image(to_uint8(grid_rows(image, recon, res.outputs, 0)), outdir / n / "grid.png")
        done += 1
        finished.append(n)
        log(f"translated {n} into {', '.join(targets)}")
    labels = ["translation"] + [f"seed {s}" for s in range(seed, seed + modes)] + \
             ([f"reference {i}" for i in range(len(reference))] if reference else [])
    index = write_index(outdir, sorted(finished), targets, labels)
    return {"done": done, "skipped": skipped, "failed": inv["failed"], "index": str(index), "targets": targets}

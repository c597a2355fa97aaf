"""Folder jobs: translate every image of a folder into one or more domains, resumable and
sharded, with one grid per input and an index.html.

Layout of OUT/:
    latents/NAME.npz, latents/NAME.png, latents/summary.csv   (the source inversion, reused)
    NAME/TARGET.png                    plain translation
    NAME/TARGET_seedS.png              multi-modal variants
    NAME/TARGET_refI.png               reference-guided variants
    NAME/grid.png                      rows = targets: input | reconstruction | outputs ...
    index.html                         every grid that exists
    settings.json                      the settings that made these outputs
An input is done when NAME/grid.png exists (written last); re-runs skip it. A re-run with
other settings (targets, modes, seed, inversion options, ...) is refused with a line naming
what changed, so a folder never mixes outputs of two runs: use a new OUT for new settings.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from stylebridge.data.images import labelled_grid, load_image, save_image, to_uint8
from stylebridge.errors import StylebridgeError
from stylebridge.invert.api import invert_folder, shard_inputs
from stylebridge.translate.outputs import inversion_from_code, output_name
from stylebridge.translate.translator import Translator
from stylebridge.utils.io import atomic_write_text

SETTINGS = "settings.json"


def grid_rows(inputs: torch.Tensor, recon: torch.Tensor, outputs: dict[str, torch.Tensor], i: int) -> torch.Tensor:
    """One grid for input i, uint8: a row per target named in the left margin,
    [input | reconstruction | outputs...]."""
    rows = []
    width = max(v.shape[1] for v in outputs.values()) + 2
    blank = torch.ones_like(inputs[i])
    for _t, v in outputs.items():
        cells = [inputs[i], recon[i]] + list(v[i])
        cells += [blank] * (width - len(cells))
        rows.extend(cells)
    scale = max(1, 48 // inputs.shape[-1])
    return labelled_grid(torch.stack(rows), nrow=width, labels=list(outputs), padding=2, pad_value=1.0, scale=scale)


def check_settings(outdir: Path, settings: dict) -> bool:
    """Refuse to add to OUT when it holds outputs made with other settings. True when OUT
    already records these settings."""
    path = outdir / SETTINGS
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            raise StylebridgeError(f"{path} is unreadable; use a new --outdir") from None
        # Both ways: an option recorded only when given (--steps, --feedback, --appearance)
        # differs as much when it was given there and not now.
        changed = sorted(k for k in set(settings) | set(old) if old.get(k) != settings.get(k))
        if changed:
            what = "; ".join(f"--{k.replace('_', '-')} {_show(old.get(k))} there, {_show(settings.get(k))} now"
                             for k in changed)
            raise StylebridgeError(f"{outdir} holds translations made with other settings ({what}); "
                                   "use a new --outdir (or delete that one) to translate with these")
        return True
    if any(outdir.glob("*/grid.png")):
        raise StylebridgeError(f"{outdir} holds translations without {SETTINGS} (an older stylebridge); "
                               "use a new --outdir")
    return False


def _show(v) -> str:
    if isinstance(v, list):
        return ",".join(map(str, v)) or "none"
    return "default" if v is None else str(v)


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
                     appearance: str | None = None, strength: float | dict[str, float] | None = None,
                     shard: str | None = None, log: Callable[[str], None] = print, progress: bool = False) -> dict:
    """Translate every image of a folder (or file list) into `to` ('all' = every model but
    the source). Re-runs skip finished inputs; other settings in the same `outdir` are refused."""
    from tqdm import tqdm

    outdir = Path(outdir)
    zoo = translator.zoo
    source = source or zoo.base
    targets = zoo.resolve(to, exclude=source)
    for t in targets:
        zoo.check_pair(source, t)
    Gs = zoo[source]
    if content_layers is not None and not 1 <= content_layers <= Gs.num_ws:  # before the inversion
        raise StylebridgeError(f"--content-layers must be between 1 and {Gs.num_ws} for this model, "
                               f"got {content_layers}")
    appearance = translator.appearance_for(source, appearance)  # 'auto' / None: the zoo's, recorded resolved
    strengths = translator.strengths_for(targets, strength)
    latent_dir = Path(latents) if latents else outdir / "latents"
    mine, _, _ = shard_inputs(inputs, shard)
    settings = {"models": [os.path.abspath(zoo.entries[n].path) for n in [source] + targets],
                "from": source, "to": targets, "modes": modes, "seed": seed,
                "content_layers": content_layers, "trunc": truncation_psi,
                **({"appearance": appearance} if appearance != "input" else {}),
                **({"strength": strengths} if any(a != 1.0 for a in strengths.values()) else {}),
                "reference": [os.path.abspath(r) for r in reference or []],
                "latents": os.path.abspath(latents) if latents else None,
                "method": translator.method, "perceptual": translator.perceptual,
                **{k: v for k, v in sorted(translator.invert_options.items())}}
    steps = translator.inversion_for(source)[1].get("steps")
    if steps is not None:  # resolved, as the appearance: e.g. the refinement steps the zoo records
        settings["steps"] = steps
    settings = json.loads(json.dumps(settings, default=str))
    recorded = check_settings(outdir, settings)
    ref = None
    if reference:  # before the inversion: a bad reference fails at once
        ref = torch.stack([load_image(r, Gs.img_resolution, Gs.img_channels) for r in reference])
    method, options = translator.inversion_for(source)
    inv = invert_folder(Gs, inputs, latent_dir, method=method, D=zoo.discriminator(source),
                        perceptual=translator.perceptual, batch_size=translator.batch_size, shard=shard, log=log,
                        progress=progress, **options)
    if not recorded:  # after the inversion: an input that cannot be read leaves no settings behind
        atomic_write_text(outdir / SETTINGS, json.dumps(settings, indent=2, sort_keys=True) + "\n")
    done = skipped = 0
    bar = tqdm(mine, desc="translate", unit="img", disable=None if progress else True, dynamic_ncols=True)
    for f, n in bar:
        code = latent_dir / f"{n}.npz"
        if (outdir / n / "grid.png").exists():
            skipped += 1
            continue
        if not code.exists():  # unreadable input, reported by invert_folder
            continue
        image = load_image(f, Gs.img_resolution, Gs.img_channels)[None]
        recon = load_image(latent_dir / f"{n}.png", Gs.img_resolution, Gs.img_channels)[None]
        inversion = inversion_from_code(code, recon, method)
        res = translator.translate(image, to=targets, source=source, modes=modes, seed=seed,
                                   content_layers=content_layers, truncation_psi=truncation_psi, reference=ref,
                                   inversion=inversion, appearance=appearance, strength=strength)
        for t, out in res.outputs.items():
            for j, label in enumerate(res.labels[t]):
                save_image(to_uint8(out[0, j]), outdir / n / output_name(t, j, label))
        save_image(grid_rows(image, recon, res.outputs, 0), outdir / n / "grid.png")
        done += 1
        log(f"translated {n} into {', '.join(targets)}")
    # Every finished grid of the job (all shards), as on disk now.
    finished = [n for _, n in shard_inputs(inputs, "0/1")[0]
                if (outdir / n / "grid.png").exists()]
    labels = ["translation"] + [f"seed {s}" for s in range(seed, seed + modes)] + \
             ([f"reference {i}" for i in range(len(reference))] if reference else [])
    index = write_index(outdir, sorted(finished), targets, labels)
    return {"done": done, "skipped": skipped, "failed": inv["failed"], "index": str(index), "targets": targets}

"""The embedded demo: text (or glyph images) -> inverted with the shipped base glyph model ->
translated into every shipped style. Needs nothing beyond the package: no fonts, no network,
no metric weights (the default perceptual loss, invert/options.py, is pixel + gradient on a CPU)."""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from stylebridge.data.images import labelled_grid, list_images, load_image, save_image
from stylebridge.invert.options import DEFAULT_PERCEPTUAL, DEMO_STEPS
from stylebridge.train.strength import strength_label
from stylebridge.translate import Translator, Zoo
from stylebridge.translate.references import load_references, reference_row
from stylebridge.utils.io import atomic_write_text


@dataclass
class DemoResult:
    grid: Path
    page: Path
    rows: list[str]
    seconds: dict[str, float] = field(default_factory=dict)
    content_accuracy: dict[str, float] = field(default_factory=dict)


def glyph_inputs(text: str | None, images: Sequence[str | Path] | None,
                 resolution: int) -> tuple[torch.Tensor, list[str]]:
    if images:
        files = [f for p in images for f in list_images(p)]  # files, or the images of folders
        x = torch.stack([load_image(p, resolution, 1) for p in files])
        if x.mean() > 0:  # dark ink on light paper: the models draw light ink on black
            x = -x
        return x, [p.stem for p in files]
    from stylebridge.data.glyphs import render_text_glyphs, to_unit_range

    arr, chars = render_text_glyphs(text or "Hello", size=resolution)
    return torch.from_numpy(to_unit_range(arr)), chars


def run_demo(zoo: Zoo, out: str | Path, text: str | None = "Hello", images: Sequence[str | Path] | None = None,
             to="all", modes: int = 0, steps: int | None = None, seed: int = 0, scale: int = 3,
             log: Callable[[str], None] = print, perceptual: str = DEFAULT_PERCEPTUAL,
             progress: bool = False, method: str | None = None, references: bool = True,
             appearance: str | None = None, strength: float | dict[str, float] | None = None) -> DemoResult:
    """`images`: glyph image files or folders of them (instead of `text`). `progress`: a tqdm
    bar of the inversion steps on stderr, shown only when stderr is a terminal. `steps`: W+ steps
    (default DEMO_STEPS), or with method 'encoder' the refinement steps (default: the
    zoo's record, `Zoo.default_encoder_steps`). `method` None: the zoo's (its encoder where it lists one);
    `appearance` None: the zoo's for that inversion (translate/options.py); `strength` None:
    each style's zoo record (`Zoo.default_strength`).
    `references`: under each style's rows, the same characters in a real held-out font of that
    style, when the zoo ships them (zoo.json "references") and the inputs are known characters."""
    from tqdm import tqdm

    out = Path(out)
    method = method or zoo.default_method()
    if steps is None:
        steps = zoo.default_encoder_steps() if method == "encoder" else DEMO_STEPS
    t = {}
    t0 = time.perf_counter()
    G = zoo[zoo.base]
    targets = zoo.resolve(to, exclude=zoo.base)
    for name in targets:
        zoo[name]
    t["load models"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    x, labels = glyph_inputs(text, images, G.img_resolution)
    t["render input"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tr = Translator(zoo, method=method, perceptual=perceptual, batch_size=len(x), steps=steps, seed=seed)
    with tqdm(total=steps, desc="invert", unit="step", disable=None if progress else True, dynamic_ncols=True) as bar:
        def tick(step, idx, *_):
            bar.update(step + 1 - bar.n)
        inversion = tr.invert(zoo.base, x, callback=tick if not bar.disable else None)
        bar.update(steps - bar.n)  # early stopping ends sooner
    t["invert"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = tr.translate(x, to=targets, modes=modes, seed=seed, inversion=inversion, appearance=appearance,
                       strength=strength)
    t["translate"] = time.perf_counter() - t0
    rows, names = [x, inversion.reconstruction], ["input", "reconstruction"]
    refs = load_references(zoo) if references else {}
    for name in targets:
        a = res.strengths[name]
        shown = strength_label(name, a)  # drawn at a style strength: the label says so
        for j, label in enumerate(res.labels[name]):
            rows.append(res.outputs[name][:, j])
            names.append(shown if j == 0 else f"{shown} ({label})")
        real = reference_row(refs.get(name), labels, x)
        if real is not None:
            rows.append(real)
            names.append(f"{name}: real ({refs[name][2]})")
    img = labelled_grid(torch.cat(rows), nrow=len(x), labels=names, padding=1, pad_value=-0.6, scale=scale,
                        font_size=4 * scale + 2)
    grid_path = save_image(img, out)
    page = out.with_suffix(".html")
    atomic_write_text(page, _page(grid_path.name, names, labels, t))
    res_acc = _content_accuracy(res, labels, targets, inversion.reconstruction)
    for k, v in t.items():
        log(f"{k:>15s}: {v:6.2f} s")
    return DemoResult(grid_path, page, names, t, res_acc)


def _content_accuracy(res, labels, targets, recon) -> dict[str, float]:
    """Share of outputs the shipped glyph classifier reads as the input character (merged
    look-alike groups); only for inputs among the 62 known characters."""
    from stylebridge.data.glyphs import CHAR_TO_LABEL
    from stylebridge.metrics.glyph_classifier import accuracies, load_glyph_classifier

    known = [i for i, c in enumerate(labels) if c in CHAR_TO_LABEL]
    if not known:
        return {}
    clf = load_glyph_classifier()
    y = [CHAR_TO_LABEL[labels[i]] for i in known]
    acc = {"reconstruction": accuracies(clf.predict(recon[known].clamp(-1, 1)), y)["merged"]}
    for name in targets:
        acc[name] = accuracies(clf.predict(res.outputs[name][known, 0].clamp(-1, 1)), y)["merged"]
    return acc


def _page(grid: str, rows: list[str], labels: list[str], seconds: dict[str, float]) -> str:
    row_list = "".join(f"<li>{html.escape(r)}</li>" for r in rows)
    times = ", ".join(f"{html.escape(k)} {v:.1f} s" for k, v in seconds.items())
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>stylebridge demo</title>
<style>body{{font-family:sans-serif;margin:1.5em;background:#fafafa}} \
img{{image-rendering:pixelated;border:1px solid #ccc}}</style>
</head><body><h1>stylebridge demo: {html.escape("".join(labels))}</h1>
<p>One base glyph model, several styles derived from it by fine-tuning with a frozen mapping network
(and layer swap). Each input glyph is inverted once with the base model; the same latent code drawn
by every style model gives the rows below.</p>
<img src="{html.escape(grid)}" alt="demo grid"><p>Rows, top to bottom:</p><ol>{row_list}</ol>\
<p>Timings: {times}.</p></body></html>
"""

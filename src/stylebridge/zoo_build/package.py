"""Shipping the glyph zoo: the chosen variant of each domain, swapped with the base and
saved in fp16, with the zoo.json manifest `Zoo.from_dir` reads.

The zoo ships in fp16, as the fine-tuned models came back from export. The base is rounded
to fp16 before any swap (`shipping_base`), so that what eval_zoo measures is bit for bit
what ships. (`stylebridge swap` / `train.swap.swap_checkpoints` keeps full precision: it
swaps what it is given.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from stylebridge.data.glyphs import CHARS
from stylebridge.encoder.network import base_hash, read_encoder
from stylebridge.errors import StylebridgeError
from stylebridge.formats import load_checkpoint, round_to, save_checkpoint
from stylebridge.networks.stylegan2 import Generator
from stylebridge.train.loop import find_snapshot
from stylebridge.train.strength import check_strength
from stylebridge.train.swap import swap_layers
from stylebridge.translate.zoo import MANIFEST, check_encoder_entry, read_manifest, write_manifest
from stylebridge.utils.io import atomic_copy, atomic_path, atomic_write_text
from stylebridge.zoo_build.stages import ARCH, BASE_PHASES, FT_ITERS, base_run, latest_iters
from stylebridge.zoo_build.variants import DOMAINS, chosen_row, variant_name

SHIP_DTYPE = torch.float16
ENCODER_FILE = "encoder.safetensors"
STRENGTH_NOTE = ("translations draw it at this many times its fine-tuning step from the base (train/swap.py "
                 "with_strength): chosen on held-out validation glyphs by issue 16's bar (benchmarks/exp_strength.py, "
                 "TRAINING.md)")
DESCRIPTIONS = {"base": "ordinary text fonts: serif, sans, slab, mono", "script": "script and handwriting",
                "pixel": "pixel / bitmap fonts", "outline": "outline letters",
                "blackletter": "blackletter: textura and fraktur (few-shot: 12 fonts)"}


def shipping_base(models: Path) -> Generator:
    """G_ema of MODELS/base.safetensors, rounded to the shipped precision (in place)."""
    return round_to(load_checkpoint(models / "base.safetensors").G_ema, SHIP_DTYPE)


def base_recipe(work: Path, phases=BASE_PHASES) -> str:
    """How the base in WORK was trained, for the manifest: from scratch or from the checkpoint
    its first phase started from, and the iterations of each phase (the last phase's as far
    as its run got: a run stopped early ships its last snapshot)."""
    iters = [p["iters"] for p in phases]
    iters[-1] = latest_iters(base_run(work, phases)) or iters[-1]
    first = work / "base"  # the first phase's run: its snapshots record what it started from
    began = str(load_checkpoint(find_snapshot(first)).extra.get("training", {}).get("base", "config")) \
        if latest_iters(first) else "config"
    start = "trained from scratch" if began.startswith("config") else f"continued from {Path(began).name}"
    return f"{start} ({ARCH}, {' + '.join(map(str, iters))} iterations in {len(phases)} phase(s))"


def shipped_generator(base: Generator, finetuned: Generator, swap: int) -> Generator:
    """A domain's model as shipped: the fine-tune layer-swapped with the (rounded) base at
    `swap` px, or the fine-tune itself for swap 0."""
    return swap_layers(base, finetuned, swap) if swap else finetuned


def stage_package(work: Path, variants: dict[str, tuple[int, int] | str | None], dest: Path,
                  recipe_note: str = "", phases=BASE_PHASES, strengths: dict[str, float] | None = None,
                  encoder: Path | None = None, encoder_entry: dict | None = None) -> None:
    """Ship G_ema of the base and, per domain, FC-FT swapped at the chosen resolution (fp16),
    variants[style] = (swap resolution, iterations): resolution 0 is no swap, iterations 0
    the final snapshot; None: the domain does not ship; 'keep': DEST's model of that domain
    and its manifest entry stay. A manifest records each recipe (`recipe_note` appended to
    the new ones) and, from WORK/eval.json, its measurements. `phases`: the base's recipe
    (stages.BASE_RECIPES), for the manifest. `strengths`: style -> the style strength its newly
    packaged model is drawn at (measured on validation glyphs: benchmarks/exp_strength.py).
    `encoder`: an encoder file trained for this base, shipped as DEST/encoder.safetensors with the
    manifest entry `encoder_entry` (recipe, appearance, refinement steps: translate/zoo.py);
    without it, an encoder DEST's manifest lists stays listed only when it was trained for this
    base."""
    strengths = dict(strengths or {})
    stray = [s for s in strengths if not isinstance(variants.get(s, (0, 0)), tuple)]
    if stray:
        raise StylebridgeError(f"--strength {', '.join(stray)}: only a newly packaged style takes a strength "
                               "(a kept one keeps its recorded strength; an off one does not ship)")
    for style, a in strengths.items():
        try:
            check_strength(a)
        except StylebridgeError as e:
            raise StylebridgeError(f"--strength {style}: {e}") from None
    if encoder is not None and not encoder.is_file():
        raise StylebridgeError(f"--encoder {encoder}: no such file")
    if encoder is not None:
        check_encoder_entry(encoder_entry or {}, "--encoder-entry")
    dest.mkdir(parents=True, exist_ok=True)
    evaluation = json.loads((work / "eval.json").read_text()) if (work / "eval.json").exists() else {}
    before = read_manifest(dest)["models"] if (dest / MANIFEST).exists() else {}
    kept = [s for s, c in variants.items() if c == "keep"]
    missing = [s for s in kept if s not in before or not (dest / before[s]["file"]).is_file()]
    if missing:
        raise StylebridgeError(f"--choose ...=keep: {dest} ships no model for {', '.join(missing)}")
    base = shipping_base(work / "models")
    if encoder is not None and read_encoder(encoder)[0].base_hash != base_hash(base):
        raise StylebridgeError(f"--encoder {encoder} was trained for another base than {work / 'models'}'s (rounded "
                               "to fp16, as it ships): train it on that base (`stylebridge encoder train BASE --init "
                               "FILE --new-base`)")
    if kept and base_hash(load_checkpoint(dest / "base.safetensors").G_ema) != base_hash(base):
        raise StylebridgeError(f"--choose ...=keep: {dest}'s models derive from another base than "
                               f"{work / 'models' / 'base.safetensors'}; re-train them or package all anew")
    # The base ships with its discriminator: new styles can then be fine-tuned from the shipped
    # base by the paper's recipe (G and D from the base). Without it a fresh D had to learn
    # from scratch, and the fine-tunes' fine layers drifted (TRAINING.md, session 7).
    save_checkpoint(dest / "base.safetensors", G_ema=base, D=load_checkpoint(work / "models" / "base.safetensors").D,
                    dtype=SHIP_DTYPE)
    recipe = base_recipe(work, phases)
    models = {"base": {"file": "base.safetensors", "description": DESCRIPTIONS["base"], "recipe": recipe}}
    for old in dest.glob("*.safetensors"):  # a domain shipped before and dropped now must not linger
        if old.stem != "base" and variants.get(old.stem, 0) is None:
            old.unlink()
    for style in DOMAINS:
        choice = variants.get(style, (0, 0))
        if choice is None:
            print("not shipped:", style)
            continue
        if choice == "keep":  # with its recorded style strength: what eval.json measured it at
            models[style] = _measured(before[style], evaluation.get(chosen_row(style, choice)))
            continue
        r, it = choice
        model = variant_name(style, "fcft", it)
        ft = load_checkpoint(work / "models" / f"{model}.safetensors").G_ema
        save_checkpoint(dest / f"{style}.safetensors", G_ema=shipped_generator(base, ft, r), dtype=SHIP_DTYPE)
        # A new model is drawn as trained until its strength is measured (benchmarks/exp_strength.py).
        entry = {"file": f"{style}.safetensors", "description": DESCRIPTIONS[style],
                 "recipe": f"FC-FT (frozen mapping, {it or FT_ITERS} iterations, ADA)" + (f" + LS {r} px" if r else "")
                 + recipe_note}
        if style in strengths:
            entry.update(strength=strengths[style], strength_note=STRENGTH_NOTE)
        models[style] = _measured(entry, evaluation.get(chosen_row(style, choice)))
    manifest = {"name": "glyphs", "kind": "glyphs", "base": "base", "resolution": 32, "models": models}
    if encoder is not None:
        atomic_copy(encoder, dest / ENCODER_FILE)
        manifest["encoder"] = {**(encoder_entry or {}), "file": ENCODER_FILE}
    elif (dest / MANIFEST).exists():  # an encoder trained for this base stays listed; references are rewritten
        enc = read_manifest(dest).get("encoder")
        if enc and (dest / enc["file"]).is_file():
            if read_encoder(dest / enc["file"])[0].base_hash == base_hash(base):
                manifest["encoder"] = enc
            else:
                print(f"not listed: encoder {enc['file']} (trained for another base; train one with "
                      "`stylebridge encoder train BASE --init FILE --new-base`)")
    write_manifest(dest, manifest)
    if (work / "data").is_dir():
        stage_references(work / "data", dest)
    if evaluation:
        atomic_write_text(dest / "eval.json", json.dumps(evaluation, indent=2) + "\n")
    print("packaged", dest, sum(p.stat().st_size for p in dest.glob("*.safetensors")) / 1e6, "MB")


def _measured(entry: dict, row: dict | None) -> dict:
    """A manifest entry with its eval.json measurements (when measured)."""
    entry = {k: v for k, v in entry.items() if k not in ("content_accuracy", "style_accuracy", "realism_fid")}
    if row:
        entry.update(content_accuracy=round(row["content"]["merged"], 3), style_accuracy=round(row["style"], 3),
                     realism_fid=round(row["realism_fid"], 1))
    return entry


REFERENCES_FILE = "references.npz"


def pick_reference_font(images: np.ndarray, labels: np.ndarray, font_ids: np.ndarray, fonts: np.ndarray
                        ) -> tuple[str, np.ndarray, np.ndarray]:
    """The held-out font of a domain that draws the most of the 62 characters (first in the
    file's order on ties): (its name, uint8 [62, 1, R, R] in label order, present [62])."""
    counts = [len(np.unique(labels[font_ids == i])) for i in range(len(fonts))]
    best = int(np.argmax(counts))
    out = np.zeros((len(CHARS), *images.shape[1:]), dtype=np.uint8)
    present = np.zeros(len(CHARS), dtype=bool)
    for img, lab in zip(images[font_ids == best], labels[font_ids == best]):
        out[lab], present[lab] = img, True
    return str(fonts[best]), out, present


def stage_references(data: Path, dest: Path) -> Path:
    """DEST/references.npz: for every style the zoo ships, the 62 glyphs of one held-out font
    of that style (DATA/STYLE_heldout.npz, never seen by any model), so that the demo can show
    the real thing under each translation; listed in zoo.json as "references"."""
    manifest = read_manifest(dest)
    arrays: dict[str, np.ndarray] = {}
    for style in manifest["models"]:
        if style == manifest["base"] or not (data / f"{style}_heldout.npz").is_file():
            continue
        with np.load(data / f"{style}_heldout.npz") as d:
            font, imgs, present = pick_reference_font(d["images"], d["labels"], d["font_ids"], d["fonts"])
        arrays.update({f"{style}/images": imgs, f"{style}/present": present, f"{style}/font": np.array(font)})
    path = dest / REFERENCES_FILE
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    manifest["references"] = {"file": REFERENCES_FILE, "description": "real glyphs of one held-out font per style"}
    write_manifest(dest, manifest)
    return path

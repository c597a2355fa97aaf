"""The paper's ablation on the glyph domains (issue 8): for each target domain, content
accuracy and realism of FT (mapping trained), FC-FT (frozen mapping) and FC-FT + LS at each
swap resolution, plus the model distances (Table I analogue). scripts/eval_zoo.py is the
command line; `variants.choose` reads the rows this writes.

* inputs: glyphs of held-out BASE fonts (never seen by any model or by the classifier's
  training), inverted once with the base model: by the base's encoder with its default
  feedback passes (the shipped default inversion), or by an optimisation (W+, pixel +
  gradient loss); each target draws the codes with the chosen appearance (translate/
  options.py: the input's own code, or the target's mean w after the content layers);
* content accuracy: share of translations the glyph classifier reads as the input's
  character (merged look-alike groups, see metrics/glyph_classifier.py); the classifier's
  accuracy on real held-out glyphs of the target domain is the ceiling;
* realism: FID in the classifier's 128-d feature space between the translations and the
  target domain's held-out real glyphs; "real" is the FID between the domain's training
  and held-out real glyphs (the floor);
* style accuracy: share of translations a 5-way style classifier (trained here, on the
  training fonts of every domain) reads as the target style; its accuracy on the held-out
  real glyphs of that style is the ceiling, the untranslated inputs give the floor;
* samples: the model's own random samples (characters seen, commonest share, FID against the
  held-out real glyphs of its domain): whether the model itself learned its domain;
* model distance: Eq. 1, LPIPS-VGG between base(z) and model(z) with the same z and noise.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from stylebridge.data.glyphs import to_unit_range
from stylebridge.encoder.network import load_encoder
from stylebridge.errors import StylebridgeError
from stylebridge.formats import load_checkpoint
from stylebridge.invert.api import invert, render
from stylebridge.invert.options import ENCODER_METHOD
from stylebridge.metrics.distance import model_distance
from stylebridge.metrics.glyph_classifier import (
    GlyphClassifierConfig,
    accuracies,
    features,
    load_glyph_classifier,
    train_glyph_classifier,
)
from stylebridge.metrics.lpips import load_lpips
from stylebridge.metrics.stats import fid_from_features as fid
from stylebridge.train.swap import with_strength
from stylebridge.translate.options import APPEARANCES
from stylebridge.translate.translator import Translator, default_content_layers, with_mean_appearance
from stylebridge.translate.zoo import Zoo
from stylebridge.zoo_build.package import shipped_generator, shipping_base
from stylebridge.zoo_build.variants import DOMAINS, SHIPPED, STYLES, SWAPS, parse_variant, variant_name


def load_glyphs(data: Path, style: str, split: str) -> tuple[torch.Tensor, np.ndarray]:
    """DATA/STYLE_SPLIT.npz (scripts/train_zoo.py data) -> images in [-1, 1], labels."""
    with np.load(data / f"{style}_{split}.npz") as d:
        return torch.from_numpy(to_unit_range(d["images"])), d["labels"]


def train_style_classifier(data: Path, epochs: int = 3) -> tuple[torch.nn.Module, dict[str, float]]:
    """A 5-way style classifier (base and the four target styles) on the training fonts of
    every domain, domains drawn equally often. The glyph classifier reads characters and is
    trained to ignore style; this one tells styles apart, so it measures "recognisably that
    style". Returns the model and its accuracy on each domain's held-out fonts."""
    xs = [np.load(data / f"{st}_train.npz")["images"] for st in STYLES]
    y = np.concatenate([np.full(len(a), i) for i, a in enumerate(xs)])
    w = np.concatenate([np.full(len(a), 1.0 / len(a)) for a in xs])
    cfg = GlyphClassifierConfig(channels=(8, 16, 32), feature_dim=64, num_classes=len(STYLES))
    model, _ = train_glyph_classifier(np.concatenate(xs), y, weights=w, config=cfg, epochs=epochs, seed=0, log=None)
    acc = {st: float((np.asarray(model.predict(np.load(data / f"{st}_heldout.npz")["images"])) == i).mean())
           for i, st in enumerate(STYLES)}
    return model, acc


def style_share(model: torch.nn.Module, x: torch.Tensor, style: str) -> float:
    """Share of images the style classifier assigns to `style`."""
    return float((np.asarray(model.predict(x)) == STYLES.index(style)).mean())


def sample_stats(G: torch.nn.Module, clf, f_heldout: np.ndarray, n: int = 1000) -> dict:
    """The model's own random samples (psi 1, seeds fixed): how many of the 62 characters
    the classifier sees among them, the commonest one's share (mode collapse shows here), and
    their FID against the domain's held-out real glyphs."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        x = torch.cat([G(torch.randn(250, G.z_dim, generator=g), None, noise_mode="const").clamp(-1, 1)
                       for _ in range(n // 250)])
    return image_stats(x, clf, f_heldout)


def image_stats(x: torch.Tensor, clf, f_heldout: np.ndarray) -> dict:
    """sample_stats' measures of any glyph images x [N, 1, R, R] in [-1, 1] (e.g. N real
    training glyphs: the floor the samples are judged against)."""
    _, counts = np.unique(np.asarray(clf.predict(x)), return_counts=True)
    return {"chars": int(len(counts)), "top_share": float(counts.max() / counts.sum()),
            "fid": fid(features(x, clf), f_heldout)}


def load_variants(models: Path) -> dict[str, torch.nn.Module]:
    """'base' (rounded as shipped) and every exported variant in MODELS (train_zoo.py export),
    each FC-FT one also swapped at every resolution of SWAPS, by variant name; STYLE-shipped
    (the model the zoo ships now, train_zoo.py export --shipped) as it is."""
    base = shipping_base(models)
    variants: dict[str, torch.nn.Module] = {"base": base}
    for style in DOMAINS:
        for v in ("ft", "fcft"):
            p = models / f"{variant_name(style, v)}.safetensors"
            if p.exists():
                variants[variant_name(style, v)] = load_checkpoint(p).G_ema
        for p in sorted(models.glob(f"{style}-fcft[0-9]*.safetensors"), key=lambda p: parse_variant(p.stem)[2]):
            variants[p.stem] = load_checkpoint(p).G_ema  # earlier snapshots (train_zoo.py export --snapshots)
        for name in [k for k in variants if k.startswith(f"{style}-fcft")]:
            for r in SWAPS:
                variants[f"{name}-ls{r}"] = shipped_generator(base, variants[name], r)
        p = models / f"{style}-{SHIPPED}.safetensors"
        if p.exists():
            variants[p.stem] = load_checkpoint(p).G_ema
    return variants


def evaluate_zoo(models: Path, data: Path, *, inputs: int = 310, steps: int = 200, only: str = "",
                 method: str = "wplus", encoder: Path | None = None, appearance: str = "input",
                 distance_samples: int = 500, samples: int = 1000,
                 strengths: dict[str, float] | None = None, precision: str = "fp32", refine: int = 0) -> dict:
    """eval.json's rows: '_meta' and one row per variant (see the module docstring). Method
    'encoder' inverts with the encoder file `encoder` (trained for MODELS' base); `appearance`
    is what the targets draw after the content layers; `samples`: each model's own samples
    measured (a multiple of 250); `strengths`: style -> the style strength its STYLE-shipped row
    is drawn at (train/swap.py `with_strength` from MODELS' base; the shipped zoo's record),
    every other row as trained; `precision`: the optimisations' arithmetic (fp32 or bf16);
    `refine`: with method 'encoder', that many W+ steps from the encoder's codes (pixel loss). The
    optimisations draw from torch's global RNG: seed it first to repeat a run."""
    if method == ENCODER_METHOD and encoder is None:
        raise StylebridgeError("method encoder needs the base's encoder file (--encoder)")
    if refine and method != ENCODER_METHOD:
        raise StylebridgeError(f"refine: W+ steps from an encoder's codes, for method encoder, not {method} "
                               "(its steps are `steps`)")
    if appearance not in APPEARANCES:
        raise StylebridgeError(f"appearance must be one of {', '.join(APPEARANCES)}, got {appearance!r}")
    clf = load_glyph_classifier()
    variants = load_variants(models)
    base = variants["base"]
    if only:
        keep = set(only.split(",")) | {"base"}
        variants = {k: v for k, v in variants.items() if k in keep}
    x, y = load_glyphs(data, "base", "heldout")
    idx = np.random.RandomState(0).choice(len(x), min(inputs, len(x)), replace=False)
    x, y = x[idx], y[idx]
    t0 = time.time()
    # FT models do not share the mapping: the zoo check would refuse them, so the FT rows
    # translate with the same W+ code directly (what the paper's FT row measures).
    if method == ENCODER_METHOD:  # its default feedback passes, as translate, the demo and the app
        inversion = invert(base, x, ENCODER_METHOD, encoder=load_encoder(encoder, base), batch_size=64,
                           perceptual="pixel", steps=refine, precision=precision)
    else:
        zoo = Zoo.from_models({k: v for k, v in variants.items() if not k.endswith("-ft")}, base="base")
        inversion = Translator(zoo, method=method, perceptual="pixel", batch_size=64, steps=steps,
                               precision=precision).invert("base", x)
    t_inv = time.time() - t0
    k = default_content_layers(base)
    rows = {"_meta": {"inputs": len(x), "inversion_seconds": t_inv, "steps": steps, "method": method,
                      "precision": precision if method != ENCODER_METHOD or refine else None,
                      "refine": refine if method == ENCODER_METHOD else None,
                      "encoder": encoder.name if encoder is not None else None, "appearance": appearance,
                      "content_layers": k,
                      "reconstruction": accuracies(clf.predict(inversion.reconstruction.clamp(-1, 1)), y)}}
    lp = load_lpips("vgg", "cpu")
    t0 = time.time()
    style_clf, style_ceiling = train_style_classifier(data)
    rows["_meta"]["style_classifier"] = {"heldout_accuracy": style_ceiling, "seconds": time.time() - t0}
    print("style classifier, held-out accuracy:", json.dumps(style_ceiling), flush=True)
    f_inputs = features(x, clf)
    per_style: dict[str, dict] = {}  # what depends only on the domain, measured once per domain

    def domain(style: str) -> dict:
        if style not in per_style:
            real_ho, y_ho = load_glyphs(data, style, "heldout")
            f_ho = features(real_ho, clf)
            per_style[style] = {"f_ho": f_ho, "reference": {} if style == "base" else {
                "source_style": style_share(style_clf, x, style),  # untranslated inputs read as this style
                "style_ceiling": style_ceiling[style],
                "real_floor_fid": fid(features(load_glyphs(data, style, "train")[0], clf), f_ho),
                "source_fid": fid(f_inputs, f_ho),  # untranslated inputs vs the target domain
                "classifier_ceiling": accuracies(clf.predict(real_ho), y_ho)}}
        return per_style[style]

    for name, G in variants.items():
        style = parse_variant(name)[0] if name != "base" else "base"
        strength = (strengths or {}).get(style, 1.0) if name == f"{style}-{SHIPPED}" else 1.0
        G = with_strength(base, G, strength)
        dom = domain(style)
        ws = with_mean_appearance(G, inversion.ws, k) if appearance == "mean" and style != "base" else inversion.ws
        out = render(G, ws, inversion.noise).clamp(-1, 1)
        row = {"content": accuracies(clf.predict(out), y)}
        row["samples"] = sample_stats(G, clf, dom["f_ho"], n=samples)
        if strength != 1.0:
            row["strength"] = strength
        if style != "base":
            row["realism_fid"] = fid(features(out, clf), dom["f_ho"])
            row["style"] = style_share(style_clf, out, style)
            row.update(dom["reference"])
            if distance_samples > 0:
                d = model_distance(base, G, samples=distance_samples, seed=0, batch_size=100, lpips_net=lp)
                row["distance"] = {k: d[k] for k in ("distance", "sem")}
        rows[name] = row
        print(name, json.dumps(row), flush=True)
    return rows

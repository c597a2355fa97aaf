"""The paper's ablation on the glyph domains (issue 8): for each target domain, content
accuracy and realism of FT (mapping trained), FC-FT (frozen mapping) and FC-FT + LS at each
swap resolution, plus the model distances (Table I analogue).

    python scripts/eval_zoo.py --models runs/zoo/models --data runs/zoo/data --out runs/zoo/eval.json

* inputs: glyphs of held-out BASE fonts (never seen by any model or by the classifier's
  training), inverted once with the base model (W+, pixel + gradient loss);
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

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from stylebridge.formats import load_checkpoint, round_to
from stylebridge.metrics.glyph_classifier import accuracies, load_glyph_classifier
from stylebridge.metrics.stats import fid_from_features as fid
from stylebridge.train.swap import swap_layers
from stylebridge.translate import Translator, Zoo

DOMAINS = ("script", "pixel", "outline", "blackletter")
STYLES = ("base",) + DOMAINS  # the style classifier's classes
SWAPS = (4, 8, 16)


def parse_variant(name: str) -> tuple[str, str, int, int]:
    """'outline-fcft750-ls16' -> ('outline', 'fcft', 750, 16): style, variant (ft / fcft),
    the snapshot's iterations (0: the final one) and the swap resolution (0: no swap)."""
    style, model, *swap = name.split("-")
    variant = "fcft" if model.startswith("fcft") else model
    return style, variant, int(model.removeprefix(variant) or 0), int(swap[0].removeprefix("ls")) if swap else 0


def load(data: Path, style: str, split: str):
    with np.load(data / f"{style}_{split}.npz") as d:
        return torch.from_numpy(d["images"]).float() / 127.5 - 1, d["labels"]


def feats(clf, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return torch.cat([clf.features(x[i:i + 512]) for i in range(0, len(x), 512)]).double().numpy()


def train_style_classifier(data: Path, epochs: int = 3) -> tuple[torch.nn.Module, dict[str, float]]:
    """A 5-way style classifier (base and the four target styles) on the training fonts of
    every domain, domains drawn equally often. The glyph classifier reads characters and is
    trained to ignore style; this one tells styles apart, so it measures "recognisably that
    style". Returns the model and its accuracy on each domain's held-out fonts."""
    from stylebridge.metrics.glyph_classifier import GlyphClassifierConfig, train_glyph_classifier

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
    _, counts = np.unique(np.asarray(clf.predict(x)), return_counts=True)
    return {"chars": int(len(counts)), "top_share": float(counts.max() / counts.sum()),
            "fid": fid(feats(clf, x), f_heldout)}


def markdown_table(rows: dict) -> str:
    """The README's ablation table from eval.json."""
    out = ["| domain | variant | content acc. (merged) | style acc. | realism FID (classifier space) "
           "| own samples: chars / FID | model distance to base |", "|---|---|---|---|---|---|---|"]
    names = {"ft": "FT (mapping trained)", "fcft": "FC-FT"}
    for style in DOMAINS:
        ref = None
        for name, r in rows.items():
            if not name.startswith(style + "-"):
                continue
            _, variant, it, swap = parse_variant(name)
            label = names[variant] + (f" ({it} it.)" if it else "") + (f" + LS {swap} px" if swap else "")
            d, smp = r.get("distance"), r["samples"]
            dist = f"{d['distance']:.4f} ± {d['sem']:.4f}" if d else ""
            out.append(f"| {style} | {label} | {r['content']['merged']:.3f} | {r.get('style', float('nan')):.3f} "
                       f"| {r['realism_fid']:.1f} | {smp['chars']} / {smp['fid']:.1f} | {dist} |")
            ref = r
        if ref is not None:
            st = (f"real {ref['style_ceiling']:.3f} / inputs {ref['source_style']:.3f}" if "style" in ref else "")
            out.append(f"| {style} | *reference* | ceiling {ref['classifier_ceiling']['merged']:.3f} | {st} "
                       f"| real {ref['real_floor_fid']:.1f} / untranslated inputs {ref['source_fid']:.1f} | | |")
    b = rows["base"]
    out.append(f"| base | *base model* | reconstruction {b['content']['merged']:.3f} | | | "
               f"{b['samples']['chars']} / {b['samples']['fid']:.1f} | |")
    return "\n".join(out)


def choose(rows: dict, min_content: float = 0.90, min_gain: float = 0.10) -> dict[str, str]:
    """Per domain, among the FC-FT variants (no swap, or LS at some resolution) whose content
    accuracy (merged) is at least `min_content`, the one whose outputs the style classifier
    most often reads as the target style (ties: the larger model distance); when none keeps
    enough content, the one that keeps the most. A domain ships only when translating adds
    its style: that variant's style accuracy exceeds the untranslated inputs' by at least
    `min_gain`; otherwise it is 'off'.
    Earlier snapshots of the fine-tune (STYLE-fcftN: N iterations) compete alike.
    -> {style: 'lsR' | 'lsR@N' | 'off'} ('ls0': no swap; '@N': the N-iteration snapshot)"""
    out = {}
    for style in DOMAINS:
        cands = {k: r for k, r in rows.items() if k.startswith(f"{style}-fcft")}
        if not cands:
            continue
        ok = {k: r for k, r in cands.items() if r["content"]["merged"] >= min_content}
        best = (max(ok, key=lambda k: (ok[k].get("style", 0.0), ok[k].get("distance", {}).get("distance", 0.0)))
                if ok else max(cands, key=lambda k: cands[k]["content"]["merged"]))
        r = cands[best]
        if "style" in r and r["style"] - r["source_style"] < min_gain:
            out[style] = "off"
        else:
            _, _, it, swap = parse_variant(best)
            out[style] = f"ls{swap}" + (f"@{it}" if it else "")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="runs/zoo/models")
    ap.add_argument("--data", default="runs/zoo/data")
    ap.add_argument("--out", default="runs/zoo/eval.json")
    ap.add_argument("--inputs", type=int, default=310, help="held-out base glyphs to translate")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--only", default="", help="comma-separated model names to measure (default: all)")
    ap.add_argument("--method", default="wplus", choices=["wplus", "w", "sefa"], help="inversion method")
    ap.add_argument("--distance-samples", type=int, default=500)
    ap.add_argument("--table", action="store_true", help="print the README's markdown table from --out and exit")
    args = ap.parse_args()
    if args.table:
        rows = json.loads(Path(args.out).read_text())
        print(markdown_table(rows))
        print("\nchosen (most style with content >= 0.90; off: adds < 0.10 style): --choose",
              ",".join(f"{k}={v}" for k, v in choose(rows).items()))
        return
    models, data = Path(args.models), Path(args.data)
    torch.manual_seed(0)
    clf = load_glyph_classifier()
    base = load_checkpoint(models / "base.safetensors").G_ema
    round_to(base, torch.float16)  # the zoo ships in fp16, as the fine-tuned models came back: round the base alike
    variants: dict[str, torch.nn.Module] = {"base": base}
    for style in DOMAINS:
        for v in ("ft", "fcft"):
            p = models / f"{style}-{v}.safetensors"
            if p.exists():
                variants[f"{style}-{v}"] = load_checkpoint(p).G_ema
        for p in sorted(models.glob(f"{style}-fcft[0-9]*.safetensors"), key=lambda p: parse_variant(p.stem)[2]):
            variants[p.stem] = load_checkpoint(p).G_ema  # earlier snapshots (train_zoo.py export --snapshots)
        for name in [k for k in variants if k.startswith(f"{style}-fcft")]:
            for r in SWAPS:
                variants[f"{name}-ls{r}"] = swap_layers(base, variants[name], r)
    if args.only:
        keep = set(args.only.split(",")) | {"base"}
        variants = {k: v for k, v in variants.items() if k in keep}
    x, y = load(data, "base", "heldout")
    idx = np.random.RandomState(0).choice(len(x), min(args.inputs, len(x)), replace=False)
    x, y = x[idx], y[idx]
    t0 = time.time()
    # FT models do not share the mapping: the zoo check would refuse them, so the FT rows
    # translate with the same W+ code directly (what the paper's FT row measures).
    zoo = Zoo.from_models({k: v for k, v in variants.items() if not k.endswith("-ft")}, base="base")
    tr = Translator(zoo, method=args.method, perceptual="pixel", batch_size=64, steps=args.steps)
    inversion = tr.invert("base", x)
    t_inv = time.time() - t0
    rows = {"_meta": {"inputs": len(x), "inversion_seconds": t_inv, "steps": args.steps, "method": args.method,
                      "reconstruction": accuracies(clf.predict(inversion.reconstruction.clamp(-1, 1)), y)}}
    from stylebridge.invert.api import render
    from stylebridge.metrics.distance import model_distance
    from stylebridge.metrics.lpips import load_lpips

    lp = load_lpips("vgg", "cpu")
    t0 = time.time()
    style_clf, style_ceiling = train_style_classifier(data)
    rows["_meta"]["style_classifier"] = {"heldout_accuracy": style_ceiling, "seconds": time.time() - t0}
    print("style classifier, held-out accuracy:", json.dumps(style_ceiling), flush=True)
    f_inputs = feats(clf, x)
    per_style: dict[str, dict] = {}  # what depends only on the domain, measured once per domain

    def domain(style: str) -> dict:
        if style not in per_style:
            real_ho, y_ho = load(data, style, "heldout")
            f_ho = feats(clf, real_ho)
            per_style[style] = {"f_ho": f_ho, "reference": {} if style == "base" else {
                "source_style": style_share(style_clf, x, style),  # untranslated inputs read as this style
                "style_ceiling": style_ceiling[style],
                "real_floor_fid": fid(feats(clf, load(data, style, "train")[0]), f_ho),
                "source_fid": fid(f_inputs, f_ho),  # untranslated inputs vs the target domain
                "classifier_ceiling": accuracies(clf.predict(real_ho), y_ho)}}
        return per_style[style]

    for name, G in variants.items():
        style = name.split("-")[0]
        dom = domain(style)
        out = render(G, inversion.ws, inversion.noise).clamp(-1, 1)
        row = {"content": accuracies(clf.predict(out), y)}
        row["samples"] = sample_stats(G, clf, dom["f_ho"])
        if style != "base":
            row["realism_fid"] = fid(feats(clf, out), dom["f_ho"])
            row["style"] = style_share(style_clf, out, style)
            row.update(dom["reference"])
            if args.distance_samples > 0:
                d = model_distance(base, G, samples=args.distance_samples, seed=0, batch_size=100, lpips_net=lp)
                row["distance"] = {k: d[k] for k in ("distance", "sem")}
        rows[name] = row
        print(name, json.dumps(row), flush=True)
    from stylebridge.utils.io import atomic_write_text

    atomic_write_text(Path(args.out), json.dumps(rows, indent=2))
    print("wrote", args.out)


if __name__ == "__main__":
    main()

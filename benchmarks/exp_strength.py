"""How strong should each shipped style be drawn (issue 16)? `with_strength` walks the
fine-tuned synthesis weights `a` times their step from the base (train/swap.py): a > 1 draws
more of the style, at some cost in characters. Per style and strength: content and style
accuracy of the shipped default translation (the encoder's codes, the target's mean w after
the content layers) and realism (FID in the glyph classifier's feature space against the
style's held-out real glyphs), with their shares of the ceilings.

    python benchmarks/exp_strength.py [--n 512] [--strengths 1,1.25,...] [--content-layers K]
    python benchmarks/exp_strength.py --models runs/zoo3fg8/models --names outline-fcft750,script-fcft1000 \
        --steps 350 --strengths 0.5,0.75,1 --data runs/zoo3/data

With --models (a train_zoo.py export folder) the named models are measured instead of the
shipped zoo's, each under its style (the name's first part), from W+ codes of that folder's
base (`--steps` steps, pixel loss, fp32: what eval_zoo --method wplus does) instead of the
shipped encoder's; with `--encoder FILE` too, from that encoder's codes (an encoder trained
for the folder's base as it ships, rounded to fp16), and with `--refine N` those codes after N
W+ steps (pixel loss, fp32).

Measured on exp_content_layers.py's validation glyphs (held-out base fonts that no
benchmark reports on; scripts/eval_zoo.py's 310 test glyphs are left out). The rule that
picks a strength per style (`choose_strength`): the weakest strength that meets issue 16's
bar (zoo_build.variants MIN_CONTENT and STYLE_BAR of the ceilings), else the most style among
the strengths whose content reaches MIN_CONTENT. Prints the table, writes JSON; the zoo's
zoo.json records the chosen strengths.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402
from exp_content_layers import validation_codes  # noqa: E402

from stylebridge.encoder.network import load_encoder  # noqa: E402
from stylebridge.formats import load_checkpoint  # noqa: E402
from stylebridge.invert.api import invert, render  # noqa: E402
from stylebridge.metrics.glyph_classifier import accuracies, features  # noqa: E402
from stylebridge.metrics.stats import fid_from_features as fid  # noqa: E402
from stylebridge.train.swap import with_strength  # noqa: E402
from stylebridge.translate.translator import default_content_layers, with_mean_appearance  # noqa: E402
from stylebridge.zoo_build.evaluation import load_glyphs, style_share  # noqa: E402
from stylebridge.zoo_build.package import shipping_base  # noqa: E402
from stylebridge.zoo_build.variants import MIN_CONTENT, STYLE_BAR  # noqa: E402

RULE = (f"the weakest strength that meets issue 16's bar (content >= {MIN_CONTENT} and style >= {STYLE_BAR} of "
        f"the ceilings), else the one with the most style among those with content >= {MIN_CONTENT}")


def choose_strength(rows: list[dict]) -> float | None:
    """RULE: stay as close to the model as trained as the bar allows; where no strength meets
    it, the most style that keeps the characters."""
    meets = [r for r in rows if r["content_share"] >= MIN_CONTENT and r["style_share"] >= STYLE_BAR]
    if meets:
        return min(r["strength"] for r in meets)
    ok = [r for r in rows if r["content_share"] >= MIN_CONTENT]
    return max(ok, key=lambda r: (r["style_acc"], -r["strength"]))["strength"] if ok else None


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="runs/zoo/data")
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--strengths", default="1,1.25,1.5,1.75,2,2.25,2.5,3")
    ap.add_argument("--content-layers", type=int, default=None, help="k (default: the translator's)")
    ap.add_argument("--styles", default="", help="comma-separated styles (default: every shipped one)")
    ap.add_argument("--models", default=None, help="an export folder: measure its models (--names) instead")
    ap.add_argument("--names", default="", help="with --models: comma-separated model names, e.g. outline-fcft750")
    ap.add_argument("--steps", type=int, default=350, help="with --models: W+ steps of the codes")
    ap.add_argument("--encoder", default=None, help="with --models: codes from this encoder of the base instead of W+")
    ap.add_argument("--refine", type=int, default=0, help="with --encoder: then N W+ steps from its codes (pixel loss)")
    ap.add_argument("--appearance", default="mean", choices=["mean", "input"],
                    help="what the targets draw after the content layers: the target's mean w (the shipped zoo's "
                         "choice for its encoder) or the input's own code (the translator's default for W+)")
    ap.add_argument("--out", default="benchmarks/results/strength.json")
    args = ap.parse_args(argv)
    data = Path(args.data)
    if args.models:
        models = Path(args.models)
        torch.manual_seed(0)
        G = shipping_base(models)
        E = load_encoder(args.encoder, G) if args.encoder else None  # its codes (+ --refine steps), else W+
        method, steps = ("encoder", args.refine) if E is not None else ("wplus", args.steps)
        x, y, clf, style_clf, style_ceiling, ws = validation_codes(
            data, args.n, codes=lambda x: invert(G, x, method, encoder=E, perceptual="pixel", steps=steps,
                                                 batch_size=64).ws)
        targets = {n: load_checkpoint(models / f"{n}.safetensors").G_ema for n in args.names.split(",") if n}
    else:
        zoo, x, y, clf, style_clf, style_ceiling, ws = validation_codes(data, args.n)
        G = zoo[zoo.base]
        targets = {n: zoo[n] for n in (args.styles.split(",") if args.styles else zoo.names) if n != zoo.base}
    k = args.content_layers or default_content_layers(G)
    rows = []
    for name, model in targets.items():
        style = name.split("-")[0]
        real, y_real = load_glyphs(data, style, "heldout")
        ceiling = accuracies(clf.predict(real), y_real)["merged"]
        f_real = features(real, clf)
        for a in [float(s) for s in args.strengths.split(",")]:
            Gt = with_strength(G, model, a)
            with torch.no_grad():
                out = render(Gt, with_mean_appearance(Gt, ws, k) if args.appearance == "mean" else ws).clamp(-1, 1)
            content = accuracies(clf.predict(out), y)["merged"]
            st = style_share(style_clf, out, style)
            rows.append({"style": style, "model": name, "strength": a, "content": content,
                         "content_share": content / ceiling,
                         "style_acc": st, "style_share": st / style_ceiling[style],
                         "realism_fid": fid(features(out, clf), f_real), "ceiling": ceiling,
                         "style_ceiling": style_ceiling[style]})
            print(rows[-1], flush=True)
    chosen = {name: choose_strength([r for r in rows if r["model"] == name])
              for name in dict.fromkeys(r["model"] for r in rows)}
    print_table(rows, ["model", "strength", "content", "content_share", "style_acc", "style_share", "realism_fid"])
    print(f"chosen strength ({RULE}):", chosen)
    result = {"n": len(x), "threads": torch.get_num_threads(), "content_layers": k, "rows": rows,
              "models": args.models, "appearance": args.appearance,
              "codes": (f"encoder {args.encoder}" + (f" + {args.refine} W+ steps" if args.refine else "")
                        if args.encoder else f"W+ {args.steps} steps") if args.models
              else "shipped encoder",
              "chosen": chosen, "rule": RULE}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

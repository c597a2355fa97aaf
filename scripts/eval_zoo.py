"""The paper's ablation on the glyph domains (issue 8): for each target domain, content
accuracy and realism of FT (mapping trained), FC-FT (frozen mapping) and FC-FT + LS at each
swap resolution, plus the model distances (Table I analogue).

    python scripts/eval_zoo.py --models runs/zoo/models --data runs/zoo/data --out runs/zoo/eval.json
    python scripts/eval_zoo.py --table      # the README's table and the --choose for train_zoo.py package

What each column measures: stylebridge/zoo_build/evaluation.py; the rule that chooses what
ships: stylebridge/zoo_build/variants.py (`choose`). This file only reads the command line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from stylebridge.errors import StylebridgeError
from stylebridge.translate.zoo import Zoo
from stylebridge.utils.io import atomic_write_text
from stylebridge.zoo import shipped_zoo_dir
from stylebridge.zoo_build.evaluation import evaluate_zoo
from stylebridge.zoo_build.variants import bar_report, choice_rule, choose, format_choice, markdown_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="runs/zoo/models")
    ap.add_argument("--data", default="runs/zoo/data")
    ap.add_argument("--out", default="runs/zoo/eval.json")
    ap.add_argument("--inputs", type=int, default=310, help="held-out base glyphs to translate")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                    help="the optimisation methods' arithmetic (bf16 at 350 steps reconstructs the v2 base's held-out "
                         "glyphs 0.98 of the time against fp32's 0.91 at 200: TRAINING.md, session 13)")
    ap.add_argument("--refine", type=int, default=None,
                    help="with --method encoder: then this many W+ steps from its codes (default: the shipped zoo's "
                         "record, zoo.json; TRAINING.md, session 15: 50 lift the v2 base's styles over issue 16's bar "
                         "on the validation glyphs)")
    ap.add_argument("--only", default="", help="comma-separated model names to measure (default: all)")
    ap.add_argument("--method", default="encoder", choices=["encoder", "wplus", "w", "sefa"],
                    help="inversion method (default: the shipped default, the base's encoder)")
    ap.add_argument("--encoder", default=None,
                    help="the base's encoder file for --method encoder (default: the shipped zoo's)")
    ap.add_argument("--appearance", default=None, choices=["input", "mean"],
                    help="what the targets draw after the content layers (default: what the shipped zoo records "
                         "for its encoder with --method encoder, else input)")
    ap.add_argument("--strength", default="zoo", choices=["zoo", "1"],
                    help="the STYLE-shipped rows at the style strengths the shipped zoo records (zoo.json), or as "
                         "trained (1)")
    ap.add_argument("--distance-samples", type=int, default=500)
    ap.add_argument("--table", action="store_true", help="print the README's markdown table from --out and exit")
    args = ap.parse_args()
    if args.table:
        rows = json.loads(Path(args.out).read_text())
        print(markdown_table(rows))
        chosen = choose(rows)
        print(f"\nchosen ({choice_rule()}): --choose", format_choice(chosen))
        print("\n".join(bar_report(rows, chosen)))
        return
    torch.manual_seed(0)  # the run's random draws start from here, as they did for eval.json
    shipped = Zoo.from_dir(shipped_zoo_dir())
    encoder = Path(args.encoder) if args.encoder else shipped.encoder_path
    appearance = args.appearance or shipped.default_appearance(args.method)
    refine = args.refine or 0  # another method with --refine N is refused by evaluate_zoo
    if args.method == "encoder" and args.refine is None:  # the zoo's recorded refinement belongs to its encoder
        refine = shipped.default_encoder_steps()
    try:  # e.g. the shipped encoder and a base trained anew: one line, no traceback
        rows = evaluate_zoo(Path(args.models), Path(args.data), inputs=args.inputs, steps=args.steps,
                            only=args.only, method=args.method, encoder=encoder if args.method == "encoder" else None,
                            appearance=appearance, distance_samples=args.distance_samples,
                            strengths={s: shipped.default_strength(s) for s in shipped.names}
                            if args.strength == "zoo" else None, precision=args.precision,
                            refine=refine)
    except StylebridgeError as e:
        hint = "; or measure with --method wplus --appearance input" if args.method == "encoder" else ""
        raise SystemExit(f"{e}{hint}") from None
    atomic_write_text(Path(args.out), json.dumps(rows, indent=2))
    print("wrote", args.out)


if __name__ == "__main__":
    main()

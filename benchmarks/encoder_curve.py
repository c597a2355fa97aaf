"""Quality of an encoder training run against images seen (issue 15): every
`encoder-snapshot-*.safetensors` of a run folder (and any encoder files given) inverts the
same glyphs as bench_encoder.py (held-out base fonts, RandomState(0) sample; Pillow's default
font) in one forward pass; reports content accuracy, LPIPS-VGG and SSIM of the reconstruction
and the content accuracy of its translations into the shipped styles.

    python benchmarks/encoder_curve.py RUN [FILE ...] [--data runs/zoo/data] [--n 64]
    python benchmarks/encoder_curve.py runs/zoo3enc/run --base runs/zoo3enc/base-fp16.safetensors --data runs/zoo3/data

`--base CKPT`: an encoder of another base than the shipped zoo's (e.g. a base not shipped
yet); the translation columns are then left out (that base has no styles to translate into).

Snapshots already in RUN/curve.json are not measured again (a run keeps only its last few
snapshots, so call this while it trains). Prints the table, writes RUN/curve.json.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_encoder import glyph_sets  # noqa: E402
from common import print_table  # noqa: E402

from stylebridge.data.images import to_uint8  # noqa: E402
from stylebridge.encoder.network import read_encoder  # noqa: E402
from stylebridge.formats import load_checkpoint  # noqa: E402
from stylebridge.invert.api import encode, render  # noqa: E402
from stylebridge.metrics.glyph_classifier import accuracies, load_glyph_classifier  # noqa: E402
from stylebridge.metrics.lpips import load_lpips  # noqa: E402
from stylebridge.metrics.ssim import ssim  # noqa: E402
from stylebridge.translate import Zoo  # noqa: E402
from stylebridge.zoo import shipped_zoo_dir  # noqa: E402

SNAP = re.compile(r"encoder-snapshot-(\d+)\.safetensors$")


@torch.no_grad()
def measure(E, G, styles: dict, sets: dict, clf, lp) -> dict:
    """`styles`: name -> generator the codes are also drawn by (translation content)."""
    E.check_base(G)
    row = {}
    for name, (x, y) in sets.items():
        res_ws = encode(E.eval(), x)
        rec = to_uint8(render(G, res_ws, None)).float() / 127.5 - 1  # what is saved, as bench_encoder.py
        key = "heldout" if name.startswith("held") else "pillow"
        row[f"{key}_content"] = accuracies(clf.predict(rec), y)["merged"]
        row[f"{key}_lpips"] = float(lp(rec, x).mean())
        row[f"{key}_ssim"] = float(ssim(rec, x).mean())
        if styles:
            row[f"{key}_translation_content"] = float(np.mean([
                accuracies(clf.predict(render(Gs, res_ws, None).clamp(-1, 1)), y)["merged"] for Gs in styles.values()]))
    return row


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="an encoder training run folder")
    ap.add_argument("files", nargs="*", help="further encoder files to measure (e.g. the shipped one)")
    ap.add_argument("--data", default="runs/zoo/data")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--base", default=None, help="the encoders' base checkpoint (default: the shipped zoo's base)")
    args = ap.parse_args(argv)
    run = Path(args.run)
    out = run / "curve.json"
    rows = json.loads(out.read_text()) if out.exists() else []
    done = {r["file"] for r in rows}
    if args.base:
        G, styles = load_checkpoint(args.base).G_ema, {}
    else:
        zoo = Zoo.from_dir(shipped_zoo_dir())
        G, styles = zoo[zoo.base], {s: zoo[s] for s in zoo.names if s != zoo.base}
    sets = glyph_sets(Path(args.data), args.n, G.img_resolution)
    clf, lp = load_glyph_classifier(), load_lpips("vgg", "cpu")
    todo = sorted(run.glob("encoder-snapshot-*.safetensors")) + [Path(f) for f in args.files]
    for path in todo:
        if str(path) in done:
            continue
        E, extra = read_encoder(path)
        seen = (extra.get("training") or {}).get("images_seen")
        row = {"file": str(path), "images_seen": int(seen) if seen is not None else None,
               **measure(E, G, styles, sets, clf, lp)}
        rows.append(row)
        print(row, flush=True)
    rows.sort(key=lambda r: (r["images_seen"] is not None, r["images_seen"] or 0))
    out.write_text(json.dumps(rows, indent=2) + "\n")
    cols = ["images_seen", "heldout_content", "heldout_lpips", "heldout_ssim", "heldout_translation_content",
            "pillow_content", "pillow_lpips", "pillow_translation_content"]
    cols = [c for c in cols if any(c in r for r in rows)]
    print_table([{**r, "images_seen": r["images_seen"] if r["images_seen"] is not None else Path(r["file"]).name}
                 for r in rows], cols)
    return rows


if __name__ == "__main__":
    main()

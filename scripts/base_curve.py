"""Quality of a glyph base against images seen (issue 16: "show the curve"): for every
snapshot of a training run, G_ema's own random samples measured as TRAINING.md's base table
measures them (`zoo_build.evaluation.sample_stats`: 1000 samples at psi 1, fixed seeds;
characters the glyph classifier sees among them, the commonest one's share, FID in the
classifier's feature space against the held-out base glyphs), with the shipped base as the
row to beat and 1000 real training glyphs, measured the same way, as the floor (issue 16's
bar: FID within 2x of it).

    python scripts/base_curve.py runs/zoo2/base --every 1000 --out runs/zoo2/curve.json

Snapshots already in OUT are not measured again, so the script can follow a run that is
still training.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import torch

from stylebridge.formats import load_checkpoint
from stylebridge.metrics.glyph_classifier import features, load_glyph_classifier
from stylebridge.utils.io import atomic_write_text
from stylebridge.zoo import shipped_zoo_dir
from stylebridge.zoo_build.evaluation import image_stats, load_glyphs, sample_stats

SNAP = re.compile(r"network-snapshot-(\d+)\.safetensors$")
REAL = "real training glyphs (1000)"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="run folder with network-snapshot-*.safetensors")
    ap.add_argument("--data", type=Path, default=Path("runs/zoo/data"), help="train_zoo.py data's folder")
    ap.add_argument("--every", type=int, default=1000, help="measure snapshots whose iteration is a multiple of this")
    ap.add_argument("--out", type=Path, default=None, help="JSON (default: RUN/curve.json)")
    ap.add_argument("--reconstruct", type=int, default=0, metavar="N",
                    help="also invert (W+, 200 steps, pixel loss) Pillow's 62 characters and N held-out base glyphs "
                         "(RandomState(0) sample) with the shipped base and the last measured snapshot: which come "
                         "back as themselves (issue 16's base bar: all of Pillow's, 0.98 of held-out)")
    args = ap.parse_args(argv)
    out = args.out or args.run / "curve.json"
    rows = json.loads(out.read_text())["rows"] if out.exists() else []
    done = {r["name"] for r in rows}
    clf = load_glyph_classifier()
    f_ho = features(load_glyphs(args.data, "base", "heldout")[0], clf)
    opts = json.loads((args.run / "options.json").read_text())
    todo = [("shipped base", None, shipped_zoo_dir() / "base.safetensors")]
    for p in sorted(args.run.glob("network-snapshot-*.safetensors")):
        it = int(SNAP.search(p.name).group(1))
        if it % args.every == 0:
            todo.append((f"iteration {it}", it, p))
    if REAL not in done:  # the floor: real training glyphs measured as the samples are (issue 16: FID within 2x)
        x_tr = load_glyphs(args.data, "base", "train")[0]
        pick = np.random.RandomState(0).choice(len(x_tr), size=min(1000, len(x_tr)), replace=False)
        rows.append({"name": REAL, "iterations": None, "images_seen": None, **image_stats(x_tr[pick], clf, f_ho)})
        print(json.dumps(rows[-1]), flush=True)
        atomic_write_text(out, json.dumps({"run": str(args.run), "rows": rows}, indent=1))
    torch.manual_seed(0)
    for name, it, path in todo:
        if name in done:
            continue
        G = load_checkpoint(path).G_ema.float().eval()
        row = {"name": name, "iterations": it, "images_seen": None if it is None else it * opts["batch"],
               **sample_stats(G, clf, f_ho)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        atomic_write_text(out, json.dumps({"run": str(args.run), "rows": rows}, indent=1))
    if args.reconstruct:
        last = max((r for r in rows if r["iterations"] is not None), key=lambda r: r["iterations"], default=None)
        for r in [r for r in rows if r["name"] == "shipped base"] + ([last] if last else []):
            if r.get("reconstruct_n") != args.reconstruct:
                path = dict((name, p) for name, _, p in todo)[r["name"]]
                r.update(reconstruction(load_checkpoint(path).G_ema.float().eval(), clf, args.data, args.reconstruct))
                print(r["name"], {k: v for k, v in r.items() if k.startswith(("pillow", "heldout"))}, flush=True)
                atomic_write_text(out, json.dumps({"run": str(args.run), "rows": rows}, indent=1))
    rows.sort(key=lambda r: (-2 if r["name"] == REAL else -1) if r["iterations"] is None else r["iterations"])
    print("| snapshot | images seen | characters seen (of 62) | commonest share | FID vs held-out |")
    print("|---|---|---|---|---|")
    for r in rows:
        seen = "" if r["images_seen"] is None else f"{r['images_seen']:,}"
        print(f"| {r['name']} | {seen} | {r['chars']} | {r['top_share']:.2f} | {r['fid']:.0f} |")
    for r in (r for r in rows if "pillow_content" in r):
        print(f"{r['name']}: W+ reconstructions read as themselves: Pillow's font {r['pillow_content']:.3f} "
              f"(missed: {''.join(r['pillow_missed']) or 'none'}), {r['reconstruct_n']} held-out glyphs "
              f"{r['heldout_content']:.3f}")
    return {"rows": rows}


def reconstruction(G, clf, data: Path, n: int) -> dict:
    """Content accuracy (merged look-alikes) of G's W+ reconstructions (the inversion every
    base can use, encoder or not) of Pillow's 62 characters and of n held-out base glyphs;
    which of Pillow's characters come back as another."""
    from stylebridge.data.glyphs import CHAR_TO_LABEL, CHARS, render_text_glyphs, to_unit_range
    from stylebridge.data.images import to_uint8
    from stylebridge.invert.api import invert
    from stylebridge.metrics.glyph_classifier import accuracies, merge_map

    arr, drawn = render_text_glyphs(CHARS, size=G.img_resolution)
    x_h, y_h = load_glyphs(data, "base", "heldout")
    idx = np.random.RandomState(0).choice(len(x_h), min(n, len(x_h)), replace=False)
    out = {"reconstruct_n": n}
    for name, x, y in (("pillow", torch.from_numpy(to_unit_range(arr)), np.array([CHAR_TO_LABEL[c] for c in drawn])),
                       ("heldout", x_h[idx], y_h[idx])):
        res = invert(G, x, "wplus", steps=200, perceptual="pixel", precision="fp32", seed=0, batch_size=32)
        pred = np.asarray(clf.predict(to_uint8(res.reconstruction).float() / 127.5 - 1))
        out[f"{name}_content"] = accuracies(pred, y)["merged"]
        if name == "pillow":
            mm = merge_map()  # look-alikes (O/0, l/I/1, ...) count as read, as in the accuracy
            out["pillow_missed"] = [c for c, p_, t in zip(drawn, pred, y) if mm[p_] != mm[t]]
    return out


if __name__ == "__main__":
    main()

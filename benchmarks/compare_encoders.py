"""Which of several encoder files for the shipped base should ship (issue 15)? Measured on
validation glyphs that no reported benchmark uses (exp_feedback.py's `validation_set`: 1024
glyphs of held-out base fonts outside bench_encoder.py's sample), with each encoder's codes
as `--method encoder` makes them (its default feedback passes): LPIPS-VGG, SSIM and content
accuracy of the reconstruction, and the content and style accuracy of the shipped default
translation (the target's mean w after the content layers, each style at its recorded
strength), averaged over the shipped styles.

    python benchmarks/compare_encoders.py FILE [FILE ...] [--n 1024] [--out FILE]

The shipped encoder is always the first row. Prints the table, writes JSON (default
benchmarks/results/compare_encoders.json).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402
from exp_feedback import validation_set  # noqa: E402

from stylebridge.data.images import to_uint8  # noqa: E402
from stylebridge.encoder.network import load_encoder  # noqa: E402
from stylebridge.invert.api import invert, render  # noqa: E402
from stylebridge.metrics.glyph_classifier import accuracies, load_glyph_classifier  # noqa: E402
from stylebridge.metrics.lpips import load_lpips  # noqa: E402
from stylebridge.metrics.ssim import ssim  # noqa: E402
from stylebridge.translate.translator import default_content_layers, with_mean_appearance  # noqa: E402
from stylebridge.translate.zoo import Zoo  # noqa: E402
from stylebridge.zoo import shipped_zoo_dir  # noqa: E402
from stylebridge.zoo_build.evaluation import style_share, train_style_classifier  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", help="encoder files trained for the shipped base")
    ap.add_argument("--data", default="runs/zoo/data")
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--out", default="benchmarks/results/compare_encoders.json")
    args = ap.parse_args(argv)
    data = Path(args.data)
    zoo = Zoo.from_dir(shipped_zoo_dir())
    G = zoo[zoo.base]
    x, y, nfonts = validation_set(data, args.n)
    print(f"validation: {len(x)} glyphs of {nfonts} held-out fonts", flush=True)
    clf, lp = load_glyph_classifier(), load_lpips("vgg", "cpu")
    style_clf, _ = train_style_classifier(data)
    styles = [n for n in zoo.names if n != zoo.base]
    k = default_content_layers(G)
    rows = []
    for f in [zoo.encoder_path] + [Path(p) for p in args.files]:
        inv = invert(G, x, "encoder", encoder=load_encoder(f, G), batch_size=64)
        ws = inv.ws
        rec = to_uint8(inv.reconstruction).float() / 127.5 - 1  # what is saved (invert's exact render of ws)
        with torch.no_grad():
            row = {"encoder": str(f), "lpips": float(lp(rec, x).mean()), "ssim": float(ssim(rec, x).mean()),
                   "content": accuracies(clf.predict(rec), y)["merged"]}
            tc, ts = [], []
            for st in styles:
                Gt = zoo.model(st)
                out = render(Gt, with_mean_appearance(Gt, ws, k)).clamp(-1, 1)
                tc.append(accuracies(clf.predict(out), y)["merged"])
                ts.append(style_share(style_clf, out, st))
        row.update(translation_content=float(np.mean(tc)), translation_style=float(np.mean(ts)))
        rows.append(row)
        print(row, flush=True)
    table = print_table(rows, ["encoder", "lpips", "ssim", "content", "translation_content", "translation_style"])
    result = {"n": len(x), "fonts": nfonts, "threads": torch.get_num_threads(), "rows": rows, "table": table}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

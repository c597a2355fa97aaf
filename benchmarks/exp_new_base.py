"""Does an encoder of another base help a new base's encoder (issue 15 for the v2 glyph base)?
Trains two encoders for BASE for the same iterations on its own samples, one from scratch and
one from `--init ENCODER --new-base` (the image layers kept, the code heads zeroed), the same
seed, batch and learning rate; then measures both on 256 samples of BASE that neither saw
(another seed): L1 and LPIPS-VGG of the re-rendered image, and the code error in units of
the base's w spread.

    python benchmarks/exp_new_base.py runs/zoo2/base/network-snapshot-003000.safetensors \
        --encoder src/stylebridge/zoo/glyphs/encoder.safetensors --iters 200 --batch 16

Prints a table, writes JSON (default benchmarks/results/new_base.json).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402

from stylebridge.encoder import EncoderTrainOptions, load_encoder, train_encoder  # noqa: E402
from stylebridge.encoder.network import w_spread  # noqa: E402
from stylebridge.formats import load_checkpoint  # noqa: E402
from stylebridge.metrics.lpips import load_lpips  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base")
    ap.add_argument("--encoder", default="src/stylebridge/zoo/glyphs/encoder.safetensors")
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--out", default="benchmarks/results/new_base.json")
    args = ap.parse_args(argv)
    G = load_checkpoint(args.base, generator_only=True).generator.eval()
    z = torch.randn([args.n, G.z_dim], generator=torch.Generator().manual_seed(12345))
    with torch.no_grad():
        ws_true = G.mapping(z, None)
        x = G.synthesis(ws_true, noise_mode="const").clamp(-1, 1)
    spread = w_spread(G)
    lp = load_lpips("vgg")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in (("from scratch", {}), ("--new-base (trunk of --encoder)",
                                                   {"init": args.encoder, "new_base": True})):
            out = Path(tmp) / name.split()[0]
            opts = EncoderTrainOptions(base=args.base, outdir=str(out), iters=args.iters, batch=args.batch,
                                       snap=args.iters, lr=args.lr, perceptual="pixel", seed=0, progress=False,
                                       device="cpu", **extra)
            t0 = time.perf_counter()
            train_encoder(opts)
            sec = time.perf_counter() - t0
            E = load_encoder(out / "encoder.safetensors", G).eval()
            with torch.no_grad():
                ws = torch.cat([E(x[i:i + 64]) for i in range(0, args.n, 64)])
                rec = G.synthesis(ws, noise_mode="const").clamp(-1, 1)
                rows.append({"start": name, "iters": args.iters, "images": args.iters * args.batch,
                             "train_s": round(sec, 1), "l1": float((rec - x).abs().mean()),
                             "lpips": float(lp(rec, x).mean()),
                             "code_err": float(((ws - ws_true) / spread).abs().mean())})
            print(rows[-1], flush=True)
    table = print_table(rows, ["start", "iters", "images", "train_s", "l1", "lpips", "code_err"])
    result = {"base": args.base, "encoder": args.encoder, "n": args.n, "rows": rows, "table": table}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

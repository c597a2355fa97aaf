"""Does mixed precision cost quality? Train the same small glyph GAN in fp32 and in bf16 at
equal images seen, two seeds each, and compare the sample FID (glyph-classifier features)
against the run-to-run spread of fp32.

    python benchmarks/exp_precision_quality.py [--iters 150] [--batch 16] [--seeds 0,1]
        [--precisions fp32,bf16] [--samples 2000] [--out benchmarks/results/precision_quality.json]
    # on a GPU (no fonts there: the glyphs from scripts/train_zoo.py data):
    python benchmarks/exp_precision_quality.py --device cuda --data runs/zoo/data/base_train.npz \
        --precisions fp32,bf16,fp16 --iters 1000 --batch 64 --cuda-graphs

Data: the embedded demo's 'base' glyph domain (training fonts, 32 px, rendered on the fly).
FID: G_ema samples (seeds 0..samples-1, z as generate.py draws it) against as many real
training glyphs, in the penultimate features of the shipped glyph classifier
(metrics/glyph_classifier.py). A precision "costs nothing" when its FIDs lie within the
spread of the fp32 seeds. Runs one thread each; `--clock` notes CPU time per run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402

from stylebridge.data.glyphs import render_domain  # noqa: E402
from stylebridge.metrics.glyph_classifier import features, load_glyph_classifier  # noqa: E402
from stylebridge.metrics.stats import fid_from_features  # noqa: E402
from stylebridge.networks.stylegan2 import z_from_seed  # noqa: E402
from stylebridge.train import TrainOptions  # noqa: E402
from stylebridge.train.loop import Trainer  # noqa: E402
from stylebridge.utils.device import fast_cuda  # noqa: E402

# glyph-32 at a quarter of its channels: trains in minutes on one CPU thread.
CONFIG = '{"name":"glyph-32","channel_base":512,"channel_max":32,"z_dim":64,"w_dim":64,"mapping_layers":2}'


@torch.no_grad()
def sample(G, n: int, batch: int = 250) -> torch.Tensor:
    out = []
    for s in range(0, n, batch):
        z = torch.cat([z_from_seed(i, G.z_dim) for i in range(s, min(s + batch, n))]).float()
        z = z.to(G.mapping.w_avg.device)
        out.append(G.synthesis(G.mapping(z), noise_mode="const", force_fp32=True).clamp(-1, 1).cpu())
    return torch.cat(out)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=CONFIG)
    ap.add_argument("--iters", type=int, default=150)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--gamma", type=float, default=0.1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--data", default=None, help="glyphs as an .npz with 'images' (default: render the base fonts)")
    ap.add_argument("--cuda-graphs", action="store_true", help="train with --cuda-graphs (CUDA)")
    ap.add_argument("--out", default="benchmarks/results/precision_quality.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if args.data:
        with np.load(args.data) as d:
            glyphs = d["images"]
    else:
        glyphs = render_domain("base", "train").images
    rng = np.random.RandomState(0)
    real = glyphs[rng.choice(len(glyphs), args.samples, replace=False)]
    clf = load_glyph_classifier()
    f_real = features(real, clf)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for prec in args.precisions.split(","):
            for seed in [int(s) for s in args.seeds.split(",")]:
                run = str(Path(tmp) / f"{prec}{seed}")
                tr = Trainer(TrainOptions(config=args.config, data_array=glyphs, outdir=run,
                                          iters=args.iters, batch=args.batch, seed=seed, gamma=args.gamma,
                                          precision=prec, device=args.device, progress=False,
                                          cuda_graphs=args.cuda_graphs))
                t0, w0 = time.process_time(), time.perf_counter()
                with fast_cuda(tr.device):
                    for _ in range(args.iters):
                        tr.step()
                log = tr.pop_log(0.0)  # reads the device: the wall time below includes the work
                cpu_s, wall_s = time.process_time() - t0, time.perf_counter() - w0
                fid = fid_from_features(f_real, features(sample(tr.G_ema, args.samples), clf))
                rows.append({"precision": prec, "seed": seed, "images_seen": tr.images_seen, "fid": fid,
                             "loss_G": log.get("loss_G"), "loss_D": log.get("loss_D"), "cpu_s": cpu_s,
                             "wall_s": wall_s})
                print(rows[-1], flush=True)
    summary = []
    for prec in args.precisions.split(","):
        f = [r["fid"] for r in rows if r["precision"] == prec]
        summary.append({"precision": prec, "fid_mean": float(np.mean(f)), "fid_min": min(f), "fid_max": max(f),
                        "spread": max(f) - min(f)})
    table = print_table(rows, ["precision", "seed", "images_seen", "fid", "loss_G", "loss_D", "cpu_s", "wall_s"])
    stable = print_table(summary, ["precision", "fid_mean", "fid_min", "fid_max", "spread"])
    result = {"args": vars(args), "rows": rows, "summary": summary, "table": table, "summary_table": stable}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

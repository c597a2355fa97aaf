"""Generator speed: our batched modulated conv vs the grouped form, fp32 vs bf16, against
the bare convolutions of the same shapes (the machine's limit for this work).

    python benchmarks/bench_generator.py [--res 256] [--batches 1,8] [--device cpu] \
        [--out benchmarks/results/generator.json]

Times are per image (ms). Ratios are computed within this run only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, timeit, write_json  # noqa: E402

from stylebridge.networks import GeneratorConfig, create_generator  # noqa: E402


def bare_convs(G, n: int, dtype, device) -> callable:
    """The convolutions of the synthesis network with shared weights (no modulation)."""
    specs = []
    for res, block in G.synthesis.blocks():
        layers = [block.conv1] if res == 4 else [block.conv0, block.conv1]
        for layer in layers:
            w = layer.weight.detach().to(device, dtype)
            x = torch.randn(n, layer.in_channels, res // layer.up, res // layer.up, device=device, dtype=dtype)
            specs.append((x, w.transpose(0, 1).contiguous() if layer.up == 2 else w, layer.up))
        w = block.torgb.weight.detach().to(device, dtype)
        specs.append((torch.randn(n, w.shape[1], res, res, device=device, dtype=dtype), w, 0))

    def run():
        with torch.no_grad():
            for x, w, up in specs:
                if up == 2:
                    F.conv_transpose2d(x, w, stride=2)
                elif up == 1:
                    F.conv2d(x, w, padding=1)
                else:
                    F.conv2d(x, w)
    return run


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--no-backward", action="store_true")
    ap.add_argument("--out", default="benchmarks/results/generator.json")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(0)
    cfg = GeneratorConfig(img_resolution=args.res, channel_base=16384, channel_max=512, mapping_layers=8)
    G = create_generator(cfg).to(device)
    rows = []
    for prec in args.precisions.split(","):
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[prec]
        for n in [int(b) for b in args.batches.split(",")]:
            z = torch.randn(n, cfg.z_dim, device=device)
            limit = timeit(bare_convs(G, n, dtype, device), args.repeats) / n
            row = {"precision": prec, "batch": n, "bare_conv_ms": limit * 1e3}
            for form, fused in (("grouped", True), ("batched", False)):
                def fwd():
                    with torch.no_grad():
                        G.synthesis(G.mapping(z), noise_mode="const", fused=fused, dtype=dtype)
                row[f"{form}_fwd_ms"] = timeit(fwd, args.repeats) / n * 1e3
                if not args.no_backward:
                    def fwdbwd():
                        G.zero_grad(set_to_none=True)
                        img = G.synthesis(G.mapping(z), noise_mode="random", fused=fused, dtype=dtype)
                        img.float().square().mean().backward()
                    row[f"{form}_fwdbwd_ms"] = timeit(fwdbwd, max(1, args.repeats - 1)) / n * 1e3
            row["fwd_speedup"] = row["grouped_fwd_ms"] / row["batched_fwd_ms"]
            row["fwd_vs_bare"] = row["batched_fwd_ms"] / row["bare_conv_ms"]
            if not args.no_backward:
                row["fwdbwd_speedup"] = row["grouped_fwdbwd_ms"] / row["batched_fwdbwd_ms"]
            rows.append(row)
            print(row, flush=True)
    cols = ["precision", "batch", "bare_conv_ms", "grouped_fwd_ms", "batched_fwd_ms", "fwd_speedup", "fwd_vs_bare"]
    if not args.no_backward:
        cols += ["grouped_fwdbwd_ms", "batched_fwdbwd_ms", "fwdbwd_speedup"]
    table = print_table(rows, cols)
    result = {"config": cfg.to_dict(), "device": str(device), "rows": rows, "table": table}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

"""Whole-process `stylebridge generate` (start-up, loading, 32 seeds, PNG writing) for each
form, batch size and precision, against the previous default (exact, batch 8) measured in the
same run; optionally against NVIDIA's generate.py on the same network (`--nvidia`).

    python benchmarks/bench_generate.py [--ckpt G.safetensors] [--seeds 0-31] [--repeats 2]
        [--variants exact@8,exact@1,fast@8,fast@1,exact-bf16@1,default-bf16] [--nvidia DIR --pkl G.pkl]

Without --ckpt a random 256 px network (stylegan2-256 channels, 8 mapping layers) is written
to a temporary folder. Variants run interleaved, `--repeats` times; the median counts.
--nvidia DIR is a checkout of NVlabs/stylegan2-ada-pytorch (not part of this project; run for
timing only) and --pkl the same network as an NVIDIA pickle. Setting that up (nothing of it
is committed): extract their repository (`git --git-dir REPO archive HEAD | tar -x`), replace
`torch.device('cuda')` by 'cpu' in that copy's generate.py, put an empty `requests.py` on
PYTHONPATH (dnnlib imports it), pickle `dict(G=G, D=D, G_ema=G)` of their
`training.networks.Generator` (256 px, channel_base 16384, channel_max 512, 8 mapping layers)
and any `Discriminator` (their loader asserts one), and `stylebridge convert` that pickle into
--ckpt, so that both programs draw the same network.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402


def variant_args(v: str) -> list[str]:
    """'exact@8' | 'fast@1' | 'exact-bf16@1' | 'default' (no options) | 'default-bf16' (only
    --precision bf16: its own default form and batch) -> CLI arguments."""
    if v == "default":
        return []
    if v == "default-bf16":
        return ["--precision", "bf16"]
    form, batch = v.split("@")
    args = ["--batch-size", batch]
    if form.startswith("fast"):
        args.append("--fast")
    if form.endswith("-bf16"):
        args += ["--precision", "bf16"]
    return args


def make_ckpt(folder: Path) -> Path:
    import torch

    from stylebridge.formats import save_checkpoint
    from stylebridge.networks import GeneratorConfig, create_generator

    torch.manual_seed(0)
    G = create_generator(GeneratorConfig(img_resolution=256, channel_base=16384, channel_max=512, mapping_layers=8))
    G.mapping.w_avg.normal_()
    return save_checkpoint(folder / "g256.safetensors", G=G, G_ema=G)


def run(cmd: list[str], env: dict, clock: str) -> float:
    """Wall seconds of the process, or (clock 'cpu') its user + system CPU seconds: with one
    thread that is what it costs, whatever else runs on a shared machine."""
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r1, t1 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    if clock == "cpu":
        return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return t1 - t0


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", default=None)
    ap.add_argument("--seeds", default="0-31")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--variants", default="exact@8,default,exact@1,fast@8,fast@1")
    ap.add_argument("--baseline", default="exact@8", help="the variant the others are compared with")
    ap.add_argument("--threads", default="1", help="OMP_NUM_THREADS of the processes")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--nvidia", default=None, help="checkout of NVlabs/stylegan2-ada-pytorch (timing only)")
    ap.add_argument("--pkl", default=None, help="the same network as an NVIDIA pickle (with --nvidia)")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: user+system CPU seconds of each process (use with --threads 1 on a shared machine)")
    ap.add_argument("--out", default="benchmarks/results/generate_cli.json")
    args = ap.parse_args(argv)
    if args.clock == "cpu" and args.threads != "1":
        ap.error("--clock cpu measures one thread: use it with --threads 1")
    env = dict(os.environ, OMP_NUM_THREADS=args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="bench_generate_"))
    ckpt = Path(args.ckpt) if args.ckpt else make_ckpt(tmp)
    variants = [args.baseline] + [v for v in args.variants.split(",") if v != args.baseline]
    cmds = {v: [sys.executable, "-m", "stylebridge.cli.main", "generate", str(ckpt), "--seeds", args.seeds,
                "--device", args.device, "--outdir", str(tmp / v.replace("@", "_b"))] + variant_args(v)
            for v in variants}
    if args.nvidia:
        cmds["nvidia"] = [sys.executable, str(Path(args.nvidia) / "generate.py"), "--network", args.pkl,
                          "--seeds", args.seeds, "--outdir", str(tmp / "nvidia")]
    times: dict[str, list[float]] = {v: [] for v in cmds}
    for _ in range(args.repeats):
        for v, cmd in cmds.items():
            times[v].append(run(cmd, env, args.clock))
            print(v, f"{times[v][-1]:.1f} s", flush=True)
    base = statistics.median(times[args.baseline])
    ref = statistics.median(times["nvidia"]) if "nvidia" in times else None
    rows = []
    for v, ts in times.items():
        med = statistics.median(ts)
        row = {"variant": v, "args": " ".join(variant_args(v)) if v != "nvidia" else "generate.py",
               "seconds": med, "runs": [round(t, 2) for t in ts], f"speedup_vs_{args.baseline}": base / med}
        if ref is not None:
            row["speedup_vs_nvidia"] = ref / med
        rows.append(row)
    cols = ["variant", "args", "seconds", f"speedup_vs_{args.baseline}"] + (["speedup_vs_nvidia"] if ref else [])
    table = print_table(rows, cols)
    result = {"seeds": args.seeds, "threads": args.threads, "device": args.device, "clock": args.clock, "rows": rows,
              "table": table}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

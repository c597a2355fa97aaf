"""FIR resampling (upfirdn2d) as one convolution against the former form, in the same run.

    python benchmarks/bench_fir.py [--device cpu|cuda] [--threads 1] [--clock cpu] [--repeats 5]
    python benchmarks/bench_fir.py --device cuda --against separable   # or folded: GPU candidates

The former form (kept below as `former_upfirdn2d`, the baseline): insert zeros, pad, two
depthwise 1-D passes over the full-size tensor, then drop samples. The current one
(`stylebridge.networks.ops.upfirdn2d`): one depthwise 2-D convolution, transposed with
stride 2 for upsampling and strided for downsampling, the padding its own.

Rows:
* each of StyleGAN2's four FIR geometries at shapes of a 64 px training step (batch 32),
  forward + backward (what training and the projector pay) and forward alone;
* whole workloads with `ops.upfirdn2d` swapped for the former form and back, alternating:
  a glyph-32 training iteration (batch 32), a glyph-32 projector step (batch 32) and a
  no-grad render of the 64 px config;
* dispatched operators per training iteration of NVIDIA's 64 px auto config (the kernel
  launches of a GPU step; 3,246 were profiled on an H100 with the former form).
`--against separable|folded` times the current form against a candidate for GPUs instead
(on an H200 PyTorch's generic depthwise kernel took about 240 us per 4x4 FIR call at 64 px,
a quarter of a training step's kernel time): two 1-D depthwise passes, or the channels
folded into the batch for a plain one-channel convolution. On this CPU both are slower
(1.8-2.2x and 2.4-17x); each row's max_abs_diff checks the candidate against the current form.
Times are the minimum over `--repeats` alternating rounds (`--clock cpu`: this process's CPU
time, steadier on a shared machine with `--threads 1`).
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import SG2_64, _clock, _sync, make_trainer  # noqa: E402
from common import print_table, write_json  # noqa: E402

from stylebridge.networks import ops  # noqa: E402

CURRENT = ops.upfirdn2d


def _taps(f: torch.Tensor, gain: float) -> torch.Tensor:
    """The 1-D taps t of a separable, symmetric filter f = outer(t, t); `gain` split evenly between the two passes."""
    row = f.to(torch.float32).sum(dim=0)
    return row / row.sum().sqrt() * gain ** 0.5


def former_upfirdn2d(x, f, up=1, down=1, padding=(0, 0, 0, 0), gain=1.0):
    """The baseline: zero insertion, pad, two depthwise 1-D passes on the full-size tensor,
    slice (stylebridge's upfirdn2d until the one-convolution form; separable filters only)."""
    N, C, H, W = x.shape
    if up > 1:
        x = F.pad(x.reshape(N, C, H, 1, W, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(N, C, H * up, W * up)
    px0, px1, py0, py1 = padding
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    t = _taps(f.to(x.device), gain).flip(0).to(x.dtype)
    x = F.conv2d(x, t.reshape(1, 1, 1, -1).expand(C, 1, 1, -1), groups=C)
    x = F.conv2d(x, t.reshape(1, 1, -1, 1).expand(C, 1, -1, 1), groups=C)
    return x[:, :, ::down, ::down] if down > 1 else x


def separable_upfirdn2d(x, f, up=1, down=1, padding=(0, 0, 0, 0), gain=1.0):
    """A GPU candidate (session 13's H200 profile: PyTorch's generic depthwise kernel spent about
    240 us per 4x4 FIR call at 64 px): the current geometry as two depthwise 1-D convolutions,
    4 taps each, the stride (or transposed stride) in the dimension each one filters.
    Separable symmetric filters and the geometries StyleGAN2 uses; anything else: the current form."""
    N, C, H, W = x.shape
    px0, px1, py0, py1 = padding
    fh, fw = f.shape
    t = _taps(f.to(x.device), gain).to(x.dtype)
    if up > 1 and down == 1:
        P = (fh - 1 - py0, fw - 1 - px0)
        extra = (py1 - py0 + up - 1, px1 - px0 + up - 1)
        if min(P) >= 0 and all(0 <= e < up for e in extra):
            x = F.conv_transpose2d(x, t.reshape(1, 1, 1, fw).expand(C, 1, 1, fw), stride=(1, up), padding=(0, P[1]),
                                   output_padding=(0, extra[1]), groups=C)
            return F.conv_transpose2d(x, t.reshape(1, 1, fh, 1).expand(C, 1, fh, 1), stride=(up, 1),
                                      padding=(P[0], 0), output_padding=(extra[0], 0), groups=C)
    if up == 1 and px0 == px1 >= 0 and py0 == py1 >= 0:
        t = t.flip(0)
        x = F.conv2d(x, t.reshape(1, 1, 1, fw).expand(C, 1, 1, fw), stride=(1, down), padding=(0, px0), groups=C)
        return F.conv2d(x, t.reshape(1, 1, fh, 1).expand(C, 1, fh, 1), stride=(down, 1), padding=(py0, 0), groups=C)
    return CURRENT(x, f, up=up, down=down, padding=padding, gain=gain)


def folded_upfirdn2d(x, f, up=1, down=1, padding=(0, 0, 0, 0), gain=1.0):
    """A GPU candidate: the channels folded into the batch, so the FIR filter is a plain
    one-channel convolution (cuDNN's, not PyTorch's depthwise kernel)."""
    N, C, H, W = x.shape
    y = CURRENT(x.reshape(N * C, 1, H, W), f, up=up, down=down, padding=padding, gain=gain)
    return y.reshape(N, C, y.shape[2], y.shape[3])


OTHERS = {"former": former_upfirdn2d, "separable": separable_upfirdn2d, "folded": folded_upfirdn2d}


class use:
    """Swap ops.upfirdn2d (every caller in ops reads it from the module) for `impl`."""

    def __init__(self, impl):
        self.impl = impl

    def __enter__(self):
        ops.upfirdn2d = self.impl

    def __exit__(self, *exc):
        ops.upfirdn2d = CURRENT


class CountOps(TorchDispatchMode):
    """Dispatched operators that launch work (views and allocations excluded)."""

    FREE = {"view", "_unsafe_view", "expand", "permute", "t", "unsqueeze", "squeeze", "as_strided", "slice",
            "select", "detach", "alias", "empty", "empty_strided", "transpose", "_reshape_alias", "unbind",
            "split", "split_with_sizes", "narrow", "reshape", "lift_fresh", "empty_like", "new_empty",
            "new_empty_strided", "_local_scalar_dense", "view_as", "expand_as", "resolve_conj", "resolve_neg"}

    def __init__(self):
        super().__init__()
        self.count = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._overloadpacket.__name__
        if name not in self.FREE:
            self.count[name] += 1
        return func(*args, **(kwargs or {}))


def ab(fn, args, inner: int = 1) -> dict:
    """Alternate the other form (--against) and the current one `repeats` times; the minimum
    per side, ms per call; speedup = other / current."""
    other = OTHERS[args.against]
    out = {args.against: [], "current": []}
    for impl in (other, CURRENT):  # warm-up both
        with use(impl):
            fn()
    for _ in range(args.repeats):
        for name, impl in ((args.against, other), ("current", CURRENT)):
            with use(impl):
                _sync(torch.device(args.device))
                t0 = _clock(args)
                for _ in range(inner):
                    fn()
                _sync(torch.device(args.device))
                out[name].append((_clock(args) - t0) / inner * 1e3)
    a, b = min(out[args.against]), min(out["current"])
    return {f"{args.against}_ms": a, "current_ms": b, "speedup": a / b}


def geometry_rows(args) -> list[dict]:
    dev = args.device
    f = ops.setup_filter().to(dev)
    cases = [  # (name, call, input shape): a 64 px step's shapes at batch 32
        ("upsample2d (G's image skip, 32->64)", lambda x: ops.upfirdn2d(x, f, up=2, padding=(2, 1, 2, 1), gain=4),
         [32, 3, 32, 32]),
        ("filter after up-conv (65 px, 128 maps)", lambda x: ops.upfirdn2d(x, f, padding=(1, 1, 1, 1), gain=4),
         [32, 128, 65, 65]),
        ("filter before down-conv (64 px, 128 maps)", lambda x: ops.upfirdn2d(x, f, padding=(2, 2, 2, 2)),
         [32, 128, 64, 64]),
        ("downsample2d (D's skip, 64 px, 128 maps)", lambda x: ops.upfirdn2d(x, f, down=2, padding=(1, 1, 1, 1)),
         [32, 128, 64, 64]),
    ]
    rows = []
    for name, call, shape in cases:
        x = torch.randn(shape, device=dev, requires_grad=True)

        def fwd_bwd():
            torch.autograd.grad(call(x).sum(), x)

        def fwd():
            with torch.no_grad():
                call(x)

        with use(OTHERS[args.against]):
            ref = call(x).detach()
        err = float((call(x).detach() - ref).abs().max())
        for what, fn in (("fwd+bwd", fwd_bwd), ("fwd", fwd)):
            rows.append({"workload": f"{name}, {what}", "max_abs_diff": err, **ab(fn, args, inner=3)})
            print(rows[-1], flush=True)
    return rows


def _trainer(config: str, batch: int, device: str):
    """bench_train's trainer (fp32, 64 random images, no path length, no ADA)."""
    return make_trainer(config, batch, "fp32", device, SimpleNamespace(pl_weight=0.0, aug="none"), False)


def workload_rows(args) -> list[dict]:
    from stylebridge.invert.projector import ProjectorConfig, latent_stats, project

    dev = args.device
    rows = []
    tr = _trainer("glyph-32", 32, dev)
    for _ in range(2):
        tr.step()
    rows.append({"workload": "glyph-32 training iteration, batch 32", **ab(tr.step, args)})
    print(rows[-1], flush=True)

    G = tr.G_ema.eval()
    with torch.no_grad():
        targets = G.synthesis(G.mapping(torch.randn(32, G.z_dim, device=dev)), noise_mode="const").clamp(-1, 1)
    stats = latent_stats(G, samples=2000)
    cfg = ProjectorConfig(method="wplus", steps=2, early_stop=False, precision="fp32")
    rows.append({"workload": "glyph-32 projector, 2 steps of batch 32",
                 **ab(lambda: project(G, targets, cfg, None, stats), args)})
    print(rows[-1], flush=True)

    sg = _trainer(SG2_64, 4, dev)
    Gs = sg.G_ema.eval()
    ws = Gs.mapping(torch.randn(8, Gs.z_dim, device=dev)).detach()

    def render():
        with torch.no_grad():
            Gs.synthesis(ws, noise_mode="const")

    rows.append({"workload": "64 px config, render 8 images (no grad)", **ab(render, args)})
    print(rows[-1], flush=True)
    return rows


def launch_rows(args) -> list[dict]:
    """Operators per iteration of the 64 px auto config (batch 4, 16 iterations: lazy R1 once;
    at the full widths: a copy at 1/64 of the channels counted 2,792 former operators, not 3,233)."""
    rows = {}
    for name, impl in ((args.against, OTHERS[args.against]), ("current", CURRENT)):
        with use(impl):
            tr = _trainer(SG2_64, 4, args.device)
            for _ in range(2):
                tr.step()
            with CountOps() as c:
                for _ in range(16):
                    tr.step()
            rows[name] = sum(c.count.values()) / 16
    row = {"workload": "64 px auto config: operators per training iteration",
           f"{args.against}_ops": rows[args.against], "current_ops": rows["current"],
           "fewer": 1 - rows["current"] / rows[args.against]}
    print(row, flush=True)
    return [row]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip", default="", help="comma list of: geometry, workloads, launches")
    ap.add_argument("--against", choices=sorted(OTHERS), default="former",
                    help="the form the current one is timed against: former (the baseline of the change), or a "
                         "GPU candidate: separable (two 1-D depthwise passes), folded (channels into the batch)")
    ap.add_argument("--out", default="benchmarks/results/fir.json")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    skip = set(filter(None, args.skip.split(",")))
    result = {"args": vars(args)}
    timed = []
    if "geometry" not in skip:
        timed += geometry_rows(args)
    if "workloads" not in skip:
        timed += workload_rows(args)
    if timed:
        result["table"] = print_table(timed, ["workload", f"{args.against}_ms", "current_ms", "speedup",
                                              "max_abs_diff"])
    result["timed"] = timed
    if "launches" not in skip:
        result["launches"] = launch_rows(args)
        print_table(result["launches"], ["workload", f"{args.against}_ops", "current_ops", "fewer"])
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

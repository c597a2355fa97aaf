"""Metric weights small enough to travel to a lent GPU (its calls carry 64 MiB, and the
repository with the stashed glyph base already takes about 49 MB).

    python scripts/device_weights.py pack .device/weights             # here: int8 copies
    python scripts/device_weights.py unpack .device/weights /tmp/w    # there: fp32 again
    export STYLEBRIDGE_WEIGHTS=/tmp/w

`pack` stores every weight tensor of four or more dimensions (the convolutions) as int8 with
one fp32 scale per output channel (symmetric, round to nearest) and every other tensor as it
is; VGG16 shrinks from 59 MB to 15 MB. `unpack` rebuilds fp32 files under the original names.
LPIPS from the rebuilt VGG16 is close to, not equal to, the real weights' (timings are
unaffected): numbers measured with them are marked as such where they are reported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

SCALE = ".__int8_scale"
DEFAULT = ("vgg16", "lpips-vgg-v0.1")


def pack(names, src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        out = {}
        for k, v in load_file(src / f"{name}.safetensors").items():
            if v.ndim >= 4 and v.is_floating_point() and v.numel() > 4096:  # the convolutions
                s = v.abs().amax(dim=tuple(range(1, v.ndim)), keepdim=True).clamp_min(1e-12) / 127
                out[k] = torch.round(v / s).to(torch.int8)
                out[k + SCALE] = s.float()
            else:
                out[k] = v.contiguous()
        save_file(out, dst / f"{name}.int8.safetensors")
        print(f"{name}: {(dst / f'{name}.int8.safetensors').stat().st_size / 1e6:.1f} MB")


def unpack(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob("*.int8.safetensors")):
        d = load_file(f)
        out = {k: (v.float() * d[k + SCALE] if k + SCALE in d else v) for k, v in d.items() if not k.endswith(SCALE)}
        name = f.name.replace(".int8.safetensors", ".safetensors")
        save_file(out, dst / name)
        print(f"{name}: rebuilt from int8 ({len(out)} tensors)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("dst", type=Path)
    p.add_argument("--src", type=Path, default=Path.home() / ".cache/stylebridge/weights")
    p.add_argument("--names", default=",".join(DEFAULT))
    u = sub.add_parser("unpack")
    u.add_argument("src", type=Path)
    u.add_argument("dst", type=Path)
    a = ap.parse_args(argv)
    if a.cmd == "pack":
        pack(a.names.split(","), a.src, a.dst)
    else:
        unpack(a.src, a.dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The options of `stylebridge encoder train` (EncoderTrainOptions), without torch: the
command line reads their defaults for --help."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from stylebridge.errors import StylebridgeError
from stylebridge.utils.config import field_default
from stylebridge.utils.precision import PRECISIONS


@dataclass
class EncoderTrainOptions:
    base: str | None = None           # checkpoint of the base generator
    outdir: str | None = None         # run folder (snapshots, encoder.safetensors, log.jsonl, options.json)
    data: str | None = None           # optional folder / zip of real images (image losses only)
    real_fraction: float = 0.5        # share of each batch taken from `data` (when given)
    iters: int = 1000                 # total iterations
    batch: int = 8                    # images per iteration
    snap: int = 100                   # snapshot (and encoder.safetensors) every N iterations and at the end
    keep_snapshots: int = 3           # older snapshots are deleted
    seed: int = 0                     # seeds the encoder's init and the sample / data stream
    lr: float = 5e-4                  # Adam learning rate
    lr_rampdown: float = 0.0          # final share of the iterations over which lr falls to 0 (cosine)
    code_weight: float = 1.0          # code loss on the generator's own samples
    pixel_weight: float = 1.0         # L1 between input and re-rendered image
    perceptual_weight: float = 1.0    # perceptual distance between them
    perceptual: str = "auto"          # 'auto' (LPIPS if installed, else pixel + gradient), 'lpips', 'pixel'
    delta_weight: float = 0.05        # e4e's penalty on the W+ offsets
    progressive: int = 0              # unlock one W+ offset every N iterations (0: all from the start)
    truncation: float = 1.0           # of the sampled w (1: the full distribution)
    channels: int = 32                # encoder feature maps at full resolution
    hidden: int = 256                 # encoder feature vector size
    precision: str = "fp32"           # 'fp32', 'bf16' or 'fp16' (CUDA only)
    file_dtype: str = "fp32"          # dtype of encoder.safetensors ('fp16' halves it)
    log_every: int = 10
    device: str = "auto"
    progress: bool = True
    resume: str | None = None         # run folder or snapshot to continue
    init: str | None = None           # encoder file to start from (weights only; same base; its config)
    widen: int | None = None          # with init: widen it to this many channels first (Net2Net, same codes)
    new_base: bool = False            # with init: an encoder of ANOTHER base of the same shape; its image
                                      # trunk is kept, its heads restart at this base's mean w (network.rebase)

    def validate(self) -> None:
        def bad(msg: str) -> None:
            raise StylebridgeError(msg)
        if not self.base:
            bad("give the base generator's checkpoint (CKPT)")
        if self.iters < 1 or self.batch < 1 or self.snap < 1 or self.log_every < 1 or self.keep_snapshots < 1:
            bad("--iters, --batch, --snap must be at least 1")
        if not 0.0 <= self.lr_rampdown <= 1.0:
            bad(f"lr ramp-down must be in [0, 1], got {self.lr_rampdown}")
        if not 0.0 <= self.real_fraction < 1.0:
            bad(f"real fraction must be in [0, 1), got {self.real_fraction}")
        if self.data and round(self.batch * self.real_fraction) < 1:
            bad(f"--batch {self.batch} with real fraction {self.real_fraction} takes no real image; raise --batch")
        if self.precision not in PRECISIONS:
            bad(f"--precision must be one of {', '.join(PRECISIONS)}")
        if self.file_dtype not in ("fp32", "fp16"):
            bad("file dtype must be fp32 or fp16")
        if self.perceptual not in ("auto", "lpips", "pixel", "none"):
            bad("perceptual must be auto, lpips, pixel or none")
        if self.widen is not None and not self.init:
            bad("--widen N widens the encoder given with --init FILE: give --init")
        if self.new_base and not self.init:
            bad("--new-base moves the encoder given with --init FILE to this base: give --init")
        if not 0.0 < self.truncation <= 1.0:
            bad(f"truncation must be in (0, 1], got {self.truncation}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EncoderTrainOptions:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def default(name: str):
    """EncoderTrainOptions' default of `name`: the one place it is defined."""
    return field_default(EncoderTrainOptions, name)

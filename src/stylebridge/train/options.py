"""Options of the trainer (fine-tuning and training from scratch), one dataclass, saved
as `options.json` and inside every snapshot."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from stylebridge.errors import StylebridgeError
from stylebridge.utils.config import field_default
from stylebridge.utils.precision import PRECISIONS

AUGMENTS = ("none", "ada", "diffaug")


@dataclass
class TrainOptions:
    outdir: str | None = None         # run folder (snapshots, samples, log.jsonl, options.json)
    data: str | None = None           # folder or zip of images (or set `data_array`)
    base: str | None = None           # checkpoint to fine-tune (None: train `config` from random init)
    config: str | None = None         # registry name or JSON of a GeneratorConfig (training from scratch)
    iters: int = 1000                 # total iterations (one G step + one D step each)
    batch: int = 4                    # global batch size (split over processes)
    snap: int = 100                   # snapshot + sample grid every `snap` iterations (and at the end)
    seed: int = 0                     # seeds every random stream (data order, z, noise, augmentation)
    lr_g: float = 0.002               # generator learning rate (StyleGAN2: 0.002)
    lr_d: float = 0.002               # discriminator learning rate
    gamma: float | None = None        # R1 weight; None: NVIDIA's heuristic 0.0002 * res^2 / batch
    pl_weight: float = 0.0            # path-length regularisation weight (StyleGAN2 used 2; 0 = off)
    pl_batch_shrink: int = 2          # path-length reg runs on batch / shrink samples
    pl_decay: float = 0.01            # decay of the running mean path length
    style_mixing: float = 0.9         # probability of mixing two latents per batch (StyleGAN2: 0.9)
    g_reg_interval: int = 4           # lazy regularisation: path-length every N iterations
    d_reg_interval: int = 16          # lazy regularisation: R1 every N iterations
    lazy_reg: bool = True             # False: regularise in every step, no lr/beta correction (naive)
    ema_kimg: float | None = None     # EMA half-life in thousands of images; None: batch * 10 / 32
    freeze_mapping: bool = False      # FC: mapping gets no gradient, is not optimised, w_avg kept
    freeze_d: int = 0                 # FreezeD: freeze the first K discriminator blocks (input side)
    freeze_g: int = 0                 # FreezeG: freeze the synthesis blocks up to this resolution (0 = none):
                                      # G keeps the base's coarse layers, which hold the content
    new_d: bool = False               # start a fresh discriminator when the base has none
    d_warmup: int = 0                 # the first N iterations train D alone (G and G_ema untouched): a fresh
                                      # D learns the data before G learns from it
    mbstd_group: int | None = None    # D's minibatch-stddev group size; None keeps the model's (new: 4).
                                      # NVIDIA's CIFAR config uses 32 against mode collapse on many classes
    aug: str = "none"                 # 'none', 'ada' (adaptive) or 'diffaug'
    aug_p: float = 0.0                # initial ADA probability (or fixed p with ada_target None)
    ada_target: float | None = 0.6    # ADA r_t target; None keeps p fixed
    ada_interval: int = 4             # adjust p every N iterations
    ada_kimg: float = 500.0           # images for p to move from 0 to 1
    diffaug_policy: str = "color,translation,cutout"
    mirror: bool = False              # x-flip dataset images at random
    square: str = "crop"              # make images square by 'crop' or 'pad'
    fused_modconv: bool | None = None # None: batched modulated conv in training (fast); True: grouped (naive)
    precision: str | None = None      # 'fp32', 'bf16' (autocast) or 'fp16' (NVIDIA's fp16 blocks, CUDA);
                                      # None: the device's measured default (train.precision); the run
                                      # stores the resolved one, and resume keeps it
    cuda_graphs: bool = False         # CUDA, one process: replay each kind of iteration as a captured
                                      # CUDA graph (train.graphs): no per-op launch cost on the host
    grid_seeds: int = 16              # samples-NNNNNN.png shows G_ema for seeds 0..grid_seeds-1
    log_every: int = 10               # log.jsonl line every N iterations (and at snapshots)
    device: str = "auto"              # auto, cpu, cuda, cuda:N
    progress: bool = True             # tqdm progress bar
    resume: str | None = None         # run folder or snapshot to continue
    data_array: Any = field(default=None, repr=False)  # in-memory uint8 images instead of `data`

    def validate(self) -> None:
        def bad(msg: str) -> None:
            raise StylebridgeError(msg)

        if self.data is None and self.data_array is None:
            bad("no training data: give --data DIR_OR_ZIP")
        if self.resume is None and (self.base is None) == (self.config is None):
            bad("give exactly one of a base checkpoint (--base, fine-tuning) or an architecture (--config, training)")
        for name in ("iters", "batch", "snap", "g_reg_interval", "d_reg_interval", "ada_interval", "log_every",
                     "pl_batch_shrink"):
            if int(getattr(self, name)) < 1:
                bad(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.freeze_d < 0:
            bad(f"--freeze-d must be >= 0, got {self.freeze_d}")
        if self.freeze_g < 0:
            bad(f"--freeze-g must be 0 (none) or a block resolution such as 8, got {self.freeze_g}")
        if self.aug not in AUGMENTS:
            bad(f"--aug must be one of {', '.join(AUGMENTS)}, got {self.aug!r}")
        if not 0.0 <= self.aug_p < 1.0:
            bad(f"--aug-p must be in [0, 1), got {self.aug_p}")
        if self.mbstd_group is not None and self.mbstd_group < 1:
            bad(f"--mbstd-group must be >= 1, got {self.mbstd_group}")
        if self.gamma is not None and self.gamma < 0:
            bad(f"--gamma must be >= 0, got {self.gamma}")
        if self.pl_weight < 0:
            bad(f"--pl-weight must be >= 0, got {self.pl_weight}")
        if self.d_warmup < 0:
            bad(f"--d-warmup must be >= 0, got {self.d_warmup}")
        if self.lr_g <= 0 or self.lr_d <= 0:
            bad("learning rates must be positive")
        if not 0.0 <= self.style_mixing <= 1.0:
            bad(f"--style-mixing must be in [0, 1], got {self.style_mixing}")
        if self.square not in ("crop", "pad"):
            bad(f"--square must be 'crop' or 'pad', got {self.square!r}")
        if self.precision is not None and self.precision not in PRECISIONS:
            bad(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.grid_seeds < 1:
            bad("--grid-seeds must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("data_array")
        d["data"] = d["data"] if d["data"] is not None else ("<array>" if self.data_array is not None else None)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def default(cls, name: str) -> Any:
        """The default of option `name` (the CLI shows and uses these; defined only here)."""
        return field_default(cls, name)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainOptions:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise StylebridgeError(f"unknown training options {unknown}")
        return cls(**d)

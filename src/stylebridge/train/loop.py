"""The training loop shared by `finetune` and `train`: StyleGAN2 phases (G main, lazy
path-length reg, D main, lazy R1), EMA, augmentation with ADA's p controller, snapshots
that hold everything needed to continue bit for bit, and multi-process data parallelism.

Random streams: `gen` (CPU, identical on every process) draws the global batch (image
indices, flips, z, style mixing) and each process uses its slice, so N processes see
exactly the batches one process would; `local_gen` (per process, on the device) draws
per-pixel noise, augmentation and path-length noise. All their states, the global
torch / numpy / python states, both optimizers, EMA, ADA p and the path-length mean are
saved in every snapshot.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import random
import re
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stylebridge.data.dataset import ImageDataset
from stylebridge.data.images import make_grid, save_image
from stylebridge.errors import CheckpointError, StylebridgeError
from stylebridge.formats.loader import build_network, load_checkpoint
from stylebridge.formats.native import read_native, save_checkpoint
from stylebridge.networks.config import GeneratorConfig
from stylebridge.networks.registry import CONFIGS, create_discriminator, get_config
from stylebridge.networks.stylegan2 import Discriminator, Generator, z_from_seed
from stylebridge.train import ddp, graphs, losses, precision
from stylebridge.train.augment import Augmenter
from stylebridge.train.graphs import StepKind
from stylebridge.train.options import TrainOptions
from stylebridge.utils.device import fast_cuda, resolve_device, upload
from stylebridge.utils.io import atomic_write_text

SNAPSHOT_RE = re.compile(r"network-snapshot-(\d+)\.safetensors$")
# A discriminator that still cannot tell real from generated images this many iterations after
# G began to learn from it (loss at chance, mean logits of reals and fakes this close) gives G
# gradients of noise. Measured (TRAINING.md, session 11): a fresh D against the trained glyph
# base, 1000 iterations: loss 1.387, logits within 0.001, the base's FID 42 -> 59; from
# scratch the gap is above 2 within 50 iterations.
BLIND_D_AFTER = 500
BLIND_D_GAP = 0.05
CHANCE_LOSS_D = 2 * math.log(2)
RESUME_KEEP = ("iters", "snap", "log_every", "progress", "device", "cuda_graphs", "resume", "data", "data_array")


def merge_resume_options(saved: dict[str, Any], opts: Any, keep: tuple[str, ...], snapshot: Path) -> dict[str, Any]:
    """A resumed run's options: the snapshot's, except the fields in `keep`, which this call
    sets, and the output folder (this call's, else the snapshot's folder). Shared by every
    trainer that resumes (GAN training, encoder training)."""
    merged = {k: v for k, v in saved.items() if k not in keep}
    merged.update({k: getattr(opts, k) for k in keep})
    merged["outdir"] = opts.outdir or str(snapshot.parent)
    return merged


def parse_config(text: str) -> GeneratorConfig:
    """A registry name ('tiny-16'), a JSON object, or a path to a .json file."""
    if text in CONFIGS:
        return get_config(text)
    try:
        if text.lstrip().startswith("{"):
            d = json.loads(text)
        elif Path(text).is_file():
            d = json.loads(Path(text).read_text())
        else:
            raise StylebridgeError(f"unknown architecture {text!r}; give one of {', '.join(sorted(CONFIGS))}, "
                                   "a JSON object or a .json file")
    except json.JSONDecodeError as e:
        raise StylebridgeError(f"--config is not valid JSON: {e}") from None
    name = d.pop("name", None)
    return get_config(name, **d) if name else GeneratorConfig.from_dict(d)


def set_mbstd_group(D: Discriminator, group: int, local_batch: int) -> Discriminator:
    """D with its minibatch-stddev group size set to `group` (the weights do not depend on it);
    the new size is stored in D's config, so snapshots keep it."""
    if D.b4.mbstd is None:
        raise StylebridgeError("--mbstd-group: this discriminator has no minibatch-stddev layer")
    if local_batch % min(group, local_batch):
        raise StylebridgeError(f"--mbstd-group {group}: the batch per process ({local_batch}) must be a multiple "
                               f"of it (or smaller)")
    D.config = dataclasses.replace(D.config, mbstd_group_size=group)
    D.b4.mbstd.group_size = group
    return D


def find_snapshot(path: str | Path, pattern: re.Pattern = SNAPSHOT_RE,
                  kind: str = "network-snapshot-*.safetensors") -> Path:
    """A snapshot file, or the latest snapshot (`pattern`, group 1 = iteration) in a run folder."""
    path = Path(path)
    if path.is_dir():
        snaps = sorted((int(m.group(1)), p) for p in path.iterdir() if (m := pattern.search(p.name)))
        if not snaps:
            raise CheckpointError(f"{path}: no {kind} to resume from")
        return snaps[-1][1]
    if not path.is_file():
        raise CheckpointError(f"{path}: no such run folder or snapshot")
    return path


def _np_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"name": name, "keys": keys.astype(np.int64), "pos": int(pos), "has_gauss": int(has_gauss),
            "cached": float(cached)}


def _set_np_state(d: dict[str, Any]) -> None:
    np.random.set_state((d["name"], np.asarray(d["keys"]).astype(np.uint32), d["pos"], d["has_gauss"], d["cached"]))


def _py_state() -> list:
    v, st, g = random.getstate()
    return [v, list(st), g]


class Trainer:
    """Builds networks, data and optimizers from options (or a snapshot) and runs steps."""

    def __init__(self, opts: TrainOptions, dist_info: ddp.DistInfo | None = None):
        snapshot = None
        precision_given = opts.precision is not None
        saved_device_type = None
        if opts.resume is not None:
            snapshot = find_snapshot(opts.resume)
            raw = read_native(snapshot)
            saved = raw.extra.get("options")
            if not isinstance(saved, dict) or "training" not in raw.extra:
                raise CheckpointError(f"{snapshot}: not a training snapshot (no options / training state); "
                                      "to start a new run from it, pass it as --base instead")
            merged = merge_resume_options(saved, opts, RESUME_KEEP, snapshot)
            if opts.precision is not None:  # given explicitly: overrides the run's
                merged["precision"] = opts.precision
            if merged.get("data") is None and merged.get("data_array") is None:
                merged["data"] = saved.get("data")
            opts = TrainOptions.from_dict(merged)
            saved_device_type = raw.extra["training"].get("device_type")  # absent in older snapshots: kept
        elif not opts.outdir:
            raise StylebridgeError("give an output folder (--outdir RUN)")
        opts.validate()
        self.opts = opts
        dev = resolve_device(opts.device)
        self.info = dist_info or ddp.init_from_env(dev.type)
        if dev.type == "cuda" and self.info.enabled:
            dev = torch.device("cuda", self.info.local_rank)
        self.device = dev
        if not precision_given and saved_device_type not in (None, dev.type):
            # The run moved to another kind of device: its precision was that device's default
            # (or a choice for it); keeping bf16 on a CPU without bf16 hardware would train ~19x
            # slower, fp16 would not run at all. The new device's default, unless given.
            new = precision.default_precision(dev)
            if new != opts.precision:
                warnings.warn(f"resuming a {saved_device_type} run on {dev.type}: precision {opts.precision} -> "
                              f"{new} (this device's default; pass --precision to choose)", stacklevel=2)
            opts = dataclasses.replace(opts, precision=new)
        self.precision = precision.resolve_precision(opts.precision, dev)
        self.opts = opts = dataclasses.replace(opts, precision=self.precision)  # the run records the resolved one
        if opts.batch % self.info.world_size:
            raise StylebridgeError(f"--batch {opts.batch} must be divisible by the number of processes "
                                   f"({self.info.world_size})")
        self.local_batch = opts.batch // self.info.world_size
        self.outdir = Path(opts.outdir)

        torch.manual_seed(opts.seed)
        np.random.seed(opts.seed % 2**32)
        random.seed(opts.seed)
        if snapshot is not None:
            G, G_ema, D = (build_network(getattr(raw, n), f"{snapshot.name} [{n}]") for n in ("G", "G_ema", "D"))
            self.base_desc = str(snapshot)
        else:
            G, G_ema, D = self._build_fresh()
        if G.c_dim > 0:
            raise StylebridgeError("training class-conditional generators is not supported")
        if opts.mbstd_group is not None:
            D = set_mbstd_group(D, opts.mbstd_group, self.local_batch)
        if self.precision == "fp16":
            G, G_ema, D = (precision.with_fp16_blocks(n) for n in (G, G_ema, D))
        self.force_fp32 = self.precision != "fp16"
        self.G, self.G_ema, self.D = G.to(dev).train(), G_ema.to(dev).eval(), D.to(dev).train()
        self.G_ema.requires_grad_(False)
        self.dataset = ImageDataset(opts.data_array if opts.data_array is not None else opts.data,
                                    G.img_resolution, G.img_channels, square=opts.square)

        # Trainable parameters: frozen ones get requires_grad False and stay out of the optimizers.
        self.G.requires_grad_(True)
        if opts.freeze_mapping:
            self.G.mapping.requires_grad_(False)
        g_blocks = [res for res, _ in self.G.synthesis.blocks()]
        if opts.freeze_g and opts.freeze_g not in g_blocks[:-1]:
            raise StylebridgeError(f"--freeze-g {opts.freeze_g}: give a block resolution under the output's, one of "
                                   f"{', '.join(map(str, g_blocks[:-1]))} (0 = none)")
        for res in (r for r in g_blocks if r <= opts.freeze_g):  # freeze_g 0: none
            getattr(self.G.synthesis, f"b{res}").requires_grad_(False)
        self.D.requires_grad_(True)
        d_blocks = [res for res, _ in self.D.blocks()]
        if opts.freeze_d > len(d_blocks):
            raise StylebridgeError(f"--freeze-d {opts.freeze_d}: the discriminator has only {len(d_blocks)} blocks")
        for res in d_blocks[:opts.freeze_d]:
            getattr(self.D, f"b{res}").requires_grad_(False)
        self.G_params = [p for p in self.G.parameters() if p.requires_grad]
        self.D_params = [p for p in self.D.parameters() if p.requires_grad]
        ddp.broadcast_module(self.G, self.info)
        ddp.broadcast_module(self.G_ema, self.info)
        ddp.broadcast_module(self.D, self.info)
        # Lazy regularisation corrects lr and betas (NVIDIA: ratio = interval / (interval + 1)).
        use_graphs = graphs.check(opts, dev, self.info)
        lazy_g = opts.g_reg_interval if (opts.lazy_reg and opts.pl_weight > 0) else None
        self.G_opt = self._adam(self.G_params, opts.lr_g, lazy_g, use_graphs)
        self.D_opt = self._adam(self.D_params, opts.lr_d, opts.d_reg_interval if opts.lazy_reg else None, use_graphs)

        self.gamma = opts.gamma if opts.gamma is not None else losses.default_gamma(G.img_resolution, opts.batch)
        self.ema_beta = losses.ema_beta(opts.batch, opts.ema_kimg)
        self.augment = Augmenter(opts.aug, opts.aug_p, opts.diffaug_policy,
                                 p_device=torch.zeros([], device=dev) if use_graphs else None)
        self.gen = torch.Generator().manual_seed(opts.seed)
        self.local_gen = torch.Generator(device=dev).manual_seed(opts.seed * 1_000_003 + 7919 * (self.info.rank + 1))
        self.iteration, self.images_seen = 0, 0
        self.pl_mean = torch.zeros([], device=dev)
        self.ada_stat = torch.zeros([2], dtype=torch.float64, device=dev)
        self._sums: dict[str, torch.Tensor] = {}
        self._touched: set[str] = set()  # the statistics added to since the last log line
        self._count = 0
        if snapshot is not None:
            self._restore(raw.extra)
        self.snapshot_path = snapshot
        self.graphs = graphs.StepGraphs(self) if use_graphs else None

    # ------------------------------------------------------------------ setup
    def _build_fresh(self):
        opts = self.opts
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(opts.seed)
            if opts.config is not None:
                cfg = parse_config(opts.config)
                G = Generator(cfg)
                G_ema = copy.deepcopy(G)
                D = create_discriminator(cfg)
                self.base_desc = f"config {opts.config}"
                return G, G_ema, D
            ckpt = load_checkpoint(opts.base)
            G = ckpt.G if ckpt.G is not None else copy.deepcopy(ckpt.G_ema)
            if G is None:
                raise CheckpointError(f"{opts.base}: holds no generator to fine-tune")
            G_ema = ckpt.G_ema if ckpt.G_ema is not None else copy.deepcopy(G)
            D = ckpt.D
            if D is None:
                if not opts.new_d:
                    raise CheckpointError(f"{opts.base}: holds no discriminator, and fine-tuning needs one; pass "
                                          "--new-d to start a fresh discriminator (expect a slower start)")
                D = create_discriminator(G.config)
            self.base_desc = str(opts.base)
            return G, G_ema, D

    @staticmethod
    def _adam(params, lr: float, reg_interval: int | None, capturable: bool = False) -> torch.optim.Adam:
        ratio = reg_interval / (reg_interval + 1) if reg_interval else 1.0
        return torch.optim.Adam(params, lr=lr * ratio, betas=(0.0, 0.99 ** ratio), eps=1e-8, capturable=capturable)

    # ------------------------------------------------------------------ sampling the batch
    def _slice(self, t: torch.Tensor) -> torch.Tensor:
        r, b = self.info.rank, self.local_batch
        return t[r * b:(r + 1) * b]

    def _draw_reals(self) -> torch.Tensor:
        B = self.opts.batch
        idx = torch.randint(len(self.dataset), (B,), generator=self.gen)
        flip = torch.rand([B], generator=self.gen) < 0.5
        flip = self._slice(flip) if self.opts.mirror else None
        return self.dataset.batch(self._slice(idx), flip)

    def _draw_latents(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """z, the style-mixing z and the cutoff (num_ws: no mixing), on the host."""
        B, G = self.opts.batch, self.G
        z = torch.randn([B, G.z_dim], generator=self.gen)
        z2 = torch.randn([B, G.z_dim], generator=self.gen)
        u = float(torch.rand([], generator=self.gen))
        cut = int(torch.randint(1, G.num_ws, (), generator=self.gen))
        cutoff = cut if u < self.opts.style_mixing else G.num_ws
        return self._slice(z), self._slice(z2), torch.tensor(cutoff)

    def _draw(self, kind: StepKind) -> dict[str, torch.Tensor]:
        """Everything one iteration draws on the host (the CPU generator `gen`), in the order
        the phases use it: G main's latents, the lazy path-length latents, D's latents, reals."""
        d = {}
        d["z_g"], d["z2_g"], d["cut_g"] = self._draw_latents()
        if kind.pl and self.opts.lazy_reg:
            d["z_pl"], d["z2_pl"], d["cut_pl"] = self._draw_latents()
        d["z_d"], d["z2_d"], d["cut_d"] = self._draw_latents()
        d["real"] = self._draw_reals()
        return d

    def _ws(self, z, z2, cutoff, update_w_avg: bool) -> torch.Tensor:
        ws = self.G.mapping(z, None, update_w_avg=update_w_avg and not self.opts.freeze_mapping)
        return losses.mix_styles(ws, self.G.mapping(z2, None, update_w_avg=False), cutoff)

    def _amp(self):
        # A captured CUDA graph must not replay casts cached before it (autocast's weight cache).
        return precision.autocast(self.precision, self.device, cache=self.graphs is None)

    def _synth(self, ws) -> torch.Tensor:
        with self._amp():
            img = self.G.synthesis(ws, noise_mode="random", fused=self.opts.fused_modconv, generator=self.local_gen,
                                   force_fp32=self.force_fp32)
        return img.float()

    def _D(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        with self._amp():
            logits = self.D(img, c, force_fp32=self.force_fp32)
        return logits.float()

    def _aug(self, x: torch.Tensor) -> torch.Tensor:
        with precision.full_precision(self.precision, self.device):
            return self.augment(x.float(), self.local_gen)

    def _step(self, opt: torch.optim.Optimizer, params, loss: torch.Tensor) -> None:
        loss.backward()
        ddp.all_reduce_grads(params, self.info)
        grads = [p.grad for p in params if p.grad is not None]
        if grads:  # one pass over all gradients (NVIDIA: nan -> 0, +-inf -> +-1e5), not one launch per tensor
            flat = torch.nan_to_num(torch.cat([g.flatten() for g in grads]), nan=0, posinf=1e5, neginf=-1e5)
            torch._foreach_copy_(grads, [f.view_as(g) for f, g in zip(flat.split([g.numel() for g in grads]), grads)])
        opt.step()
        opt.zero_grad(set_to_none=True)

    def _acc(self, **vals: torch.Tensor) -> None:
        """Sum statistics on the device, in place (a CUDA graph replays into the same sums);
        they reach the host only when a log line is written (no synchronisation in the step)."""
        for k, v in vals.items():
            if k not in self._sums:
                self._sums[k] = torch.zeros([], device=self.device)
            self._sums[k].add_(v.detach().float())
            self._touched.add(k)

    # ------------------------------------------------------------------ one iteration
    def step(self) -> None:
        o, it = self.opts, self.iteration
        kind = StepKind(pl=o.pl_weight > 0 and (not o.lazy_reg or it % o.g_reg_interval == 0),
                        r1=self.gamma > 0 and (not o.lazy_reg or it % o.d_reg_interval == 0),
                        ada=o.aug == "ada" and self.augment.p > 0, g=it >= o.d_warmup)
        host = self._draw(kind)
        if self.graphs is not None:
            self.graphs.run(kind, host)
        else:
            self.device_step({k: upload(v, self.device) for k, v in host.items()}, kind)
        self.iteration += 1
        self.images_seen += o.batch
        self._count += 1
        if o.aug == "ada" and o.ada_target is not None and self.iteration % o.ada_interval == 0:
            stat = self.ada_stat.clone()
            if self.info.enabled:
                torch.distributed.all_reduce(stat)
            signs, count = stat.tolist()  # one synchronisation per ada_interval, as in NVIDIA's loop
            rt = signs / max(count, 1.0)
            adjust = math.copysign(1.0, rt - o.ada_target) * (o.batch * o.ada_interval) / (o.ada_kimg * 1000)
            self.augment.p = float(min(max(self.augment.p + adjust, 0.0), 1.0))
            self.ada_stat.zero_()
            self._acc(rt=upload(torch.tensor(rt, dtype=torch.float32), self.device))

    def device_step(self, d: dict[str, torch.Tensor], kind: StepKind) -> None:
        """The device's work of one iteration, from its draws `d` (on the device): no host
        values, no branches on device values and every piece of state updated in place, so that
        train.graphs can capture it once per `kind` and replay it."""
        o = self.opts
        lazy = o.lazy_reg
        if kind.g:  # G main (+ path length every step in naive mode); not while a fresh D warms up
            self._g_step(d, kind)

        # D main (+ R1 every step in naive mode).
        for p in self.D_params:
            p.requires_grad_(True)
        with torch.no_grad():
            fake = self._synth(self._ws(d["z_d"], d["z2_d"], d["cut_d"], update_w_avg=False))
        real = d["real"]
        fake_logits = self._D(self._aug(fake))
        if kind.r1 and not lazy:
            pen, real_logits = losses.r1_penalty(self._D, real, None, self._aug)
            loss_d = losses.d_main_loss(fake_logits, real_logits) + pen.mean() * (self.gamma / 2)
            self._acc(r1=pen.mean())
        else:
            real_logits = self._D(self._aug(real))
            loss_d = losses.d_main_loss(fake_logits, real_logits)
        self._acc(loss_D=loss_d, D_real=real_logits.mean(), D_fake=fake_logits.mean())
        self.ada_stat[0] += real_logits.detach().sign().sum().double()
        self.ada_stat[1] += real_logits.numel()
        self._step(self.D_opt, self.D_params, loss_d)
        if kind.r1 and lazy:
            pen, _ = losses.r1_penalty(self._D, real, None, self._aug)
            self._acc(r1=pen.mean())
            self._step(self.D_opt, self.D_params, pen.mean() * (self.gamma / 2 * o.d_reg_interval))

        # EMA of the trainable parameters; frozen ones stay bit-identical; buffers copied.
        with torch.no_grad():
            pairs = [(e, p) for e, p in zip(self.G_ema.parameters(), self.G.parameters()) if p.requires_grad]
            if pairs and kind.g:  # ema <- p + beta * (ema - p), all tensors in one foreach launch
                torch._foreach_lerp_([e for e, _ in pairs], [p for _, p in pairs], 1.0 - self.ema_beta)
            torch._foreach_copy_(list(self.G_ema.buffers()), list(self.G.buffers()))

    def _g_step(self, d: dict[str, torch.Tensor], kind: StepKind) -> None:
        o, lazy = self.opts, self.opts.lazy_reg
        self.D.requires_grad_(False)
        ws = self._ws(d["z_g"], d["z2_g"], d["cut_g"], update_w_avg=True)
        if self.info.enabled and not o.freeze_mapping:
            self.G.mapping.w_avg.copy_(ddp.all_reduce_mean(self.G.mapping.w_avg, self.info))
        loss_g = losses.g_main_loss(self._D(self._aug(self._synth(ws))))
        self._acc(loss_G=loss_g)
        if kind.pl and not lazy:
            loss_g = loss_g + self._pl_loss(d["z_g"], d["z2_g"], d["cut_g"], 1)
        self._step(self.G_opt, self.G_params, loss_g)
        if kind.pl and lazy:
            self._step(self.G_opt, self.G_params, self._pl_loss(d["z_pl"], d["z2_pl"], d["cut_pl"], o.g_reg_interval))

    def _pl_loss(self, z, z2, cutoff, weight_mult: int) -> torch.Tensor:
        o = self.opts
        n = max(self.local_batch // o.pl_batch_shrink, 1)
        ws = self._ws(z[:n], z2[:n], cutoff, update_w_avg=False)
        with self._amp():
            pen, new_mean = losses.path_length_penalty(self.G, ws, self.pl_mean, o.pl_decay,
                                                       o.fused_modconv, self.local_gen, force_fp32=self.force_fp32)
        pen = pen.float()
        self.pl_mean.copy_(ddp.all_reduce_mean(new_mean.float(), self.info))
        self._acc(pl=pen.mean())
        return pen.mean() * (o.pl_weight * weight_mult)

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        local_states = ddp.gather_objects(self.local_gen.get_state().cpu(), self.info)
        return {
            "G_opt": self.G_opt.state_dict(),
            "D_opt": self.D_opt.state_dict(),
            "training": {"iteration": self.iteration, "images_seen": self.images_seen, "aug_p": self.augment.p,
                         "ada_stat": self.ada_stat.cpu(), "pl_mean": self.pl_mean.cpu(),
                         "world_size": self.info.world_size, "base": self.base_desc,
                         "device_type": self.device.type},
            "rng": {"torch": torch.get_rng_state(), "numpy": _np_state(), "python": _py_state(),
                    "gen": self.gen.get_state(), "local_gens": local_states},
            "options": self.opts.to_dict(),
        }

    def _restore(self, extra: dict[str, Any]) -> None:
        tr, rng = extra["training"], extra["rng"]
        try:
            self.G_opt.load_state_dict(extra["G_opt"])
            self.D_opt.load_state_dict(extra["D_opt"])
        except (ValueError, KeyError) as e:
            raise CheckpointError(f"optimizer state in the snapshot does not fit: {e}") from None
        self.iteration, self.images_seen = int(tr["iteration"]), int(tr["images_seen"])
        self.augment.p = float(tr["aug_p"])
        self.ada_stat.copy_(tr["ada_stat"].to(torch.float64))
        self.pl_mean.copy_(tr["pl_mean"].float())
        self.base_desc = tr.get("base", self.base_desc)
        torch.set_rng_state(rng["torch"])
        _set_np_state(rng["numpy"])
        v, st, g = rng["python"]
        random.setstate((v, tuple(st), g))
        self.gen.set_state(rng["gen"])
        locals_ = rng["local_gens"]
        mine = self.local_gen.get_state()
        if len(locals_) == self.info.world_size and locals_[self.info.rank].numel() == mine.numel():
            self.local_gen.set_state(locals_[self.info.rank])
        else:  # another number of processes, or another kind of device (a CPU generator's state is
            # Mersenne Twister's 5 kB, a CUDA one's Philox seed and offset): a deterministic fresh stream
            self.local_gen.manual_seed(self.opts.seed * 1_000_003 + 7919 * (self.info.rank + 1) + self.iteration)

    def save_snapshot(self) -> Path | None:
        state = self.state()  # every process takes part (gathers the RNG states)
        if not self.info.is_main:
            return None
        path = self.outdir / f"network-snapshot-{self.iteration:06d}.safetensors"
        save_checkpoint(path, G=self.G, G_ema=self.G_ema, D=self.D, extra=state)
        self.save_samples(self.outdir / f"samples-{self.iteration:06d}.png")
        return path

    @torch.no_grad()
    def save_samples(self, path: Path) -> Path:
        G = self.G_ema
        z = torch.cat([z_from_seed(s, G.z_dim) for s in range(self.opts.grid_seeds)]).float().to(self.device)
        img = G.synthesis(G.mapping(z, None), noise_mode="const")
        return save_image(make_grid(img.clamp(-1, 1).cpu()), path)

    def pop_log(self, sec_per_iter: float) -> dict[str, Any]:
        n = max(self._count, 1)
        rec = {"iteration": self.iteration, "images_seen": self.images_seen, "aug_p": round(self.augment.p, 6),
               "sec_per_iter": round(sec_per_iter, 5)}
        keys = [k for k in self._sums if k in self._touched]
        if keys:  # the one host synchronisation of the statistics, per log line
            vals = torch.stack([self._sums[k] for k in keys]).cpu().tolist()
            rec.update({k: v / n for k, v in zip(keys, vals)})
        if self._sums:  # zeroed in place (one launch): captured graphs keep adding into them
            torch._foreach_zero_(list(self._sums.values()))
        self._touched, self._count = set(), 0
        return rec


def blind_discriminator(rec: dict[str, Any], g_iterations: int) -> str | None:
    """A one-line warning when a log record shows D at chance `g_iterations` after G began
    learning from it (BLIND_D_AFTER or more), else None."""
    if g_iterations < BLIND_D_AFTER or not {"loss_D", "D_real", "D_fake"} <= rec.keys():
        return None
    gap = rec["D_real"] - rec["D_fake"]
    if rec["loss_D"] < CHANCE_LOSS_D - 0.01 or abs(gap) >= BLIND_D_GAP:
        return None
    return (f"the discriminator still cannot tell real images from generated ones after {g_iterations} "
            f"iterations (loss {rec['loss_D']:.3f}, chance {CHANCE_LOSS_D:.3f}; D(real) - D(fake) = {gap:+.4f}): G "
            "is learning from noise and drifts. A fresh D (--new-d) against a trained G learns slowly: start "
            "from a checkpoint that keeps its discriminator, or let D learn alone first (--d-warmup N; slow "
            "too on the glyph zoo: its TRAINING.md)")


def run(opts: TrainOptions) -> Path:
    """Train until `opts.iters` iterations are done; returns the last snapshot's path."""
    tr = Trainer(opts)
    o, main = tr.opts, tr.info.is_main
    log_path = tr.outdir / "log.jsonl"
    if main:
        tr.outdir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(tr.outdir / "options.json", o.to_json() + "\n")
        with open(log_path, "a") as f:
            f.write(json.dumps({"event": "resume" if tr.snapshot_path else "start", "iteration": tr.iteration,
                                "base": tr.base_desc, "dataset": tr.dataset.describe(),
                                "skipped_files": len(tr.dataset.skipped), "processes": tr.info.world_size,
                                "gamma": tr.gamma, "ema_beta": tr.ema_beta, "device": str(tr.device),
                                "precision": tr.precision}) + "\n")
    warned = []

    def postfix(rec: dict[str, Any]) -> dict[str, str]:
        msg = None if warned else blind_discriminator(rec, rec["iteration"] - o.d_warmup)
        if msg:  # once per call: the log goes on recording the numbers
            warned.append(msg)
            warnings.warn(msg, stacklevel=2)
            with open(log_path, "a") as f:
                f.write(json.dumps({"event": "warning", "iteration": rec["iteration"], "message": msg}) + "\n")
        return dict(G=f"{rec.get('loss_G', 0):.3f}", D=f"{rec.get('loss_D', 0):.3f}", p=f"{tr.augment.p:.3f}")

    return drive(tr, log_path, main=main, postfix=postfix, after_snapshot=lambda: ddp.barrier(tr.info))


def drive(tr, log_path: Path, *, main: bool = True, postfix=lambda rec: {}, after_snapshot=lambda: None) -> Path | None:
    """The iteration loop the trainers share (GAN training here, the encoder's in
    stylebridge.encoder): `tr.step()` until `tr.opts.iters`, a log.jsonl line every `log_every`
    iterations, a snapshot every `snap` and at the end, a tqdm bar (main process only), on CUDA
    TF32 and cuDNN's autotuner (utils.device.fast_cuda; restored afterwards). Returns the last snapshot."""
    from tqdm import tqdm

    o = tr.opts
    last = tr.snapshot_path
    bar = tqdm(total=o.iters, initial=tr.iteration, disable=not (o.progress and main), unit="it", dynamic_ncols=True)
    t0, logged = time.perf_counter(), tr.iteration
    try:
        with fast_cuda(tr.device):
            while tr.iteration < o.iters:
                tr.step()
                bar.update(1)
                done = tr.iteration
                if done % o.log_every == 0 or done % o.snap == 0 or done == o.iters:
                    t1 = time.perf_counter()
                    rec = tr.pop_log((t1 - t0) / max(done - logged, 1))
                    t0, logged = t1, done
                    if main:
                        with open(log_path, "a") as f:
                            f.write(json.dumps(rec) + "\n")
                        bar.set_postfix(**postfix(rec))
                if done % o.snap == 0 or done == o.iters:
                    last = tr.save_snapshot() or last
                    after_snapshot()
    finally:
        bar.close()
    return last

"""Training an encoder for a base generator (`stylebridge encoder train`).

Each iteration draws a batch of the generator's own samples (z -> w -> image, rendered with
the stored noise, exactly as an inverted code is re-rendered) and, with `data`, a share of
real images. Losses: on samples, the code loss (mean squared difference of the predicted
and the true ws, in units of w's spread); on every image, L1 and a perceptual distance
between the input and the re-rendered prediction; e4e's delta penalty on the W+ offsets
(their mean L2 norm, per w_dim and in w_std units). With `progressive=K`, offset i is
unlocked after i*K iterations (e4e's progressive training).

Random stream: one CPU generator `gen` draws z and the real images' indices; its state,
the global torch state, Adam's state and the counters go into every snapshot, so a resumed
run continues bit for bit. The base generator is frozen (no gradient to its weights).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from pathlib import Path
from typing import Any

import torch

from stylebridge.encoder.network import Encoder, check_base, read_encoder, rebase, save_encoder, widen
from stylebridge.encoder.options import EncoderTrainOptions
from stylebridge.errors import CheckpointError, StylebridgeError
from stylebridge.train.loop import drive, merge_resume_options
from stylebridge.train.precision import resolve_precision
from stylebridge.utils.device import resolve_device, upload
from stylebridge.utils.io import atomic_write_text

SNAPSHOT_RE = re.compile(r"encoder-snapshot-(\d+)\.safetensors$")
FINAL_NAME = "encoder.safetensors"
RESUME_KEEP = ("iters", "snap", "log_every", "progress", "device", "resume", "keep_snapshots")


def find_snapshot(path: str | Path) -> Path:
    """A snapshot file, or the latest `encoder-snapshot-*.safetensors` in a run folder."""
    from stylebridge.train.loop import find_snapshot as find

    return find(path, SNAPSHOT_RE, "encoder-snapshot-*.safetensors")


class EncoderTrainer:
    def __init__(self, opts: EncoderTrainOptions):
        from stylebridge.formats.loader import load_checkpoint
        from stylebridge.invert.perceptual import make_perceptual

        extra = None
        snapshot = None
        if opts.resume is not None and opts.init:
            raise StylebridgeError("--init starts a new run from an encoder's weights, --resume continues a run: "
                                   "give one of them")
        if opts.resume is not None:
            snapshot = find_snapshot(opts.resume)
            E, extra = read_encoder(snapshot)
            saved = extra.get("options")
            if not isinstance(saved, dict) or "training" not in extra:
                raise CheckpointError(f"{snapshot}: not an encoder training snapshot (no options / training state)")
            opts = EncoderTrainOptions.from_dict(merge_resume_options(saved, opts, RESUME_KEEP, snapshot))
        elif not opts.outdir:
            raise StylebridgeError("give an output folder (--outdir DIR)")
        opts.validate()
        self.opts = opts
        self.device = dev = resolve_device(opts.device)
        resolve_precision(opts.precision, dev)  # fp16 only on CUDA: the trainers' one rule
        self.outdir = Path(opts.outdir)
        G = load_checkpoint(opts.base, device=dev, generator_only=True).generator
        if G.c_dim:
            raise StylebridgeError("encoders for class-conditional generators are not supported")
        self.G = G.eval().requires_grad_(False)
        torch.manual_seed(opts.seed)  # the global stream (unused by the steps; saved and restored all the same)
        if snapshot is None and opts.init:
            E = read_encoder(opts.init)[0]  # its own config: --channels / --hidden do not apply
            if opts.new_base:
                E = rebase(E.to(dev), G)
            else:
                check_base(E, G, f"--init {Path(opts.init).name}")
            if opts.widen:
                E = widen(E.float(), opts.widen, seed=opts.seed)
            opts.channels, opts.hidden = E.config.channels, E.config.hidden
        elif snapshot is None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(opts.seed)
                E = Encoder.for_generator(G, channels=opts.channels, hidden=opts.hidden)
        else:
            check_base(E, G, f"snapshot {snapshot.name}")
        self.E = E.to(dev).train()
        self.dataset = None
        if opts.data:
            from stylebridge.data.dataset import ImageDataset
            self.dataset = ImageDataset(opts.data, G.img_resolution, G.img_channels)
        self.n_real = round(opts.batch * opts.real_fraction) if self.dataset is not None else 0
        self.pname, self.pdist = ("none", None)
        if opts.perceptual_weight and opts.perceptual != "none":
            self.pname, self.pdist = make_perceptual(opts.perceptual, device=dev)
        self.opt = torch.optim.Adam(self.E.parameters(), lr=opts.lr, betas=(0.9, 0.999))
        self.scaler = torch.amp.GradScaler("cuda", enabled=opts.precision == "fp16")
        self.dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[opts.precision]
        self.gen = torch.Generator().manual_seed(opts.seed)
        self.iteration, self.images_seen = 0, 0
        self._sums: dict[str, torch.Tensor] = {}  # on the device: read back once per log line
        self._count = 0
        if extra is not None:
            self._restore(extra)
        self.snapshot_path = snapshot

    # ------------------------------------------------------------------ one iteration
    def unlocked(self) -> int | None:
        k = self.opts.progressive
        return None if k <= 0 else min(self.iteration // k, self.G.num_ws - 1)

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(images [B, C, R, R] on the device, true ws of the first B - n_real of them)."""
        o, G = self.opts, self.G
        ns = o.batch - self.n_real
        z = upload(torch.randn([ns, G.z_dim], generator=self.gen), self.device)
        with torch.no_grad():
            ws = G.mapping(z, None, truncation_psi=o.truncation)
            imgs = [G.synthesis(ws, noise_mode="const").float()]
        if self.n_real:
            idx = torch.randint(len(self.dataset), (self.n_real,), generator=self.gen)
            imgs.append(upload(self.dataset.batch(idx), self.device))
        return torch.cat(imgs), ws

    def losses(self, x: torch.Tensor, ws_true: torch.Tensor) -> dict[str, torch.Tensor]:
        o, E, G = self.opts, self.E, self.G
        ns = ws_true.shape[0]
        with self._autocast():
            ws, deltas = E(x, self.unlocked(), return_deltas=True)
        ws = ws.float()
        out = {"code": (((ws[:ns] - ws_true) / E.w_std).square().mean() if ns else ws.sum() * 0)}
        # bf16: the synthesis computes in bf16; fp16: its config's fp16 blocks (CUDA) do.
        rec = G.synthesis(ws, noise_mode="const",
                          dtype=torch.bfloat16 if self.dtype == torch.bfloat16 else torch.float32)
        rec = rec.float()
        out["pixel"] = (rec - x).abs().mean()
        if self.pdist is not None:
            with self._autocast():
                out["perceptual"] = self.pdist(rec, x).float().mean()
        out["delta"] = deltas.float().norm(dim=2).mean() / math.sqrt(G.w_dim)
        out["loss"] = (o.code_weight * out["code"] + o.pixel_weight * out["pixel"] + o.delta_weight * out["delta"]
                       + (o.perceptual_weight * out["perceptual"] if "perceptual" in out else 0))
        return out

    def _autocast(self) -> contextlib.AbstractContextManager:
        """bf16 / fp16: autocast around the encoder and the perceptual network; fp32: nothing
        (not even a disabled autocast, which some device types refuse)."""
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def learning_rate(self) -> float:
        """opts.lr, falling to 0 along a half cosine over the last `lr_rampdown` share of opts.iters."""
        o = self.opts
        left = (o.iters - self.iteration) / (o.lr_rampdown * o.iters) if o.lr_rampdown > 0 else 1.0
        return o.lr * (0.5 - 0.5 * math.cos(math.pi * min(max(left, 0.0), 1.0)))

    def step(self) -> None:
        for g in self.opt.param_groups:
            g["lr"] = self.learning_rate()
        x, ws_true = self._batch()
        out = self.losses(x, ws_true)
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(out["loss"]).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        for k, v in out.items():
            self._sums[k] = self._sums[k] + v.detach().float() if k in self._sums else v.detach().float()
        self._count += 1
        self.iteration += 1
        self.images_seen += self.opts.batch

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        return {"opt": self.opt.state_dict(), "scaler": self.scaler.state_dict(),
                "training": {"iteration": self.iteration, "images_seen": self.images_seen, "base": str(self.opts.base)},
                "rng": {"torch": torch.get_rng_state(), "gen": self.gen.get_state()},
                "options": self.opts.to_dict()}

    def _restore(self, extra: dict[str, Any]) -> None:
        try:
            self.opt.load_state_dict(extra["opt"])
            if extra.get("scaler"):
                self.scaler.load_state_dict(extra["scaler"])
        except (ValueError, KeyError) as e:
            raise CheckpointError(f"optimizer state in the snapshot does not fit: {e}") from None
        tr, rng = extra["training"], extra["rng"]
        self.iteration, self.images_seen = int(tr["iteration"]), int(tr["images_seen"])
        torch.set_rng_state(rng["torch"])
        self.gen.set_state(rng["gen"])

    def save_snapshot(self) -> Path:
        self.outdir.mkdir(parents=True, exist_ok=True)
        path = self.outdir / f"encoder-snapshot-{self.iteration:06d}.safetensors"
        save_encoder(path, self.E, extra=self.state())
        save_encoder(self.outdir / FINAL_NAME, self.E,
                     dtype=torch.float16 if self.opts.file_dtype == "fp16" else None)
        snaps = sorted((int(m.group(1)), p) for p in self.outdir.iterdir() if (m := SNAPSHOT_RE.search(p.name)))
        for _, old in snaps[:-self.opts.keep_snapshots]:
            old.unlink(missing_ok=True)
        return path

    def pop_log(self, sec_per_iter: float) -> dict[str, Any]:
        n = max(self._count, 1)
        rec = {"iteration": self.iteration, "images_seen": self.images_seen, "unlocked": self.unlocked(),
               "lr": self.learning_rate(),
               "sec_per_iter": round(sec_per_iter, 5)}
        if self._sums:  # the one host synchronisation of the losses, per log line
            keys = list(self._sums)
            vals = torch.stack([self._sums[k] for k in keys]).cpu().tolist()
            rec.update({k: round(v / n, 6) for k, v in zip(keys, vals)})
        self._sums, self._count = {}, 0
        return rec


def train_encoder(opts: EncoderTrainOptions) -> Path:
    """Train until `opts.iters` iterations are done; returns the run's encoder.safetensors."""
    tr = EncoderTrainer(opts)
    o = tr.opts
    tr.outdir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(tr.outdir / "options.json", json.dumps(o.to_dict(), indent=2) + "\n")
    log_path = tr.outdir / "log.jsonl"
    with open(log_path, "a") as f:
        f.write(json.dumps({"event": "resume" if tr.snapshot_path else "start", "iteration": tr.iteration,
                            "base": o.base, "perceptual": tr.pname, "real_per_batch": tr.n_real,
                            "dataset": tr.dataset.describe() if tr.dataset is not None else None}) + "\n")
    drive(tr, log_path, postfix=lambda rec: dict(loss=f"{rec.get('loss', 0):.3f}", code=f"{rec.get('code', 0):.3f}"))
    return tr.outdir / FINAL_NAME

"""Inversion API: `invert(G, images)` for notebooks, `invert_folder` for resumable,
sharded batch jobs.

Files per image NAME (written atomically): `NAME.npz` in NVIDIA's projected_w layout
(array 'w' [1, num_ws, w_dim] float32) plus 'v' (SeFa coordinates, [1, w_dim], sefa
only), 'method', and the optimised noise maps 'noise/<layer>' when noise was optimised;
`NAME.png` the reconstruction, rendered in fp32 from exactly the saved arrays
(`render_saved` reproduces it bit for bit); and one row in `summary.csv`.
"""

from __future__ import annotations

import csv
import io
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from stylebridge.data.images import list_images, load_image, save_image, to_uint8
from stylebridge.data.video_io import FORMATS, find_ffmpeg, write_video
from stylebridge.errors import DataError, StylebridgeError
from stylebridge.invert.options import (
    DEFAULT_METHOD,
    DEFAULT_PERCEPTUAL,
    ENCODER_FEEDBACK,
    ENCODER_METHOD,
    FEEDBACK_GAIN,
    REFINE_LR,
)
from stylebridge.invert.perceptual import make_perceptual
from stylebridge.invert.projector import LatentStats, ProjectorConfig, latent_stats, per_image_noise, project
from stylebridge.invert.sefa import factorize
from stylebridge.metrics.ssim import ssim
from stylebridge.networks.stylegan2 import Generator
from stylebridge.utils.io import atomic_path, atomic_write_text

SUMMARY_FIELDS = ["name", "source", "method", "steps", "seconds", "loss", "mse", "ssim", "lpips", "perceptual"]


@dataclass
class InversionResult:
    ws: torch.Tensor                       # [N, num_ws, w_dim] best codes
    v: torch.Tensor | None                 # [N, w_dim] SeFa coordinates (method 'sefa')
    losses: torch.Tensor                   # [N] final reconstruction loss
    reconstruction: torch.Tensor           # [N, C, H, W] in [-1, 1], fp32 render of ws (+ noise)
    steps: torch.Tensor                    # [N] steps run per image
    method: str = DEFAULT_METHOD
    perceptual: str = "none"               # which perceptual loss was used
    noise: dict[str, torch.Tensor] | None = None
    history: list[list[float]] = field(default_factory=list)


_STATS_ATTR = "_stylebridge_latent_stats"  # on the generator: {sefa?: (weights key, LatentStats)}


def _weights_key(G: Generator, sefa: bool) -> tuple:
    """Changes whenever a tensor the statistics read is replaced or changed in place (any
    in-place op, optimizer step, load_state_dict or copy_ bumps a tensor's version; writes
    through `.data` bypass it and are not seen)."""
    tensors = list(G.mapping.parameters()) + list(G.mapping.buffers())
    if sefa:
        tensors += [t for n, t in G.synthesis.named_parameters() if ".affine." in n]
    return tuple((t.data_ptr(), t._version) for t in tensors)


def stats_for(G: Generator, method: str) -> LatentStats:
    """The latent statistics of G for `method`, kept on G itself until its mapping (or, for
    SeFa, its style affines) change. Threads sharing G may both compute them once; each gets
    correct statistics, and the last one computed is kept."""
    sefa = method == "sefa"
    key = _weights_key(G, sefa)
    memo = G.__dict__.get(_STATS_ATTR, {})
    if sefa in memo and memo[sefa][0] == key:
        return memo[sefa][1]
    V = factorize(G, "all").vectors.to(G.mapping.w_avg.device) if sefa else None
    stats = latent_stats(G, V)
    G.__dict__[_STATS_ATTR] = {**memo, sefa: (key, stats)}  # a new dict swapped in whole: never seen half-made
    return stats


@torch.no_grad()
def render(G: Generator, ws: torch.Tensor, noise: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """fp32 render, one image at a time (the form `stylebridge generate` uses for a single w)."""
    device = G.mapping.w_avg.device
    out = []
    for i in range(ws.shape[0]):
        n = {k: t[i:i + 1].to(device) for k, t in noise.items()} if noise else None
        with per_image_noise(G, n):
            out.append(G.synthesis(ws[i:i + 1].to(device), noise_mode="const", dtype=torch.float32).float().cpu())
    return torch.cat(out)


def projector_config(method: str, config: ProjectorConfig | None, overrides: dict
                     ) -> tuple[ProjectorConfig, int, int]:
    """(projector config, refinement steps, feedback passes). Method 'encoder': steps 0 /
    None means the encoder's codes (after `feedback` passes, default ENCODER_FEEDBACK);
    N > 0 refines them by N W+ steps (lr REFINE_LR unless given or a config is). Other
    methods: refinement steps and feedback passes -1."""
    ov = dict(overrides)
    feedback = ov.pop("feedback", None)
    if method != ENCODER_METHOD:
        if feedback is not None:
            raise StylebridgeError(f"feedback passes correct an encoder's codes: use them with method "
                                   f"'{ENCODER_METHOD}', not '{method}'")
        return replace(config or ProjectorConfig(), method=method, **ov), -1, -1
    feedback = ENCODER_FEEDBACK if feedback is None else int(feedback)
    if feedback < 0:
        raise StylebridgeError(f"--feedback must be >= 0, got {feedback}")
    steps = int(ov.pop("steps", None) or 0)
    if steps < 0:
        raise StylebridgeError(f"--steps must be >= 0 with method encoder, got {steps}")
    if config is None:
        ov.setdefault("lr", REFINE_LR)
    return replace(config or ProjectorConfig(), method="wplus", **ov, steps=max(steps, 1)), steps, feedback


def resolve_encoder(G: Generator, encoder) -> torch.nn.Module:
    """A loaded encoder (stylebridge.encoder: `load_encoder(FILE, G)`, or a zoo's `Zoo.encoder()`),
    checked against G (one line if it belongs to another base). invert/ sits below the encoder
    package in the layering, so files are loaded by the caller."""
    if encoder is None:
        raise StylebridgeError("method 'encoder' needs an encoder: pass --encoder FILE (or a zoo that lists one); "
                               "train one with `stylebridge encoder train CKPT --outdir DIR`")
    if not hasattr(encoder, "check_base"):
        raise StylebridgeError(f"encoder= takes a loaded encoder, not {type(encoder).__name__}: use "
                               "stylebridge.encoder.load_encoder(FILE, G)")
    encoder.check_base(G)
    return encoder.to(G.mapping.w_avg.device).eval()


@torch.no_grad()
def encode(E: torch.nn.Module, images: torch.Tensor, batch_size: int = 64, *, G: Generator | None = None,
           feedback: int = 0, gain: float = FEEDBACK_GAIN) -> torch.Tensor:
    """The encoder's W+ codes [N, num_ws, w_dim] (CPU, fp32) of images [N, C, H, W] in [-1, 1].

    `feedback` passes (they need G, the encoder's base) correct each code w of an image x by
    what the encoder gets wrong on its own reconstruction: w <- w + gain * (E(x) - E(G(w))),
    G rendered with constant noise (batched form) and clipped to [-1, 1], as images are
    (measured: clipping lowers LPIPS after a pass, results/feedback.json)."""
    if feedback and G is None:
        raise StylebridgeError("feedback passes render the codes: pass G, the encoder's base")
    device = E.w_avg.device
    out = []
    for s in range(0, images.shape[0], max(1, batch_size)):
        w0 = E(images[s:s + batch_size].to(device, torch.float32)).float()
        w = w0
        for _ in range(feedback):
            rec = G.synthesis(w.to(G.mapping.w_avg.device), noise_mode="const", dtype=torch.float32, fused=False)
            w = w + gain * (w0 - E(rec.to(device, torch.float32).clamp_(-1, 1)).float())
        out.append(w.cpu())
    return torch.cat(out)


def invert(G: Generator, images: torch.Tensor | Sequence[torch.Tensor], method: str = DEFAULT_METHOD, *,
           D: torch.nn.Module | None = None, perceptual: str = DEFAULT_PERCEPTUAL, batch_size: int = 8,
           config: ProjectorConfig | None = None, callback=None, encoder=None, **overrides) -> InversionResult:
    """Invert images [N, C, H, W] in [-1, 1] (model resolution) into G's latent space.

    `overrides` are ProjectorConfig fields (steps=, lr=, topk=, clamp=, precision=, ...).
    Perceptual loss: see invert/options.py ('auto': pixel + gradient on a CPU; on a GPU
    LPIPS-VGG16 if installed, else D features if D given, else pixel; a warning says which).
    Method 'encoder' (with `encoder=` a loaded Encoder): one forward pass and `feedback=`
    passes (default ENCODER_FEEDBACK; see `encode`), losses are the L1 pixel loss; with
    steps=N > 0, W+ optimisation from those codes.
    """
    cfg, refine, feedback = projector_config(method, config, overrides)
    cfg.validate(G)
    if not isinstance(images, torch.Tensor):
        images = torch.stack(list(images))
    if images.ndim == 3:
        images = images[None]
    device = G.mapping.w_avg.device
    init = None
    if refine >= 0:
        init = encode(resolve_encoder(G, encoder), images, G=G, feedback=feedback)
        if refine == 0:
            rec = render(G, init)
            return InversionResult(ws=init, v=None, losses=(rec - images.float().cpu()).abs().mean(dim=[1, 2, 3]),
                                   reconstruction=rec, steps=torch.zeros(len(init), dtype=torch.long),
                                   method=ENCODER_METHOD, perceptual="none")
    pname, pdist = make_perceptual(perceptual, D=D, device=device) if cfg.perceptual_weight else ("none", None)
    stats = stats_for(G, cfg.method)
    outs = []
    for s in range(0, images.shape[0], max(1, batch_size)):
        cb = None if callback is None else (lambda st, idx, x, img, s=s: callback(st, idx + s, x, img))
        outs.append(project(G, images[s:s + batch_size], cfg, pdist, stats, callback=cb,
                            init_ws=None if init is None else init[s:s + batch_size]))
    ws = torch.cat([o.ws for o in outs]).cpu()
    noise = None
    if cfg.optimize_noise:
        noise = {k: torch.cat([o.noise[k] for o in outs]).cpu() for k in outs[0].noise}
    return InversionResult(
        ws=ws, v=torch.cat([o.v for o in outs]).cpu() if cfg.method == "sefa" else None,
        losses=torch.cat([o.best_loss for o in outs]), reconstruction=render(G, ws, noise),
        steps=torch.cat([o.steps for o in outs]), method=method if init is not None else cfg.method,
        perceptual=pname, noise=noise,
        history=[h for o in outs for h in o.history])


# ----------------------------------------------------------------------------- files


def save_code(path: Path, ws: torch.Tensor, v: torch.Tensor | None, method: str,
              noise: dict[str, torch.Tensor] | None = None) -> None:
    arrays = {"w": ws.reshape(1, *ws.shape[-2:]).float().numpy(), "method": np.asarray(method)}
    if v is not None:
        arrays["v"] = v.reshape(1, -1).float().numpy()
    for k, t in (noise or {}).items():
        arrays[f"noise/{k}"] = t.reshape(1, *t.shape[-3:]).float().numpy()
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def load_code(path: str | Path) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
    with np.load(path, allow_pickle=False) as d:
        ws = torch.from_numpy(d["w"].astype(np.float32))
        noise = {k[len("noise/"):]: torch.from_numpy(d[k]) for k in d.files if k.startswith("noise/")}
    return ws, (noise or None)


def render_saved(G: Generator, path: str | Path) -> torch.Tensor:
    """Re-render NAME.npz exactly as NAME.png was rendered -> uint8 [C, H, W]."""
    ws, noise = load_code(path)
    return to_uint8(render(G, ws, noise))[0]


def _lpips_metric(device):
    try:
        from stylebridge.invert.perceptual import load_lpips_vgg, lpips_distance
        return lpips_distance(load_lpips_vgg(device))
    except StylebridgeError:
        return None


def parse_shard(text: str | None) -> tuple[int, int]:
    """'i/n' (0-based i) -> (i, n); None -> from torchrun's RANK / WORLD_SIZE, else (0, 1)."""
    if text is None:
        rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
        return rank, max(world, 1)
    try:
        i, n = (int(p) for p in str(text).split("/"))
    except ValueError:
        raise StylebridgeError(f"--shard must look like i/n (e.g. 0/4), got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise StylebridgeError(f"--shard {text}: need 0 <= i < n")
    return i, n


def input_names(files: list[Path], root: Path | None) -> list[str]:
    """Output stems: the path under the input folder with '/' -> '__', unique."""
    names = []
    for f in files:
        rel = f.relative_to(root) if root is not None else Path(f.name)
        names.append("__".join(rel.with_suffix("").parts))
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}_{k}")
    return out


VIDEO_FORMATS = tuple(f.lstrip(".") for f in FORMATS)  # what write_video writes


def check_video_format(save_video: bool | str) -> str | None:
    """`save_video` as a file suffix: False -> None, True -> 'gif', 'gif' / 'mp4' as given;
    'mp4' also needs an ffmpeg (checked before any work)."""
    if not save_video:
        return None
    fmt = "gif" if save_video is True else str(save_video)
    if fmt not in VIDEO_FORMATS:
        raise StylebridgeError(f"video format must be one of {', '.join(VIDEO_FORMATS)}, got {fmt[:20]!r}")
    if fmt == "mp4":
        find_ffmpeg()
    return fmt


def _save_video(path: Path, target: torch.Tensor, frames: list[torch.Tensor]) -> None:
    """target | reconstruction at each recorded step, 12.5 frames per second (.gif or .mp4)."""
    write_video((torch.cat([target, fr], dim=2).permute(1, 2, 0).numpy() for fr in frames), path, fps=12.5)


def read_summary(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        return {r["name"]: r for r in csv.DictReader(f)}


def _write_summary(path: Path, rows: dict[str, dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS, extrasaction="ignore")
    w.writeheader()
    for name in sorted(rows):
        w.writerow(rows[name])
    atomic_write_text(path, buf.getvalue())


def shard_inputs(inputs: str | Path | Sequence[str | Path],
                 shard: str | None) -> tuple[list[tuple[Path, str]], int, int]:
    """The (file, output name) pairs of a folder or file list that shard `i/n` takes, with
    (rank, world). Shared by inversion and translation jobs so both name files alike."""
    if isinstance(inputs, (str, Path)) and Path(inputs).is_dir():
        root: Path | None = Path(inputs)
        files = list_images(root)
    else:
        root = None
        files = list_images([inputs] if isinstance(inputs, (str, Path)) else inputs)
    rank, world = parse_shard(shard)
    return [(f, n) for k, (f, n) in enumerate(zip(files, input_names(files, root))) if k % world == rank], rank, world


def invert_folder(G: Generator, inputs: str | Path | Sequence[str | Path], outdir: str | Path, *,
                  method: str = DEFAULT_METHOD, D: torch.nn.Module | None = None, perceptual: str = DEFAULT_PERCEPTUAL,
                  batch_size: int = 8, shard: str | None = None, config: ProjectorConfig | None = None,
                  save_video: bool | str = False, encoder=None, log=print, progress: bool = False,
                  **overrides) -> dict:
    """Invert every image of a folder (or file list) that has no NAME.npz + NAME.png yet.
    `save_video`: also NAME.gif (True or 'gif') or NAME.mp4 ('mp4'): target | reconstruction
    along the optimisation.

    Raises DataError when no input could be read (as for a folder without images).
    `progress`: a tqdm bar on stderr (images, with the step of the running batch), shown only
    when stderr is a terminal."""
    from tqdm import tqdm

    outdir = Path(outdir)
    video = check_video_format(save_video)
    mine, rank, world = shard_inputs(inputs, shard)
    # Each shard writes its own summary file so processes never race on one file.
    summary = outdir / ("summary.csv" if world == 1 else f"summary.shard{rank}of{world}.csv")
    rows = read_summary(summary)
    todo = [(f, n) for f, n in mine if not ((outdir / f"{n}.npz").exists() and (outdir / f"{n}.png").exists())]
    skipped, failed, reasons = len(mine) - len(todo), [], []
    if skipped:
        log(f"resume: {skipped} of {len(mine)} images already done in {outdir}")
    cfg, refine, feedback = projector_config(method, config, overrides)
    cfg.validate(G)
    if refine >= 0:
        encoder = resolve_encoder(G, encoder)  # load once, refuse a foreign one before any work
    device = G.mapping.w_avg.device
    metric_lpips = _lpips_metric(device)
    noted = False
    done = 0
    bar = tqdm(total=len(todo), desc="invert", unit="img", disable=None if progress and todo else True,
               dynamic_ncols=True)
    for s in range(0, len(todo), batch_size):
        batch, imgs = [], []
        for f, n in todo[s:s + batch_size]:
            try:
                imgs.append(load_image(f, G.img_resolution, G.img_channels))
                batch.append((f, n))
            except DataError as e:  # reported at the end: an error if no input was readable
                failed.append(str(f))
                reasons.append(str(e))
        if not batch:
            bar.update(len(todo[s:s + batch_size]))
            continue
        if not noted:
            log(f"note: images are converted to {G.img_channels} channel(s) and resized to "
                f"{G.img_resolution}x{G.img_resolution} (center crop + LANCZOS) where needed")
            noted = True
        t0 = time.perf_counter()
        frames: dict[int, list[torch.Tensor]] = {}
        every = max(1, cfg.steps // 60)

        def grab(step, idx, x, img):
            if not bar.disable and step % 10 == 0:
                bar.set_postfix_str(f"step {step}/{cfg.steps}, {len(idx)} running")
            if video and step % every == 0:
                for j, i in enumerate(idx.tolist()):
                    frames.setdefault(i, []).append(to_uint8(img[j].cpu()))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = invert(G, torch.stack(imgs), method, D=D, perceptual=perceptual, batch_size=len(imgs),
                         config=cfg, callback=grab if video or not bar.disable else None,
                         encoder=encoder, **({"steps": refine, "feedback": feedback} if refine >= 0 else {}))
        for wmsg in {str(c.message) for c in caught}:
            log(f"warning: {wmsg}")
        sec = (time.perf_counter() - t0) / len(batch)
        target = torch.stack(imgs)
        rec_q = to_uint8(res.reconstruction).float() / 127.5 - 1  # metrics on what is saved
        mse = (rec_q - target).square().mean(dim=[1, 2, 3])
        ss = ssim(rec_q, target).float()
        lp = metric_lpips(rec_q.to(device), target.to(device)).cpu() if metric_lpips is not None else None
        for j, (f, n) in enumerate(batch):
            noise = {k: t[j:j + 1] for k, t in res.noise.items()} if res.noise else None
            save_code(outdir / f"{n}.npz", res.ws[j:j + 1], None if res.v is None else res.v[j:j + 1],
                      res.method, noise)
            save_image(to_uint8(res.reconstruction[j]), outdir / f"{n}.png")
            if video and frames.get(j):
                _save_video(outdir / f"{n}.{video}", to_uint8(imgs[j]), frames[j] + [to_uint8(res.reconstruction[j])])
            rows[n] = {"name": n, "source": str(f), "method": res.method, "steps": int(res.steps[j]),
                       "seconds": f"{sec:.3f}", "loss": f"{float(res.losses[j]):.6f}", "mse": f"{float(mse[j]):.6f}",
                       "ssim": f"{float(ss[j]):.5f}", "lpips": "" if lp is None else f"{float(lp[j]):.5f}",
                       "perceptual": res.perceptual}
            done += 1
        _write_summary(summary, rows)
        bar.update(len(todo[s:s + batch_size]))
        log(f"inverted {done}/{len(todo)} ({sec:.2f} s/image)")
    bar.close()
    if mine and len(failed) == len(mine):
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise DataError(f"none of the {len(mine)} input image(s) could be read: {reasons[0]}{more}")
    for r in reasons:
        log(f"skipped: {r}")
    return {"done": done, "skipped": skipped, "failed": failed, "shard": (rank, world), "summary": str(summary)}

"""The batched projector: optimise one latent per image, images never interact.

Methods (`ProjectorConfig.method`):

* `w`: one w per image, broadcast to every layer (NVIDIA's projector);
* `wplus`: one w per layer per image (W+);
* `sefa`: the paper's parametrisation, w = w_avg + v^T V with V the SeFa eigenbasis of
  A^T A (rows = directions, strongest first) and v in R^w_dim. v = 0 is the mean w, so
  inversion starts at the mean. Real constraints: `topk=K` lets only v_0..v_{K-1} move
  (the others stay 0, i.e. at the mean); `clamp=S` keeps each v_j within
  mean_j +- S std_j of its distribution over mapped samples (projected gradient: clamped
  after every step).

Independence: the loss is a sum of per-image losses, every op is per image (no batch
statistics), and the optimiser is a per-element Adam whose state rows belong to one image
each, so an image's trajectory does not depend on the other images in its batch (up to
floating-point rounding of batched kernels). Converged images leave the batch early.

Objective per image: pixel_weight * (L1 or MSE) + perceptual_weight * perceptual
(+ noise_reg * NVIDIA's noise regulariser when the noise maps are optimised). The code
returned is the best one evaluated (lowest reconstruction loss, pixel + perceptual), which
is the final one unless the loss went up at the end.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from stylebridge.errors import StylebridgeError
from stylebridge.invert.options import ProjectorConfig  # noqa: F401  (defined with the choices; re-exported)
from stylebridge.invert.perceptual import against
from stylebridge.networks.stylegan2 import Generator
from stylebridge.utils.device import tf32, upload

# The choices and defaults live in invert/options.py (one place for every verb, the API and the app).


# Converged images are frozen at once (results as if they had left) and leave the batch
# every this many steps: the loop's only host synchronisation.
COMPACT_EVERY = 8


@dataclass
class LatentStats:
    w_avg: torch.Tensor          # [w_dim] the generator's mean w (the origin of v)
    w_std: float                 # NVIDIA's scalar: sqrt(mean squared distance to w_avg)
    V: torch.Tensor              # [w_dim, w_dim] rows = SeFa directions (identity for w / wplus)
    v_mean: torch.Tensor         # [w_dim] mean of v over mapped samples
    v_std: torch.Tensor          # [w_dim] std of v over mapped samples

    def v_from_w(self, w: torch.Tensor) -> torch.Tensor:
        return (w - self.w_avg) @ self.V.t()

    def w_from_v(self, v: torch.Tensor) -> torch.Tensor:
        return self.w_avg + v @ self.V


@torch.no_grad()
def latent_stats(G: Generator, V: torch.Tensor | None = None, samples: int = 10_000, seed: int = 0) -> LatentStats:
    device = G.mapping.w_avg.device
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn([samples, G.z_dim], generator=gen).to(device)
    w = torch.cat([G.mapping(z[i:i + 2000], None)[:, 0] for i in range(0, samples, 2000)]).double()
    w_avg = G.mapping.w_avg.double()
    V = torch.eye(G.w_dim, dtype=torch.float64, device=device) if V is None else V.double().to(device)
    v = (w - w_avg) @ V.t()
    w_std = float(((w - w_avg).square().sum() / samples).sqrt())
    return LatentStats(w_avg.float(), w_std, V.float(), v.mean(0).float(), v.std(0).float().clamp_min(1e-8))


@contextlib.contextmanager
def per_image_noise(G: Generator, noise: dict[str, torch.Tensor] | None):
    """Temporarily replace the stored noise maps by per-image maps [N, 1, r, r]."""
    if not noise:
        yield
        return
    layers = dict(G.synthesis.named_modules())
    saved = {}
    try:
        for name, t in noise.items():
            saved[name] = layers[name].noise_const
            layers[name]._buffers["noise_const"] = t
        yield
    finally:
        for name, t in saved.items():
            layers[name]._buffers["noise_const"] = t


def noise_layer_names(G: Generator) -> list[tuple[str, int]]:
    return [(name, m.resolution) for name, m in G.synthesis.named_modules()
            if getattr(m, "use_noise", False) and hasattr(m, "noise_const")]


def noise_regularizer(noises: list[torch.Tensor]) -> torch.Tensor:
    """NVIDIA's projector regulariser, per image: squared autocorrelation at shift 1 in x and
    y, summed over a pyramid of 2x2 average poolings down to 8x8."""
    total = 0
    for n in noises:
        while True:
            total = total + (n * torch.roll(n, 1, dims=3)).mean(dim=[1, 2, 3]).square()
            total = total + (n * torch.roll(n, 1, dims=2)).mean(dim=[1, 2, 3]).square()
            if n.shape[2] <= 8:
                break
            n = F.avg_pool2d(n, 2)
    return total


def lr_schedule(cfg: ProjectorConfig, step: int) -> float:
    t = step / cfg.steps
    ramp = min(1.0, (1.0 - t) / cfg.lr_rampdown) if cfg.lr_rampdown > 0 else 1.0
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    if cfg.lr_rampup > 0:
        ramp = ramp * min(1.0, t / cfg.lr_rampup)
    return cfg.lr * ramp


@dataclass
class ProjectionOutput:
    latent: torch.Tensor                  # [N, w_dim] (w, sefa: v) or [N, num_ws, w_dim] (wplus)
    ws: torch.Tensor                      # [N, num_ws, w_dim] the best codes
    v: torch.Tensor | None                # [N, w_dim] SeFa coordinates (sefa only)
    noise: dict[str, torch.Tensor] | None # optimised noise maps [N, 1, r, r] (optimize_noise only)
    best_loss: torch.Tensor               # [N] reconstruction loss of the returned code
    steps: torch.Tensor                   # [N] steps each image ran
    history: list[list[float]] = field(default_factory=list)  # per image, loss per step


class _Codes:
    """Maps the optimised tensor to ws and applies the constraints."""

    def __init__(self, G: Generator, cfg: ProjectorConfig, stats: LatentStats):
        self.G, self.cfg, self.stats = G, cfg, stats
        self.mask = None
        if cfg.method == "sefa" and cfg.topk is not None:
            self.mask = torch.zeros(G.w_dim, device=stats.V.device)
            self.mask[:cfg.topk] = 1

    def from_w(self, w: torch.Tensor) -> torch.Tensor:
        if self.cfg.method == "sefa":
            x = self.stats.v_from_w(w)
            if self.mask is not None:
                x = x * self.mask
            return self.project(x)
        if self.cfg.method == "wplus":
            return w.unsqueeze(1).repeat(1, self.G.num_ws, 1)
        return w.clone()

    def to_ws(self, x: torch.Tensor) -> torch.Tensor:
        if self.cfg.method == "wplus":
            return x
        w = self.stats.w_from_v(x) if self.cfg.method == "sefa" else x
        return w.unsqueeze(1).repeat(1, self.G.num_ws, 1)

    @torch.no_grad()
    def project(self, x: torch.Tensor) -> torch.Tensor:
        if self.cfg.method == "sefa" and self.cfg.clamp is not None:
            s = self.stats
            lo = s.v_mean - self.cfg.clamp * s.v_std
            hi = s.v_mean + self.cfg.clamp * s.v_std
            if self.mask is not None:  # frozen coordinates stay at 0 (the mean w)
                lo, hi = torch.where(self.mask > 0, lo, 0.0), torch.where(self.mask > 0, hi, 0.0)
            x = torch.maximum(torch.minimum(x, hi), lo)
        return x


def _pixel(cfg: ProjectorConfig, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    d = (x.float() - y.float())
    return (d.abs() if cfg.pixel_loss == "l1" else d.square()).mean(dim=[1, 2, 3])


def project(
    G: Generator,
    targets: torch.Tensor,                # [N, C, H, W] in [-1, 1] at the model's resolution
    cfg: ProjectorConfig,
    perceptual: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None,
    stats: LatentStats,
    callback: Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor], None] | None = None,
    init_ws: torch.Tensor | None = None,  # [N, num_ws, w_dim] start codes (wplus only; e.g. an encoder's)
) -> ProjectionOutput:
    """Optimise one code per target. `callback(step, active_index, x, images)` sees the
    active images' indices, their optimised tensor (after the step) and rendered images.
    On CUDA, TF32 is on for the duration (utils.device.tf32)."""
    cfg.validate(G)
    want = (G.img_channels, G.img_resolution, G.img_resolution)
    if targets.ndim != 4 or tuple(targets.shape[1:]) != want:
        raise StylebridgeError(f"targets have shape {tuple(targets.shape)}; this generator needs [N, {want[0]}, "
                               f"{want[1]}, {want[2]}] (use stylebridge.data.images.load_image to convert)")
    with tf32(True, G.mapping.w_avg.device):
        return _project(G, targets, cfg, perceptual, stats, callback, init_ws)


def _project(G, targets, cfg, perceptual, stats, callback, init_ws) -> ProjectionOutput:
    """The loop. Every bookkeeping tensor lives on G's device and nothing is read back to
    the host inside a step: an image that converges is frozen by the `alive` mask (no more
    history, steps or best code), and frozen images leave the batch every
    `COMPACT_EVERY` steps (every step when a callback watches), the only host sync."""
    N = targets.shape[0]
    device = G.mapping.w_avg.device
    targets = targets.to(device, torch.float32)
    dtype = torch.bfloat16 if cfg.precision == "bf16" else torch.float32
    codes = _Codes(G, cfg, stats)

    def render(x, noises, fused=cfg.fused):
        ws = codes.to_ws(x)
        with per_image_noise(G, dict(zip(noise_names, noises)) if cfg.optimize_noise else None):
            return G.synthesis(ws, noise_mode="const", fused=fused, dtype=dtype).float()

    def amp():
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16 and device.type == "cpu")

    use_perceptual = perceptual is not None and bool(cfg.perceptual_weight)
    if use_perceptual:
        with amp():  # the targets' side of the perceptual distance, once (perceptual.against)
            compare = against(perceptual, targets)

    def recon_loss(img, idx):
        """Per-image loss against targets[idx]; idx None: all of them, in order."""
        t = targets if idx is None else targets[idx]
        loss = cfg.pixel_weight * _pixel(cfg, img, t) if cfg.pixel_weight else 0
        if use_perceptual:
            with amp():
                loss = loss + cfg.perceptual_weight * compare(img, idx).float()
        return loss

    noise_names = [n for n, _ in noise_layer_names(G)] if cfg.optimize_noise else []
    gens = [torch.Generator().manual_seed(cfg.seed) for _ in range(N)]  # one RNG per image: batch-independent
    noises = []
    for _name, res in noise_layer_names(G) if cfg.optimize_noise else []:
        noises.append(torch.stack([torch.randn([1, res, res], generator=g) for g in gens]).to(device))

    # Initial code.
    w0 = stats.w_avg.expand(N, -1).clone()
    if cfg.init == "search":
        with torch.no_grad():
            z = torch.randn([cfg.init_candidates, G.z_dim], generator=torch.Generator().manual_seed(cfg.seed))
            cands = torch.cat([stats.w_avg[None], G.mapping(z.to(device), None)[:, 0]])
            best = torch.full([N], float("inf"), device=device)
            for c in cands:
                loss = recon_loss(render(codes.from_w(c.expand(N, -1)), noises), None)
                better = loss < best
                best = torch.where(better, loss, best)
                w0 = torch.where(better[:, None], c, w0)
    x = codes.from_w(w0)
    if init_ws is not None:
        if cfg.method != "wplus" or tuple(init_ws.shape) != tuple(x.shape):
            raise StylebridgeError(f"start codes need method 'wplus' and shape {tuple(x.shape)}, got "
                                   f"{cfg.method!r} and {tuple(init_ws.shape)}")
        x = init_ws.to(device, torch.float32).clone()

    b1, b2 = cfg.betas
    m, v2 = torch.zeros_like(x), torch.zeros_like(x)
    nm = [torch.zeros_like(n) for n in noises]
    nv = [torch.zeros_like(n) for n in noises]
    active = torch.arange(N, device=device)   # image index of each batch row
    rows = list(range(N))                     # the same on the host (changes only at compaction)
    alive = torch.ones(N, dtype=torch.bool, device=device)  # per batch row: not converged yet
    best_x, best_noise = x.clone(), [n.clone() for n in noises]
    best_loss = torch.full([N], float("inf"), device=device)
    last_improve = torch.zeros(N, dtype=torch.long, device=device)
    ran = torch.zeros(N, dtype=torch.long, device=device)
    hist = torch.full([cfg.steps, N], float("nan"), device=device)

    def rows_like(mask, t):
        return mask.view(-1, *([1] * (t.ndim - 1)))

    def remember(loss, x_now, noises_now, idx, alive):
        """Keep the codes that beat the best so far (alive rows only); return which rows
        improved by the relative tolerance."""
        cur = best_loss[idx]
        better = loss < cur * (1 - cfg.tol) if cfg.tol > 0 else loss < cur
        strictly = (loss < cur) & alive
        best_loss[idx] = torch.where(strictly, loss, cur)
        best_x[idx] = torch.where(rows_like(strictly, x_now), x_now.detach(), best_x[idx])
        for bn, n in zip(best_noise, noises_now):
            bn[idx] = torch.where(rows_like(strictly, n), n.detach(), bn[idx])
        return better

    for step in range(cfg.steps):
        lr = lr_schedule(cfg, step)
        x_var = x.detach().requires_grad_(True)
        n_vars = [n.detach().requires_grad_(True) for n in noises]
        x_in = x_var
        noise_scale = 0.0
        if cfg.latent_noise > 0:
            t = step / cfg.steps
            noise_scale = stats.w_std * cfg.latent_noise * max(0.0, 1.0 - t / cfg.latent_noise_ramp) ** 2
            if noise_scale > 0:  # frozen rows draw too: each image has its own stream
                eps = upload(torch.stack([torch.randn(x.shape[1:], generator=gens[i]) for i in rows]), device)
                x_in = x_var + eps * noise_scale
        img = render(x_in, n_vars)
        rec = recon_loss(img, None if len(rows) == N else active)
        loss = rec
        if cfg.optimize_noise and cfg.noise_reg:
            loss = loss + cfg.noise_reg * noise_regularizer(n_vars)
        grads = torch.autograd.grad(loss.sum(), [x_var] + n_vars)
        rec = rec.detach()
        hist[step, active] = torch.where(alive, rec, float("nan"))
        ran[active] += alive.long()
        if noise_scale == 0:
            improved = remember(rec, x, noises, active, alive) & alive
        else:
            improved = alive
        last_improve[active] = torch.where(improved, step, last_improve[active])

        with torch.no_grad():  # per-element Adam, then constraints
            t_ = step + 1
            bc1, bc2 = 1 - b1**t_, 1 - b2**t_

            def adam(p, g, m_, v_):
                m_.mul_(b1).add_(g, alpha=1 - b1)
                v_.mul_(b2).addcmul_(g, g, value=1 - b2)
                return p - (lr / bc1) * m_ / ((v_ / bc2).sqrt() + 1e-8)

            g = grads[0] * codes.mask if codes.mask is not None else grads[0]
            x = codes.project(adam(x, g, m, v2))
            new_noises = []
            for n, gn, a, b in zip(noises, grads[1:], nm, nv):
                n = adam(n, gn, a, b)
                n = n - n.mean(dim=[1, 2, 3], keepdim=True)
                n = n * n.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()
                new_noises.append(n)
            noises = new_noises
        if callback is not None:
            callback(step, active, x, img.detach())

        if cfg.early_stop and step + 1 >= cfg.min_steps:
            alive = alive & ((step - last_improve[active]) < cfg.patience)
            if (callback is not None or (step + 1) % COMPACT_EVERY == 0) and not bool(alive.all()):
                keep = alive.nonzero()[:, 0]
                active, x, m, v2, alive = active[keep], x[keep], m[keep], v2[keep], alive[keep]
                rows = [rows[k] for k in keep.tolist()]
                noises = [n[keep] for n in noises]
                nm, nv = [a[keep] for a in nm], [b[keep] for b in nv]
                if len(rows) == 0:
                    break

    if rows:  # evaluate the final code of the images still running
        with torch.no_grad():
            rec = recon_loss(render(x, noises), None if len(rows) == N else active)
            remember(rec, x, noises, active, alive)

    ws = codes.to_ws(best_x).detach()
    out_noise = dict(zip(noise_names, [n.detach() for n in best_noise])) if cfg.optimize_noise else None
    ran = ran.cpu()
    hist = hist.cpu()
    return ProjectionOutput(
        latent=best_x.detach(), ws=ws, v=best_x.detach() if cfg.method == "sefa" else None,
        noise=out_noise, best_loss=best_loss.cpu(), steps=ran,
        history=[hist[:int(ran[i]), i].tolist() for i in range(N)])

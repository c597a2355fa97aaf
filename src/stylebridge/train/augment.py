"""Discriminator augmentation: the common subset of ADA (Karras et al. 2020) and DiffAugment
(Zhao et al. 2020). Both are differentiable, applied to reals and fakes alike before D,
and draw every random number from an explicit torch.Generator (resumable, reproducible).

ADA subset (each op applied per sample with probability p):
* pixel blitting: x-flip, 90-degree rotations, integer translation (up to 1/8 of the size);
* geometric: isotropic scaling (lognormal, std 0.2 log2), arbitrary rotation (probability
  1 - sqrt(1 - p), twice, around an anisotropic scaling), fractional translation (std 1/8);
* colour: brightness (std 0.2), contrast (lognormal, std 0.5 log2), luma flip, hue rotation,
  saturation (lognormal, std 1 log2); the last three need 3 channels.
Geometric ops run as one affine resampling (bilinear `grid_sample`, reflection padding),
simpler than NVIDIA's wavelet-filtered upsampling; with p = 0 the images pass unchanged.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_LUMA = torch.tensor([1.0, 1.0, 1.0]) / math.sqrt(3.0)



# Bilinear resampling is linear in the image, so the gradient of its input-gradient with
# respect to the upstream gradient is the resampling itself. PyTorch implements no double
# backward for grid_sample on CUDA, which the R1 penalty through ADA's geometric ops needs
# (the gradient of D w.r.t. the un-augmented reals); these two functions supply it.
_BILINEAR, _REFLECTION = 0, 2


class _GridSample(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, grid)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        x, grid = ctx.saved_tensors
        return _GridSampleBackward.apply(grad_out, x, grid), None


class _GridSampleBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, grad_out: torch.Tensor, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(grid)
        grad_x, _ = torch.ops.aten.grid_sampler_2d_backward(grad_out, x, grid, _BILINEAR, _REFLECTION, False,
                                                            (True, False))
        return grad_x

    @staticmethod
    def backward(ctx, grad2: torch.Tensor):
        (grid,) = ctx.saved_tensors
        return _GridSample.apply(grad2, grid), None, None


def grid_sample_reflect(x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """F.grid_sample(bilinear, reflection, align_corners=False) with double backward w.r.t.
    x on every device (the sampling grid itself gets no gradient)."""
    return _GridSample.apply(x, grid)


def _rand(gen: torch.Generator, n: int) -> torch.Tensor:
    return torch.rand([n], generator=gen, device=gen.device)


def _randn(gen: torch.Generator, n: int) -> torch.Tensor:
    return torch.randn([n], generator=gen, device=gen.device)


def _eye(n: int, k: int, device) -> torch.Tensor:
    return torch.eye(k, device=device).unsqueeze(0).repeat(n, 1, 1)


def _mat2d(a, b, c, d, tx, ty) -> torch.Tensor:
    one, zero = torch.ones_like(a), torch.zeros_like(a)
    return torch.stack([torch.stack([a, b, tx], -1), torch.stack([c, d, ty], -1),
                        torch.stack([zero, zero, one], -1)], -2)


def _rot(theta: torch.Tensor) -> torch.Tensor:
    z = torch.zeros_like(theta)
    return _mat2d(theta.cos(), -theta.sin(), theta.sin(), theta.cos(), z, z)


def _scale(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    z = torch.zeros_like(sx)
    return _mat2d(sx, z, z, sy, z, z)


def _trans(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    o, z = torch.ones_like(tx), torch.zeros_like(tx)
    return _mat2d(o, z, z, o, tx, ty)


def ada_augment(x: torch.Tensor, p: float | torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Augment images x [N, C, H, W] in [-1, 1] with ADA probability p. `p` may be a 0-dim
    float32 tensor on the device (a CUDA graph replays with the value it holds then; the
    caller skips the call when p is 0); a float p of 0 returns x."""
    if not torch.is_tensor(p) and p <= 0:
        return x
    N, C, H, W = x.shape
    dev = gen.device

    def sel(prob: float = p) -> torch.Tensor:
        return _rand(gen, N) < prob

    one = torch.ones([N], device=dev)
    # Geometric: compose a matrix that maps output coordinates to input coordinates (in [-1, 1]).
    M = _eye(N, 3, dev)
    m = sel()
    flip = 1 - 2 * (torch.floor(_rand(gen, N) * 2))
    M = M @ _scale(torch.where(m, flip, one), one)
    m = sel()
    k = torch.floor(_rand(gen, N) * 4)
    M = M @ _rot(torch.where(m, k * (math.pi / 2), 0 * one))
    m = sel()
    t = torch.round((_rand(gen, 2 * N).view(2, N) * 2 - 1) * 0.125 * W) * (2.0 / W)
    M = M @ _trans(torch.where(m, t[0], 0 * one), torch.where(m, t[1], 0 * one))
    m = sel()
    s = torch.exp2(_randn(gen, N) * 0.2)
    M = M @ _scale(torch.where(m, s, one), torch.where(m, s, one))
    p_rot = 1 - (torch.sqrt(torch.clamp(1 - p, min=0.0)) if torch.is_tensor(p) else math.sqrt(max(1 - p, 0.0)))
    m = sel(prob=p_rot)
    M = M @ _rot(torch.where(m, (_rand(gen, N) * 2 - 1) * math.pi, 0 * one))
    m = sel()
    s = torch.exp2(_randn(gen, N) * 0.2)
    M = M @ _scale(torch.where(m, s, one), torch.where(m, 1 / s, one))
    m = sel(prob=p_rot)
    M = M @ _rot(torch.where(m, (_rand(gen, N) * 2 - 1) * math.pi, 0 * one))
    m = sel()
    t = _randn(gen, 2 * N).view(2, N) * 0.125 * 2
    M = M @ _trans(torch.where(m, t[0], 0 * one), torch.where(m, t[1], 0 * one))
    # Applied whatever was drawn, as NVIDIA's pipe does: testing the matrices for identity
    # (torch.equal) would make the host wait for the device at every call.
    grid = F.affine_grid(M[:, :2, :].to(x.dtype), [N, C, H, W], align_corners=False)
    x = grid_sample_reflect(x, grid)

    # Colour: a 4x4 homogeneous matrix on RGB (brightness and contrast only for 1 / 4 channels).
    A = _eye(N, 4, dev)
    m = sel()
    b = torch.where(m, _randn(gen, N) * 0.2, 0 * one)
    T = _eye(N, 4, dev)
    T[:, :3, 3] = b[:, None]
    A = T @ A
    m = sel()
    c = torch.where(m, torch.exp2(_randn(gen, N) * 0.5), one)
    A = torch.diag_embed(torch.stack([c, c, c, one], -1)) @ A
    v = _const([_LUMA.tolist() + [0.0]], dev)[0]
    vv = torch.outer(v, v)
    if C == 3:
        m = sel()
        i = torch.where(m, torch.floor(_rand(gen, N) * 2), 0 * one)
        A = (torch.eye(4, device=dev) - 2 * vv * i[:, None, None]) @ A
        m = sel()
        theta = torch.where(m, (_rand(gen, N) * 2 - 1) * math.pi, 0 * one)
        A = _rot3_about(_LUMA.tolist(), theta) @ A  # the axis from the CPU constant: no device sync
        m = sel()
        s = torch.where(m, torch.exp2(_randn(gen, N)), one)
        A = (vv + (torch.eye(4, device=dev) - vv) * s[:, None, None]) @ A
    A = A.to(x.dtype)
    if C == 3:
        x = torch.einsum("nij,njhw->nihw", A[:, :3, :3], x) + A[:, :3, 3].reshape(N, 3, 1, 1)
    else:  # 1 or 4 channels: contrast and brightness on the colour channels
        cc = slice(0, 1) if C == 1 else slice(0, 3)
        y = x[:, cc] * A[:, 0, 0].reshape(N, 1, 1, 1) + A[:, 0, 3].reshape(N, 1, 1, 1)
        x = torch.cat([y, x[:, cc.stop:]], dim=1)
    return x


def _const(rows: list[list[float]], device) -> torch.Tensor:
    """A small constant matrix made on `device` element by element. A copy from the host
    would make the host wait (a plain copy) or, inside a captured CUDA graph, be replayed
    from a temporary host buffer that no longer exists; a fill is a kernel with the value
    as its argument. Not `t[i, j] = v`: on CUDA that makes `v` a 0-dim CPU tensor and copies
    it up, which a graph capture refuses (found on an H200: the ADA step's capture failed)."""
    t = torch.zeros(len(rows), len(rows[0]), device=device)
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v:
                t[i, j].fill_(v)
    return t


def _rot3_about(axis: list[float], theta: torch.Tensor) -> torch.Tensor:
    """4x4 homogeneous rotations by theta [N] about a unit 3-vector axis (Rodrigues)."""
    N = theta.shape[0]
    x, y, z = axis
    K = _const([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]], theta.device)
    s, c = theta.sin()[:, None, None], theta.cos()[:, None, None]
    R = torch.eye(3, device=theta.device) + s * K + (1 - c) * (K @ K)
    out = _eye(N, 4, theta.device)
    out[:, :3, :3] = R
    return out


# ----------------------------------------------------------------------------- DiffAugment


def diff_augment(x: torch.Tensor, policy: str, gen: torch.Generator) -> torch.Tensor:
    """DiffAugment with a comma-separated policy of 'color', 'translation', 'cutout'."""
    N, C, H, W = x.shape
    dev = gen.device
    for op in [o.strip() for o in policy.split(",") if o.strip()]:
        if op == "color":
            x = x + (_rand(gen, N) - 0.5).to(x.dtype).view(N, 1, 1, 1)
            if C >= 3:
                mean = x.mean(dim=1, keepdim=True)
                x = (x - mean) * (_rand(gen, N) * 2).to(x.dtype).view(N, 1, 1, 1) + mean
            mean = x.mean(dim=[1, 2, 3], keepdim=True)
            x = (x - mean) * (_rand(gen, N) + 0.5).to(x.dtype).view(N, 1, 1, 1) + mean
        elif op == "translation":
            sh, sw = int(H * 0.125 + 0.5), int(W * 0.125 + 0.5)
            ty = torch.floor(_rand(gen, N) * (2 * sh + 1)).long() - sh
            tx = torch.floor(_rand(gen, N) * (2 * sw + 1)).long() - sw
            gy = (torch.arange(H, device=dev).view(1, H, 1) + ty.view(N, 1, 1)).expand(N, H, W)
            gx = (torch.arange(W, device=dev).view(1, 1, W) + tx.view(N, 1, 1)).expand(N, H, W)
            padded = F.pad(x, [1, 1, 1, 1])
            gy, gx = gy.clamp(-1, H) + 1, gx.clamp(-1, W) + 1
            idx = (gy * (W + 2) + gx).reshape(N, 1, H * W).expand(N, C, H * W)
            x = padded.reshape(N, C, -1).gather(2, idx).reshape(N, C, H, W)
        elif op == "cutout":
            ch, cw = int(H * 0.5 + 0.5), int(W * 0.5 + 0.5)
            oy = torch.floor(_rand(gen, N) * (H + 1 - ch % 2)).long()
            ox = torch.floor(_rand(gen, N) * (W + 1 - cw % 2)).long()
            ys = torch.arange(H, device=dev).view(1, H, 1)
            xs = torch.arange(W, device=dev).view(1, 1, W)
            dy, dx = ys - oy.view(N, 1, 1) + ch // 2, xs - ox.view(N, 1, 1) + cw // 2
            inside = (dy >= 0) & (dy < ch) & (dx >= 0) & (dx < cw)
            x = x * (~inside).to(x.dtype).unsqueeze(1)
        else:
            raise ValueError(f"unknown DiffAugment op {op!r}; use color, translation, cutout")
    return x


class Augmenter:
    """Callable applied before D. `p` is ADA's probability (read/written by the trainer).
    With `p_device` (a 0-dim float32 tensor), ADA reads p from that tensor, which setting `p`
    keeps up to date: a captured CUDA graph then sees each new p without being captured again."""

    def __init__(self, kind: str, p: float = 0.0, policy: str = "color,translation,cutout",
                 p_device: torch.Tensor | None = None):
        self.kind, self.policy, self.p_device = kind, policy, p_device
        self.p = p

    @property
    def p(self) -> float:
        return self._p

    @p.setter
    def p(self, value: float) -> None:
        self._p = float(value)
        if self.p_device is not None:
            self.p_device.fill_(self._p)

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        if self.kind == "ada":
            if self._p <= 0:
                return x
            return ada_augment(x, self._p if self.p_device is None else self.p_device, gen)
        if self.kind == "diffaug":
            return diff_augment(x, self.policy, gen)
        return x

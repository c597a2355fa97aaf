"""Pure-PyTorch StyleGAN2 operations: FIR resampling, bias + activation, modulated conv.

No compiled extensions: every op runs on CPU and CUDA. The math follows NVIDIA's
stylegan2-ada-pytorch reference implementations (stated as facts in tests/networks):

* the resampling filter is the outer product of [1, 3, 3, 1] normalised to sum 1 (a
  4x4 buffer called `resample_filter`); upsampling multiplies it by up**2;
* a 3x3 convolution with 2x upsampling is a stride-2 transposed convolution followed by
  the FIR filter; with 2x downsampling it is the FIR filter followed by a stride-2 conv;
* modulated convolution scales the weight by per-sample styles and divides each output
  channel by sqrt(sum(w'^2) + 1e-8) ("demodulation").

Modulated convolution has two forms that compute the same function:
* grouped ("fused"): build one weight per sample, run one grouped convolution;
* batched: scale the activations by the styles, run ONE convolution with the shared
  weight, scale the outputs by the demodulation coefficients. On CPU this is much faster
  for batches, because grouped convolutions do not use the batched GEMM kernels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)


def setup_filter(taps=(1, 3, 3, 1)) -> torch.Tensor:
    """2-D FIR filter as NVIDIA stores it: outer(taps, taps) / sum, shape [4, 4]."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = f[:, None] * f[None, :]
    return f / f.sum()


def upfirdn2d(
    x: torch.Tensor,                  # [N, C, H, W]
    f: torch.Tensor,                  # [fh, fw] filter (as stored in `resample_filter`)
    up: int = 1,                      # upsampling factor (zero insertion)
    down: int = 1,                    # downsampling factor (keep every down-th sample)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),  # (x0, x1, y0, y1), negative crops
    gain: float = 1.0,                # overall scale of the filter
) -> torch.Tensor:
    """Upsample (insert up-1 zeros after each sample), pad, convolve with the FIR filter `f`
    and downsample (keep every down-th sample): NVIDIA's upfirdn2d, for any filter.

    Computed as ONE depthwise convolution with the 2-D filter (NVIDIA's reference form for
    [1, 3, 3, 1]): upsampling as a stride-`up` transposed convolution (the inserted zeros are
    never multiplied), downsampling as a stride-`down` convolution (the dropped samples are
    never computed), symmetric padding as the convolution's own. No data-dependent branch,
    no host wait. Against the former pad + two 1-D passes on full-size tensors: 2-6.5x less
    time forward and forward + backward on a CPU (benchmarks/bench_fir.py), and on a GPU 1-3
    launches per call (the filter's scaling and flip where needed, the convolution) instead of 9-10.
    """
    assert x.ndim == 4, f"expected [N, C, H, W], got {tuple(x.shape)}"
    C = x.shape[1]
    fh, fw = f.shape
    px0, px1, py0, py1 = padding
    f = f.to(device=x.device, dtype=torch.float32)
    if gain != 1:
        f = f * gain
    if up > 1 and down == 1:
        # out[o] = sum_i x[i] f[o + P - up*i], P = K-1-p0: the zero-stuffed, padded convolution.
        P = (fh - 1 - py0, fw - 1 - px0)
        extra = (py1 - py0 + up - 1, px1 - px0 + up - 1)  # output_padding: the far side's rest
        if min(P) >= 0 and all(0 <= e < up for e in extra):
            w = f.to(x.dtype)[None, None].expand(C, 1, fh, fw)
            return F.conv_transpose2d(x, w, stride=up, padding=P, output_padding=extra, groups=C)
    if up > 1:  # any other geometry: insert the zeros explicitly
        N, _, H, W = x.shape
        x = F.pad(x.reshape(N, C, H, 1, W, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(N, C, H * up, W * up)
    w = f.flip([0, 1]).to(x.dtype)[None, None].expand(C, 1, fh, fw)  # conv2d correlates: flip to convolve
    pad = (0, 0)
    if px0 == px1 >= 0 and py0 == py1 >= 0:
        pad = (py0, px0)
    else:
        x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
        x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    if down > 1 and _bf16_on_cpu(x):
        # oneDNN's bf16 strided depthwise convolution is 2-31x slower than fp32 forward +
        # backward on an AVX512-BF16 CPU (benchmarks/bench_bf16_cpu.py): the filter runs in fp32.
        with torch.autocast("cpu", enabled=False):
            return F.conv2d(x.float(), w.float(), stride=down, padding=pad, groups=C).to(x.dtype)
    return F.conv2d(x, w, stride=down, padding=pad, groups=C)


def _bf16_on_cpu(x: torch.Tensor) -> bool:
    """Whether a convolution of `x` would run in bf16 on the CPU (x in bf16, or autocast to bf16)."""
    if x.device.type != "cpu":
        return False
    return x.dtype == torch.bfloat16 or (torch.is_autocast_enabled("cpu")
                                         and torch.get_autocast_dtype("cpu") == torch.bfloat16)


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2) -> torch.Tensor:
    fw = f.shape[-1]
    p0, p1 = (fw + up - 1) // 2, (fw - up) // 2
    return upfirdn2d(x, f, up=up, padding=(p0, p1, p0, p1), gain=up * up)


def downsample2d(x: torch.Tensor, f: torch.Tensor, down: int = 2) -> torch.Tensor:
    fw = f.shape[-1]
    p0, p1 = (fw - down + 1) // 2, (fw - down) // 2
    return upfirdn2d(x, f, down=down, padding=(p0, p1, p0, p1))


def bias_act(
    x: torch.Tensor,
    b: torch.Tensor | None = None,
    act: str = "linear",
    gain: float | None = None,
    clamp: float | None = None,
    inplace: bool = False,
) -> torch.Tensor:
    """x + b (broadcast over dim 1), then activation ('linear' or 'lrelu' with slope 0.2),
    times `gain` (default: 1 for linear, sqrt(2) for lrelu), then clamp to +-clamp.

    `inplace`: overwrite x (a fresh tensor of the caller's that nothing else reads) when no
    gradient is needed: the same operations in the same order, so the same numbers, without
    allocating (and on CPU page-faulting) a new full-size tensor for each step."""
    if act not in ("lrelu", "linear"):
        raise ValueError(f"unknown activation {act!r}")
    gain = (SQRT2 if act == "lrelu" else 1.0) if gain is None else gain
    ip = inplace and not _needs_grad(x, b)
    if b is not None:
        b = b.to(x.dtype).reshape([1, -1] + [1] * (x.ndim - 2))
        x = x.add_(b) if ip else x + b
    if act == "lrelu":
        x = F.leaky_relu(x, 0.2, inplace=ip)
    if gain != 1:
        x = x.mul_(gain) if ip else x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp_(-clamp, clamp) if ip else x.clamp(-clamp, clamp)
    return x


def _pad_for(kernel: int, up: int, down: int, ftaps: int) -> tuple[int, int]:
    p = kernel // 2
    p0 = p1 = p
    if up > 1:
        p0 += (ftaps + up - 1) // 2
        p1 += (ftaps - up) // 2
    if down > 1:
        p0 += (ftaps - down + 1) // 2
        p1 += (ftaps - down) // 2
    return p0, p1


def conv2d_resample(
    x: torch.Tensor,          # [N, C_in * groups, H, W]
    w: torch.Tensor,          # [C_out, C_in, k, k]
    f: torch.Tensor | None,   # FIR filter for resampling
    up: int = 1,
    down: int = 1,
    groups: int = 1,
) -> torch.Tensor:
    """Convolution ('same' padding) with optional 2x up- or downsampling through `f`."""
    kh, kw = w.shape[-2:]
    assert kh == kw, "square kernels only"
    if up == 1 and down == 1:
        return F.conv2d(x, w, padding=kw // 2, groups=groups)
    ft = f.shape[-1]
    p0, p1 = _pad_for(kw, up, down, ft)
    if down > 1 and up == 1:
        if kw == 1:  # 1x1: filter and downsample first, then convolve
            x = upfirdn2d(x, f, down=down, padding=(p0, p1, p0, p1))
            return F.conv2d(x, w, groups=groups)
        x = upfirdn2d(x, f, padding=(p0, p1, p0, p1))
        return F.conv2d(x, w, stride=down, groups=groups)
    if up > 1 and down == 1:
        if kw == 1:  # 1x1: convolve first, then upsample
            x = F.conv2d(x, w, groups=groups)
            return upfirdn2d(x, f, up=up, padding=(p0, p1, p0, p1), gain=up * up)
        # Transposed convolution does the upsampling; the FIR filter smooths afterwards.
        # A transposed conv with weight w equals correlating the zero-stuffed input with
        # flip(w); NVIDIA's up-layers are convolutions (flip_weight=False), so the two flips
        # cancel and the weight is passed unflipped.
        out_ch, in_ch = w.shape[:2]
        if groups == 1:
            wt = w.transpose(0, 1)
        else:
            wt = w.reshape(groups, out_ch // groups, in_ch, kh, kw).transpose(1, 2)
            wt = wt.reshape(groups * in_ch, out_ch // groups, kh, kw)
        p0 -= kw - 1
        p1 -= kw - up
        pt = max(min(-p0, -p1), 0)
        x = F.conv_transpose2d(x, wt, stride=up, padding=pt, groups=groups)
        return upfirdn2d(x, f, padding=(p0 + pt, p1 + pt, p0 + pt, p1 + pt), gain=up * up)
    raise NotImplementedError("simultaneous up- and downsampling is not used by StyleGAN2")


def modulated_conv2d(
    x: torch.Tensor,                    # [N, I, H, W] input activations
    weight: torch.Tensor,               # [O, I, k, k] shared weight
    styles: torch.Tensor,               # [N, I] per-sample modulation
    noise: torch.Tensor | None = None,  # added to the output (broadcastable to [N, O, H', W'])
    up: int = 1,                        # 1 or 2
    resample_filter: torch.Tensor | None = None,
    demodulate: bool = True,
    fused: bool = True,                 # True: grouped convolution; False: batched form
) -> torch.Tensor:
    """StyleGAN2 modulated convolution; both forms compute the same function."""
    N = x.shape[0]
    O, I, kh, kw = weight.shape
    assert x.shape[1] == I, f"input has {x.shape[1]} channels, weight expects {I}"
    assert styles.shape == (N, I), f"styles {tuple(styles.shape)} != {(N, I)}"

    if x.dtype == torch.float16 and demodulate:
        # Pre-normalise to avoid fp16 overflow; demodulation removes the scale again.
        weight = weight * (1 / math.sqrt(I * kh * kw) / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True))
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)

    if fused:
        # NVIDIA's arithmetic, op for op. Without autograd the products are scaled and the
        # noise added in place: the same numbers, fewer full-size allocations.
        grad = _needs_grad(x, weight, styles, noise)
        w = weight.unsqueeze(0) * styles.reshape(N, 1, I, 1, 1)  # [N, O, I, k, k]
        if demodulate:
            d = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()   # [N, O]
            w = w * d.reshape(N, O, 1, 1, 1) if grad else w.mul_(d.reshape(N, O, 1, 1, 1))
        x = x.reshape(1, N * I, *x.shape[2:])
        x = conv2d_resample(x, w.reshape(N * O, I, kh, kw).to(x.dtype), resample_filter, up=up, groups=N)
        x = x.reshape(N, O, *x.shape[2:])
        if noise is not None:
            x = x + noise.to(x.dtype) if grad else x.add_(noise.to(x.dtype))
        return x

    x = x * styles.to(x.dtype).reshape(N, I, 1, 1)
    x = conv2d_resample(x, weight.to(x.dtype), resample_filter, up=up)
    if demodulate:
        # sum_{i,k} (w[o,i,k] * s[n,i])^2 == sum_i s[n,i]^2 * sum_k w[o,i,k]^2: a small GEMM
        # instead of materialising one weight per sample.
        wsq = weight.to(torch.float32).square().sum(dim=[2, 3])                 # [O, I]
        d = (styles.to(torch.float32).square() @ wsq.t() + 1e-8).rsqrt()       # [N, O]
        d = d.to(x.dtype).reshape(N, O, 1, 1)
        if noise is not None:
            return torch.addcmul(noise.to(x.dtype), x, d)
        return x * d
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def _needs_grad(*tensors: torch.Tensor | None) -> bool:
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def modulated_conv_lrelu(
    x: torch.Tensor,                    # [N, I, H, W]
    weight: torch.Tensor,               # [O, I, 3, 3] shared weight
    styles: torch.Tensor,               # [N, I]
    bias: torch.Tensor,                 # [O]
    noise: torch.Tensor | None,         # [N or 1, 1, H', W'] (already scaled by its strength)
    up: int = 1,
    resample_filter: torch.Tensor | None = None,
    gain: float = SQRT2,
    clamp: float | None = None,
) -> torch.Tensor:
    """A whole synthesis layer in the batched form: modulate, one shared convolution,
    demodulate, add noise and bias, leaky ReLU times `gain`, clamp.

    Equal (to float rounding) to `bias_act(modulated_conv2d(..., fused=False), ...)`, with
    fewer passes over memory: the gain is folded into the demodulation coefficients and the
    bias (lrelu(v) * g == lrelu(v * g) for g > 0), and without autograd the elementwise
    steps run in place, which avoids allocating a fresh full-size tensor for each.
    """
    N, I = styles.shape
    O = weight.shape[0]
    assert x.shape[:2] == (N, I), f"x {tuple(x.shape)} does not match styles {tuple(styles.shape)}"
    if x.dtype == torch.float16:
        # NVIDIA's pre-normalisation (as in modulated_conv2d): keeps the fp16 products in range;
        # the demodulation below is computed from the same scaled tensors, so it removes the scale.
        weight = weight * (1 / math.sqrt(weight[0].numel()) / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True))
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)
    y = conv2d_resample(x * styles.to(x.dtype).reshape(N, I, 1, 1), weight.to(x.dtype), resample_filter, up=up)
    wsq = weight.to(torch.float32).square().sum(dim=[2, 3])                       # [O, I]
    d = (styles.to(torch.float32).square() @ wsq.t() + 1e-8).rsqrt() * gain      # [N, O]
    d = d.to(y.dtype).reshape(N, O, 1, 1)
    b = (bias.to(torch.float32) * gain).to(y.dtype).reshape(1, O, 1, 1)
    if not _needs_grad(x, weight, styles, bias, noise):
        y.mul_(d).add_(b)
        if noise is not None:
            y.add_(noise.to(y.dtype), alpha=gain)
        F.leaky_relu_(y, 0.2)
        return y.clamp_(-clamp, clamp) if clamp is not None else y
    nb = b if noise is None else b + noise.to(y.dtype) * gain
    y = torch.addcmul(nb, y, d)
    y = F.leaky_relu_(y, 0.2)  # addcmul's backward does not need its output: in place is safe
    return y.clamp(-clamp, clamp) if clamp is not None else y


def modulated_torgb(
    x: torch.Tensor,          # [N, I, H, W]
    weight: torch.Tensor,     # [O, I, 1, 1]
    styles: torch.Tensor,     # [N, I] (already scaled by the weight gain)
    bias: torch.Tensor,       # [O]
    clamp: float | None = None,
) -> torch.Tensor:
    """toRGB in the batched form: a 1x1 modulated conv without demodulation is one batched
    matrix product with per-sample weights [N, O, I] (no pass over x to modulate it)."""
    N, I, H, W = x.shape
    wm = weight.reshape(1, -1, I).to(torch.float32) * styles.to(torch.float32).reshape(N, 1, I)  # [N, O, I]
    y = torch.baddbmm(bias.to(x.dtype).reshape(1, -1, 1), wm.to(x.dtype), x.reshape(N, I, H * W))
    y = y.reshape(N, -1, H, W)
    return y.clamp(-clamp, clamp) if clamp is not None else y

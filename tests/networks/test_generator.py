"""Behaviour of our StyleGAN2 generator: both modulated-conv forms, truncation, noise, W+."""

import math

import numpy as np
import pytest
import torch

from stylebridge.networks import Generator, get_config, ops, style_mix, z_from_seed
from tests.conftest import randomize_


@pytest.fixture
def G():
    torch.manual_seed(0)
    return randomize_(Generator(get_config("tiny-16"))).eval()


def test_batched_and_grouped_forms_agree(G):
    z = torch.randn(5, G.z_dim)
    with torch.no_grad():
        ws = G.mapping(z)
        a = G.synthesis(ws, fused=True)
        b = G.synthesis(ws, fused=False)
    assert a.shape == (5, 3, 16, 16)
    assert torch.allclose(a, b, atol=1e-4, rtol=1e-4), (a - b).abs().max()
    assert a.std() > 0.05  # not a degenerate output


def test_batched_form_gradients_match_grouped(G):
    z = torch.randn(3, G.z_dim)
    grads = []
    for fused in (True, False):
        G.zero_grad()
        G.train()
        img = G.synthesis(G.mapping(z), noise_mode="const", fused=fused)
        img.square().mean().backward()
        grads.append(torch.cat([p.grad.flatten() for p in G.parameters() if p.grad is not None]))
    assert torch.allclose(grads[0], grads[1], atol=1e-4, rtol=1e-3)


def test_num_ws_and_layer_counts():
    for res, n in [(4, 2), (8, 4), (16, 6), (256, 14), (1024, 18)]:
        cfg = get_config("tiny-16", img_resolution=res)
        assert cfg.num_ws == n
        if res <= 16:
            assert Generator(cfg).num_ws == n


def test_truncation(G):
    z = torch.randn(4, G.z_dim)
    with torch.no_grad():
        w1 = G.mapping(z)
        w0 = G.mapping(z, truncation_psi=0.0)
        wh = G.mapping(z, truncation_psi=0.5)
        wc = G.mapping(z, truncation_psi=0.5, truncation_cutoff=2)
    assert torch.allclose(w0, G.mapping.w_avg.expand_as(w0))
    assert torch.allclose(wh, G.mapping.w_avg + 0.5 * (w1 - G.mapping.w_avg), atol=1e-6)
    assert torch.allclose(wc[:, :2], wh[:, :2]) and torch.equal(wc[:, 2:], w1[:, 2:])


def test_mapping_normalises_z_and_broadcasts(G):
    z = torch.randn(2, G.z_dim)
    with torch.no_grad():
        a, b = G.mapping(z), G.mapping(z * 7.0)  # 2nd-moment normalisation removes the scale
    assert a.shape == (2, G.num_ws, G.w_dim)
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.equal(a[:, 0], a[:, -1])


def test_noise_modes(G):
    ws = G.mapping(torch.randn(2, G.z_dim)).detach()
    with torch.no_grad():
        c1, c2 = G.synthesis(ws, noise_mode="const"), G.synthesis(ws, noise_mode="const")
        n = G.synthesis(ws, noise_mode="none")
        r1 = G.synthesis(ws, noise_mode="random", generator=torch.Generator().manual_seed(1))
        r2 = G.synthesis(ws, noise_mode="random", generator=torch.Generator().manual_seed(1))
        r3 = G.synthesis(ws, noise_mode="random", generator=torch.Generator().manual_seed(2))
    assert torch.equal(c1, c2) and torch.equal(r1, r2)
    assert not torch.allclose(c1, n) and not torch.allclose(r1, r3) and not torch.allclose(c1, r1)
    # with zero noise strength, all three modes coincide
    for name, p in G.named_parameters():
        if name.endswith("noise_strength"):
            p.data.zero_()
    with torch.no_grad():
        assert torch.allclose(G.synthesis(ws, noise_mode="const"), G.synthesis(ws, noise_mode="none"))
    with pytest.raises(ValueError):
        G.synthesis(ws, noise_mode="bogus")


def test_w_plus_input_per_layer(G):
    ws = G.mapping(torch.randn(2, G.z_dim)).detach()
    ws2 = ws.clone()
    ws2[:, -1] += 1.0  # last toRGB only
    with torch.no_grad():
        a, b = G.synthesis(ws), G.synthesis(ws2)
    assert not torch.allclose(a, b)
    with pytest.raises(AssertionError):
        G.synthesis(ws[:, :-1])


def test_style_mix_copies_chosen_layers(G):
    a = G.mapping(torch.randn(1, G.z_dim)).detach()
    b = G.mapping(torch.randn(1, G.z_dim)).detach()
    m = style_mix(a, b, [0, 1])
    assert torch.equal(m[:, :2], b[:, :2]) and torch.equal(m[:, 2:], a[:, 2:])


def test_w_avg_tracking(G):
    before = G.mapping.w_avg.clone()
    z = torch.randn(8, G.z_dim)
    with torch.no_grad():
        w = G.mapping(z, update_w_avg=True)[:, 0]
    beta = G.config.w_avg_beta
    assert torch.allclose(G.mapping.w_avg, w.mean(0).lerp(before, beta), atol=1e-6)


def test_z_from_seed_is_numpy_randomstate():
    z = z_from_seed(7, 16)
    assert torch.equal(z, torch.from_numpy(np.random.RandomState(7).randn(1, 16)))


def test_conditional_generator_needs_label():
    G = Generator(get_config("tiny-16", c_dim=3)).eval()
    z = torch.randn(2, G.z_dim)
    with pytest.raises(ValueError, match="class-conditional"):
        G(z)
    c = torch.eye(3)[:2]
    assert G(z, c).shape == (2, 3, 16, 16)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_image_channels(channels):
    G = Generator(get_config("tiny-16", img_channels=channels)).eval()
    assert G(torch.randn(2, G.z_dim)).shape == (2, channels, 16, 16)


def test_conv_clamp_bounds_activations():
    torch.manual_seed(0)
    G = randomize_(Generator(get_config("tiny-16", conv_clamp=0.05)), scale=2.0).eval()
    with torch.no_grad():
        img = G(torch.randn(3, G.z_dim))
    # every toRGB output is clamped to +-0.05; the image is a sum of upsampled toRGBs
    assert img.abs().max() <= 0.05 * len(G.synthesis.block_resolutions) + 1e-5


def test_bf16_close_to_fp32(G):
    ws = G.mapping(torch.randn(4, G.z_dim)).detach()
    with torch.no_grad():
        a = G.synthesis(ws)
        b = G.synthesis(ws, dtype=torch.bfloat16)
    assert b.dtype == torch.float32  # images come back in float32
    mse = (a - b).square().mean().item()
    psnr = 10 * math.log10(4.0 / mse)
    assert psnr > 30, psnr


def test_fir_filter_and_resampling_facts():
    f = ops.setup_filter()
    expected = torch.tensor([1.0, 3, 3, 1])
    assert torch.allclose(f, torch.outer(expected, expected) / 64)
    x = torch.randn(2, 3, 8, 8)
    up = ops.upsample2d(x, f)
    assert up.shape == (2, 3, 16, 16)
    # upsampling preserves the mean of a constant image (gain up**2 compensates the zeros)
    c = torch.ones(1, 1, 8, 8)
    assert torch.allclose(ops.upsample2d(c, f)[..., 2:-2, 2:-2], torch.ones(1, 1, 12, 12))
    # downsampling a constant keeps it constant away from the zero-padded border
    assert torch.allclose(ops.downsample2d(torch.ones(1, 1, 16, 16), f)[..., 1:-1, 1:-1], torch.ones(1, 1, 6, 6))
    # with padding and no resampling it is a direct 2-D convolution with the filter
    pad = torch.nn.functional.pad(x, [1, 1, 1, 1])
    direct = torch.nn.functional.conv2d(pad, f[None, None].repeat(3, 1, 1, 1), groups=3)
    assert torch.allclose(ops.upfirdn2d(x, f, padding=(1, 1, 1, 1)), direct, atol=1e-6)


def _upfirdn2d_by_definition(x: np.ndarray, f: np.ndarray, up: int, down: int, pad: tuple[int, int, int, int],
                             gain: float) -> np.ndarray:
    """NVIDIA's upfirdn2d spelled out in float64 loops: insert up-1 zeros after every sample,
    pad (x0, x1, y0, y1; negative crops), convolve (flipped filter) with `f * gain`, keep
    every down-th sample."""
    N, C, H, W = x.shape
    z = np.zeros([N, C, H * up, W * up])
    z[:, :, ::up, ::up] = x
    x0, x1, y0, y1 = pad
    z = np.pad(z, [(0, 0), (0, 0), (max(y0, 0), max(y1, 0)), (max(x0, 0), max(x1, 0))])
    z = z[:, :, max(-y0, 0): z.shape[2] - max(-y1, 0), max(-x0, 0): z.shape[3] - max(-x1, 0)]
    k = f[::-1, ::-1] * gain
    fh, fw = f.shape
    out = np.zeros([N, C, z.shape[2] - fh + 1, z.shape[3] - fw + 1])
    for i in range(fh):
        for j in range(fw):
            out += k[i, j] * z[:, :, i:i + out.shape[2], j:j + out.shape[3]]
    return out[:, :, ::down, ::down]


@pytest.mark.parametrize("up,down,pad", [
    (2, 1, (2, 1, 2, 1)),     # upsample2d's geometry: one transposed convolution
    (2, 1, (1, 1, 1, 1)),     # other paddings take it where they fit,
    (3, 1, (2, 1, 3, 2)),
    (2, 1, (1, 2, 0, 3)),     # ... and insert the zeros explicitly where they do not
    (2, 1, (4, -1, 3, 0)),
    (3, 1, (2, 2, 1, 3)),
    (1, 2, (1, 1, 1, 1)),     # downsample2d: one strided convolution
    (1, 2, (2, 0, -1, 1)),
    (1, 1, (1, 1, 1, 1)),     # the filters around conv2d_resample's convolutions
    (1, 1, (2, 2, 2, 2)),
    (1, 1, (0, 3, -1, 2)),
    (2, 2, (1, 2, 1, 2)),
])
def test_upfirdn2d_equals_its_definition_for_any_filter(up, down, pad):
    """Every geometry, with a filter that is neither symmetric nor separable nor square, matches
    the textbook definition (so the fast forms' flips, paddings and output sizes are right)."""
    rng = np.random.RandomState(up * 100 + down * 10 + sum(pad))
    x = rng.randn(2, 3, 7, 6)
    f = rng.rand(4, 3) + 0.1
    ref = _upfirdn2d_by_definition(x, f, up, down, pad, gain=1.5)
    got = ops.upfirdn2d(torch.from_numpy(x).float(), torch.from_numpy(f).float(), up=up, down=down,
                        padding=pad, gain=1.5)
    assert tuple(got.shape) == ref.shape
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-5, atol=1e-5)


def test_the_networks_resampling_runs_as_one_convolution_per_filter():
    """StyleGAN2's four FIR geometries (upsample2d, downsample2d, the filters after an up-conv
    and before a down-conv) each cost one convolution and no padding pass (on a GPU 1-3
    launches with the filter's tiny scaling and flip; it was 9-10), on a CPU no full-size copies."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Ops(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.names = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.names.append(func._overloadpacket.__name__)
            return func(*args, **(kwargs or {}))

    f = ops.setup_filter()
    x = torch.randn(2, 4, 8, 8)
    w = torch.randn(5, 4, 3, 3)
    calls = [(lambda: ops.upsample2d(x, f), 1), (lambda: ops.downsample2d(x, f), 1),
             (lambda: ops.conv2d_resample(x, w, f, up=2), 2),             # transposed conv + filter
             (lambda: ops.conv2d_resample(x, w, f, down=2), 2),           # filter + strided conv
             (lambda: ops.conv2d_resample(x, w[:, :, :1, :1], f, down=2), 2)]  # D's skip
    for call, convolutions in calls:
        with Ops() as seen:
            call()
        assert seen.names.count("convolution") == convolutions, seen.names
        assert "constant_pad_nd" not in seen.names, seen.names


def test_modulated_conv_definition():
    """Both forms equal the textbook definition: w' = w * s, w'' = w' / ||w'||."""
    torch.manual_seed(0)
    x, w, s = torch.randn(2, 4, 6, 6), torch.randn(5, 4, 3, 3), torch.randn(2, 4)
    ref = []
    for n in range(2):
        wn = w * s[n].reshape(1, 4, 1, 1)
        wn = wn / (wn.square().sum(dim=[1, 2, 3], keepdim=True) + 1e-8).sqrt()
        ref.append(torch.nn.functional.conv2d(x[n:n + 1], wn, padding=1))
    ref = torch.cat(ref)
    for fused in (True, False):
        assert torch.allclose(ops.modulated_conv2d(x, w, s, fused=fused), ref, atol=1e-5)


def test_in_place_inference_path_gives_the_same_numbers_as_autograd_path():
    """Without autograd the exact (grouped) form scales, adds noise and applies bias + lrelu in
    place: the same operations in the same order, so bit-identical results; with autograd it
    must leave its inputs alone and still give those numbers."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn([2, 8, 8, 8], generator=g)
    weight, styles = torch.randn([6, 8, 3, 3], generator=g), torch.randn([2, 8], generator=g)
    noise, bias = torch.randn([2, 1, 16, 16], generator=g), torch.randn([6], generator=g)
    f = ops.setup_filter()
    with torch.no_grad():
        y0 = ops.modulated_conv2d(x, weight, styles, noise=noise, up=2, resample_filter=f, fused=True)
        a = ops.bias_act(y0, bias, act="lrelu", clamp=0.5, inplace=True)
    assert a.data_ptr() == y0.data_ptr()  # really in place
    w = weight.clone().requires_grad_(True)
    x_before = x.clone()
    y1 = ops.modulated_conv2d(x, w, styles, noise=noise, up=2, resample_filter=f, fused=True)
    b = ops.bias_act(y1, bias, act="lrelu", clamp=0.5, inplace=True)  # autograd: ignores inplace
    assert b.data_ptr() != y1.data_ptr() and torch.equal(x, x_before)
    assert torch.equal(a, b.detach())
    b.square().sum().backward()
    assert torch.isfinite(w.grad).all()
    plain = ops.bias_act(y1.detach(), bias, act="linear", gain=2.0)
    assert torch.equal(plain, ops.bias_act(y1.detach().clone(), bias, act="linear", gain=2.0, inplace=True))


def test_form_policy_on_cpu(G, monkeypatch):
    """Policy (README, "Generate"): one image takes the grouped form (NVIDIA's pixels from
    `G(z)`); a batch the batched form, on every device (no device branch: the H100 measured
    it faster too); on a CPU without autograd with channels-last activations, with autograd
    contiguous ones; `generate --fast` asks for the batched form even for one."""
    from stylebridge.generate import sampling_form

    seen = []
    real = ops.modulated_conv_lrelu

    def spy(x, *a, **k):
        seen.append(x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous())
        return real(x, *a, **k)

    monkeypatch.setattr(ops, "modulated_conv_lrelu", spy)
    ws = G.mapping(torch.randn(2, G.z_dim)).detach()
    with torch.no_grad():
        G.synthesis(ws[:1])
        assert not seen  # one image: grouped
        G.synthesis(ws)
        assert seen and all(seen)  # a batch: batched, channels-last
        seen.clear()
        G.synthesis(ws[:1], fused=sampling_form(False, "cpu"))
        assert seen and all(seen)  # --fast: batched even for one image
    seen.clear()
    G.synthesis(ws.requires_grad_(True))
    assert seen and not any(seen)  # autograd, a batch: batched, contiguous
    seen.clear()
    G.eval().synthesis(ws)
    assert seen and not any(seen)  # the projector's case (eval, autograd): batched as well
    assert sampling_form(True, "cpu") is True and sampling_form(False, "cuda") is None

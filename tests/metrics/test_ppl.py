"""Perceptual path length: NVIDIA's sampling, crop and outlier filter, stated as facts."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from stylebridge.cli.main import main
from stylebridge.errors import StylebridgeError
from stylebridge.formats import save_checkpoint
from stylebridge.metrics.lpips import LPIPS
from stylebridge.metrics.ppl import centre_crop, filtered_mean, perceptual_path_length, slerp
from stylebridge.networks import create_generator
from tests.conftest import randomize_
from tests.metrics.metric_helpers import require_weights


def positive_lpips() -> LPIPS:
    """LPIPS-VGG with random backbone weights and positive heads: a distance that is 0 only
    for equal images (the tests need no installed weights)."""
    torch.manual_seed(0)
    lp = LPIPS("vgg")
    for lin in lp.lins:
        lin.weight.data.abs_()
    return lp


def test_slerp_stays_on_the_sphere_between_its_ends():
    a, b = torch.randn(5, 8), torch.randn(5, 8)
    assert torch.allclose(slerp(a, b, torch.zeros(5, 1)), a / a.norm(dim=-1, keepdim=True), atol=1e-6)
    assert torch.allclose(slerp(a, b, torch.ones(5, 1)), b / b.norm(dim=-1, keepdim=True), atol=1e-5)
    assert torch.allclose(slerp(a, b, torch.full((5, 1), 0.3)).norm(dim=-1), torch.ones(5), atol=1e-6)


def test_outliers_outside_the_1st_and_99th_percentiles_are_dropped():
    d = np.concatenate([np.arange(1, 999, dtype=float), [1e9, -1e9]])  # 1000 values
    s = np.sort(d)
    lo, hi = s[int(np.floor(0.01 * 999))], s[int(np.ceil(0.99 * 999))]  # numpy's 'lower' / 'higher'
    assert filtered_mean(d) == pytest.approx(d[(d >= lo) & (d <= hi)].mean())
    assert filtered_mean(d) == pytest.approx(np.arange(9, 991).mean())  # s[9] = 9 .. s[990] = 990


def test_face_crop_window():
    img = torch.arange(16 * 16.0).reshape(1, 1, 16, 16)
    assert torch.equal(centre_crop(img), img[:, :, 6:14, 4:12])  # c = 2: rows 3c..7c, columns 2c..6c


class EdgeOnly(nn.Module):
    """A stand-in generator whose images change with w only outside the face crop."""

    z_dim, c_dim, img_resolution, img_channels = 4, 0, 32, 1

    def __init__(self):
        super().__init__()
        self.mapping = nn.Module()
        self.mapping.register_buffer("w_avg", torch.zeros(4))
        self.mapping.forward = lambda z, c: z[:, None, :].repeat(1, 2, 1)
        self.synthesis = lambda ws, **kw: self._draw(ws)

    def _draw(self, ws):
        img = torch.zeros(ws.shape[0], 1, 32, 32)
        img += torch.tanh(ws[:, 0].sum(1))[:, None, None, None]
        img[:, :, 12:28, 8:24] = 0.5  # the crop window (c = 4: rows 12..28, columns 8..24)
        return img


def test_crop_sees_only_the_centre():
    G, lp = EdgeOnly(), positive_lpips()
    cropped = perceptual_path_length(G, samples=8, crop=True, lpips_net=lp)
    whole = perceptual_path_length(G, samples=8, crop=False, lpips_net=lp)
    assert cropped["ppl"] == 0 and whole["ppl"] > 0


def test_ppl_repeats_by_seed_and_leaves_the_generator_alone():
    torch.manual_seed(1)
    G = randomize_(create_generator("tiny-32")).eval()
    noise = {n: b.clone() for n, b in G.named_buffers() if n.endswith("noise_const")}
    lp = positive_lpips()
    a = perceptual_path_length(G, samples=12, batch_size=4, seed=3, lpips_net=lp)
    b = perceptual_path_length(G, samples=12, batch_size=4, seed=3, lpips_net=lp)
    c = perceptual_path_length(G, samples=12, batch_size=4, seed=4, lpips_net=lp, space="z", sampling="full")
    assert a == b and a["n"] == 12 and a["ppl"] > 0 and c["ppl"] != a["ppl"]
    assert all(torch.equal(b_, noise[n]) for n, b_ in G.named_buffers() if n.endswith("noise_const"))


def test_bad_options_are_refused():
    G = create_generator("tiny-16")
    with pytest.raises(StylebridgeError, match="use ppl2_wend"):
        perceptual_path_length(G, samples=2, crop=True, lpips_net=positive_lpips())
    with pytest.raises(StylebridgeError, match="space"):
        perceptual_path_length(G, samples=2, space="x", lpips_net=positive_lpips())


def test_cli(tmp_path):
    require_weights("vgg16", "lpips_vgg")
    torch.manual_seed(0)
    G = randomize_(create_generator("tiny-32"))
    p = save_checkpoint(tmp_path / "g.safetensors", G=G, G_ema=G)
    out = tmp_path / "ppl.json"
    assert main(["evaluate", "ppl", str(p), "--metric", "ppl_wend", "--samples", "6", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["metric"] == "ppl_wend" and r["crop"] is True and r["n"] == 6 and r["ppl"] > 0

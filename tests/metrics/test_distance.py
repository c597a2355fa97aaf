import copy

import pytest
import torch

from stylebridge.metrics.distance import lpips_diversity, lpips_semantic, model_distance, same_noise_consts
from stylebridge.metrics.lpips import LPIPS
from stylebridge.networks import create_generator


def _lpips():
    torch.manual_seed(0)
    lp = LPIPS("alex")  # random weights: enough to test the plumbing
    for lin in lp.lins:
        lin.weight.data.abs_()
    return lp


def _G(seed=0):
    torch.manual_seed(seed)
    G = create_generator("tiny-32").eval()
    with torch.no_grad():
        for p in G.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return G


def test_self_distance_is_exactly_zero_and_grows_with_perturbation():
    lp, G = _lpips(), _G()
    d0 = model_distance(G, copy.deepcopy(G), samples=6, batch_size=4, lpips_net=lp)
    assert d0["distance"] == 0.0 and d0["n"] == 6 and d0["noise_mode"] == "const"
    ds = []
    for eps in (0.02, 0.2):
        Gb = copy.deepcopy(G)
        with torch.no_grad():
            Gb.synthesis.b32.conv1.weight.add_(eps * torch.randn_like(Gb.synthesis.b32.conv1.weight))
        ds.append(model_distance(G, Gb, samples=6, batch_size=4, lpips_net=lp)["distance"])
    assert 0 < ds[0] < ds[1]
    again = model_distance(G, Gb, samples=6, batch_size=3, lpips_net=lp)  # batch size does not change z
    assert again["distance"] == pytest.approx(ds[1], rel=1e-5) and again["sem"] > 0


def test_different_noise_buffers_use_the_same_random_noise():
    lp, G = _lpips(), _G()
    Gb = copy.deepcopy(G)
    with torch.no_grad():
        for n, b in Gb.named_buffers():
            if n.endswith("noise_const"):
                b.copy_(torch.randn_like(b))
    assert not same_noise_consts(G, Gb)
    rng_before = torch.random.get_rng_state()
    r = model_distance(G, Gb, samples=4, batch_size=2, lpips_net=lp)
    assert r["noise_mode"] == "random" and r["distance"] == 0.0  # identical noise went into both
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # caller's RNG untouched


def test_architecture_mismatch():
    with pytest.raises(ValueError, match="differ in z_dim"):
        model_distance(_G(), create_generator("tiny-16"), samples=2, lpips_net=_lpips())


def test_lpips_semantic_and_diversity():
    lp = _lpips()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 32, 32, generator=g) * 2 - 1
    s = lpips_semantic(x, x.clone(), lpips_net=lp)
    assert s["lpips_s"] == 0 and s["n"] == 3
    big = torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")
    assert lpips_semantic(x, big, lpips_net=lp)["lpips_s"] < 1e-6  # resized back to the input size
    same = [x[i:i + 1].expand(3, -1, -1, -1) for i in range(3)]
    assert lpips_diversity(same, lpips_net=lp)["lpips_d"] == 0
    varied = [torch.rand(4, 3, 32, 32, generator=g) * 2 - 1 for _ in range(2)]
    d = lpips_diversity(varied, lpips_net=lp)
    assert d["lpips_d"] > 0 and d["pairs"] == 12 and d["n"] == 2
    with pytest.raises(ValueError, match="at least 2 outputs"):
        lpips_diversity([x[:1]], lpips_net=lp)

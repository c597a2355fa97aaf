"""The inverter's latent statistics follow the generator's weights (no stale cache)."""

import copy
import threading

import torch

from stylebridge.invert.api import stats_for
from stylebridge.invert.projector import latent_stats


def test_stats_are_reused_until_the_weights_change(G):
    G = copy.deepcopy(G)
    w = stats_for(G, "w")
    assert stats_for(G, "w") is w                      # unchanged weights: computed once
    assert stats_for(G, "sefa") is not w and stats_for(G, "sefa") is stats_for(G, "sefa")
    with torch.no_grad():
        G.mapping.fc0.weight.mul_(1.5)                 # an in-place change, e.g. a training step
    fresh = stats_for(G, "w")
    assert fresh is not w and fresh.w_std != w.w_std
    assert fresh.w_std == latent_stats(G).w_std
    sefa = stats_for(G, "sefa")
    with torch.no_grad():
        for n, p in G.synthesis.named_parameters():
            if n.endswith(".affine.weight"):
                p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(1)))
    assert not torch.equal(stats_for(G, "sefa").V, sefa.V)  # SeFa's basis reads the style affines


def test_a_copy_or_another_generator_never_gets_the_first_ones_stats(G):
    a = copy.deepcopy(G)
    sa = stats_for(a, "w")
    b = copy.deepcopy(a)                               # the memo travels with the copy ...
    with torch.no_grad():
        b.mapping.fc0.bias.add_(0.5)
    assert stats_for(b, "w").w_avg.shape == sa.w_avg.shape
    assert stats_for(b, "w") is not sa                 # ... but its weights are other tensors


def test_threads_sharing_a_generator_get_equal_stats(G):
    G = copy.deepcopy(G)
    out = []
    threads = [threading.Thread(target=lambda: out.append(stats_for(G, "w"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 4 and all(torch.equal(s.v_std, out[0].v_std) and s.w_std == out[0].w_std for s in out)

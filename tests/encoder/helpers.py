"""A tiny base generator and its own samples, for the encoder's tests."""

import torch

from stylebridge.formats.loader import estimate_w_avg
from stylebridge.networks.registry import create_generator


def generator(seed: int):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        g = create_generator("tiny-16").eval().requires_grad_(False)
    g.mapping.w_avg.copy_(estimate_w_avg(g, samples=2000))
    return g


def samples(G, n: int, seed: int):
    """n images of G's own (constant noise) and their ws, from `seed`'s stream."""
    z = torch.randn([n, G.z_dim], generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        ws = G.mapping(z, None)
        return G.synthesis(ws, noise_mode="const"), ws

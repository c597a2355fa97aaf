import pytest
import torch

from stylebridge.networks.registry import create_discriminator, create_generator


@pytest.fixture(scope="module")
def G():
    from stylebridge.formats.loader import estimate_w_avg

    torch.manual_seed(0)
    g = create_generator("tiny-16").eval().requires_grad_(False)
    g.mapping.w_avg.copy_(estimate_w_avg(g, samples=2000))  # as a trained checkpoint has
    for m in g.modules():  # trained models use their noise inputs; a fresh one has strength 0
        if hasattr(m, "noise_strength"):
            m.noise_strength.fill_(0.3)
    return g


@pytest.fixture(scope="module")
def D():
    torch.manual_seed(1)
    return create_discriminator("tiny-16").eval().requires_grad_(False)


@pytest.fixture(scope="module")
def targets(G):
    """Images the generator did not make exactly: its samples with random noise, perturbed."""
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        img = G(torch.randn(3, G.z_dim, generator=gen), noise_mode="random", generator=gen)
    return (img + 0.1 * torch.randn(img.shape, generator=gen)).clamp(-1, 1)

"""Every registered architecture, shrunk to tiny size: forward, backward, no NaN, save/load."""

import dataclasses

import pytest
import torch

from stylebridge.errors import StylebridgeError
from stylebridge.formats import load_checkpoint, save_checkpoint
from stylebridge.networks import create_discriminator, create_generator, get_config, list_configs


def tiny(name):
    cfg = get_config(name)
    return dataclasses.replace(cfg, img_resolution=min(cfg.img_resolution, 16), channel_base=64, channel_max=8,
                               z_dim=8, w_dim=8)


@pytest.mark.parametrize("name", list_configs())
def test_every_config_tiny(name, tmp_path):
    torch.manual_seed(0)
    cfg = tiny(name)
    G, D = create_generator(cfg), create_discriminator(cfg)
    z = torch.randn(2, cfg.z_dim)
    img = G(z, noise_mode="random")
    assert img.shape == (2, cfg.img_channels, cfg.img_resolution, cfg.img_resolution)
    logits = D(img)
    assert logits.shape == (2, 1)
    logits.sum().backward()
    grads = [p.grad for p in G.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert torch.isfinite(img).all()
    path = save_checkpoint(tmp_path / "m.safetensors", G=G, D=D)
    ck = load_checkpoint(path)
    G.eval()
    with torch.no_grad():
        assert torch.equal(ck.G(z), G(z))
        assert torch.equal(ck.D(img.detach()), D.eval()(img.detach()))


def test_unknown_name_lists_valid():
    with pytest.raises(StylebridgeError, match="tiny-16"):
        get_config("nope")


def test_bad_resolution_is_clear():
    with pytest.raises(StylebridgeError, match="power of two"):
        get_config("tiny-16", img_resolution=24)

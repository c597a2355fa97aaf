"""NVIDIA network pickles: key tables, configs, strict errors, and equality with NVIDIA's outputs.

The reference outputs were computed by NVIDIA's own stylegan2-ada-pytorch code (see
scripts/make_reference_fixtures.py); the pickles are rebuilt here without their code.
"""

import json

import numpy as np
import pytest
import torch

from stylebridge.errors import CheckpointError
from stylebridge.formats.layout import discriminator_shapes, generator_shapes
from stylebridge.formats.nvidia_pkl import read_pickle
from tests.formats.fixtures_util import load_fixture, nvidia_pickle_bytes, sub

NAMES = ["nv16_rgb", "nv16_grey", "nv8_cond"]


def _write(tmp_path, name, **kw):
    path = tmp_path / f"{name}.pkl"
    path.write_bytes(nvidia_pickle_bytes(name, **kw))
    return path


@pytest.mark.parametrize("name", NAMES)
def test_layout_equals_nvidia_state_dict(name):
    """Our stated key/shape layout equals the state_dict of NVIDIA's real modules."""
    t, meta = load_fixture(name)
    gk = json.loads(meta["G_init_kwargs"])
    from stylebridge.networks.config import DiscriminatorConfig, GeneratorConfig
    sk = gk["synthesis_kwargs"]
    g = GeneratorConfig(z_dim=gk["z_dim"], c_dim=gk["c_dim"], w_dim=gk["w_dim"], img_resolution=gk["img_resolution"],
                        img_channels=gk["img_channels"], mapping_layers=gk["mapping_kwargs"]["num_layers"],
                        channel_base=sk["channel_base"], channel_max=sk["channel_max"], conv_clamp=sk["conv_clamp"])
    d = DiscriminatorConfig(c_dim=gk["c_dim"], img_resolution=gk["img_resolution"], img_channels=gk["img_channels"],
                            channel_base=sk["channel_base"], channel_max=sk["channel_max"])
    assert {k: tuple(v.shape) for k, v in sub(t, "G_ema.").items()} == generator_shapes(g)
    assert {k: tuple(v.shape) for k, v in sub(t, "D.").items()} == discriminator_shapes(d)


@pytest.mark.parametrize("name", NAMES)
def test_reader_fills_every_tensor_once(tmp_path, name):
    t, meta = load_fixture(name)
    raw = read_pickle(_write(tmp_path, name))
    assert raw.format == "nvidia_pkl" and raw.w_avg_known
    gk = json.loads(meta["G_init_kwargs"])
    cfg = raw.G_ema.config
    assert (cfg.z_dim, cfg.c_dim, cfg.w_dim, cfg.img_resolution, cfg.img_channels) == \
        (gk["z_dim"], gk["c_dim"], gk["w_dim"], gk["img_resolution"], gk["img_channels"])
    assert cfg.mapping_layers == gk["mapping_kwargs"]["num_layers"]
    assert cfg.channel_base == gk["synthesis_kwargs"]["channel_base"]
    assert cfg.conv_clamp == gk["synthesis_kwargs"]["conv_clamp"]
    for net, prefix in ((raw.G_ema, "G_ema."), (raw.G, "G_ema."), (raw.D, "D.")):
        ref = sub(t, prefix)
        assert set(net.state_dict) == set(ref)
        for k, v in ref.items():
            assert torch.equal(net.state_dict[k], v), k
    assert raw.extra["training_set_kwargs"]["resolution"] == gk["img_resolution"]


def test_missing_tensor_names_key(tmp_path):
    path = _write(tmp_path, "nv16_rgb", drop=["synthesis.b8.conv0.noise_const"])
    with pytest.raises(CheckpointError, match=r"synthesis\.b8\.conv0\.noise_const"):
        read_pickle(path)


def test_wrong_shape_names_key_and_both_shapes(tmp_path):
    from stylebridge.formats import nvidia_pkl
    from stylebridge.formats.unpickle import restricted_load
    data = restricted_load(nvidia_pickle_bytes("nv16_rgb"))
    b16 = data["G_ema"].state["_modules"]["synthesis"].state["_modules"]["b16"]
    b16.state["_modules"]["torgb"].state["_parameters"]["bias"] = torch.zeros(5)
    with pytest.raises(CheckpointError) as e:
        nvidia_pkl.read_nvidia_data(data)
    msg = str(e.value)
    assert "synthesis.b16.torgb.bias" in msg and "(5,)" in msg and "(3,)" in msg


def test_stylegan3_generator_is_rejected(tmp_path):
    path = _write(tmp_path, "nv16_rgb", classes_g={"synthesis.b4": "SynthesisInput"})
    with pytest.raises(CheckpointError, match="StyleGAN3"):
        read_pickle(path)


# ------------------------------------------------------------------------------------------------
# Equality with NVIDIA's generator / discriminator (needs stylebridge.networks)


def _load(tmp_path, name):
    from stylebridge.formats.loader import load_checkpoint
    return load_checkpoint(_write(tmp_path, name))


@pytest.mark.parametrize("name", NAMES)
def test_generate_pixels_equal_nvidia(tmp_path, name):
    """generate.py: z = RandomState(seed).randn(1, z_dim); pixels (img*127.5+128).clamp(0,255) uint8."""
    t, meta = load_fixture(name)
    G = _load(tmp_path, name).G_ema
    seeds = json.loads(meta["seeds"])
    c = torch.zeros([1, G.c_dim])
    if G.c_dim:
        c[:, int(meta["class_idx"])] = 1
    for psi, mode in [(0.7, "const"), (0.7, "none"), (1.0, "const")]:
        ref = t[f"pixels_psi{psi}_{mode}"]
        for i, seed in enumerate(seeds):
            z = torch.from_numpy(np.random.RandomState(seed).randn(1, G.z_dim))
            with torch.no_grad():
                img = G(z, c, truncation_psi=psi, noise_mode=mode)
            px = (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)
            diff = (px.int() - ref[i:i + 1].int()).abs()
            assert torch.equal(px, ref[i:i + 1]), (psi, mode, seed, int(diff.max()), int((diff > 0).sum()))


@pytest.mark.parametrize("name", NAMES)
def test_mapping_and_synthesis_floats_equal_nvidia(tmp_path, name):
    t, _ = load_fixture(name)
    G = _load(tmp_path, name).G_ema
    z, c = t["z"].float(), t["c"]
    with torch.no_grad():
        torch.testing.assert_close(G.mapping(z, c), t["ws_psi1"], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(G.mapping(z, c, truncation_psi=0.7), t["ws_psi0.7"], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(G.mapping(z, c, truncation_psi=0.5, truncation_cutoff=2), t["ws_psi0.5_cutoff2"],
                                   rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(G.synthesis(t["ws_psi0.7"], noise_mode="const"), t["img_const"],
                                   rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(G.synthesis(t["ws_psi0.7"], noise_mode="none"), t["img_none"], rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(G.synthesis(t["wplus"], noise_mode="const"), t["img_wplus_const"],
                                   rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_discriminator_equals_nvidia(tmp_path, name):
    t, _ = load_fixture(name)
    D = _load(tmp_path, name).D
    with torch.no_grad():
        out = D(t["d_img"], t["d_c"] if t["d_c"].shape[1] else None)
    torch.testing.assert_close(out, t["d_logits"], rtol=1e-4, atol=1e-4)

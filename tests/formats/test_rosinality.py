"""rosinality .pt checkpoints: key table, inference, writer, and equality with rosinality's outputs.

Reference outputs come from rosinality's own Generator/Discriminator (channel table shrunk to
32/16 for a 32 px model; see scripts/make_reference_fixtures.py).
"""


import pytest
import torch

from stylebridge.errors import CheckpointError, UnsafePickleError
from stylebridge.formats.base import NetworkState
from stylebridge.formats.rosinality import (
    read_rosinality,
    read_rosinality_state,
    rosinality_multiplier,
    rosinality_state_dicts,
    save_rosinality,
)
from stylebridge.networks.config import GeneratorConfig
from tests.formats.fixtures_util import load_fixture, rosinality_ckpt, save_torch, sub


def test_reader_infers_architecture_and_fills_everything(tmp_path):
    path = save_torch(rosinality_ckpt(), tmp_path / "r.pt")
    raw = read_rosinality(path)
    cfg = raw.G_ema.config
    assert (cfg.img_resolution, cfg.z_dim, cfg.w_dim, cfg.mapping_layers, cfg.img_channels) == (32, 32, 32, 3, 3)
    assert [cfg.channels(r) for r in (4, 8, 16, 32)] == [32, 32, 32, 16]
    assert raw.D.config.img_resolution == 32 and [raw.D.config.channels(r) for r in (4, 8, 16, 32)] == [32, 32, 32, 16]
    assert raw.w_avg_known and "g_optim" in raw.extra and raw.extra["args"]["n_mlp"] == 3
    t, _ = load_fixture("rosinality32")
    torch.testing.assert_close(raw.G_ema.state_dict["mapping.w_avg"], t["latent_avg"], rtol=0, atol=0)
    g = sub(t, "g_ema.")
    # every rosinality weight lands somewhere, 1:1 in value
    assert torch.equal(raw.G_ema.state_dict["synthesis.b4.const"], g["input.input"][0])
    assert torch.equal(raw.G_ema.state_dict["synthesis.b16.conv0.noise_const"], g["noises.noise_3"][0, 0])
    assert torch.equal(raw.G_ema.state_dict["synthesis.b32.conv1.bias"], g["convs.5.activate.bias"])
    assert torch.equal(raw.G_ema.state_dict["mapping.fc2.weight"], g["style.3.weight"])


def test_latent_avg_absent_marks_w_avg_unknown(tmp_path):
    raw = read_rosinality(save_torch(rosinality_ckpt(latent_avg=False, args=False), tmp_path / "r.pt"))
    assert not raw.w_avg_known


def test_unexpected_key_is_named():
    ck = rosinality_ckpt()
    ck["g_ema"]["convs.0.extra_thing"] = torch.zeros(3)
    with pytest.raises(CheckpointError, match="convs.0.extra_thing"):
        read_rosinality_state(ck)


def test_wrong_shape_is_named():
    ck = rosinality_ckpt()
    ck["g_ema"]["to_rgbs.1.bias"] = torch.zeros(1, 4, 1, 1)
    with pytest.raises(CheckpointError, match=r"synthesis\.b16\.torgb\.bias.*\(4,\).*\(3,\)"):
        read_rosinality_state(ck)


def test_code_in_torch_file_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    path = save_torch({"g_ema": {}, "x": Evil()}, tmp_path / "e.pt")
    with pytest.raises(UnsafePickleError):
        read_rosinality(path)


def test_truncated_file_is_a_checkpoint_error(tmp_path):
    path = save_torch(rosinality_ckpt(), tmp_path / "r.pt")
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CheckpointError):
        read_rosinality(path)


def test_writer_reproduces_rosinality_keys_shapes_and_values(tmp_path):
    t, _ = load_fixture("rosinality32")
    raw = read_rosinality_state(rosinality_ckpt())
    back = rosinality_state_dicts(raw.G_ema, raw.D, raw.G, check_channels=False)
    for key, prefix in (("g_ema", "g_ema."), ("g", "g_ema."), ("d", "d.")):
        ref = sub(t, prefix)
        assert set(back[key]) == set(ref)
        for k, v in ref.items():
            assert back[key][k].shape == v.shape and torch.equal(back[key][k], v), (key, k)
    assert torch.equal(back["latent_avg"], t["latent_avg"])


def test_writer_refuses_channels_rosinality_cannot_express(tmp_path):
    raw = read_rosinality_state(rosinality_ckpt())
    with pytest.raises(CheckpointError, match="hard-codes 512"):
        save_rosinality(tmp_path / "o.pt", None, raw.G_ema, raw.D)
    assert not (tmp_path / "o.pt").exists()


def test_writer_standard_config_roundtrip(tmp_path):
    cfg = GeneratorConfig(img_resolution=8, z_dim=8, w_dim=8, mapping_layers=2, channel_base=16384, channel_max=512)
    assert rosinality_multiplier(cfg) in (1, 2)
    from stylebridge.formats.layout import generator_shapes
    g = torch.Generator().manual_seed(0)
    sd = {k: torch.randn(s, generator=g) for k, s in generator_shapes(cfg).items()}
    from stylebridge.formats.layout import resample_filter
    for k in sd:
        if k.endswith("resample_filter"):
            sd[k] = resample_filter()
    save_rosinality(tmp_path / "o.pt", None, NetworkState(cfg, sd))
    raw = read_rosinality(tmp_path / "o.pt")
    assert raw.G_ema.config.channels(8) == 512 and raw.G is None and raw.D is None
    for k, v in sd.items():
        assert torch.equal(raw.G_ema.state_dict[k], v), k


# ------------------------------------------------------------------------------------------------
# Equality with rosinality's Generator(..., randomize_noise=False) and Discriminator


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    from stylebridge.formats.loader import load_checkpoint
    path = save_torch(rosinality_ckpt(), tmp_path_factory.mktemp("r") / "r.pt")
    return load_checkpoint(path)


def test_const_noise_output_equals_rosinality(nets):
    t, _ = load_fixture("rosinality32")
    with torch.no_grad():
        out = nets.G_ema(t["z"], None, noise_mode="const")
        torch.testing.assert_close(out, t["img"], rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(nets.G_ema.mapping(t["z"], None)[:, 0], t["w"], rtol=1e-5, atol=1e-5)


def test_truncation_with_latent_avg_equals_rosinality(nets):
    t, _ = load_fixture("rosinality32")
    with torch.no_grad():
        out = nets.G_ema(t["z"], None, truncation_psi=0.7, noise_mode="const")
    torch.testing.assert_close(out, t["img_trunc0.7"], rtol=1e-4, atol=1e-4)


def test_wplus_and_style_mixing_equal_rosinality(nets):
    t, _ = load_fixture("rosinality32")
    G = nets.G_ema
    with torch.no_grad():
        torch.testing.assert_close(G.synthesis(t["wplus"], noise_mode="const"), t["img_wplus"], rtol=1e-4, atol=1e-4)
        w1, w2 = G.mapping(t["z"], None), G.mapping(t["z2"], None)
        ws = torch.cat([w1[:, :3], w2[:, 3:]], dim=1)   # rosinality inject_index=3
        torch.testing.assert_close(G.synthesis(ws, noise_mode="const"), t["img_mix3"], rtol=1e-4, atol=1e-4)


def test_discriminator_equals_rosinality(nets):
    t, _ = load_fixture("rosinality32")
    with torch.no_grad():
        torch.testing.assert_close(nets.D(t["d_img"], None), t["d_logits"], rtol=1e-4, atol=1e-4)

"""Layer swap: tensors from the right parent, output equals block-by-block composition,
refusal of unrelated models, CLI."""

from __future__ import annotations

import copy

import pytest
import torch
from PIL import Image

from stylebridge.cli.main import main
from stylebridge.errors import StylebridgeError
from stylebridge.formats import load_checkpoint, save_checkpoint
from stylebridge.networks import create_generator
from stylebridge.train import ls_to_resolution, swap_layers, with_strength
from tests.conftest import randomize_


def _pair(seed_t: int = 1):
    G_s = randomize_(create_generator("tiny-16"), seed=0)
    G_t = copy.deepcopy(G_s)
    randomize_(G_t.synthesis, seed=seed_t)          # "fine-tuned": synthesis moved, mapping shared
    G_t.mapping.w_avg.add_(0.5)                     # a different tracked mean (a statistic, not a weight)
    return G_s, G_t


@pytest.mark.parametrize("res", [4, 8, 16])
def test_tensors_come_from_the_right_parent(res):
    G_s, G_t = _pair()
    out = swap_layers(G_s, G_t, res)
    s, t, o = G_s.state_dict(), G_t.state_dict(), out.state_dict()
    for k, v in o.items():
        from_src = k.startswith("mapping.") or any(k.startswith(f"synthesis.b{r}.") for r in (4, 8, 16) if r <= res)
        assert torch.equal(v, s[k] if from_src else t[k]), k
    assert not torch.equal(s["synthesis.b16.conv1.weight"], t["synthesis.b16.conv1.weight"])


def _compose(G_s, G_t, res, ws):
    x = img = None
    for r, _ in G_t.synthesis.blocks():
        block = getattr((G_s if r <= res else G_t).synthesis, f"b{r}")
        i = G_t.synthesis.ws_index(r)
        x, img = block(x, img, ws.narrow(1, i, block.num_conv + block.num_torgb), noise_mode="const")
    return img


@torch.no_grad()
def test_swapped_file_generates_the_composition(tmp_path):
    G_s, G_t = _pair()
    for name, G in (("s", G_s), ("t", G_t)):
        save_checkpoint(tmp_path / f"{name}.safetensors", G=G, G_ema=G)
    rc = main(["swap", "--source", str(tmp_path / "s.safetensors"), "--target", str(tmp_path / "t.safetensors"),
               "--ls", "1", "--out", str(tmp_path / "ts.safetensors")])
    assert rc == 0
    G_ts = load_checkpoint(tmp_path / "ts.safetensors").G_ema
    z = torch.randn(3, G_s.z_dim, generator=torch.Generator().manual_seed(3))
    ws = G_s.mapping(z)
    expect = _compose(G_s, G_t, 8, ws)
    got = G_ts.synthesis(ws, noise_mode="const", fused=False)
    assert torch.allclose(got, expect, atol=1e-5)
    assert torch.equal(G_ts.mapping(z), ws)
    assert not torch.allclose(got, G_t.synthesis(ws, noise_mode="const"), atol=1e-3)


def test_refuses_unrelated_models_unless_forced():
    G_s, G_t = _pair()
    with torch.no_grad():
        G_t.mapping.fc1.weight.add_(1e-3)
    with pytest.raises(StylebridgeError, match="mapping networks .* differ"):
        swap_layers(G_s, G_t, 8)
    out = swap_layers(G_s, G_t, 8, force=True)
    assert torch.equal(out.mapping.fc1.weight, G_s.mapping.fc1.weight)
    with pytest.raises(StylebridgeError, match="different architectures"):
        swap_layers(G_s, create_generator("tiny-32"), 8, force=True)
    with pytest.raises(StylebridgeError, match="resolution"):
        swap_layers(G_s, G_s, 12)


def test_ls_index():
    assert [ls_to_resolution(i) for i in (1, 3, 5)] == [8, 16, 32]
    with pytest.raises(StylebridgeError):
        ls_to_resolution(2)


def test_cli_refusal_is_one_line(tmp_path, capsys):
    save_checkpoint(tmp_path / "a.safetensors", G=create_generator("tiny-16"))
    save_checkpoint(tmp_path / "b.safetensors", G=create_generator("tiny-16"))  # another random init
    rc = main(["swap", "--source", str(tmp_path / "a.safetensors"), "--target", str(tmp_path / "b.safetensors"),
               "--resolution", "8", "--out", str(tmp_path / "o.safetensors")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and "--force" in err


def test_strength_walks_the_fine_tuning_step():
    from stylebridge.train import with_strength

    G_s, G_t = _pair()
    G_ts = swap_layers(G_s, G_t, 8)  # b4, b8 from the source: no step to walk there
    assert with_strength(G_s, G_ts, 1.0) is G_ts  # no arithmetic at 1: the model as trained, bit for bit
    s, t = G_s.state_dict(), G_ts.state_dict()
    for a in (0.0, 0.5, 2.0):
        o = with_strength(G_s, G_ts, a).state_dict()
        for k, v in o.items():
            if k.startswith("synthesis.") and k in dict(G_s.synthesis.named_parameters(prefix="synthesis")):
                assert torch.allclose(v, s[k] + a * (t[k] - s[k]), atol=1e-6), k
            else:  # mapping and buffers (w_avg, constant noise): the target's
                assert torch.equal(v, t[k]), k
        for k in ("synthesis.b4.conv1.weight", "synthesis.b8.torgb.weight"):
            assert torch.equal(o[k], s[k]), k  # swapped-in source layers do not move at any strength
        assert a == 0.0 or not torch.equal(o["synthesis.b16.conv1.weight"], s["synthesis.b16.conv1.weight"])
    o = with_strength(G_s, G_ts, 0.0).state_dict()
    assert torch.equal(o["synthesis.b16.conv1.weight"], s["synthesis.b16.conv1.weight"])  # 0: the source's


@pytest.mark.parametrize("bad", [-0.5, 4.5, float("nan"), "strong"])
def test_strength_out_of_range_is_refused(bad):
    from stylebridge.train import with_strength

    G_s, G_t = _pair()
    with pytest.raises(StylebridgeError, match="style strength must be"):
        with_strength(G_s, G_t, bad)


def _swap_args(tmp_path, out: str):
    """A source/target pair saved to TMP and the `swap --resolution 8` command line writing OUT."""
    G_s, G_t = _pair()
    for name, G in (("s", G_s), ("t", G_t)):
        save_checkpoint(tmp_path / f"{name}.safetensors", G=G, G_ema=G)
    return G_s, G_t, ["swap", "--source", str(tmp_path / "s.safetensors"), "--target",
                      str(tmp_path / "t.safetensors"), "--resolution", "8", "--out", str(tmp_path / out)]


def test_swap_cli_writes_the_model_at_a_strength(tmp_path, capsys):
    G_s, G_t, args = _swap_args(tmp_path, "ts.safetensors")
    assert main(args + ["--strength", "1.5"]) == 0
    assert "at strength 1.5" in capsys.readouterr().out
    ck = load_checkpoint(tmp_path / "ts.safetensors")
    k = "synthesis.b16.conv0.weight"
    want = G_s.state_dict()[k] + 1.5 * (G_t.state_dict()[k] - G_s.state_dict()[k])
    assert torch.allclose(ck.G_ema.state_dict()[k], want, atol=1e-6)
    k = "synthesis.b8.conv1.weight"
    assert torch.equal(ck.G_ema.state_dict()[k], G_s.state_dict()[k])
    assert ck.extra["swap"]["strength"] == 1.5
    assert main(args + ["--strength", "9"]) == 2
    assert "--strength" in capsys.readouterr().err


def test_blend_width_ramps_from_source_to_target():
    """--blend-width: each block a mix, G_t's share a logistic ramp in log2 resolution centred
    between R and 2R; width 0 is the layer swap, bit for bit."""
    import math

    from stylebridge.train.swap import blend_shares

    G_s, G_t = _pair()
    hard = swap_layers(G_s, G_t, 8)
    assert all(torch.equal(a, b) for a, b in zip(swap_layers(G_s, G_t, 8, blend_width=0.0).state_dict().values(),
                                                 hard.state_dict().values()))
    shares = blend_shares([4, 8, 16], 8, 0.5)
    assert shares[16] == pytest.approx(1 / (1 + math.exp(-1.0))) and shares[8] == pytest.approx(1 / (1 + math.e))
    assert 0 < shares[4] < shares[8] < 0.5 < shares[16] < 1
    out = swap_layers(G_s, G_t, 8, blend_width=0.5).state_dict()
    s, t = G_s.state_dict(), G_t.state_dict()
    for r in (4, 8, 16):
        k = f"synthesis.b{r}.conv1.weight"
        assert torch.allclose(out[k], s[k] + shares[r] * (t[k] - s[k]), atol=1e-6), k
    assert torch.equal(out["mapping.fc0.weight"], s["mapping.fc0.weight"])
    assert torch.equal(out["mapping.w_avg"], s["mapping.w_avg"])
    assert blend_shares([4, 8, 16, 32], 8, 1e-3) == pytest.approx({4: 0, 8: 0, 16: 1, 32: 1}, abs=1e-12)  # the swap
    with pytest.raises(StylebridgeError, match="blend width must be between 0"):
        swap_layers(G_s, G_t, 8, blend_width=-1)


def test_swap_cli_blends(tmp_path, capsys):
    G_s, G_t, args = _swap_args(tmp_path, "b.safetensors")
    assert main(args + ["--blend-width", "0.5"]) == 0
    assert "blended" in capsys.readouterr().out
    ck = load_checkpoint(tmp_path / "b.safetensors")
    want = swap_layers(G_s, G_t, 8, blend_width=0.5).state_dict()
    assert all(torch.equal(ck.G_ema.state_dict()[k], v) for k, v in want.items())
    assert ck.extra["swap"]["blend_width"] == 0.5
    assert main(args + ["--blend-width", "20"]) == 2


@torch.no_grad()
def test_preview_draws_every_swap_of_the_same_samples(tmp_path, capsys):
    """swap --preview: rows source, target and the swap at each resolution below the output's,
    all drawing the same ws (NVIDIA's z of each seed through the source's mapping); with
    --preview alone no model is written."""
    from stylebridge.networks.stylegan2 import z_from_seed
    from stylebridge.train.swap import swap_preview

    G_s, G_t = _pair()
    images, labels = swap_preview(G_s, G_t, seeds=[3, 5], strength=1.5)
    assert labels == ["source", "target x1.5", "swap <= 4 px x1.5", "swap <= 8 px x1.5"]
    assert images.shape == (8, 3, 16, 16)
    ws = G_s.mapping(torch.cat([z_from_seed(s, G_s.z_dim) for s in (3, 5)]))
    expect_8 = with_strength(G_s, swap_layers(G_s, G_t, 8), 1.5).synthesis(ws, noise_mode="const")
    assert torch.allclose(images[6:8], expect_8, atol=1e-5)
    assert torch.allclose(images[0:2], G_s.synthesis(ws, noise_mode="const"), atol=1e-5)
    assert swap_preview(G_s, G_t, seeds=[1], blend_width=1.0)[1][2] == "blend 4 px"
    for name, G in (("s", G_s), ("t", G_t)):
        save_checkpoint(tmp_path / f"{name}.safetensors", G=G, G_ema=G)
    args = ["swap", "--source", str(tmp_path / "s.safetensors"), "--target", str(tmp_path / "t.safetensors")]
    assert main(args + ["--preview", str(tmp_path / "p.png"), "--seeds", "0-2"]) == 0
    assert "4 rows (source, target, swap <= 4 px, swap <= 8 px) x 3 seeds" in capsys.readouterr().out
    assert Image.open(tmp_path / "p.png").size[1] == 4 * 4 * (16 + 2) + 4 * 2  # 4 rows enlarged 4x, 2 px padding
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png", "s.safetensors", "t.safetensors"]
    for extra, needle in (([], "give --out FILE"), (["--preview", str(tmp_path / "q.png"), "--ls", "1"],
                                                    "--preview draws every resolution"),
                          (["--preview", str(tmp_path / "q.png"), "--strength", "9"], "--strength")):
        assert main(args + extra) == 2
        assert needle in capsys.readouterr().err
    assert not (tmp_path / "q.png").exists()

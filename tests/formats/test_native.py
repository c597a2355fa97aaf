"""Native checkpoints: round trip, strict loading, corrupt files, fp16 storage, extra state."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from stylebridge.errors import CheckpointError
from stylebridge.formats import detect_format, load_checkpoint, round_to, save_checkpoint
from stylebridge.formats.loader import estimate_w_avg, load_strict
from stylebridge.formats.native import read_native
from stylebridge.networks import create_discriminator, create_generator, get_config
from tests.conftest import randomize_


@pytest.fixture
def nets():
    torch.manual_seed(0)
    return randomize_(create_generator("tiny-16")), create_discriminator("tiny-16")


def test_round_trip_with_extra_state(nets, tmp_path):
    G, D = nets
    opt = torch.optim.Adam(G.parameters(), lr=1e-3)
    G(torch.randn(2, G.z_dim)).mean().backward()
    opt.step()
    extra = {"iteration": 12, "aug_p": 0.25, "opt_G": opt.state_dict(), "rng": {"torch": torch.get_rng_state(),
             "numpy": np.random.RandomState(3).get_state()}, "tag": ("a", 1)}
    p = save_checkpoint(tmp_path / "c.safetensors", G=G, G_ema=G, D=D, extra=extra)
    assert detect_format(p) == "native"
    ck = load_checkpoint(p)
    assert ck.contents()[:3] == ["G", "G_ema", "D"]
    for k, v in G.state_dict().items():
        assert torch.equal(ck.G.state_dict()[k], v)
    assert ck.extra["iteration"] == 12 and ck.extra["tag"] == ("a", 1)
    opt2 = torch.optim.Adam(ck.G.parameters(), lr=1e-3)
    opt2.load_state_dict(ck.extra["opt_G"])
    st = opt2.state_dict()["state"][0]["exp_avg"]
    assert torch.equal(st, opt.state_dict()["state"][0]["exp_avg"])
    assert torch.equal(ck.extra["rng"]["torch"], torch.get_rng_state()) or ck.extra["rng"]["torch"].dtype == torch.uint8
    ns = ck.extra["rng"]["numpy"]
    r = np.random.RandomState()
    r.set_state(ns)
    assert r.randn() == np.random.RandomState(3).randn()
    assert ck.G.config == G.config


def test_fp16_storage_halves_size_and_loads(nets, tmp_path):
    G, _ = nets
    a = save_checkpoint(tmp_path / "a.safetensors", G_ema=G)
    b = save_checkpoint(tmp_path / "b.safetensors", G_ema=G, dtype=torch.float16)
    assert b.stat().st_size < 0.6 * a.stat().st_size
    g16 = load_checkpoint(b).generator
    assert next(g16.parameters()).dtype == torch.float32
    z = torch.randn(2, G.z_dim)
    with torch.no_grad():
        assert (g16(z) - G.eval()(z)).abs().max() < 0.05


def test_round_to_matches_the_fp16_file_exactly(nets, tmp_path):
    """round_to(G, fp16) gives, in place, the very network an fp16 checkpoint of G loads as."""
    G, _ = nets
    before = {k: v.clone() for k, v in G.state_dict().items()}
    g16 = load_checkpoint(save_checkpoint(tmp_path / "h.safetensors", G_ema=G, dtype=torch.float16)).generator
    assert round_to(G, torch.float16) is G
    changed = False
    for k, v in G.state_dict().items():
        assert v.dtype == before[k].dtype
        assert torch.equal(v, g16.state_dict()[k]), k
        changed |= not torch.equal(v, before[k])
    assert changed  # random fp32 weights do not all survive fp16


def test_config_travels_as_json(nets, tmp_path):
    G, _ = nets
    p = save_checkpoint(tmp_path / "c.safetensors", G_ema=G)
    from safetensors import safe_open
    with safe_open(str(p), framework="pt") as f:
        meta = f.metadata()
    assert meta["format"] == "stylebridge" and "stylebridge_version" in meta
    assert json.loads(meta["networks"])["G_ema"]["config"]["img_resolution"] == 16


def test_strict_loading_names_key_and_shapes(nets, tmp_path):
    G, _ = nets
    p = save_checkpoint(tmp_path / "c.safetensors", G_ema=G)
    t = load_file(str(p))
    from safetensors import safe_open
    with safe_open(str(p), framework="pt") as f:
        meta = f.metadata()
    t["G_ema.synthesis.b8.conv0.weight"] = torch.zeros(3, 3, 3, 3)
    save_file(t, str(tmp_path / "bad.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match=r"synthesis\.b8\.conv0\.weight.*\(3, 3, 3, 3\).*\(16, 16, 3, 3\)"):
        load_checkpoint(tmp_path / "bad.safetensors")
    del t["G_ema.synthesis.b8.conv0.weight"]
    save_file(t, str(tmp_path / "missing.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="missing 1 tensors"):
        load_checkpoint(tmp_path / "missing.safetensors")


def test_loading_into_a_bigger_model_is_refused(nets):
    """The paper's code loaded 256 px weights into a 1024 px model with strict=False."""
    G, _ = nets
    big = create_generator(get_config("tiny-16", img_resolution=32))
    with pytest.raises(CheckpointError, match="missing"):
        load_strict(big, G.state_dict(), "test")


@pytest.mark.parametrize("content,match", [
    (b"", "empty or truncated"),
    (b"hello world, this is text", "unknown checkpoint format"),
])
def test_garbage_files(tmp_path, content, match):
    p = tmp_path / "x.bin"
    p.write_bytes(content)
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(p)


def test_truncated_native_file(nets, tmp_path):
    G, _ = nets
    p = save_checkpoint(tmp_path / "c.safetensors", G_ema=G)
    data = p.read_bytes()
    (tmp_path / "t.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(tmp_path / "t.safetensors")


def test_plain_safetensors_is_not_a_checkpoint(tmp_path):
    save_file({"a": torch.zeros(2)}, str(tmp_path / "p.safetensors"))
    with pytest.raises(CheckpointError, match="not a stylebridge checkpoint"):
        read_native(tmp_path / "p.safetensors")


def test_missing_and_folder(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "nope.pkl")
    with pytest.raises(CheckpointError, match="is a folder"):
        load_checkpoint(tmp_path)


def test_w_avg_estimate_is_deterministic(nets):
    G, _ = nets
    a, b = estimate_w_avg(G, samples=2000), estimate_w_avg(G, samples=2000)
    assert torch.equal(a, b)
    with torch.no_grad():
        direct = G.mapping(torch.randn(20000, G.z_dim))[:, 0].mean(0)
    assert (a - direct).abs().max() < 0.1 * direct.abs().max() + 0.05


def test_atomic_write_keeps_old_file_on_failure(nets, tmp_path, monkeypatch):
    G, _ = nets
    p = save_checkpoint(tmp_path / "c.safetensors", G_ema=G)
    before = p.read_bytes()
    import stylebridge.formats.native as native

    def boom(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(native, "save_file", boom)
    with pytest.raises(RuntimeError):
        save_checkpoint(p, G_ema=G)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["c.safetensors"]


def test_header_length_with_pickle_like_low_byte_is_native(nets, tmp_path):
    """A safetensors header length whose low byte is 0x80 must not be taken for a pickle
    (found when a training snapshot was misread)."""
    G, _ = nets
    for pad in range(0, 300):
        p = save_checkpoint(tmp_path / "c.safetensors", G_ema=G, extra={"pad": "x" * pad})
        if p.read_bytes()[0] == 0x80:
            break
    else:
        pytest.skip("could not produce a header length with low byte 0x80")
    assert detect_format(p) == "native"
    assert load_checkpoint(p).G_ema is not None


def test_the_same_weights_make_the_same_bytes_in_every_process(nets, tmp_path):
    """safetensors writes its metadata in a hash map's order, which differs between processes:
    save_checkpoint (and save_encoder) sort the header, so a re-packaged zoo whose weights did
    not change does not show its files as changed. The file stays a valid safetensors file."""
    import subprocess
    import sys

    from safetensors import safe_open

    G, D = nets
    save_checkpoint(tmp_path / "src.safetensors", G_ema=G, D=D, extra={"a": torch.ones(2), "n": 3})
    code = ("import sys; from stylebridge.formats import load_checkpoint, save_checkpoint; "
            "c = load_checkpoint(sys.argv[1]); save_checkpoint(sys.argv[2], G_ema=c.G_ema, D=c.D, extra=c.extra)")
    outs = []
    for i in range(3):  # the same code in other processes (other hash seeds)
        outs.append(tmp_path / f"p{i}.safetensors")
        subprocess.run([sys.executable, "-c", code, str(tmp_path / "src.safetensors"), str(outs[-1])], check=True,
                       env={"PYTHONHASHSEED": str(i + 1), "PATH": ""})
    assert outs[0].read_bytes() == outs[1].read_bytes() == outs[2].read_bytes()
    save_checkpoint(tmp_path / "ref.safetensors", G_ema=G, D=D, extra={"a": torch.ones(2), "n": 3})
    assert (tmp_path / "ref.safetensors").read_bytes() == (tmp_path / "src.safetensors").read_bytes()
    raw = (tmp_path / "ref.safetensors").read_bytes()
    header = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])
    assert list(header["__metadata__"]) == sorted(header["__metadata__"])
    with safe_open(str(tmp_path / "ref.safetensors"), "pt") as f:  # the library reads it as before
        assert f.metadata()["format"] == "stylebridge"
        assert torch.equal(f.get_tensor("G_ema.mapping.fc0.weight"), G.mapping.fc0.weight.detach())

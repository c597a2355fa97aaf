"""Malformed and hostile checkpoints (issue 19): each is refused by the CLI in one line with exit
status 2, no traceback, and before the network is allocated."""

import json
import subprocess
import sys
import zipfile

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from stylebridge.cli.main import main
from stylebridge.errors import CheckpointError
from stylebridge.formats import load_checkpoint, save_checkpoint
from stylebridge.networks import create_generator
from tests.formats.fixtures_util import rosinality_ckpt, save_torch


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    p = tmp_path_factory.mktemp("hostile") / "ok.safetensors"
    torch.manual_seed(0)
    return save_checkpoint(p, G_ema=create_generator("tiny-16"), extra={"iteration": 3})


def rewrite(src, dst, networks=None, extra=None, drop=(), **meta_changes):
    """A copy of a native file with its metadata changed (`drop`: keys deleted)."""
    with safe_open(str(src), framework="pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if networks is not None:
        meta["networks"] = networks if isinstance(networks, str) else json.dumps(networks)
    if extra is not None:
        meta["extra"] = extra
    meta.update(meta_changes)
    for k in drop:
        meta.pop(k)
    save_file(tensors, str(dst), metadata=meta)
    return dst


def networks_of(src):
    with safe_open(str(src), framework="pt") as f:
        return json.loads(f.metadata()["networks"])


def with_config(src, dst, **fields):
    nets = networks_of(src)
    nets["G_ema"]["config"].update(fields)
    return rewrite(src, dst, networks=nets)


def refused_in_one_line(path, capsys, match):
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and err.startswith("Error:"), err
    assert match in err, err
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def native_cases(native, d):
    nets = networks_of(native)
    no_kind = json.loads(json.dumps(nets))
    del no_kind["G_ema"]["kind"]
    deep = "[" * 5000 + "]" * 5000
    nested = json.dumps({"__dict__": [["x", json.loads("[" * 100 + "]" * 100)]]})
    return {
        "kind missing": (rewrite(native, d / "a.safetensors", networks=no_kind), "network kind"),
        "kind unknown": (rewrite(native, d / "b.safetensors", networks={"G_ema": {"kind": "toaster", "config": {}}}),
                         "network kind"),
        "version text": (rewrite(native, d / "c.safetensors", format_version="abc"), "not a version number"),
        "networks missing": (rewrite(native, d / "d.safetensors", drop=("networks",)), "networks"),
        "networks not json": (rewrite(native, d / "e.safetensors", networks="{nope"), "not valid JSON"),
        "networks a list": (rewrite(native, d / "f.safetensors", networks="[1, 2]"), "not a JSON object"),
        "z_dim text": (with_config(native, d / "g.safetensors", z_dim="512"), "z_dim must be int"),
        "z_dim fraction": (with_config(native, d / "h.safetensors", z_dim=512.5), "z_dim must be int"),
        "z_dim boolean": (with_config(native, d / "i.safetensors", z_dim=True), "z_dim must be int"),
        "z_dim negative": (with_config(native, d / "j.safetensors", z_dim=-4), "out of range"),
        "w_dim = z_dim = 40000": (with_config(native, d / "k.safetensors", z_dim=40000, w_dim=40000), "out of range"),
        "too many parameters": (with_config(native, d / "l.safetensors", img_resolution=1024, channel_base=2**20,
                                            channel_max=8192), "M parameters"),
        "NaN in config": (rewrite(native, d / "m.safetensors", networks=json.dumps(nets).replace("0.995", "NaN")),
                          "NaN is not a number"),
        "unknown config field": (with_config(native, d / "n.safetensors", evil=1), "unknown config fields"),
        "duplicate networks key": (rewrite(native, d / "o.safetensors",
                                           networks=json.dumps(nets)[:-1] + ', "G_ema": {}}'), "appears twice"),
        "extra nested too deeply for JSON": (rewrite(native, d / "p.safetensors", extra=deep), "nested too deeply"),
        "extra nested too deeply": (rewrite(native, d / "q.safetensors", extra=nested), "nested more than"),
        "bad tensor reference": (rewrite(native, d / "r.safetensors", extra='{"__tensor__": "state.nope"}'),
                                 "does not hold"),
        "shape against config": (with_config(native, d / "s.safetensors", w_dim=64), "has shape"),
    }


CASES = ["kind missing", "kind unknown", "version text", "networks missing", "networks not json", "networks a list",
         "z_dim text", "z_dim fraction", "z_dim boolean", "z_dim negative", "w_dim = z_dim = 40000",
         "too many parameters", "NaN in config", "unknown config field", "duplicate networks key",
         "extra nested too deeply for JSON", "extra nested too deeply", "bad tensor reference", "shape against config"]


@pytest.mark.parametrize("case", CASES)
def test_malformed_native_file(case, native, tmp_path, capsys):
    path, match = native_cases(native, tmp_path)[case]
    refused_in_one_line(path, capsys, match)


def test_native_still_loads(native):
    assert load_checkpoint(native).extra["iteration"] == 3


def test_duplicate_tensor_keys_in_the_safetensors_header(tmp_path, capsys):
    entry = '{"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}'
    header = ('{"__metadata__": {"format": "stylebridge", "format_version": "1", "networks": "{}"}, '
              f'"G_ema.mapping.w_avg": {entry}, "G_ema.mapping.w_avg": {entry}}}').encode()
    header += b" " * (-len(header) % 8)
    p = tmp_path / "dup.safetensors"
    p.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 4)
    refused_in_one_line(p, capsys, "appears twice")


def test_header_longer_than_the_file(native, tmp_path, capsys):
    data = native.read_bytes()
    p = tmp_path / "lie.safetensors"
    p.write_bytes((len(data) * 2).to_bytes(8, "little") + data[8:])
    refused_in_one_line(p, capsys, "truncated or corrupt")


def test_torch_zip_that_inflates_is_refused_before_reading(tmp_path, capsys):
    """Measured before the fix: a 1 MB file whose data.pkl deflates to 1 GB used 2.27 GB and was
    then called 'code outside plain tensors'. The sizes in the zip directory are checked first."""
    p = tmp_path / "bomb.pt"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", b"\0" * (64 * 2**20))
        z.writestr("archive/version", b"3\n")
    assert p.stat().st_size < 2**20
    refused_in_one_line(p, capsys, "claim 64.0 MB uncompressed")


def test_rosinality_with_a_wrong_shape_where_the_layout_is_read(tmp_path, capsys):
    ck = rosinality_ckpt()
    ck["g_ema"]["style.1.weight"] = torch.zeros(5)  # a 1-D weight where [w_dim, z_dim] is read
    refused_in_one_line(save_torch(ck, tmp_path / "r.pt"), capsys, "shapes of a rosinality")
    ck = rosinality_ckpt()
    ck["g_ema"]["conv1.conv.weight"] = "not a tensor"
    refused_in_one_line(save_torch(ck, tmp_path / "s.pt"), capsys, "shapes of a rosinality")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in kB")
def test_huge_config_is_refused_without_allocating(native, tmp_path):
    """w_dim = z_dim = 40000 reached 6.5 GB before failing; now the process stays small."""
    p = with_config(native, tmp_path / "huge.safetensors", z_dim=40000, w_dim=40000)
    code = ("import resource, sys; from stylebridge.cli.main import main; rc = main(['info', sys.argv[1]]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "out of range" in r.stderr
    assert int(r.stdout.split()[-1]) < 1_000_000, f"peak RSS {r.stdout} kB"  # well under 1 GB


@pytest.mark.parametrize("change", [{"z_dim": None}, {"z_dim": [512]}, {"img_resolution": "big"}])
def test_nvidia_pickle_with_malformed_kwargs(change, capsys):
    from stylebridge.formats import nvidia_pkl
    from stylebridge.formats.unpickle import restricted_load
    from tests.formats.fixtures_util import nvidia_pickle_bytes

    data = restricted_load(nvidia_pickle_bytes("nv16_rgb"))
    kw = data["G_ema"].state["_init_kwargs"]
    for k, v in change.items():
        if v is None:
            del kw[k]
        else:
            kw[k] = v
    with pytest.raises(CheckpointError, match="G_ema: the network's constructor arguments are malformed"):
        nvidia_pkl.read_nvidia_data(data)


def test_rosinality_messages_pass_through_unwrapped(tmp_path):
    from stylebridge.formats.rosinality import read_rosinality

    ck = rosinality_ckpt()
    ck["g_ema"]["convs.0.extra_thing"] = torch.zeros(3)
    with pytest.raises(CheckpointError, match=r"unexpected tensor convs\.0\.extra_thing") as e:
        read_rosinality(save_torch(ck, tmp_path / "x.pt"))
    assert "shapes of a rosinality" not in str(e.value)

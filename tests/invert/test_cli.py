import csv

import numpy as np
import pytest
import torch
from PIL import Image

from stylebridge.cli.main import main
from stylebridge.data.images import save_image
from stylebridge.formats import save_checkpoint
from stylebridge.generate import load_projected_w
from stylebridge.invert.api import invert_folder, parse_shard, render_saved


@pytest.fixture()
def ckpt(G, D, tmp_path):
    return save_checkpoint(tmp_path / "g.safetensors", G_ema=G, D=D)


@pytest.fixture()
def folder(targets, tmp_path):
    d = tmp_path / "imgs"
    save_image(targets[0], d / "a.png")
    (d / "sub").mkdir()
    save_image(targets[1], d / "sub" / "b.png")
    # Another size and mode: 16-bit grey, 40x24.
    grey = (np.random.default_rng(0).random((24, 40)) * 65535).astype(np.uint16)
    Image.fromarray(grey).save(d / "c.png")
    (d / "broken.jpg").write_bytes(b"not an image")
    return d


def _rows(path):
    with open(path, newline="") as f:
        return {r["name"]: r for r in csv.DictReader(f)}


def test_folder_job_files_resume_and_exact_regeneration(G, folder, tmp_path):
    out = tmp_path / "out"
    logs = []
    res = invert_folder(G, folder, out, method="sefa", steps=12, perceptual="pixel", batch_size=2,
                        optimize_noise=True, log=logs.append)
    assert res["done"] == 3 and res["failed"] == [str(folder / "broken.jpg")]
    assert any("skipped" in m and "broken.jpg" in m for m in logs)
    rows = _rows(out / "summary.csv")
    assert set(rows) == {"a", "c", "sub__b"}
    for name in rows:
        with np.load(out / f"{name}.npz") as d:
            assert d["w"].shape == (1, G.num_ws, G.w_dim) and d["v"].shape == (1, G.w_dim)
            assert str(d["method"]) == "sefa" and any(k.startswith("noise/") for k in d.files)
        png = torch.from_numpy(np.array(Image.open(out / f"{name}.png"))).permute(2, 0, 1)
        assert torch.equal(render_saved(G, out / f"{name}.npz"), png)  # the saved code IS the png
        assert 0 < float(rows[name]["ssim"]) <= 1 and float(rows[name]["mse"]) >= 0
        assert load_projected_w(out / f"{name}.npz", G).shape == (1, G.num_ws, G.w_dim)
    before = (out / "a.npz").stat().st_mtime_ns
    logs.clear()
    res = invert_folder(G, folder, out, method="sefa", steps=12, perceptual="pixel", log=logs.append)
    assert res["done"] == 0 and res["skipped"] == 3 and (out / "a.npz").stat().st_mtime_ns == before
    (out / "c.png").unlink()  # an unfinished image is redone
    res = invert_folder(G, folder, out, method="sefa", steps=12, perceptual="pixel", log=logs.append)
    assert res["done"] == 1 and set(_rows(out / "summary.csv")) == {"a", "c", "sub__b"}


def test_sharding_and_torchrun_env(G, folder, tmp_path, monkeypatch):
    assert parse_shard("1/3") == (1, 3)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert parse_shard(None) == (1, 2)
    res = invert_folder(G, folder, tmp_path / "o", steps=3, perceptual="pixel", log=lambda m: None)
    # Sorted files: a, broken, c, sub/b -> rank 1 of 2 takes broken (unreadable) and sub/b.
    assert res["shard"] == (1, 2) and res["done"] == 1
    assert set(_rows(res["summary"])) == {"sub__b"} and res["summary"].endswith("summary.shard1of2.csv")
    res = invert_folder(G, folder, tmp_path / "o", steps=3, perceptual="pixel", shard="0/2", log=lambda m: None)
    assert set(_rows(res["summary"])) == {"a", "c"}


def test_cli_invert_factorize_edit(ckpt, folder, tmp_path, capsys):
    out = tmp_path / "inv"
    rc = main(["invert", str(ckpt), str(folder / "a.png"), str(folder / "c.png"), "--outdir", str(out),
               "--steps", "8", "--method", "sefa", "--topk", "4", "--clamp", "3", "--save-video",
               "--precision", "bf16"])
    assert rc == 0
    assert {p.name for p in out.iterdir()} >= {"a.npz", "a.png", "a.gif", "c.npz", "summary.csv"}
    assert "perceptual" in _rows(out / "summary.csv")["a"]  # D fallback or LPIPS, recorded
    with np.load(out / "a.npz") as d:
        assert (d["v"][0, 4:] == 0).all()
    pytest.importorskip("imageio_ffmpeg", reason="the test extras install imageio-ffmpeg")
    import imageio_ffmpeg

    mp4 = tmp_path / "inv_mp4"
    assert main(["invert", str(ckpt), str(folder / "a.png"), "--outdir", str(mp4), "--steps", "6",
                 "--save-video", "--video-format", "mp4", "--no-early-stop"]) == 0
    reader = imageio_ffmpeg.read_frames(str(mp4 / "a.mp4"))
    assert tuple(next(reader)["size"]) == (32, 16) and sum(1 for _ in reader) >= 2  # target | reconstruction
    assert main(["factorize", str(ckpt), "--out", str(tmp_path / "b.npz"), "--layers", "coarse"]) == 0
    with np.load(tmp_path / "b.npz") as d:
        assert d["eigvec"].shape == (16, 16) and d["layers"].tolist() == [0, 1, 2]
    assert main(["edit", str(ckpt), "--basis", str(tmp_path / "b.npz"), "--index", "0-1", "--seeds", "0-1",
                 "--steps", "3", "--out", str(tmp_path / "e.png")]) == 0
    im = np.asarray(Image.open(tmp_path / "e.png").convert("L"))
    grid_w = 3 * (3 * 17 + 1)  # 3 columns of 16 px, 1 px padding, upscaled 3x for legible labels
    assert im.shape[0] == 3 * (4 * 17 + 1) and im.shape[1] > grid_w
    margin = im[:, :im.shape[1] - grid_w]
    for row in range(4):  # each (seed, direction) row is named in the margin
        assert margin[3 * (1 + 17 * row):3 * (17 * row + 17)].max() > 150, row


@pytest.mark.parametrize("args,msg", [
    (["invert", "{ckpt}", "{folder}", "--outdir", "{out}", "--method", "w", "--topk", "3"],
     "use them with --method sefa"),
    (["invert", "{ckpt}", "{tmp}/missing", "--outdir", "{out}"], "does not exist"),
    (["invert", "{tmp}/nock.pkl", "{folder}", "--outdir", "{out}"], "no such file"),
    (["invert", "{ckpt}", "{folder}", "--outdir", "{out}", "--shard", "3/2"], "--shard"),
    (["factorize", "{ckpt}", "--out", "{out}.npz", "--layers", "0-99"], "out of range"),
    (["edit", "{ckpt}", "--basis", "{folder}/a.png", "--out", "{out}.png"], "basis"),
])
def test_bad_inputs_one_line_exit_2(ckpt, folder, tmp_path, capsys, args, msg):
    fill = dict(ckpt=ckpt, folder=folder, out=tmp_path / "o", tmp=tmp_path)
    assert main([a.format(**fill) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0], err

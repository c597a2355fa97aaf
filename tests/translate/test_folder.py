"""Folder translation jobs (issue 18): a re-run with other settings is refused with a line
naming what changed, index.html lists only grids that exist, `--to all` leaves the source
out, grids name their rows."""

import json

import numpy as np
from PIL import Image

from stylebridge.cli.main import main
from stylebridge.data.images import save_image


def _job(zoo_dir, images, tmp_path):
    src = tmp_path / "in"
    for i, im in enumerate(images):
        save_image(im, src / f"img{i}.png")
    return src, ["translate", str(src), "--zoo", str(zoo_dir), "--steps", "2", "--perceptual", "pixel",
                 "--no-progress", "--outdir", str(tmp_path / "out")]


def test_rerun_with_other_settings_is_refused_and_names_them(zoo_dir, images, tmp_path, capsys):
    src, args = _job(zoo_dir, images, tmp_path)
    out = tmp_path / "out"
    assert main(args + ["--to", "anime,sketch", "--modes", "2"]) == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    capsys.readouterr()
    assert main(args + ["--to", "sketch", "--modes", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--modes 2 there, 3 now" in err[0] and "--to anime,sketch there, sketch now" in err[0]
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == before  # nothing rewritten
    assert main(args + ["--to", "anime,sketch", "--modes", "2", "--seed", "1"]) == 2
    assert "--seed 0 there, 1 now" in capsys.readouterr().err
    assert main(args + ["--to", "anime,sketch", "--modes", "2", "--steps", "3"]) == 2  # inversion options too
    assert "--steps 2 there, 3 now" in capsys.readouterr().err
    # an option recorded only when given differs both ways: given there and not now, or now and not there
    assert main(args[:-2] + ["--outdir", str(tmp_path / "o2"), "--to", "anime", "--appearance", "mean"]) == 0
    capsys.readouterr()
    assert main(args[:-2] + ["--outdir", str(tmp_path / "o2"), "--to", "anime"]) == 2
    assert "--appearance mean there, default now" in capsys.readouterr().err
    assert main(args + ["--to", "anime,sketch", "--modes", "2", "--appearance", "mean"]) == 2
    assert "--appearance default there, mean now" in capsys.readouterr().err
    assert main(args + ["--to", "anime,sketch", "--modes", "2", "--strength", "1.5"]) == 2
    assert "--strength default there, {'anime': 1.5, 'sketch': 1.5} now" in capsys.readouterr().err
    assert main(args + ["--to", "anime,sketch", "--modes", "2", "--strength", "1"]) == 0  # 1: as trained, the same
    assert "2 already done" in capsys.readouterr().out
    assert main(args + ["--to", "anime,sketch", "--modes", "2", "--strength", "sketch=0.5"]) == 2
    assert "{'anime': 1.0, 'sketch': 0.5} now" in capsys.readouterr().err
    assert main(args + ["--to", "anime,sketch", "--modes", "2", "--strength", "anime=1"]) == 0
    capsys.readouterr()
    assert main(args + ["--to", "anime,sketch", "--modes", "2"]) == 0  # the same settings resume
    assert "2 already done" in capsys.readouterr().out
    settings = json.loads((out / "settings.json").read_text())
    assert settings["modes"] == 2 and settings["to"] == ["anime", "sketch"]


def test_index_lists_only_grids_that_exist(zoo_dir, images, tmp_path):
    src, args = _job(zoo_dir, images, tmp_path)
    out = tmp_path / "out"
    assert main(args + ["--to", "anime", "--shard", "0/2"]) == 0
    page = (out / "index.html").read_text()
    assert "img0/grid.png" in page and "img1/grid.png" not in page
    assert main(args + ["--to", "anime", "--shard", "1/2"]) == 0  # the last shard's index shows every grid
    page = (out / "index.html").read_text()
    assert "img0/grid.png" in page and "img1/grid.png" in page


def test_to_all_leaves_the_source_out_and_grids_are_labelled(zoo_dir, images, tmp_path):
    data = json.loads((zoo_dir / "zoo.json").read_text())
    del data["models"]["unrelated"]
    (zoo_dir / "zoo.json").write_text(json.dumps(data))
    src, args = _job(zoo_dir, images, tmp_path)
    out = tmp_path / "out"
    assert main(args) == 0
    assert sorted(p.name for p in (out / "img0").iterdir()) == ["anime.png", "grid.png", "sketch.png"]
    grid = np.asarray(Image.open(out / "img0" / "grid.png").convert("L"))
    scale, pitch = 3, 3 * (16 + 2)  # 16 px cells upscaled 3x, 2 px padding
    cells_w = scale * (3 * 18 + 2)   # input | reconstruction | translation
    assert grid.shape[0] == scale * (2 * 18 + 2) and grid.shape[1] > cells_w
    margin = grid[:, :grid.shape[1] - cells_w]
    for row in range(2):  # each target's row is named in the margin (dark ink on the white margin)
        assert margin[scale * 2 + row * pitch:scale * 2 + (row + 1) * pitch - scale * 2].min() < 100, row
    assert main(args[:-2] + ["--outdir", str(tmp_path / "o2"), "--to", "base,anime"]) == 0  # asked: included
    assert (tmp_path / "o2" / "img0" / "base.png").exists()


def test_a_job_records_the_refinement_steps_its_zoo_gave_and_refuses_a_changed_record(zoo_dir, images, tmp_path,
                                                                                       capsys):
    """With the zoo's encoder and no --steps, settings.json records the refinement steps the
    zoo's record resolved to; a re-run after that record changed is refused, naming them."""
    from stylebridge.encoder.network import Encoder, save_encoder
    from stylebridge.translate.zoo import Zoo

    base = Zoo.from_dir(zoo_dir)["base"]
    save_encoder(zoo_dir / "e.safetensors", Encoder.for_generator(base, channels=8, hidden=32))
    manifest = json.loads((zoo_dir / "zoo.json").read_text())
    manifest["encoder"] = {"file": "e.safetensors", "steps": 2}
    (zoo_dir / "zoo.json").write_text(json.dumps(manifest))
    src = tmp_path / "in"
    for i, im in enumerate(images):
        save_image(im, src / f"img{i}.png")
    args = ["translate", str(src), "--zoo", str(zoo_dir), "--to", "anime", "--perceptual", "pixel", "--no-progress",
            "--outdir", str(tmp_path / "out")]
    assert main(args) == 0
    settings = json.loads((tmp_path / "out" / "settings.json").read_text())
    assert settings["method"] == "encoder" and settings["steps"] == 2
    manifest["encoder"]["steps"] = 3
    (zoo_dir / "zoo.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    assert main(args) == 2
    assert "--steps 2 there, 3 now" in capsys.readouterr().err
    assert main(args[:-2] + ["--outdir", str(tmp_path / "o2"), "--steps", "0"]) == 0  # 0: the codes unrefined
    assert json.loads((tmp_path / "o2" / "settings.json").read_text())["steps"] == 0

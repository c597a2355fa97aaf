"""The shipped glyph zoo: it loads, every model shares the base mapping, the demo runs end
to end offline, and a broken or missing zoo gives one clear line."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from stylebridge.cli.main import main
from stylebridge.translate import Zoo
from stylebridge.zoo import shipped_zoo_dir


def test_shipped_zoo_loads_and_shares_the_base_mapping():
    zoo = Zoo.from_dir(shipped_zoo_dir())
    rows = zoo.check()
    names = {r["name"] for r in rows}
    assert "base" in names and len(names - {"base"}) >= 3
    assert names - {"base"} <= {"script", "pixel", "outline", "blackletter"}
    assert all(r["shares_base_mapping"] for r in rows)
    assert all(r["resolution"] == 32 and r["channels"] == 1 for r in rows)
    size = sum(p.stat().st_size for p in shipped_zoo_dir().glob("*.safetensors"))
    assert size <= 20e6


def test_demo_runs_end_to_end_on_the_shipped_models(tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert main(["demo", "--text", "Hi3", "--modes", "1", "--steps", "30", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "wrote" in text and "invert" in text
    im = np.asarray(Image.open(out))
    styles = len(json.loads((shipped_zoo_dir() / "zoo.json").read_text())["models"]) - 1
    # rows: input, reconstruction, then each style with 1 mode and its real glyphs -> 2 + 3 *
    # styles rows of 3 glyphs, and a margin on the left that names the rows
    n_rows = 2 + 3 * styles
    assert text.count(": real (") == styles
    strengths = {n: e["strength"] for n, e in json.loads((shipped_zoo_dir() / "zoo.json").read_text())["models"]
                 .items() if "strength" in e}
    assert strengths == {"outline": 0.9, "blackletter": 1.2}  # the zoo's records (TRAINING.md, session 16)
    for name, a in strengths.items():  # each drawn at its recorded style strength, labelled so
        assert f"{name} x{a:g}, {name} x{a:g} (seed 0)" in text
    grid_w = 3 * (3 * 33 + 1)
    assert im.shape[0] == 3 * (n_rows * 33 + 1) and im.shape[1] > grid_w
    margin = im[:, :im.shape[1] - grid_w]
    for row in range(n_rows):  # every row has its label: ink in the margin beside it
        assert margin[3 * (1 + 33 * row):3 * (33 * row + 33)].max() > 150, row
    assert "demo.png" in (tmp_path / "demo.html").read_text()


def test_broken_or_missing_zoo_is_one_line(tmp_path, capsys):
    bad = tmp_path / "zoo"
    shutil.copytree(shipped_zoo_dir(), bad)
    (bad / "script.safetensors").write_bytes(b"\x00" * 100)
    assert main(["demo", "--zoo", str(bad), "--steps", "2", "--out", str(tmp_path / "d.png")]) == 2
    err = capsys.readouterr().err
    assert "script.safetensors" in err and "Traceback" not in err
    (bad / "zoo.json").write_text("{")
    assert main(["zoo", str(bad)]) == 2
    assert "broken zoo manifest" in capsys.readouterr().err
    data = {"base": "base", "models": {"base": {"file": "gone.safetensors"}}}
    (bad / "zoo.json").write_text(json.dumps(data))
    assert main(["demo", "--zoo", str(bad), "--out", str(tmp_path / "d.png")]) == 2
    assert "missing" in capsys.readouterr().err
    assert main(["demo", "--zoo", str(tmp_path / "nowhere")]) == 2


def test_missing_shipped_zoo_message(monkeypatch, tmp_path):
    import stylebridge.zoo as zoo_mod
    from stylebridge.errors import StylebridgeError

    monkeypatch.setattr(zoo_mod, "_HERE", tmp_path)
    with pytest.raises(StylebridgeError, match="shipped glyph zoo is missing"):
        zoo_mod.shipped_zoo_dir()


def test_shipped_references_are_real_glyphs_of_held_out_fonts():
    """The demo's rows of real glyphs come from fonts that no model (nor the encoder) saw."""
    from fnmatch import fnmatch

    from stylebridge.data.glyph_fonts import DOMAINS
    from stylebridge.translate.references import load_references

    zoo = Zoo.from_dir(shipped_zoo_dir())
    refs = load_references(zoo)
    assert set(refs) == set(zoo.names) - {zoo.base}
    for style, (imgs, present, font) in refs.items():
        assert any(fnmatch(font, pat) for pat in DOMAINS[style].heldout), (style, font)
        assert int(present.sum()) >= 60 and imgs.shape[0] == 62
        assert float(imgs[present].amax(dim=(1, 2, 3)).min()) > 0.5  # every present glyph has ink


def test_damaged_references_are_one_line(tmp_path, capsys):
    bad = tmp_path / "zoo"
    shutil.copytree(shipped_zoo_dir(), bad)
    (bad / "references.npz").write_bytes(b"PK\x03\x04 not a zip")
    assert main(["demo", "--zoo", str(bad), "--steps", "1", "--out", str(tmp_path / "d.png")]) == 2
    err = capsys.readouterr().err
    assert "damaged glyph references" in err and "Traceback" not in err
    assert main(["demo", "--zoo", str(bad), "--steps", "1", "--no-references", "--out", str(tmp_path / "d.png")]) == 0


def test_stage_references_picks_the_held_out_font_with_most_characters(tmp_path):
    from stylebridge.zoo_build.package import stage_references

    data, dest = tmp_path / "data", tmp_path / "zoo"
    data.mkdir()
    shutil.copytree(shipped_zoo_dir(), dest)
    rng = np.random.RandomState(0)
    # font 0 draws 10 characters, font 1 all 62 but the last
    labels = np.concatenate([np.arange(10), np.arange(61)])
    font_ids = np.concatenate([np.zeros(10, int), np.ones(61, int)])
    images = rng.randint(1, 255, size=(len(labels), 1, 32, 32)).astype(np.uint8)
    for style in ("script", "outline", "blackletter"):
        np.savez(data / f"{style}_heldout.npz", images=images, labels=labels, font_ids=font_ids,
                 fonts=np.array(["Few", "Many"]))
    stage_references(data, dest)
    with np.load(dest / "references.npz") as d:
        assert str(d["script/font"]) == "Many" and d["script/present"].sum() == 61
        assert (d["script/images"][5] == images[10 + 5]).all() and not d["script/images"][61].any()
    assert json.loads((dest / "zoo.json").read_text())["references"]["file"] == "references.npz"

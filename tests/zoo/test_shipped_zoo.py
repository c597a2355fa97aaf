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
    # rows: input, reconstruction, then each style with 1 mode -> 2 + 2 * styles rows of 3
    # glyphs, and a margin on the left that names the rows
    n_rows = 2 + 2 * styles
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

import json

import numpy as np
from PIL import Image

from stylebridge.cli.main import main


def _folder(path, n, seed):
    path.mkdir()
    rng = np.random.RandomState(seed)
    for i in range(n):
        Image.fromarray(rng.randint(0, 256, (16, 16, 3)).astype(np.uint8)).save(path / f"{i}.png")
    return path


def test_evaluate_ssim_table_and_json(tmp_path, capsys):
    a, b = _folder(tmp_path / "a", 3, 0), _folder(tmp_path / "b", 3, 1)
    assert main(["evaluate", "ssim", str(a), str(b), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "| SSIM | value |" in out and "| n | 3 |" in out
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["n"] == 3 and -1 < r["ssim"] < 0.5
    assert main(["evaluate", "ssim", str(a), str(a), "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 5)[-1])["ssim"] == 1.0


def test_evaluate_unpaired_folders_is_a_clear_error(tmp_path, capsys):
    a, b = _folder(tmp_path / "a", 3, 0), _folder(tmp_path / "b", 2, 1)
    assert main(["evaluate", "ssim", str(a), str(b)]) == 2
    assert "equally many images" in capsys.readouterr().err


def test_missing_weights_through_cli(tmp_path, capsys, no_weights):
    a = _folder(tmp_path / "a", 2, 0)
    assert main(["evaluate", "lpips", str(a), str(a)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "stylebridge weights install" in err


def test_weights_list(no_weights, capsys):
    assert main(["weights", "list"]) == 0
    cap = capsys.readouterr()
    assert "| inception | no | (missing) |" in cap.out and "stylebridge weights install" in cap.err
    assert main(["weights", "list", "--json"]) == 0
    assert {r["name"] for r in json.loads(capsys.readouterr().out)} >= {"vgg16", "alexnet", "inception"}

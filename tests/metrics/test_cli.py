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
    assert json.loads(capsys.readouterr().out)["ssim"] == 1.0  # stdout is pure JSON (the table: stderr)


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


def test_evaluate_distance_with_checkpoints(tmp_path, capsys):
    from tests.metrics.metric_helpers import require_weights

    require_weights("alexnet", "lpips_alex")
    import torch

    from stylebridge.formats.native import save_checkpoint
    from stylebridge.networks import create_generator

    torch.manual_seed(0)
    G = create_generator("tiny-32")
    save_checkpoint(tmp_path / "a.safetensors", G_ema=G)
    assert main(["evaluate", "distance", str(tmp_path / "a.safetensors"), str(tmp_path / "a.safetensors"),
                 "--samples", "3", "--net", "alex", "--json", str(tmp_path / "d.json")]) == 0
    r = json.loads((tmp_path / "d.json").read_text())
    assert r["distance"] == 0.0 and r["n"] == 3 and r["noise_mode"] == "const"
    assert "| distance | 0 |" in capsys.readouterr().out
    save_checkpoint(tmp_path / "s.safetensors", G_ema=create_generator("tiny-16"))
    assert main(["evaluate", "distance", str(tmp_path / "s.safetensors"), str(tmp_path / "s.safetensors"),
                 "--samples", "2", "--net", "alex"]) == 2
    assert "at least 31x31" in capsys.readouterr().err

"""Bad data folder, bad checkpoint, wrong options: one clear line on stderr, exit 2."""

from __future__ import annotations

import pytest
import torch

from stylebridge.cli.main import main
from tests.train.helpers import disc_images, make_base, write_folder


def _run(capsys, args):
    rc = main(args)
    err = capsys.readouterr().err.strip()
    return rc, err


def test_bad_data_folder(tmp_path, capsys):
    base = make_base(tmp_path / "base.safetensors")
    rc, err = _run(capsys, ["finetune", "--base", str(base), "--data", str(tmp_path / "nope"),
                            "--outdir", str(tmp_path / "r"), "--iters", "1", "--no-progress"])
    assert rc == 2 and err.count("\n") == 0 and "does not exist" in err


def test_bad_checkpoint(tmp_path, capsys):
    data = write_folder(tmp_path / "d", disc_images(4))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage garbage garbage")
    rc, err = _run(capsys, ["finetune", "--base", str(bad), "--data", str(data), "--outdir", str(tmp_path / "r"),
                            "--iters", "1", "--no-progress"])
    assert rc == 2 and err.count("\n") == 0 and "unknown checkpoint format" in err


def test_base_without_d_needs_new_d(tmp_path, capsys):
    data = write_folder(tmp_path / "d", disc_images(4))
    base = make_base(tmp_path / "g_only.safetensors", with_d=False)
    args = ["finetune", "--base", str(base), "--data", str(data), "--outdir", str(tmp_path / "r"),
            "--iters", "1", "--no-progress"]
    rc, err = _run(capsys, args)
    assert rc == 2 and "--new-d" in err and err.count("\n") == 0
    assert main(args + ["--new-d"]) == 0
    assert (tmp_path / "r" / "network-snapshot-000001.safetensors").is_file()
    assert (tmp_path / "r" / "samples-000001.png").is_file()


@pytest.mark.parametrize("extra, needle", [
    (["--batch", "0"], "--batch must be at least 1"),
    (["--freeze-d", "9"], "only 2 blocks"),
    (["--aug-p", "1.5"], "--aug-p"),
    (["--config", "tiny-99"], "unknown architecture"),
])
def test_wrong_options(tmp_path, capsys, extra, needle):
    data = write_folder(tmp_path / "d", disc_images(4))
    args = ["train", "--data", str(data), "--outdir", str(tmp_path / "r"), "--iters", "1", "--no-progress"]
    if "--config" not in extra:
        args += ["--config", "tiny-16"]
    rc, err = _run(capsys, args + extra)
    assert rc == 2 and err.count("\n") == 0 and needle in err, err


def test_missing_base(tmp_path, capsys):
    rc, err = _run(capsys, ["finetune", "--data", "x", "--outdir", str(tmp_path)])
    assert rc == 2 and "--base" in err


def test_d_warmup_trains_d_alone_first_and_resumes_exactly(tmp_path, capsys):
    """--d-warmup N: the first N iterations leave G and G_ema bit for bit as the base had them
    while the fresh D learns; from N on G learns. Stopped and resumed inside the warm-up, the
    run equals an uninterrupted one."""
    from tests.train.helpers import tensors

    data = write_folder(tmp_path / "d", disc_images(4))
    base = make_base(tmp_path / "g_only.safetensors", with_d=False)
    common = ["finetune", "--base", str(base), "--data", str(data), "--new-d", "--d-warmup", "2", "--batch", "2",
              "--snap", "1", "--no-progress", "--seed", "3"]
    assert main(common + ["--outdir", str(tmp_path / "a"), "--iters", "3"]) == 0
    want = tensors(base)
    warm = tensors(tmp_path / "a" / "network-snapshot-000002.safetensors")
    for k in want:
        if k.startswith(("G.", "G_ema.")):
            assert torch.equal(warm[k], want[k]), k
    first = tensors(tmp_path / "a" / "network-snapshot-000001.safetensors")
    assert any(not torch.equal(first[k], warm[k]) for k in warm if k.startswith("D."))  # D learns meanwhile
    done = tensors(tmp_path / "a" / "network-snapshot-000003.safetensors")
    assert any(not torch.equal(done[k], want[k]) for k in want if k.startswith("G.synthesis"))  # then G does
    assert main(common + ["--outdir", str(tmp_path / "b"), "--iters", "1"]) == 0
    assert main(["finetune", "--resume", str(tmp_path / "b"), "--iters", "3", "--no-progress"]) == 0
    again = tensors(tmp_path / "b" / "network-snapshot-000003.safetensors")
    assert all(torch.equal(again[k], done[k]) for k in done)
    capsys.readouterr()
    rc, err = _run(capsys, common + ["--d-warmup=-1", "--outdir", str(tmp_path / "c")])
    assert rc == 2 and "--d-warmup must be >= 0" in err and err.count("\n") == 0


def test_finetune_freeze_g_from_the_command_line_and_on_resume(tmp_path):
    """`finetune --freeze-g 8` keeps the base's 4 and 8 px blocks; a --resume (which does not
    repeat the option) keeps them frozen: the option travels in the snapshot."""
    from tests.train.helpers import tensors

    data = write_folder(tmp_path / "d", disc_images(4))
    base = make_base(tmp_path / "base.safetensors")
    run = tmp_path / "r"
    assert main(["finetune", "--base", str(base), "--data", str(data), "--outdir", str(run), "--iters", "1",
                 "--batch", "2", "--snap", "1", "--freeze-g", "8", "--no-progress"]) == 0
    assert main(["finetune", "--resume", str(run), "--iters", "2", "--no-progress"]) == 0
    want, got = tensors(base), tensors(run / "network-snapshot-000002.safetensors")
    for k in want:
        if k.startswith(("G.synthesis.b4.", "G.synthesis.b8.", "G_ema.synthesis.b4.", "G_ema.synthesis.b8.")):
            assert torch.equal(got[k], want[k]), k
    assert not torch.equal(got["G.synthesis.b16.conv1.weight"], want["G.synthesis.b16.conv1.weight"])

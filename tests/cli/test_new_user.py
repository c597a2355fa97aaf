"""What a new user trips over (issue 18): bad seeds and output paths fail before any work
with one line, unreadable inputs, `--json -`, broken zoo models, progress bars, --debug
after the verb, one set of inversion defaults, help texts."""

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from stylebridge.cli.main import cli, main
from stylebridge.data.images import save_image
from stylebridge.formats import save_checkpoint
from stylebridge.networks import create_discriminator, create_generator
from tests.conftest import randomize_


@pytest.fixture
def ckpt(tmp_path):
    torch.manual_seed(0)
    G = randomize_(create_generator("tiny-16")).eval()
    return save_checkpoint(tmp_path / "m.safetensors", G=G, G_ema=G, D=create_discriminator("tiny-16"))


@pytest.fixture
def img(tmp_path):
    save_image(torch.rand(3, 16, 16) * 2 - 1, tmp_path / "img" / "a.png")
    return tmp_path / "img" / "a.png"


def _one_line_exit_2(args, capsys, needle):
    assert main([str(a) for a in args]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err, err
    return out


@pytest.mark.parametrize("args", [
    ["generate", "{ckpt}", "--seeds", "0-9,4294967296", "--outdir", "{tmp}/out"],
    ["edit", "{ckpt}", "--basis", "{tmp}/b.npz", "--seeds", "4294967296", "--out", "{tmp}/out/e.png"],
    ["translate", "{img}", "--source", "{ckpt}", "--target", "{ckpt}", "--seed", "-5", "--modes", "1",
     "--outdir", "{tmp}/out"],
    ["translate", "{img}", "--source", "{ckpt}", "--target", "{ckpt}", "--seed", "4294967295", "--modes", "2",
     "--outdir", "{tmp}/out"],
    ["invert", "{ckpt}", "{img}", "--seed", "4294967296", "--outdir", "{tmp}/out"],
    ["demo", "--seed", "-1", "--out", "{tmp}/out/d.png"],
    ["encoder", "train", "{ckpt}", "--seed", "4294967296", "--outdir", "{tmp}/out"],
])
def test_bad_seed_is_one_line_before_any_work(ckpt, img, tmp_path, capsys, args):
    args = [a.format(ckpt=ckpt, img=img, tmp=tmp_path) for a in args]
    _one_line_exit_2(args, capsys, "seeds go from 0 to 4294967295")
    assert not (tmp_path / "out").exists()  # nothing written, not even the first PNGs


UNDER = "{file} is a file, not a folder"


@pytest.mark.parametrize("args,needle", [
    (["invert", "{ckpt}", "{img}", "--outdir", "{file}/sub"], UNDER),
    (["generate", "{ckpt}", "--seeds", "0", "--outdir", "{file}/sub"], UNDER),
    (["generate", "{ckpt}", "--seeds", "0", "--outdir", "{tmp}/g", "--grid", "{file}/x.png"], UNDER),
    (["translate", "{img}", "--source", "{ckpt}", "--target", "{ckpt}", "--outdir", "{file}/sub"], UNDER),
    (["demo", "--out", "{file}/x.png"], UNDER),
    (["factorize", "{ckpt}", "--out", "{file}/x.npz"], UNDER),
    (["edit", "{ckpt}", "--basis", "{tmp}/b.npz", "--out", "{file}/x.png"], UNDER),
    (["evaluate", "distance", "{ckpt}", "{ckpt}", "--samples", "2", "--json", "{file}/x.json"], UNDER),
    (["evaluate", "ssim", "{tmp}/img", "{tmp}/img", "--json", "{file}/x.json"], UNDER),
    (["invert", "{ckpt}", "{img}", "--outdir", "{file}"], "{file} is a file"),
    (["demo", "--out", "{tmp}"], "{tmp} is a folder"),
])
def test_output_under_a_file_is_one_line_before_the_work(ckpt, img, tmp_path, capsys, args, needle):
    file = tmp_path / "file"
    file.write_text("x")
    args = [a.format(ckpt=ckpt, img=img, tmp=tmp_path, file=file) for a in args]
    out = _one_line_exit_2(args, capsys, needle.format(tmp=tmp_path, file=file))
    assert out == ""  # no result printed before the crash


def test_unreadable_only_input_and_empty_folder_agree(ckpt, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_line_exit_2(["invert", ckpt, bad, "--outdir", tmp_path / "inv", "--steps", "2"], capsys,
                     "could be read: image ")
    assert not (tmp_path / "inv" / "summary.csv").exists()
    _one_line_exit_2(["translate", bad, "--source", ckpt, "--target", ckpt, "--outdir", tmp_path / "tr",
                      "--steps", "2", "--to", "m"], capsys, "could be read: image ")
    assert not (tmp_path / "tr" / "index.html").exists() and not (tmp_path / "tr" / "settings.json").exists()
    _one_line_exit_2(["invert", ckpt, empty, "--outdir", tmp_path / "inv"], capsys, "no images")
    _one_line_exit_2(["translate", empty, "--source", ckpt, "--target", ckpt, "--outdir", tmp_path / "tr"],
                     capsys, "no images")


def test_evaluate_json_dash_keeps_stdout_pure_json(img, tmp_path, capsys):
    assert main(["evaluate", "ssim", str(img.parent), str(img.parent), "--json", "-"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["ssim"] == pytest.approx(1.0) and "| SSIM" in err
    assert main(["evaluate", "ssim", str(img.parent), str(img.parent)]) == 0
    assert "| SSIM" in capsys.readouterr().out  # without --json - the table stays on stdout


def test_zoo_lists_a_corrupt_model_as_broken(ckpt, tmp_path, capsys):
    d = tmp_path / "zoo"
    d.mkdir()
    (d / "base.safetensors").write_bytes(ckpt.read_bytes())
    (d / "other.safetensors").write_bytes(ckpt.read_bytes())
    (d / "bad.safetensors").write_bytes(b"\x00" * 64)
    assert main(["zoo", str(d)]) == 2
    out, err = capsys.readouterr()
    lines = {ln.split()[0]: ln for ln in out.splitlines()[1:]}
    assert "BROKEN" in lines["bad"] and "ok" in lines["other"] and "base" in lines["base"]
    assert "bad" in err and len(err.strip().splitlines()) == 1
    assert "1 channel" in lines["base"] or "3 channel" in lines["base"]


class _TTY(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("flag,shown", [([], True), (["--no-progress"], False)])
def test_invert_shows_a_bar_on_a_terminal_only(ckpt, img, tmp_path, monkeypatch, flag, shown):
    tty = _TTY()
    monkeypatch.setattr("sys.stderr", tty)
    assert main(["invert", str(ckpt), str(img), "--outdir", str(tmp_path / "o"), "--steps", "3",
                 "--perceptual", "pixel"] + flag) == 0
    assert ("invert" in tty.getvalue() and "img" in tty.getvalue() and "%" in tty.getvalue()) == shown


def test_no_bar_when_stderr_is_not_a_terminal(ckpt, img, tmp_path, capsys):
    assert main(["invert", str(ckpt), str(img), "--outdir", str(tmp_path / "o"), "--steps", "3",
                 "--perceptual", "pixel"]) == 0
    assert "%|" not in capsys.readouterr().err


def test_debug_is_accepted_after_the_verb(tmp_path, capsys):
    missing = tmp_path / "nope.safetensors"
    assert main(["info", str(missing)]) == 2
    assert "--debug" in capsys.readouterr().err
    with pytest.raises(Exception) as e:  # --debug after the verb: the traceback, not "No such option"
        main(["info", str(missing), "--debug"])
    assert "No such option" not in str(e.value)


def test_one_inversion_default_everywhere():
    from stylebridge.app.engine import Studio
    from stylebridge.invert.options import DEFAULT_PERCEPTUAL, DEFAULT_PRECISION, METHODS
    from stylebridge.invert.perceptual import make_perceptual
    from stylebridge.invert.projector import ProjectorConfig

    assert make_perceptual("auto", device="cpu")[0] == "pixel"  # even with the LPIPS weights installed
    assert ProjectorConfig().precision == DEFAULT_PRECISION
    defaults = {}
    for verb in ("invert", "translate", "demo"):
        params = {p.name: p for p in cli.commands[verb].params}
        defaults[verb] = params["perceptual"].default
        if verb != "demo":
            assert params["precision"].default == DEFAULT_PRECISION and params["precision"].help
            assert tuple(params["method"].type.choices) == METHODS
    params = {p.name: p for p in cli.commands["evaluate"].commands["inversion"].params}
    defaults["evaluate inversion"] = params["perceptual"].default
    assert set(defaults.values()) == {DEFAULT_PERCEPTUAL}
    import inspect
    assert inspect.signature(Studio).parameters["default_perceptual"].default is None  # -> DEFAULT_PERCEPTUAL


def test_thread_policy_leaves_the_busy_cores_and_respects_the_user(monkeypatch):
    from stylebridge.cli import threads

    assert threads.policy_threads(8, busy=1.0) == 7 and threads.policy_threads(2, busy=1.0) == 1
    assert threads.policy_threads(1, busy=0.0) == 1 and threads.policy_threads(2, busy=3.2) == 1
    assert threads.policy_threads(2, busy=0.1) == 2 and threads.policy_threads(8, busy=2.6) == 5  # idle cores used
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.set_thread_policy() is None
    # a long run started on a busy machine says how many threads it keeps, and how to choose
    assert threads.fewer_threads_note(None, cores=2) is None and threads.fewer_threads_note(2, cores=2) is None
    note = threads.fewer_threads_note(1, cores=2, busy=1.2)
    assert "1 of 2" in note and "OMP_NUM_THREADS=2" in note and "\n" not in note


def test_long_runs_note_the_threads_they_keep(monkeypatch, capsys):
    import sys

    import torch

    from stylebridge.cli import main as cli_main
    from stylebridge.cli import threads

    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "busy_cores", lambda: 1.0)
    try:
        monkeypatch.setattr(sys, "argv", ["stylebridge", "encoder", "train", "--resume", "/nonexistent/run"])
        assert cli_main.main() == 2
        assert "using 1 of 2 CPU threads" in capsys.readouterr().err
        monkeypatch.setattr(sys, "argv", ["stylebridge", "info", "/nonexistent.pkl"])
        cli_main.main()
        assert "CPU threads" not in capsys.readouterr().err  # short verbs stay quiet
    finally:
        torch.set_num_threads(before)


def test_help_texts_and_wording(ckpt, capsys):
    def opts(command):
        return {p.name: p for p in command.params}

    tr = opts(cli.commands["translate"])
    assert tr["precision"].help and tr["batch_size"].help
    ev = cli.commands["evaluate"]
    assert all(p.help for p in ev.commands["distance"].params if p.param_type_name == "option")
    assert all(p.help for p in ev.commands["kid"].params if p.param_type_name == "option")
    assert "(Eq." not in ev.commands["distance"].get_short_help_str(limit=45)
    assert main(["info", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "3 channel(s)" in out and " x3 " not in out


def test_demo_accepts_a_folder_of_images(tmp_path, capsys):
    from stylebridge.demo import glyph_inputs

    d = tmp_path / "glyphs"
    d.mkdir()
    for name in ("a", "b"):
        Image.fromarray(np.full((20, 20), 255, np.uint8)).save(d / f"{name}.png")
    x, labels = glyph_inputs(None, [d], 32)
    assert x.shape == (2, 1, 32, 32) and labels == ["a", "b"]
    assert main(["demo", "--images", str(d), "--to", "script", "--steps", "1", "--no-progress",
                 "--out", str(tmp_path / "demo.png")]) == 0
    assert (tmp_path / "demo.png").exists()


def test_found_while_trying_it(ckpt, img, tmp_path, capsys):
    _one_line_exit_2(["demo", "--text", "", "--out", tmp_path / "d.png"], capsys, "--text is empty")
    _one_line_exit_2(["zoo", ckpt], capsys, "is a file")
    assert main(["translate", str(img), "--source", str(ckpt), "--target", str(ckpt), "--reference",
                 str(tmp_path / "nope.png"), "--outdir", str(tmp_path / "o")]) == 2  # before the inversion
    assert "does not exist" in capsys.readouterr().err and not (tmp_path / "o").exists()
    _one_line_exit_2(["translate", img, "--source", ckpt, "--target", ckpt, "--content-layers", "99",
                      "--outdir", tmp_path / "o"], capsys, "--content-layers must be between")
    assert not (tmp_path / "o" / "latents").exists()  # refused before the inversion
    _one_line_exit_2(["translate", img, "--source", ckpt, "--target", ckpt, "--latents", ckpt,
                      "--outdir", tmp_path / "o"], capsys, "is a file")


def test_help_starts_without_importing_torch():
    """`stylebridge --help` and a verb's --help answer at once: torch (2 s to import) loads
    only when a verb runs."""
    import subprocess
    import sys

    code = ("import sys; from stylebridge.cli.main import main; "
            "rc = main(['invert', '--help']) + main(['encoder', 'train', '--help']); print('torch' in sys.modules, rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False 0"), out[-300:]

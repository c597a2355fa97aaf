"""--precision: each CPU mode trains without NaN and resumes exactly, the run records its
precision, fp16 is refused on CPU in one line, the default follows the device's bf16 hardware,
and every training default is defined once (TrainOptions)."""

from __future__ import annotations

import json
import math
import warnings

import pytest
import torch

from stylebridge.cli.main import main
from stylebridge.cli.train import build_options
from stylebridge.errors import StylebridgeError
from stylebridge.formats.native import read_native
from stylebridge.networks import create_discriminator, create_generator
from stylebridge.train import TrainOptions, precision
from stylebridge.train.loop import Trainer
from stylebridge.utils import precision as device_policy
from tests.train.helpers import disc_images, tensors, write_folder


def _opts(tmp_path, name, **kw):
    kw = dict(config="tiny-16", data_array=disc_images(8), outdir=str(tmp_path / name), batch=4, snap=1,
              progress=False, seed=3, gamma=0.05, pl_weight=1.0, g_reg_interval=1, d_reg_interval=1,
              device="cpu", **kw)
    return TrainOptions(**kw)


@pytest.mark.parametrize("prec", ["fp32", "bf16"])
def test_step_is_finite_and_resume_is_exact(tmp_path, prec):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ref = Trainer(_opts(tmp_path, "ref", iters=2, precision=prec))
        ref.step()
        ref.step()
        ref.save_snapshot()
        log = ref.pop_log(0.0)
        first = Trainer(_opts(tmp_path, "run", iters=1, precision=prec))
        first.step()
        first.save_snapshot()
        resumed = Trainer(TrainOptions(resume=str(tmp_path / "run"), iters=2, progress=False, device="cpu",
                                       data_array=disc_images(8)))
        assert resumed.precision == prec and resumed.opts.precision == prec
        resumed.step()
        resumed.save_snapshot()
    finally:
        torch.set_num_threads(threads)
    for k in ("loss_G", "loss_D", "r1", "pl"):
        assert math.isfinite(log[k]), (k, log)
    a = tensors(tmp_path / "ref" / "network-snapshot-000002.safetensors")
    b = tensors(tmp_path / "run" / "network-snapshot-000002.safetensors")
    assert all(torch.isfinite(v).all() for k, v in a.items() if v.is_floating_point())
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    saved = read_native(tmp_path / "run" / "network-snapshot-000002.safetensors").extra["options"]
    assert saved["precision"] == prec


def test_bf16_changes_the_arithmetic_but_not_the_result(tmp_path):
    losses = {}
    for prec in ("fp32", "bf16"):
        tr = Trainer(_opts(tmp_path, prec, iters=1, precision=prec))
        tr.step()
        losses[prec] = tr.pop_log(0.0)["loss_G"]
    assert losses["fp32"] != losses["bf16"]  # autocast did run the convolutions in bf16
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.05)


def test_resume_with_explicit_precision_overrides(tmp_path):
    tr = Trainer(_opts(tmp_path, "run", iters=1, precision="bf16"))
    tr.step()
    tr.save_snapshot()
    again = Trainer(TrainOptions(resume=str(tmp_path / "run"), iters=2, progress=False, device="cpu",
                                 data_array=disc_images(8), precision="fp32"))
    assert again.opts.precision == "fp32"


def test_resume_on_another_kind_of_device_takes_its_default(tmp_path, monkeypatch):
    """A run trained in bf16 on a GPU and resumed on a CPU without bf16 hardware would run
    ~19x slower in bf16: without --precision it switches to the CPU's default, with a warning
    and a log line; --precision still decides. The snapshot records where it was trained."""
    tr = Trainer(_opts(tmp_path, "run", iters=1, precision="bf16"))
    tr.step()
    as_trained = Trainer.state
    monkeypatch.setattr(Trainer, "state", lambda self: {**as_trained(self), "training": {
        **as_trained(self)["training"], "device_type": "cuda"}})
    tr.save_snapshot()
    monkeypatch.setattr(Trainer, "state", as_trained)
    monkeypatch.setattr(device_policy, "native_bf16", lambda device: False)
    resume = dict(resume=str(tmp_path / "run"), iters=2, progress=False, device="cpu", data_array=disc_images(8))
    with pytest.warns(UserWarning, match="resuming a cuda run on cpu: precision bf16 -> fp32"):
        moved = Trainer(TrainOptions(**resume))
    assert moved.precision == "fp32" and moved.opts.precision == "fp32"
    assert moved.state()["training"]["device_type"] == "cpu"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Trainer(TrainOptions(**resume, precision="bf16")).precision == "bf16"
        again = Trainer(TrainOptions(**resume | {"resume": None, "outdir": str(tmp_path / "cpu")}, config="tiny-16",
                                     batch=4, precision="bf16"))
        again.step()
        again.save_snapshot()
        assert Trainer(TrainOptions(**resume | {"resume": str(tmp_path / "cpu")})).precision == "bf16"


def test_fp16_refused_on_cpu_in_one_line(tmp_path, capsys):
    with pytest.raises(StylebridgeError, match="fp16 needs a CUDA device"):
        Trainer(_opts(tmp_path, "r", iters=1, precision="fp16"))
    data = write_folder(tmp_path / "d", disc_images(4))
    rc = main(["train", "--config", "tiny-16", "--data", str(data), "--outdir", str(tmp_path / "c"), "--iters", "1",
               "--precision", "fp16", "--device", "cpu", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and "fp16 needs a CUDA device" in err


def test_cli_stores_the_resolved_precision(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(device_policy, "native_bf16", lambda device: False)
    data = write_folder(tmp_path / "d", disc_images(4))
    assert main(["train", "--config", "tiny-16", "--data", str(data), "--outdir", str(tmp_path / "c"),
                 "--iters", "1", "--device", "cpu", "--no-progress"]) == 0
    assert json.loads((tmp_path / "c" / "options.json").read_text())["precision"] == "fp32"
    start = json.loads((tmp_path / "c" / "log.jsonl").read_text().splitlines()[0])
    assert (start["event"], start["precision"], start["device"]) == ("start", "fp32", "cpu")
    capsys.readouterr()
    assert main(["info", str(tmp_path / "c" / "network-snapshot-000001.safetensors")]) == 0
    assert "training: iteration 1, 4 images seen, batch 4, fp32 on cpu" in capsys.readouterr().out


@pytest.mark.parametrize("native, expected", [(True, "bf16"), (False, "fp32")])
def test_default_policy(monkeypatch, native, expected):
    monkeypatch.setattr(device_policy, "native_bf16", lambda device: native)
    assert precision.default_precision("cpu") == expected
    assert precision.resolve_precision(None, "cpu") == expected
    assert precision.resolve_precision("fp32", "cpu") == "fp32"


def test_with_fp16_blocks_keeps_weights_and_sets_nvidia_config():
    torch.manual_seed(0)
    G, D = create_generator("tiny-16"), create_discriminator("tiny-16")
    for net in (G, D):
        out = precision.with_fp16_blocks(net)
        assert (out.config.num_fp16_res, out.config.conv_clamp) == (4, 256)
        sd, sd2 = net.state_dict(), out.state_dict()
        assert set(sd) == set(sd2) and all(torch.equal(sd[k], sd2[k]) for k in sd)
    blocks = [b.use_fp16 for _, b in precision.with_fp16_blocks(G).synthesis.blocks()]
    assert blocks == [False, True, True]  # 16 px: fp16 from 8 px up (NVIDIA's floor)


def test_training_defaults_defined_once():
    """The CLI passes nothing it was not given: parsed without arguments, every option is None
    (or the device/progress switches) and the options equal TrainOptions' defaults."""
    from stylebridge.cli.train import command

    kw = command.make_context("train", []).params
    assert {k for k, v in kw.items() if v is not None} == {"no_progress", "device"}
    assert build_options(kw, config="tiny-16") == TrainOptions(config="tiny-16")

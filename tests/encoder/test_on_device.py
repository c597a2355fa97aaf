"""The encoder on a second device (the fake accelerator of tests/fakedevice.py, CUDA's rules
on the CPU): training with real images, progressive unlocking and a snapshot resume, then
inversion with and without refinement, each giving the CPU's numbers."""

import copy

import torch

from stylebridge.data.images import save_image
from stylebridge.encoder.network import read_encoder
from stylebridge.encoder.options import EncoderTrainOptions
from stylebridge.encoder.train import EncoderTrainer
from stylebridge.formats import load_checkpoint
from stylebridge.invert.api import invert
from tests.encoder.helpers import samples as _samples
from tests.fakedevice import FAKE, fake_accelerator


def _opts(base, tmp_path, name, **kw):
    return EncoderTrainOptions(**{**dict(base=str(base), outdir=str(tmp_path / name), data=str(tmp_path / "real"),
                                         iters=4, batch=4, snap=2, perceptual="pixel", channels=4, hidden=16,
                                         progressive=1, progress=False, device="cpu", seed=5), **kw})


def test_encoder_training_and_inversion_on_device_equal_cpu(base, tmp_path):
    G = load_checkpoint(base).generator
    x, _ = _samples(G, 4, seed=21)
    for i in range(4):
        save_image(x[i], tmp_path / "real" / f"{i}.png")

    cpu = EncoderTrainer(_opts(base, tmp_path, "cpu"))
    for _ in range(3):
        cpu.step()
    with fake_accelerator():
        dev = EncoderTrainer(_opts(base, tmp_path, "dev", device="meta"))
        for _ in range(2):
            dev.step()
        snap = dev.save_snapshot()
        again = EncoderTrainer(_opts(base, tmp_path, "dev", device="meta", resume=str(snap)))
        again.step()
    assert again.iteration == cpu.iteration == 3
    for (name, a), b in zip(cpu.E.state_dict().items(), again.E.state_dict().values()):
        assert torch.allclose(a, b.cpu(), atol=1e-5), name

    E = copy.deepcopy(cpu.E).eval()
    kw = dict(steps=3, perceptual="pixel", precision="fp32", early_stop=False)
    ref_ff, ref = invert(G, x, "encoder", encoder=E), invert(G, x, "encoder", encoder=E, **kw)
    with fake_accelerator():
        Gd, Ed = copy.deepcopy(G).to(FAKE), copy.deepcopy(E).to(FAKE)
        ff, res = invert(Gd, x, "encoder", encoder=Ed), invert(Gd, x, "encoder", encoder=Ed, **kw)
    assert torch.allclose(ff.ws, ref_ff.ws, atol=1e-6) and torch.allclose(res.ws, ref.ws, atol=1e-6)
    assert res.ws.device.type == ff.reconstruction.device.type == "cpu"
    assert read_encoder(again.save_snapshot())[0].config == cpu.E.config


def test_encoder_steps_do_not_wait_for_the_device(base, tmp_path):
    """The losses stay on the device between log lines (one read-back per log line, none per
    step) and the batch goes up without a blocking copy: the GPU keeps its queue full."""
    G = load_checkpoint(base).generator
    x, _ = _samples(G, 4, seed=21)
    for i in range(4):
        save_image(x[i], tmp_path / "real" / f"{i}.png")
    with fake_accelerator() as acc:
        tr = EncoderTrainer(_opts(base, tmp_path, "s", device="meta"))
        tr.step()
        before, uploads = acc.syncs, acc.blocking_uploads
        for _ in range(5):
            tr.step()
        during = acc.syncs - before
        rec = tr.pop_log(0.1)
        at_log = acc.syncs - before - during
    assert during == 0 and at_log == 1, (during, at_log)
    assert acc.blocking_uploads == uploads  # latents and real images go up without a wait
    assert set(rec) >= {"code", "pixel", "perceptual", "delta", "loss"}

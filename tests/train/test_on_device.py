"""Training on a second device (the fake accelerator of tests/fakedevice.py, CUDA's rules on
the CPU): steps with every regulariser and augmentation, a snapshot and an exact resume."""

import pytest
import torch

from stylebridge.train.loop import Trainer
from stylebridge.train.options import TrainOptions
from tests.fakedevice import fake_accelerator
from tests.train.helpers import disc_images, make_base, tensors


def _opts(tmp_path, **kw):
    base = dict(outdir=str(tmp_path / "run"), data_array=disc_images(8), batch=4, seed=3, pl_weight=1.0,
                gamma=0.05, g_reg_interval=2, d_reg_interval=2, mirror=True, grid_seeds=2, device="meta",
                progress=False, ada_interval=1, ada_kimg=0.1,
                precision="fp32")  # the same arithmetic on both (the CPU's default is bf16 where it has it)
    base.update(kw)
    return TrainOptions(**base)


@pytest.mark.parametrize("kw", [dict(config="tiny-16", aug="ada", aug_p=0.3),
                                dict(aug="diffaug", freeze_mapping=True, freeze_d=1, lazy_reg=False)])
def test_training_steps_on_device_equal_cpu(tmp_path, kw):
    if "config" not in kw:
        kw = dict(kw, base=str(make_base(tmp_path / "base.safetensors")))
    cpu = Trainer(_opts(tmp_path / "cpu", device="cpu", **kw))
    for _ in range(3):
        cpu.step()
    with fake_accelerator():
        dev = Trainer(_opts(tmp_path / "dev", **kw))
        for _ in range(3):
            dev.step()
        snap = dev.save_snapshot()
    assert dev.augment.p == cpu.augment.p and dev.pop_log(0)["loss_D"] == pytest.approx(cpu.pop_log(0)["loss_D"])
    for (name, a), b in zip(cpu.G_ema.state_dict().items(), dev.G_ema.state_dict().values()):
        assert torch.allclose(a, b.cpu(), atol=1e-5), name
    assert "G_ema.mapping.w_avg" in tensors(snap) or len(tensors(snap)) > 0


def test_resume_on_device(tmp_path):
    opts = _opts(tmp_path, config="tiny-16", aug="ada", aug_p=0.2)
    with fake_accelerator():
        t = Trainer(opts)
        t.step()
        snap = t.save_snapshot()
        again = Trainer(_opts(tmp_path, resume=str(snap), config=None))
        again.step()
        t.step()
    for (name, a), b in zip(t.G.state_dict().items(), again.G.state_dict().values()):
        assert torch.equal(a.cpu(), b.cpu()), name


def test_training_steps_do_not_wait_for_the_device(tmp_path):
    """Between ADA adjustments and log lines a step makes the host wait for the device neither
    by reading a value back nor by a blocking upload of the reals and latents."""
    with fake_accelerator() as acc:
        t = Trainer(_opts(tmp_path, config="tiny-16", aug="ada", aug_p=0.2, ada_interval=100))
        t.step()
        syncs, uploads = acc.syncs, acc.blocking_uploads
        for _ in range(4):
            t.step()
    assert (acc.syncs - syncs, acc.blocking_uploads - uploads) == (0, 0)


@pytest.mark.parametrize("kw", [dict(aug="ada", aug_p=0.2, pl_weight=1.0, gamma=0.05, lazy_reg=True),
                                dict(aug="none", pl_weight=1.0, gamma=0.05, lazy_reg=False, freeze_mapping=True)])
def test_the_device_step_is_capturable(tmp_path, kw):
    """What train.graphs captures (Trainer.device_step, every kind of iteration) neither
    waits for the device nor copies anything from the host: inside a CUDA graph the first
    would abort the capture and the second would replay from a freed host buffer."""
    from stylebridge.train.graphs import StepKind

    with fake_accelerator() as acc:
        t = Trainer(_opts(tmp_path, config="tiny-16", ada_interval=100, **kw))
        t.step()  # first-use allocations (statistics, optimizer state) happen in eager warm-up runs
        for kind in (StepKind(pl=True, r1=True, ada=True), StepKind(pl=False, r1=False, ada=False)):
            host = t._draw(kind)
            inputs = {k: v.to(t.device) for k, v in host.items()}
            t.step()  # every kind once eagerly, then measured
            before = acc.syncs, acc.uploads
            t.device_step(inputs, kind)
            assert (acc.syncs - before[0], acc.uploads - before[1]) == (0, 0), kind


def test_a_snapshot_from_another_kind_of_device_resumes(tmp_path):
    """A CUDA generator's state (Philox seed and offset, 16 bytes) does not fit a CPU
    generator (Mersenne Twister, 5 kB) and the other way round: a run moved between a GPU
    and a CPU resumes with a deterministic fresh per-process stream instead of failing
    ('RNG state is wrong size', seen resuming a CPU snapshot on an H200)."""
    t = Trainer(_opts(tmp_path, device="cpu", config="tiny-16", aug="ada", aug_p=0.2))
    t.step()
    extra = t.state()
    extra["rng"]["local_gens"] = [torch.zeros(16, dtype=torch.uint8)]  # what a CUDA generator keeps
    again = Trainer(_opts(tmp_path / "again", device="cpu", config="tiny-16", aug="ada", aug_p=0.2))
    again._restore(extra)
    twice = Trainer(_opts(tmp_path / "twice", device="cpu", config="tiny-16", aug="ada", aug_p=0.2))
    twice._restore(extra)
    assert again.iteration == 1 and torch.equal(again.local_gen.get_state(), twice.local_gen.get_state())
    assert not torch.equal(again.local_gen.get_state(), t.local_gen.get_state())
    again.step()

"""Inversion on a second device (the fake accelerator of tests/fakedevice.py, CUDA's rules on
the CPU): every method and perceptual loss runs, and gives the CPU's result."""

import copy

import pytest
import torch

from stylebridge.data.images import save_image, to_uint8
from stylebridge.invert.api import invert, invert_folder
from tests.fakedevice import FAKE, fake_accelerator

CASES = {
    "sefa": dict(topk=4, clamp=1.0, init="search", init_candidates=3),
    "w": dict(optimize_noise=True, latent_noise=0.05),
    "wplus": dict(early_stop=True, min_steps=2, patience=2, tol=0.5),
}


@pytest.mark.parametrize("method", sorted(CASES))
def test_every_method_on_device_equals_cpu(G, D, targets, method):
    kw = {**dict(steps=6, perceptual="discriminator", precision="fp32", early_stop=False), **CASES[method]}
    ref = invert(G, targets[:2], method, D=D, **kw)
    with fake_accelerator():
        Gd, Dd = copy.deepcopy(G).to(FAKE), copy.deepcopy(D).to(FAKE)
        res = invert(Gd, targets[:2], method, D=Dd, **kw)
    assert torch.equal(res.steps, ref.steps) and res.history == ref.history
    assert torch.allclose(res.ws, ref.ws, atol=1e-6) and torch.allclose(res.losses, ref.losses, atol=1e-6)
    assert res.ws.device.type == "cpu" and res.reconstruction.device.type == "cpu"


@pytest.mark.parametrize("perceptual", ["lpips", "pixel"])
def test_folder_job_with_video_and_bf16_on_device(G, targets, tmp_path, perceptual):
    for i, t in enumerate(targets):
        save_image(to_uint8(t), tmp_path / "in" / f"{i}.png")
    with fake_accelerator():
        Gd = copy.deepcopy(G).to(FAKE)
        out = invert_folder(Gd, tmp_path / "in", tmp_path / "out", perceptual=perceptual, steps=4, batch_size=2,
                            save_video=True, early_stop=True, min_steps=1, patience=1, log=lambda s: None)
    assert out["done"] == 3 and not out["failed"]
    assert all((tmp_path / "out" / f"{i}.gif").exists() for i in range(3))


@pytest.mark.parametrize("early_stop", [False, True])
def test_projector_loop_does_not_wait_for_the_device_each_step(G, targets, early_stop):
    """Host syncs (values read back from the device) do not grow with the steps: only the
    results at the end, and with early stopping one check every COMPACT_EVERY steps."""
    from stylebridge.invert.api import stats_for
    from stylebridge.invert.perceptual import pixel_gradient_distance
    from stylebridge.invert.projector import COMPACT_EVERY, ProjectorConfig, project

    syncs = {}
    for steps in (4, 4 + 2 * COMPACT_EVERY):
        cfg = ProjectorConfig(method="wplus", steps=steps, early_stop=early_stop, min_steps=1, patience=1000,
                              precision="fp32")
        with fake_accelerator() as acc:
            Gd = copy.deepcopy(G).to(FAKE)
            stats = stats_for(Gd, "wplus")
            before = acc.syncs
            project(Gd, targets[:2], cfg, pixel_gradient_distance, stats)
            syncs[steps] = acc.syncs - before
    extra = syncs[4 + 2 * COMPACT_EVERY] - syncs[4]
    assert extra <= (2 if early_stop else 0), syncs
    assert syncs[4] > 0  # the counter sees the reads at the end

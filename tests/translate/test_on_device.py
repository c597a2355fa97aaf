"""Translation and the app's job on a second device (the fake accelerator of
tests/fakedevice.py, CUDA's rules on the CPU): modes, a reference, several targets, the
folder job, and the same images as on the CPU."""

import copy

import torch

from stylebridge.app.engine import Studio
from stylebridge.app.jobs import Job
from stylebridge.data.images import save_image, to_uint8
from stylebridge.networks import create_generator
from stylebridge.translate import Translator, Zoo
from stylebridge.translate.folder import translate_folder
from tests.conftest import derived, randomize_
from tests.fakedevice import FAKE, fake_accelerator

FAST = dict(steps=4, perceptual="pixel", precision="fp32")


def _zoo(device=None):
    torch.manual_seed(0)
    base = randomize_(create_generator("tiny-16")).eval()
    models = {"base": base, "anime": derived(base, 1), "sketch": derived(base, 2)}
    if device is not None:
        models = {k: copy.deepcopy(g).to(device) for k, g in models.items()}
    return Zoo.from_models(models, base="base")


def test_translate_on_device_equals_cpu(tmp_path):
    zoo = _zoo()
    with torch.no_grad():
        images = zoo["base"](torch.randn(2, 16), noise_mode="const").clamp(-1, 1)
    kw = dict(to="anime,sketch", modes=2, reference=images[1:], content_layers=3)
    ref = Translator(zoo, **FAST).translate(images, **kw)
    with fake_accelerator():
        dzoo = _zoo(FAKE)
        res = Translator(dzoo, **FAST).translate(images, **kw)
        for i, img in enumerate(images):
            save_image(to_uint8(img), tmp_path / "in" / f"{i}.png")
        out = translate_folder(Translator(dzoo, **FAST), tmp_path / "in", tmp_path / "out", to="all", modes=1,
                               reference=[tmp_path / "in" / "0.png"], log=lambda s: None)
        studio = Studio(dzoo, default_steps=3, default_perceptual="pixel", num_examples=1)
        params = studio.parse_request({"input": {"type": "example", "name": next(iter(studio.examples))},
                                       "modes": 1, "steps": 3})
        job = Job(studio.run, params)
        studio.run(job)
    for t in ("anime", "sketch"):
        assert res.outputs[t].device.type == "cpu" and res.labels[t] == ref.labels[t]
        assert torch.allclose(res.outputs[t], ref.outputs[t], atol=1e-5)
    assert out["done"] == 2 and (tmp_path / "out" / "0" / "grid.png").exists()
    assert {"reconstruction.png", "latent.npz", "anime.png", "anime_seed0.png"} <= set(job.files)

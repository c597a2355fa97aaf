"""The metrics on a second device (the fake accelerator of tests/fakedevice.py, CUDA's rules
on the CPU): model distance, FID of a generator against a folder, and the translation
and inversion tables, with the CPU's values."""

import copy

import pytest
import torch

from stylebridge.data.images import save_image, to_uint8
from stylebridge.evaluate.tables import evaluate_inversion, evaluate_translation
from stylebridge.metrics.distance import model_distance
from stylebridge.metrics.registry import fid
from stylebridge.networks import create_generator
from stylebridge.translate import Zoo
from tests.conftest import derived, randomize_
from tests.fakedevice import FAKE, fake_accelerator


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    base = randomize_(create_generator("tiny-16")).eval()
    return {"base": base, "anime": derived(base, 1)}


@pytest.fixture(scope="module")
def folder(models, tmp_path_factory):
    root = tmp_path_factory.mktemp("imgs")
    with torch.no_grad():
        imgs = models["anime"](torch.randn(3, 16), noise_mode="const")
    for i, im in enumerate(imgs):
        save_image(to_uint8(im), root / f"{i}.png")
    return root


def test_metrics_on_device_equal_cpu(models, folder, tmp_path):
    kw = dict(num_gen=3, batch_size=2, use_cache=False)
    ref = (model_distance(models["base"], models["anime"], samples=3, batch_size=2),
           fid(models["base"], folder, **kw)["fid"])
    with fake_accelerator():
        dev = {k: copy.deepcopy(g).to(FAKE) for k, g in models.items()}
        got = (model_distance(dev["base"], dev["anime"], samples=3, batch_size=2),
               fid(dev["base"], folder, device=FAKE, **kw)["fid"])
        zoo = Zoo.from_models(dev, base="base")
        row = evaluate_translation(zoo, folder, "anime", modes=2, steps=2, perceptual="pixel",
                                   use_cache=False, log=lambda s: None)
        table = evaluate_inversion(dev["base"], folder, methods=["sefa"], steps=2, perceptual="pixel",
                                   log=lambda s: None)
    assert got[0]["distance"] == pytest.approx(ref[0]["distance"], rel=1e-4)
    assert got[1] == pytest.approx(ref[1], rel=1e-3, abs=1e-3)
    assert row["n"] == 3 and row["lpips_d"] is not None
    assert [r["method"] for r in table["rows"]] == ["sefa"] and table["rows"][0]["n"] == 3

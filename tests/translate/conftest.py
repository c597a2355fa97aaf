"""Fixtures of the translation tests: a zoo of tiny models (a base, two models derived from it,
one unrelated), two images drawn by the base, and the zoo written to a folder with zoo.json."""

import json

import pytest
import torch

from stylebridge.formats import save_checkpoint
from stylebridge.networks import create_generator
from stylebridge.translate import Zoo
from tests.conftest import derived, randomize_


@pytest.fixture
def zoo():
    torch.manual_seed(0)
    base = randomize_(create_generator("tiny-16")).eval()
    other = randomize_(create_generator("tiny-16"), seed=5).eval()  # a different base
    return Zoo.from_models({"base": base, "anime": derived(base, 1), "sketch": derived(base, 2),
                            "unrelated": other}, base="base")


@pytest.fixture
def images(zoo):
    with torch.no_grad():
        return zoo["base"](torch.randn(2, 16), noise_mode="const").clamp(-1, 1)


@pytest.fixture
def zoo_dir(zoo, tmp_path):
    d = tmp_path / "zoo"
    for n in ("base", "anime", "sketch", "unrelated"):
        save_checkpoint(d / f"{n}.safetensors", G_ema=zoo[n])
    (d / "zoo.json").write_text(json.dumps({"name": "t", "base": "base", "models": {
        n: {"file": f"{n}.safetensors"} for n in ("base", "anime", "sketch", "unrelated")}}))
    return d

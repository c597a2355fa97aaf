"""A tiny zoo folder of random models (no shipped zoo needed) and the app served from a thread."""

import json
import os

import pytest
import torch

from stylebridge.formats import save_checkpoint
from stylebridge.networks import create_generator
from tests.conftest import derived, randomize_

for _mod in ("starlette", "uvicorn"):
    try:
        __import__(_mod)
    except ImportError:
        if os.environ.get("CI"):  # in CI a missing dependency is a set-up bug, not a reason to skip
            raise
        pytest.skip(f"the web app needs {_mod}: pip install -e '.[app]'", allow_module_level=True)

FAST = {"steps": 6, "perceptual": "pixel"}


def make_zoo_dir(root, kind="glyphs", channels=1, preset="tiny-16", unrelated=False, name="testzoo"):
    torch.manual_seed(0)
    base = randomize_(create_generator(preset, img_channels=channels)).eval()
    models = {"base": base, "bold": derived(base, 1), "script": derived(base, 2)}
    if unrelated:
        models["stranger"] = randomize_(create_generator(preset, img_channels=channels), seed=7).eval()
    root.mkdir(parents=True, exist_ok=True)
    for n, G in models.items():
        save_checkpoint(root / f"{n}.safetensors", G_ema=G)
    manifest = {"name": name, "base": "base", "models": {
        n: {"file": f"{n}.safetensors", "description": f"test model {n}"} for n in models}}
    if kind:
        manifest["kind"] = kind
    (root / "zoo.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture(scope="session")
def zoo_dir(tmp_path_factory):
    return make_zoo_dir(tmp_path_factory.mktemp("app") / "zoo", unrelated=True)


@pytest.fixture(scope="session")
def rgb_zoo_dir(tmp_path_factory):
    return make_zoo_dir(tmp_path_factory.mktemp("app") / "rgbzoo", kind=None, channels=3)

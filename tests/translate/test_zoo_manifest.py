"""zoo.json: the one writer (translate.zoo.write_manifest) and the reader (Zoo.from_dir) agree."""

import json

import pytest
import torch

from stylebridge.errors import StylebridgeError
from stylebridge.formats import save_checkpoint
from stylebridge.networks import create_generator
from stylebridge.translate.zoo import MANIFEST, Zoo, write_manifest
from tests.conftest import derived, randomize_


def test_written_manifest_reads_back(tmp_path):
    base = randomize_(create_generator("tiny-16"), seed=1)
    save_checkpoint(tmp_path / "b.safetensors", G_ema=base)
    save_checkpoint(tmp_path / "s.safetensors", G_ema=derived(base, seed=2))
    path = write_manifest(tmp_path, {"name": "fonts", "base": "plain", "kind": "glyphs",
                                     "models": {"plain": {"file": "b.safetensors"},
                                                "serif": {"file": "s.safetensors", "recipe": "FC-FT"}}})
    assert path == tmp_path / MANIFEST and json.loads(path.read_text())["base"] == "plain"
    zoo = Zoo.from_dir(tmp_path)
    assert (zoo.name, zoo.base, zoo.names, zoo.meta["kind"]) == ("fonts", "plain", ["plain", "serif"], "glyphs")
    assert zoo.entries["serif"].info["recipe"] == "FC-FT"
    assert torch.equal(zoo["plain"].mapping.fc0.weight, base.mapping.fc0.weight)
    with pytest.raises(StylebridgeError, match="base among its models"):
        write_manifest(tmp_path, {"base": "gone", "models": {"plain": {"file": "b.safetensors"}}})
    with pytest.raises(StylebridgeError, match="serif name no file"):
        write_manifest(tmp_path, {"base": "plain", "models": {"plain": {"file": "b.safetensors"}, "serif": {}}})


def test_a_models_recorded_strength_is_its_default(tmp_path):
    base = randomize_(create_generator("tiny-16"), seed=1)
    save_checkpoint(tmp_path / "b.safetensors", G_ema=base)
    save_checkpoint(tmp_path / "s.safetensors", G_ema=derived(base, seed=2))
    models = {"plain": {"file": "b.safetensors"}, "serif": {"file": "s.safetensors", "strength": 1.75}}
    write_manifest(tmp_path, {"base": "plain", "models": models})
    zoo = Zoo.from_dir(tmp_path)
    assert zoo.default_strength("serif") == 1.75 and zoo.default_strength("plain") == 1.0
    assert zoo.model("serif") is zoo.model("serif", 1.75) and zoo.model("serif") is not zoo["serif"]
    assert zoo.model("serif", 1.0) is zoo["serif"]
    for bad, msg in ((-1, "must be between 0 and 4"), ("lots", "must be a number"), (None, "must be a number")):
        models["serif"]["strength"] = bad
        write_manifest(tmp_path, {"base": "plain", "models": models})
        with pytest.raises(StylebridgeError, match=f"zoo.json: model 'serif': style strength {msg}"):
            Zoo.from_dir(tmp_path)

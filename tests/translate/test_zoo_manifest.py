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


def test_an_encoders_recorded_refinement_steps_are_the_translations_default(tmp_path):
    """zoo.json "encoder": {"steps": N} is how many W+ steps refine the encoder's codes when no
    steps are given (translate, the demo and the app through the Translator); steps given win,
    0 included; other models' images keep the default inversion's own steps."""
    from stylebridge.encoder.network import Encoder, save_encoder
    from stylebridge.invert.options import ENCODER_DEFAULT_STEPS
    from stylebridge.translate.translator import Translator

    base = randomize_(create_generator("tiny-16"), seed=1)
    save_checkpoint(tmp_path / "b.safetensors", G_ema=base)
    save_checkpoint(tmp_path / "s.safetensors", G_ema=derived(base, seed=2))
    save_encoder(tmp_path / "e.safetensors", Encoder.for_generator(base, channels=8, hidden=32))
    models = {"plain": {"file": "b.safetensors"}, "serif": {"file": "s.safetensors"}}
    write_manifest(tmp_path, {"base": "plain", "models": models, "encoder": {"file": "e.safetensors"}})
    assert Zoo.from_dir(tmp_path).default_encoder_steps() == ENCODER_DEFAULT_STEPS
    write_manifest(tmp_path, {"base": "plain", "models": models, "encoder": {"file": "e.safetensors", "steps": 7}})
    zoo = Zoo.from_dir(tmp_path)
    assert zoo.default_encoder_steps() == 7
    assert Translator(zoo, method="encoder").inversion_for("plain")[1]["steps"] == 7
    assert Translator(zoo, method="encoder", steps=0).inversion_for("plain")[1]["steps"] == 0
    assert Translator(zoo, method="encoder", steps=3).inversion_for("plain")[1]["steps"] == 3
    method, opts = Translator(zoo, method="encoder").inversion_for("serif")
    assert method == "wplus" and "steps" not in opts
    assert "steps" not in Translator(zoo, method="wplus").inversion_for("plain")[1]
    for bad in (-1, 1.5, True, "50", 10_001):
        write_manifest(tmp_path, {"base": "plain", "models": models, "encoder": {"file": "e.safetensors",
                                                                                 "steps": bad}})
        with pytest.raises(StylebridgeError, match="encoder's 'steps' .* whole number from 0 to 10000"):
            Zoo.from_dir(tmp_path)

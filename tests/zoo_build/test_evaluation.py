"""scripts/eval_zoo.py's measurement (zoo_build/evaluation.py) on the shipped models and tiny
stand-in datasets: it inverts with the shipped default inversion (the base's encoder) and
draws each target with the chosen appearance, as translate, the demo and the app do."""

import shutil

import numpy as np
import pytest
import torch

from stylebridge.data.glyphs import CHAR_TO_LABEL, render_text_glyphs
from stylebridge.errors import StylebridgeError
from stylebridge.translate.zoo import Zoo
from stylebridge.zoo import shipped_zoo_dir
from stylebridge.zoo_build.evaluation import evaluate_zoo
from stylebridge.zoo_build.variants import STYLES

TEXT = "HelloWorld0123"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("evalzoo")
    shipped = shipped_zoo_dir()
    models, data = root / "models", root / "data"
    models.mkdir()
    data.mkdir()
    shutil.copy(shipped / "base.safetensors", models / "base.safetensors")
    shutil.copy(shipped / "script.safetensors", models / "script-fcft.safetensors")
    shutil.copy(shipped / "script.safetensors", models / "script-shipped.safetensors")
    imgs, chars = render_text_glyphs(TEXT)
    labels = np.array([CHAR_TO_LABEL[c] for c in chars])
    for style in STYLES:  # every domain the style classifier learns: the same glyphs, a few shifted
        shifted = np.roll(imgs, STYLES.index(style), axis=-1)
        for split in ("train", "heldout"):
            np.savez_compressed(data / f"{style}_{split}.npz", images=shifted, labels=labels)
    return models, data, Zoo.from_dir(shipped).encoder_path


def _run(setup, **kw):
    models, data, enc = setup
    torch.manual_seed(0)
    return evaluate_zoo(models, data, inputs=8, distance_samples=0, samples=250, **{"encoder": enc, **kw})


def test_encoder_inversion_and_the_appearance_are_what_the_rows_measure(setup):
    mean = _run(setup, method="encoder", appearance="mean")
    plain = _run(setup, method="encoder", appearance="input")
    meta = mean["_meta"]
    assert meta["method"] == "encoder" and meta["appearance"] == "mean" and meta["encoder"] == "encoder.safetensors"
    assert meta["content_layers"] == 5  # 32 px: all but the last block's three style inputs
    # the same codes (the encoder is deterministic): the base's reconstruction is the same row
    assert mean["base"]["content"] == plain["base"]["content"]
    assert mean["_meta"]["reconstruction"] == plain["_meta"]["reconstruction"]
    # the appearance changes what the style models draw (the swap at 16 px keeps the base's
    # layers up to 16 px, so only the last block can differ: it does here)
    assert any(mean[k]["style"] != plain[k]["style"] or mean[k]["content"] != plain[k]["content"]
               or mean[k]["realism_fid"] != plain[k]["realism_fid"] for k in mean if k.startswith("script-fcft"))
    assert set(mean) == set(plain) >= {"script-fcft", "script-fcft-ls4", "script-fcft-ls8", "script-fcft-ls16"}


def test_bad_evaluation_options_are_one_line(setup):
    models, data, _ = setup
    with pytest.raises(StylebridgeError, match="needs the base's encoder"):
        evaluate_zoo(models, data, method="encoder", encoder=None)
    with pytest.raises(StylebridgeError, match="appearance must be one of input, mean"):
        evaluate_zoo(models, data, method="encoder", encoder=setup[2], appearance="auto")


def test_the_shipped_rows_are_drawn_at_the_recorded_strength(setup):
    """`strengths` (eval_zoo.py: the shipped zoo's zoo.json) moves the STYLE-shipped row only: the
    same file measured as a fine-tuned variant stays as trained."""
    plain = _run(setup, method="encoder", appearance="mean", only="script-shipped,script-fcft")
    strong = _run(setup, method="encoder", appearance="mean", only="script-shipped,script-fcft",
                  strengths={"script": 2.0})
    assert "strength" not in plain["script-shipped"] and strong["script-shipped"]["strength"] == 2.0
    assert plain["script-shipped"]["content"] == plain["script-fcft"]["content"]  # one file, as trained
    assert strong["script-fcft"] == plain["script-fcft"]
    assert strong["script-shipped"]["realism_fid"] != plain["script-shipped"]["realism_fid"]


def test_the_optimisations_run_at_the_precision_given(setup, monkeypatch):
    """eval_zoo --precision bf16 reaches the W+ projector (TRAINING.md session 13: bf16 at 350
    steps reads back the v2 base's glyphs far better than fp32 at 200) and is recorded."""
    import stylebridge.zoo_build.evaluation as ev

    seen = []

    class Spy(ev.Translator):
        def __init__(self, *a, **kw):
            seen.append(kw.get("precision"))
            super().__init__(*a, **kw)

    monkeypatch.setattr(ev, "Translator", Spy)
    rows = _run(setup, method="wplus", steps=2, only="script-fcft", precision="bf16")
    assert seen == ["bf16"] and rows["_meta"]["precision"] == "bf16" and rows["_meta"]["steps"] == 2
    assert _run(setup, method="encoder", only="script-fcft")["_meta"]["precision"] is None  # no optimisation


def test_encoder_codes_are_refined_by_the_steps_given(setup, monkeypatch):
    """eval_zoo --refine N: the encoder's codes, then N W+ steps (TRAINING.md, session 15), recorded;
    without it one encoder pass; refused for another method (it would do nothing there)."""
    import stylebridge.zoo_build.evaluation as ev

    seen = []
    real = ev.invert

    def spy(G, x, method, **kw):
        seen.append((method, kw.get("steps"), kw.get("precision")))
        return real(G, x, method, **kw)

    monkeypatch.setattr(ev, "invert", spy)
    rows = _run(setup, method="encoder", only="script-fcft", refine=3)
    plain = _run(setup, method="encoder", only="script-fcft")
    assert seen == [("encoder", 3, "fp32"), ("encoder", 0, "fp32")]
    assert rows["_meta"]["refine"] == 3 and rows["_meta"]["precision"] == "fp32"
    assert plain["_meta"]["refine"] == 0 and plain["_meta"]["precision"] is None
    with pytest.raises(StylebridgeError, match="for method encoder, not wplus"):
        _run(setup, method="wplus", only="script-fcft", refine=3)


def test_eval_zoo_script_takes_the_zoos_refinement_for_its_encoder_only(monkeypatch, tmp_path):
    """scripts/eval_zoo.py: with the encoder and no --refine, the shipped zoo's recorded
    refinement steps; with another method, none (the zoo's steps belong to its encoder), and
    --refine N given with it reaches evaluate_zoo, which refuses it."""
    import importlib.util
    import sys
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("eval_zoo_script",
                                                  Path(__file__).parents[2] / "scripts" / "eval_zoo.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    seen = []
    monkeypatch.setattr(script, "evaluate_zoo", lambda *a, **kw: seen.append((kw["method"], kw["refine"])) or {})
    out = tmp_path / "e.json"
    for argv in (["--method", "encoder"], ["--method", "encoder", "--refine", "0"], ["--method", "wplus"],
                 ["--method", "wplus", "--refine", "3"]):
        monkeypatch.setattr(sys, "argv", ["eval_zoo.py", *argv, "--out", str(out)])
        script.main()
    assert seen == [("encoder", Zoo.from_dir(shipped_zoo_dir()).default_encoder_steps()), ("encoder", 0),
                    ("wplus", 0), ("wplus", 3)]

"""The glyph classifier: shapes, save/load, metrics, training, and the shipped weights."""

import json

import numpy as np
import pytest
import torch

from stylebridge.data import glyphs as G
from stylebridge.errors import CheckpointError, StylebridgeError
from stylebridge.metrics import glyph_classifier as C

TINY = C.GlyphClassifierConfig(channels=(4, 8, 8), feature_dim=16)


def test_forward_features_and_input_forms():
    m = C.GlyphClassifier(TINY).eval()
    x8 = np.random.default_rng(0).integers(0, 256, (5, 1, 32, 32), dtype=np.uint8)
    logits = m(x8)
    assert logits.shape == (5, 62)
    assert m.features(x8).shape == (5, 16)
    unit = torch.as_tensor(x8).float() / 127.5 - 1
    torch.testing.assert_close(m(unit), logits)
    torch.testing.assert_close(m(unit.repeat(1, 3, 1, 1)), logits)         # RGB -> grey
    big = torch.nn.functional.interpolate(unit, scale_factor=2, mode="nearest")
    torch.testing.assert_close(m(big), logits, atol=1e-4, rtol=1e-4)       # 64 px -> area-resampled to 32
    assert m.predict(x8).shape == (5,)
    with pytest.raises(StylebridgeError):
        m(torch.zeros(2, 2, 32, 32))


def test_save_load_round_trip(tmp_path):
    m = C.GlyphClassifier(TINY).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.2)
    path = tmp_path / "clf.safetensors"
    C.save_glyph_classifier(m, path, {"note": "test"})
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["config"]["channels"] == [4, 8, 8] and meta["note"] == "test"
    m2 = C.load_glyph_classifier(path)
    assert not m2.training
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    torch.testing.assert_close(m2(x), m(x), atol=2e-2, rtol=2e-2)          # weights stored in fp16
    assert (m2.predict(x) == m.predict(x)).mean() >= 0.75


def test_load_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        C.load_glyph_classifier(tmp_path / "none.safetensors")
    m = C.GlyphClassifier(TINY)
    path = tmp_path / "c.safetensors"
    C.save_glyph_classifier(m, path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="cannot be read"):
        C.load_glyph_classifier(path)


def test_accuracies_and_merge_table():
    lab = np.array([C.CHARS.index(c) for c in "oclaZ"])
    pred = np.array([C.CHARS.index(c) for c in "0C1Az"])
    acc = C.accuracies(pred, lab)
    assert acc["exact"] == 0.0
    assert acc["merged"] == pytest.approx(0.8)          # o/0, c/C, l/1, Z/z merge; a/A does not
    assert acc["case_insensitive"] == 1.0
    mm = C.merge_map()
    assert mm[C.CHARS.index("O")] == mm[C.CHARS.index("0")] and mm[C.CHARS.index("a")] != mm[C.CHARS.index("A")]


def test_training_learns_builtin_glyphs():
    torch.manual_seed(0)
    imgs = G.render_font(G.builtin_font())[:, None]
    x = np.concatenate([imgs] * 4)
    y = np.tile(np.arange(62), 4)
    m, rec = C.train_glyph_classifier(x, y, imgs, np.arange(62), config=TINY, epochs=40, batch=62, lr=1e-2, log=None)
    assert rec["history"][-1]["loss"] < rec["history"][0]["loss"]
    assert rec["history"][-1]["val"]["exact"] > 0.3     # chance is 1/62
    with pytest.raises(StylebridgeError):
        C.train_glyph_classifier(x, y[:3], log=None)


@pytest.fixture(scope="module")
def shipped():
    if not C.SHIPPED.is_file():
        pytest.skip("shipped glyph classifier not built")
    return C.load_glyph_classifier()


def test_shipped_classifier_is_small_and_reads_the_builtin_font(shipped):
    assert C.SHIPPED.stat().st_size < 1_000_000
    imgs = G.render_font(G.builtin_font())[:, None]       # Aileron: a font it never saw
    assert C.content_accuracy(shipped, imgs, np.arange(62)) >= 0.95   # measured: 1.0 (exact 0.984)
    f = C.features(imgs, shipped)
    assert f.shape == (62, shipped.config.feature_dim) and np.isfinite(f).all()


@pytest.mark.skipif(not G.domain_fonts("base", "heldout"), reason="glyph fonts not installed")
def test_shipped_classifier_on_heldout_base_fonts(shipped):
    gs = G.render_domain("base", "heldout")
    acc = C.accuracies(shipped.predict(gs.images), gs.labels)
    # measured when shipped: exact 0.987, merged 0.998 on 100 held-out fonts
    assert acc["merged"] >= 0.98 and acc["exact"] >= 0.96


def test_training_leaves_the_global_random_state_alone():
    x = np.random.RandomState(0).randint(0, 255, size=(8, 1, 16, 16), dtype=np.uint8)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    C.train_glyph_classifier(x, np.arange(8) % 4, config=TINY, epochs=1, batch=8, log=None)
    assert torch.equal(torch.get_rng_state(), before)

"""Glyph rendering and the font domains. Most tests use Pillow's built-in font (no fonts
installed); the ones marked `needs_fonts` run after scripts/install-fonts.sh."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFont

from stylebridge.data import glyphs as G
from stylebridge.data.glyph_fonts import DomainSpec
from stylebridge.errors import DataError, StylebridgeError

needs_fonts = pytest.mark.skipif(
    not G.domain_fonts("base", "heldout"), reason="glyph fonts not installed (sh scripts/install-fonts.sh)"
)


def ink_rows(img: np.ndarray) -> np.ndarray:
    return np.nonzero(img.max(axis=1) > 64)[0]


def test_builtin_text_shapes_range_and_determinism():
    imgs, chars = G.render_text_glyphs("Hello 42", size=32)
    assert chars == list("Hello42")
    assert imgs.shape == (7, 1, 32, 32) and imgs.dtype == np.uint8
    assert imgs.max() >= 250 and imgs.min() == 0
    assert (imgs[:, :, 0, :] < 32).all() and (imgs[:, :, :, 0] < 32).all()  # background stays black at the edges
    again, _ = G.render_text_glyphs("Hello 42", size=32)
    np.testing.assert_array_equal(imgs, again)
    u = G.to_unit_range(imgs)
    assert u.dtype == np.float32 and u.min() == -1.0 and u.max() <= 1.0


def test_framing_baseline_fixed_and_centred():
    imgs, _ = G.render_text_glyphs("Hxop", size=32)
    base = round(G.BASELINE * 32)
    h, x, o, p = (im[0] for im in imgs)
    assert abs(ink_rows(h)[-1] + 1 - base) <= 1          # capital sits on the baseline
    assert abs(ink_rows(x)[-1] + 1 - base) <= 1          # so does the x-height letter
    assert ink_rows(p)[-1] + 1 > base + 2                 # descender goes below
    cap = ink_rows(h)[-1] - ink_rows(h)[0] + 1
    assert abs(cap - G.CAP_HEIGHT * 32) <= 1.5            # cap height as designed
    assert ink_rows(o)[0] >= ink_rows(h)[0] + 3           # lower case is smaller: case is visible
    for im in (h, x, o):
        cols = im.astype(float).sum(0)
        centre = (cols * np.arange(32)).sum() / cols.sum()
        assert abs(centre - 15.5) < 1.0


def test_builtin_font_has_all_62_glyphs_and_other_sizes():
    imgs = G.render_font(G.builtin_font(), size=32)
    assert imgs.shape == (62, 32, 32)
    assert (imgs.reshape(62, -1).max(1) > 200).all()
    assert len({im.tobytes() for im in imgs}) == 62
    small = G.render_font(G.builtin_font(), "Ag", size=16)
    assert small.shape == (2, 16, 16)
    with pytest.raises(StylebridgeError):
        G.render_font(G.builtin_font(), "A", size=4)


def test_missing_glyph_is_detected():
    f = ImageFont.load_default(size=64)
    with pytest.raises(G.FontUnusable, match="lacks"):
        G._check_coverage(f, "A\u4e2d", "Aileron")      # no CJK in Aileron
    G._check_coverage(f, G.CHARS, "Aileron")


def test_unknown_style_and_split():
    with pytest.raises(StylebridgeError, match="unknown glyph style"):
        G.domain_fonts("comic")
    with pytest.raises(StylebridgeError, match="unknown split"):
        G.domain_fonts("base", "test")


def _example_name(pattern: str) -> str:
    return re.sub(r"\[(.)[^\]]*\]", r"\1", pattern).replace("*", "X").replace("?", "Y")


@pytest.mark.parametrize("style", list(G.DOMAINS))
def test_pinned_splits_are_disjoint_and_nonempty(style, monkeypatch):
    spec = G.DOMAINS[style]
    names = {_example_name(p): None for p in spec.fonts}
    for pat in spec.heldout:  # make sure each held-out pattern has a matching file name
        stem = _example_name(pat)
        names.update({stem + ext: None for ext in (".ttf", ".otf")})
    monkeypatch.setattr(G, "_font_index", lambda dirs: {n: G.Path("/f") / n for n in names})
    train = {p.stem for p in G.domain_fonts(style, "train")}
    held = {p.stem for p in G.domain_fonts(style, "heldout")}
    every = {p.stem for p in G.domain_fonts(style, "all")}
    assert not train & held and train | held == every
    assert train, "a domain needs training fonts"
    assert len(spec.packages) == len(set(spec.packages))


@pytest.fixture
def fake_domain(tmp_path, monkeypatch):
    """A domain of two copies of Pillow's built-in font file, one held out."""
    data = ImageFont.load_default(size=20).path.getvalue()
    (tmp_path / "fonts").mkdir()
    for stem in ("AileronA", "AileronB"):
        (tmp_path / "fonts" / f"{stem}.ttf").write_bytes(data)
    (tmp_path / "fonts" / "Broken.ttf").write_bytes(b"not a font")
    monkeypatch.setenv(G.FONT_DIRS_ENV, str(tmp_path / "fonts"))
    spec = DomainSpec("test", ("fonts-none",), ("Aileron*.ttf", "Broken.ttf"), frozenset({"AileronB"}))
    monkeypatch.setitem(G.DOMAINS, "fake", spec)
    return tmp_path


def test_render_domain_arrays(fake_domain):
    gs = G.render_domain("fake", "all")
    assert gs.fonts == ["AileronA", "AileronB"] and "Broken" in gs.skipped
    assert gs.images.shape == (124, 1, 32, 32) and gs.images.dtype == np.uint8
    np.testing.assert_array_equal(gs.labels[:62], np.arange(62))
    np.testing.assert_array_equal(gs.font_ids, np.repeat([0, 1], 62))
    np.testing.assert_array_equal(gs.images[:62, 0], G.render_font(G.builtin_font()))
    assert G.render_domain("fake", "heldout").fonts == ["AileronB"]
    assert G.render_domain("fake", "train").fonts == ["AileronA"]
    with pytest.raises(G.FontUnusable):
        G.render_domain("fake", "train", strict=True)


def test_cli_writes_pngs_and_dataset_json(fake_domain):
    from stylebridge.cli.main import main

    out = fake_domain / "out"
    rc = main(["data", "glyphs", "--style", "fake", "--out", str(out), "--split", "all"])
    assert rc == 0
    rec = json.loads((out / "dataset.json").read_text())
    assert rec["chars"] == G.CHARS and len(rec["labels"]) == 124
    assert [f["split"] for f in rec["fonts"]] == ["train", "heldout"]
    path, label = rec["labels"][26]
    assert path == "AileronA/097.png" and label == 26   # 'a'
    img = np.asarray(Image.open(out / path))
    assert img.shape == (32, 32) and img.dtype == np.uint8
    np.testing.assert_array_equal(img, G.render_font(G.builtin_font(), "a")[0])


def test_cli_unknown_style_one_line(fake_domain, capsys):
    from stylebridge.cli.main import main

    assert main(["data", "glyphs", "--style", "nope", "--out", str(fake_domain / "o")]) == 2
    assert "unknown glyph style" in capsys.readouterr().err


def test_no_fonts_installed_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(G, "DEFAULT_FONT_DIRS", ())
    monkeypatch.setenv(G.FONT_DIRS_ENV, str(tmp_path))
    with pytest.raises(DataError, match="install-fonts.sh"):
        G.render_domain("pixel", "train")


@needs_fonts
@pytest.mark.parametrize("style", list(G.DOMAINS))
def test_installed_domains_render_with_a_heldout_split(style):
    held = G.render_domain(style, "heldout")
    train_fonts = [p.stem for p in G.domain_fonts(style, "train")]
    assert held.fonts and train_fonts and not set(held.fonts) & set(train_fonts)
    assert held.images.shape[1:] == (1, 32, 32)
    assert len(held.fonts) <= len(train_fonts)


def test_npm_font_list_matches_the_install_script():
    """scripts/install-npm-fonts.sh installs exactly the npm packages the domains pin."""
    script = (Path(__file__).parents[2] / "scripts" / "install-npm-fonts.sh").read_text()
    listed = set(re.findall(r"^\s+(@fontsource/\S+@\S+)$", script, flags=re.M))
    pinned = {p for spec in G.DOMAINS.values() for p in spec.npm}
    assert pinned and listed == pinned
    for spec in G.DOMAINS.values():  # each npm package contributes a font pattern of the domain
        for p in spec.npm:
            name = p.removeprefix("@fontsource/").rsplit("@", 1)[0]
            assert any(pat.startswith(name + "-latin-") for pat in spec.fonts), name

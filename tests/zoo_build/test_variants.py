"""The rule that picks each shipped style's variant (scripts/eval_zoo.py --table prints it), and its table."""

import pytest

from stylebridge.errors import StylebridgeError
from stylebridge.zoo_build import variants


@pytest.fixture(scope="module")
def eval_zoo():
    return variants


def _row(content, style, dist):
    return {"content": {"merged": content}, "style": style, "realism_fid": 30.0, "source_fid": 40.0,
            "real_floor_fid": 10.0, "source_style": 0.01, "style_ceiling": 0.9,
            "classifier_ceiling": {"merged": 0.95}, "samples": {"chars": 60, "fid": 40.0},
            "distance": {"distance": dist, "sem": 0.001}}


def test_choose_most_style_among_variants_that_keep_content(eval_zoo):
    rows = {"base": {"content": {"merged": 0.95}, "samples": {"chars": 60, "fid": 40.0}},
            "script-ft": _row(0.99, 0.99, 0.2),                 # FT never ships
            "script-fcft": _row(0.85, 0.80, 0.10),              # most style, but loses characters
            "script-fcft-ls4": _row(0.91, 0.50, 0.05),
            "script-fcft-ls8": _row(0.93, 0.20, 0.02),
            "pixel-fcft": _row(0.70, 0.9, 0.1), "pixel-fcft-ls8": _row(0.85, 0.5, 0.02)}
    # content must reach 0.95 of the classifier's accuracy on real glyphs of the style (0.95
    # here: 0.9025); pixel: none does -> the variant that keeps the most
    assert eval_zoo.choose(rows) == {"script": "ls4", "pixel": "ls8"}
    rows["script-fcft"]["content"]["merged"] = 0.90
    assert eval_zoo.choose(rows)["script"] == "ls4"
    rows["script-fcft"]["content"]["merged"] = 0.91
    assert eval_zoo.choose(rows)["script"] == "ls0"
    # a style the classifier reads worse lowers the floor with it (0.95 x 0.80 = 0.76)
    for k in ("script-fcft", "script-fcft-ls4", "script-fcft-ls8"):
        rows[k]["classifier_ceiling"] = {"merged": 0.80}
    rows["script-fcft"]["content"]["merged"] = 0.77
    assert eval_zoo.choose(rows)["script"] == "ls0"
    rows["script-fcft"]["content"]["merged"] = 0.75
    assert eval_zoo.choose(rows)["script"] == "ls4"
    assert eval_zoo.bar_report(rows, {"script": "ls4", "pixel": "off"}) == [
        "script (ls4): content 1.14 of the ceiling, style 0.56 of the ceiling: misses the bar (0.95 / 0.75)",
        "pixel: not shipped"]
    rows["script-fcft-ls4"]["style"] = 0.70
    assert "style 0.78 of the ceiling: meets the bar" in eval_zoo.bar_report(rows, {"script": "ls4"})[0]
    rows["script-fcft"]["content"]["merged"] = 0.91
    rows["script-fcft-ls4"]["style"] = 0.50
    # a domain whose best variant hardly adds its style (style accuracy less than 0.10 above
    # the untranslated inputs', 0.01 here) does not ship
    for k in ("script-fcft", "script-fcft-ls4", "script-fcft-ls8"):
        rows[k]["style"] = 0.10
    assert eval_zoo.choose(rows)["script"] == "off"
    rows["script-fcft"]["style"] = 0.12
    assert eval_zoo.choose(rows)["script"] == "ls0"
    rows["script-fcft-ls4"]["style"] = 0.44
    table = eval_zoo.markdown_table(rows)
    assert "| script | FC-FT + LS 4 px | 0.910 | 0.440 |" in table
    assert "| script | FT (mapping trained) |" in table and "| base | *base model* |" in table


def test_earlier_snapshots_compete_and_are_named(eval_zoo):
    """STYLE-fcftN rows (the N-iteration snapshot) compete with the final fine-tune; the
    choice names the snapshot (lsR@N) and the table labels it."""
    rows = {"base": {"content": {"merged": 0.95}, "samples": {"chars": 60, "fid": 40.0}},
            "script-fcft": _row(0.75, 0.60, 0.13), "script-fcft-ls8": _row(0.92, 0.30, 0.03),
            "script-fcft750": _row(0.91, 0.50, 0.07), "script-fcft750-ls8": _row(0.95, 0.20, 0.02)}
    assert eval_zoo.choose(rows) == {"script": "ls0@750"}
    rows["script-fcft750-ls8"]["style"] = 0.55
    assert eval_zoo.choose(rows) == {"script": "ls8@750"}
    table = eval_zoo.markdown_table(rows)
    assert "| script | FC-FT (750 it.) + LS 8 px | 0.950 | 0.550 |" in table
    assert "| script | FC-FT (750 it.) | 0.910 |" in table and "| script | FC-FT + LS 8 px | 0.920 |" in table


def test_names_choices_and_snapshots_read_back():
    assert variants.variant_name("outline", "fcft", 750, 16) == "outline-fcft750-ls16"
    assert variants.parse_variant(variants.variant_name("script", "ft")) == ("script", "ft", 0, 0)
    assert variants.parse_choice("script=ls4@750,pixel=off,outline=ls16") == \
        {"script": (4, 750), "pixel": None, "outline": (16, 0)}
    assert variants.format_choice({"script": "ls4@750", "pixel": "off"}) == "script=ls4@750,pixel=off"
    with pytest.raises(StylebridgeError, match="STYLE=lsR"):
        variants.parse_choice("comic=ls4")
    assert variants.snapshot_iters("runs/x/network-snapshot-000750.safetensors") == 750
    with pytest.raises(StylebridgeError, match="network-snapshot"):
        variants.snapshot_iters("runs/x/G.safetensors")
    assert variants.STYLES[0] == "base" and "base" not in variants.DOMAINS


def test_swap_rows_that_measured_as_their_unswapped_model_are_left_out_of_the_table(eval_zoo):
    """Under FreezeG a swap at or below the frozen resolution is the fine-tune itself: the
    table leaves out such rows (and says so) and keeps swaps that differ."""
    import copy

    rows = {"base": {"content": {"merged": 0.95}, "samples": {"chars": 60, "fid": 40.0}},
            "script-fcft": _row(0.75, 0.60, 0.13), "script-fcft-ls16": _row(0.92, 0.30, 0.03)}
    rows["script-fcft-ls4"] = copy.deepcopy(rows["script-fcft"])
    rows["script-fcft-ls8"] = copy.deepcopy(rows["script-fcft"])
    table = eval_zoo.markdown_table(rows)
    assert "LS 4 px" not in table and "LS 8 px |" not in table and "| script | FC-FT + LS 16 px | 0.920 |" in table
    assert "Left out: the LS 4 and 8 px rows measured exactly as the same model without a swap" in table
    rows["script-fcft-ls8"]["style"] = 0.61  # one number differs: it stays
    table = eval_zoo.markdown_table(rows)
    assert "| script | FC-FT + LS 8 px | 0.750 | 0.610 |" in table and "Left out: the LS 4 px rows" in table

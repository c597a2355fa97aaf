"""The rule scripts/eval_zoo.py uses to pick each shipped style's variant, and its table."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "eval_zoo.py"


@pytest.fixture(scope="module")
def eval_zoo():
    spec = importlib.util.spec_from_file_location("eval_zoo", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


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
    assert eval_zoo.choose(rows) == {"script": "ls4", "pixel": "ls8"}  # pixel: none keeps 0.90 -> most content
    rows["script-fcft"]["content"]["merged"] = 0.90
    assert eval_zoo.choose(rows)["script"] == "ls0"
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

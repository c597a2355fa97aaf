"""Helpers shared by the metric tests."""

import os

import pytest

from stylebridge.metrics.weights import WeightsMissingError, find_weights

REFERENCE = os.path.join(os.path.dirname(__file__), "fixtures", "lpips")  # copy of ../shared/reference/lpips


def require_weights(*names):
    """Skip when weights are not installed, unless STYLEBRIDGE_REQUIRE_WEIGHTS=1 (CI): then fail."""
    try:
        for n in names:
            find_weights(n)
    except WeightsMissingError as e:
        if os.environ.get("STYLEBRIDGE_REQUIRE_WEIGHTS") == "1":
            pytest.fail(f"STYLEBRIDGE_REQUIRE_WEIGHTS=1 but: {e}")
        pytest.skip(f"weights not installed ({e})")

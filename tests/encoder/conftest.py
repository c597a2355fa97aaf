import pytest

from stylebridge.formats import save_checkpoint
from tests.encoder.helpers import generator


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny base generator's checkpoint."""
    return save_checkpoint(tmp_path_factory.mktemp("base") / "base.safetensors", G_ema=generator(0))

import pytest


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """Point every weight search location at empty folders."""
    monkeypatch.setenv("STYLEBRIDGE_WEIGHTS", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path

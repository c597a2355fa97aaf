"""Atomic writes: the old file survives a failure, no temporary file is left behind, and the
new file gets ordinary permissions (mkstemp makes owner-only files)."""

import os
import stat

import pytest

from stylebridge.utils.io import atomic_path, atomic_write_text


def test_atomic_write_gives_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.json", "{}")
        assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
        os.umask(0o077)
        atomic_write_text(tmp_path / "b.json", "{}")
        assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_checkpoints_get_ordinary_permissions_too(tmp_path):
    """safetensors' save_file replaces the file it is given with an owner-only one."""
    import torch

    from stylebridge.formats import save_checkpoint
    from stylebridge.networks import create_generator

    old = os.umask(0o022)
    try:
        save_checkpoint(tmp_path / "g.safetensors", G_ema=create_generator("tiny-16"))
        assert stat.S_IMODE((tmp_path / "g.safetensors").stat().st_mode) == 0o644
        with atomic_path(tmp_path / "t.safetensors") as t:
            from safetensors.torch import save_file

            save_file({"a": torch.zeros(1)}, str(t))
        assert stat.S_IMODE((tmp_path / "t.safetensors").stat().st_mode) == 0o644
    finally:
        os.umask(old)


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]

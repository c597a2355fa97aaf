"""Atomic file writes: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it onto `path`.

    A crash or exception leaves any previous file at `path` untouched and removes the
    temporary file. The file gets the permissions a plain `open(path, "w")` would give
    (mkstemp's are owner-only), also when the writer replaces the temporary file with one of
    its own (safetensors' save_file writes owner-only files).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = _create_temporary(path)
    mode = stat.S_IMODE(tmp_path.stat().st_mode)  # 0o666 less the umask
    try:
        yield tmp_path
        if stat.S_IMODE(tmp_path.stat().st_mode) != mode:
            os.chmod(tmp_path, mode)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _create_temporary(path: Path) -> Path:
    """A new, empty file beside `path`, created with mode 0o666 so that the kernel applies
    the umask, as for any file the user writes (mkstemp's files are owner-only)."""
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp{path.suffix}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


def atomic_copy(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Copy a file atomically (a crash leaves any earlier `dst` as it was)."""
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))

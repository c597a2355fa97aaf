from __future__ import annotations

import zipfile

import numpy as np
import pytest

from stylebridge.data.dataset import ImageDataset
from stylebridge.errors import DataError
from tests.train.helpers import disc_images, write_folder


def test_folder_recursive_with_unreadable_files(tmp_path):
    root = write_folder(tmp_path / "d", disc_images(5, size=24))
    (root / "sub0" / "broken.png").write_bytes(b"not an image")
    ds = ImageDataset(root, resolution=16, channels=3)
    assert ds.images.shape == (5, 3, 16, 16) and ds.images.dtype.is_floating_point is False
    assert len(ds.skipped) == 1 and "broken.png" in ds.skipped[0]
    assert "1 unreadable" in ds.describe()


def test_zip_and_grey(tmp_path):
    root = write_folder(tmp_path / "d", disc_images(4, size=16))
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:
        for p in sorted(root.rglob("*.png")):
            zf.write(p, p.relative_to(root).as_posix())
    ds = ImageDataset(tmp_path / "d.zip", resolution=8, channels=1)
    assert ds.images.shape == (4, 1, 8, 8)


def test_array_non_square_pad_and_exact_passthrough():
    a = disc_images(3, size=16)
    ds = ImageDataset(a, resolution=16, channels=3)
    assert np.array_equal(ds.images.numpy(), a.transpose(0, 3, 1, 2))
    wide = np.zeros((2, 10, 20, 3), np.uint8)
    ds = ImageDataset(wide, resolution=8, channels=3, square="pad")
    assert ds.images[0, :, 0, 0].tolist() == [255, 255, 255]  # padded with white
    x = ds.batch(np.array([0, 1]))
    assert x.min() >= -1 and x.max() <= 1


def test_empty_or_too_small(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        ImageDataset(tmp_path / "empty", 16)
    root = write_folder(tmp_path / "one", disc_images(1))
    with pytest.raises(DataError, match="1 usable image"):
        ImageDataset(root, 16)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.png").write_bytes(b"x")
    (tmp_path / "bad" / "b.jpg").write_bytes(b"y")
    with pytest.raises(DataError, match="0 usable.*2 unreadable"):
        ImageDataset(tmp_path / "bad", 16)

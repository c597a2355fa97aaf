import numpy as np
import pytest
import torch
from PIL import Image

from stylebridge.data.images import from_uint8, list_images, load_image, make_grid, save_image, to_uint8
from stylebridge.errors import DataError


def _rgb(h=6, w=6, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_list_images_sorted_recursive_skips_hidden(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".hidden").mkdir()
    for p in ["z.png", "a.jpg", "b/c.PNG", ".hidden/x.png", "notes.txt"]:
        (tmp_path / p).write_bytes(b"x")
    got = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)]
    assert got == ["a.jpg", "b/c.PNG", "z.png"]
    assert [p.name for p in list_images(tmp_path, recursive=False)] == ["a.jpg", "z.png"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        list_images(tmp_path / "empty")
    with pytest.raises(DataError, match="does not exist"):
        list_images(tmp_path / "missing")


def test_roundtrip_exact_uint8(tmp_path):
    a = _rgb()
    Image.fromarray(a).save(tmp_path / "x.png")
    t = load_image(tmp_path / "x.png")
    assert t.shape == (3, 6, 6) and t.dtype == torch.float32
    assert torch.equal(to_uint8(t).permute(1, 2, 0), torch.from_numpy(a))
    assert torch.allclose(t, from_uint8(torch.from_numpy(a)).permute(2, 0, 1), atol=1e-6)
    save_image(t, tmp_path / "y.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "y.png")), a)


def test_to_uint8_formula():
    x = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.999, 1.0, 3.0])
    assert to_uint8(x).tolist() == [0, 0, 64, 128, 255, 255, 255]


@pytest.mark.parametrize("mode", ["L", "1", "P", "RGBA", "LA", "CMYK", "I;16", "I", "F", "YCbCr"])
def test_every_mode_loads_to_3_channels(tmp_path, mode):
    base = Image.fromarray(_rgb(5, 7))
    if mode == "I;16":
        im = Image.fromarray(np.full((5, 7), 65535, dtype=np.uint16))
    elif mode == "I":
        im = Image.fromarray(np.full((5, 7), 255, dtype=np.int32))
    elif mode == "F":
        im = Image.fromarray(np.full((5, 7), 1.0, dtype=np.float32))
    else:
        im = base.convert(mode)
    ext = {"CMYK": ".tif", "I": ".tif", "F": ".tif", "YCbCr": ".jpg"}.get(mode, ".png")  # Pillow 12 misreads YCbCr TIFFs
    im.save(tmp_path / f"x{ext}")
    t = load_image(tmp_path / f"x{ext}", channels=3)
    assert t.shape == (3, 5, 7)
    assert t.min() >= -1 and t.max() <= 1
    if mode in ("I;16", "I", "F"):
        assert torch.allclose(t, torch.ones_like(t))  # full-scale values map to white
    assert load_image(tmp_path / f"x{ext}", channels=1).shape == (1, 5, 7)
    assert load_image(tmp_path / f"x{ext}", channels=4).shape == (4, 5, 7)


def test_rgba_composited_over_white(tmp_path):
    a = np.zeros((4, 4, 4), dtype=np.uint8)  # black, fully transparent
    a[0, 0] = [0, 0, 0, 255]                 # one opaque black pixel
    Image.fromarray(a).save(tmp_path / "x.png")
    t = load_image(tmp_path / "x.png")
    assert torch.allclose(t[:, 0, 0], -torch.ones(3)) and torch.allclose(t[:, 1, 1], torch.ones(3))
    t4 = load_image(tmp_path / "x.png", channels=4)
    assert t4[3, 0, 0] == 1 and t4[3, 1, 1] == -1


def test_exif_orientation(tmp_path):
    a = np.zeros((2, 4, 3), dtype=np.uint8)
    a[0, 0] = 255  # white top-left
    im = Image.fromarray(a)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    im.save(tmp_path / "x.jpg", exif=exif, quality=100)
    t = load_image(tmp_path / "x.jpg")
    assert t.shape == (3, 4, 2)
    assert t[:, 0, 1].mean() > 0.5  # top-left moved to top-right


def test_crop_pad_and_resize(tmp_path):
    a = np.zeros((4, 8, 3), dtype=np.uint8)
    a[:, 2:6] = 255  # white center square, black sides
    Image.fromarray(a).save(tmp_path / "x.png")
    crop = load_image(tmp_path / "x.png", resolution=4)
    assert crop.shape == (3, 4, 4) and torch.allclose(crop, torch.ones_like(crop), atol=1e-5)
    pad = load_image(tmp_path / "x.png", resolution=8, square="pad")
    assert pad.shape == (3, 8, 8)
    assert torch.allclose(pad[:, 0], torch.ones(3, 8))  # white padding rows
    assert pad[:, 4, 0].max() < -0.99                     # black side kept
    big = load_image(tmp_path / "x.png", resolution=16)
    assert big.shape == (3, 16, 16) and big.min() >= -1 and big.max() <= 1


def test_corrupt_and_missing_files_name_the_file(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    with pytest.raises(DataError, match="bad.png"):
        load_image(tmp_path / "bad.png")
    Image.fromarray(_rgb(32, 32)).save(tmp_path / "trunc.png")
    data = (tmp_path / "trunc.png").read_bytes()
    (tmp_path / "trunc.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="trunc.png"):
        load_image(tmp_path / "trunc.png")
    with pytest.raises(DataError, match="nope.png"):
        load_image(tmp_path / "nope.png")


def test_save_image_variants_atomic(tmp_path):
    g = torch.zeros(1, 3, 3)
    save_image(g, tmp_path / "g.png")
    assert Image.open(tmp_path / "g.png").mode == "L"
    save_image(torch.zeros(4, 3, 3, dtype=torch.uint8), tmp_path / "a.jpg")  # alpha dropped for JPEG
    assert Image.open(tmp_path / "a.jpg").mode == "RGB"
    save_image(np.zeros((3, 3), dtype=np.uint8), tmp_path / "n.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "g.png", "n.png"]  # no temp files left
    with pytest.raises(DataError):
        save_image(torch.zeros(2, 3, 3), tmp_path / "bad.png")
    with pytest.raises(DataError):
        save_image(torch.zeros(3, 3, 3), tmp_path / "bad.xyz")


def test_make_grid():
    imgs = torch.arange(5, dtype=torch.float32).view(5, 1, 1, 1).expand(5, 1, 2, 3)
    g = make_grid(imgs, nrow=2, pad_value=-1)
    assert g.shape == (1, 6, 6)
    assert g[0, 0, 0] == 0 and g[0, 0, 3] == 1 and g[0, 2, 0] == 2 and g[0, 4, 0] == 4 and g[0, 4, 3] == -1
    assert make_grid(list(imgs)).shape == (1, 4, 9)
    assert make_grid(imgs, nrow=5, padding=1).shape == (1, 4, 21)


def test_label_rows_adds_a_margin_with_text_and_keeps_the_grid():
    from stylebridge.data.images import label_rows

    grid = torch.zeros(3, 40, 20, dtype=torch.uint8)
    grid[:, :, 5] = 255
    out = label_rows(grid, ["one", "two"], pitch=20, font_size=10)
    m = out.shape[2] - 20
    assert out.shape[:2] == (3, 40) and m > 10
    assert torch.equal(out[:, :, m:], grid)
    assert out[0, :20, :m].max() > 150 and out[0, 20:, :m].max() > 150  # both rows labelled
    with pytest.raises(DataError, match="uint8"):
        label_rows(grid.float(), ["x"], pitch=20)

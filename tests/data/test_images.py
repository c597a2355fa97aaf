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
    # Pillow 12 misreads YCbCr TIFFs
    ext = {"CMYK": ".tif", "I": ".tif", "F": ".tif", "YCbCr": ".jpg"}.get(mode, ".png")
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


# ---------------------------------------------------------------------------- decoding policy (issue 19)


def test_only_the_listed_formats_are_opened(tmp_path):
    eps = tmp_path / "x.eps"  # Pillow identifies it (and would run Ghostscript to decode it)
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n%%EOF\n")
    assert Image.open(eps).format == "EPS"
    with pytest.raises(DataError, match="not an image stylebridge reads"):
        load_image(eps)


def test_pixel_bound_is_checked_before_decoding(tmp_path, monkeypatch):
    Image.new("RGB", (40, 30)).save(tmp_path / "x.png")
    assert load_image(tmp_path / "x.png", limit=1200).shape == (3, 30, 40)
    with pytest.raises(DataError, match=r"40x30 = 0.0012 megapixels; the limit is 0.001 megapixels") as e:
        load_image(tmp_path / "x.png", limit=1000)
    assert "\n" not in str(e.value)
    monkeypatch.setenv("STYLEBRIDGE_MAX_MEGAPIXELS", "0.001")
    with pytest.raises(DataError, match="megapixels"):
        load_image(tmp_path / "x.png")
    monkeypatch.setenv("STYLEBRIDGE_MAX_MEGAPIXELS", "lots")
    with pytest.raises(DataError, match="STYLEBRIDGE_MAX_MEGAPIXELS"):
        load_image(tmp_path / "x.png")


def test_truncated_jpeg_is_refused_not_grey_filled(tmp_path):
    Image.fromarray(_rgb(16, 16)).save(tmp_path / "small.jpg", quality=50)
    data = bytearray((tmp_path / "small.jpg").read_bytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = (4000).to_bytes(2, "big") * 2  # the header claims 4000x4000
    (tmp_path / "t.jpg").write_bytes(data)
    with pytest.raises(DataError, match="damaged or truncated"):
        load_image(tmp_path / "t.jpg", 16)


@pytest.mark.parametrize("ext,mode", [(".png", "RGBA"), (".png", "1"), (".png", "P"), (".jpg", "RGB"),
                                      (".tif", "I;16")])
def test_reduced_decoding_is_close_to_the_full_one(tmp_path, ext, mode):
    y, x = np.mgrid[0:600, 0:800]
    a = (128 + 100 * np.sin(x / 70) * np.cos(y / 50)).astype(np.uint8)
    im = Image.fromarray(np.stack([a, 255 - a, a // 2, 255 - a // 3], -1), "RGBA")
    im = {"RGBA": im, "1": im.convert("1"), "P": im.convert("RGB").convert("P"), "RGB": im.convert("RGB"),
          "I;16": Image.fromarray(a.astype(np.uint16) * 257)}[mode]
    im.save(tmp_path / f"x{ext}")
    full = load_image(tmp_path / f"x{ext}", 16)
    reduced = load_image(tmp_path / f"x{ext}", 16, reduce=True)
    assert reduced.shape == full.shape == (3, 16, 16)
    assert (reduced - full).abs().mean() < 0.05


def test_cli_refuses_a_huge_image_in_one_line(tmp_path, capsys, monkeypatch):
    """144 megapixels: Pillow's two-line DecompressionBombWarning and a 1.85 GB decode before;
    one line now, before decoding; --max-megapixels moves the bound."""
    from stylebridge.cli.main import main
    from stylebridge.formats import save_checkpoint
    from stylebridge.networks import create_generator

    monkeypatch.setenv("STYLEBRIDGE_MAX_MEGAPIXELS", "")  # restored after the test (main sets it)
    ckpt = save_checkpoint(tmp_path / "g.safetensors", G_ema=create_generator("tiny-16"))
    Image.new("1", (12000, 12000)).save(tmp_path / "big.png")
    Image.new("RGB", (40, 40)).save(tmp_path / "small.png")
    args = [str(ckpt), "--outdir", str(tmp_path / "out"), "--steps", "1", "--perceptual", "pixel"]
    main(["invert", str(ckpt), str(tmp_path / "big.png"), *args[1:]])
    err = capsys.readouterr().err
    assert "12000x12000 = 144 megapixels; the limit is 100 megapixels" in err
    assert "DecompressionBomb" not in err and len([line for line in err.splitlines() if "megapixels" in line]) == 1
    main(["--max-megapixels", "0.001", "invert", str(ckpt), str(tmp_path / "small.png"), *args[1:]])
    assert "40x40 = 0.0016 megapixels; the limit is 0.001" in capsys.readouterr().err

"""`stylebridge mix`: NVIDIA style_mixing.py's files, grid and arithmetic."""

import numpy as np
import pytest
import torch
from PIL import Image

from stylebridge.cli.main import main
from stylebridge.formats import save_checkpoint
from stylebridge.generate import style_mix_seeds
from stylebridge.networks import create_generator, z_from_seed
from tests.conftest import randomize_


@pytest.fixture
def ckpt(tmp_path):
    torch.manual_seed(0)
    G = randomize_(create_generator("tiny-16"))
    return save_checkpoint(tmp_path / "m.safetensors", G=G, G_ema=G), G.eval()


def nvidia_mix(G, row, col, styles, psi):
    """style_mixing.py's arithmetic, written out: z = RandomState(seed).randn(z_dim), w =
    w_avg + (w - w_avg) * psi, w_row with w_col at `styles`, one image per synthesis call,
    pixels (x * 127.5 + 128).clamp(0, 255) as uint8."""
    with torch.no_grad():
        w = {s: G.mapping(z_from_seed(s, G.z_dim), None)[0] for s in (row, col)}
        w = {s: G.mapping.w_avg + (v - G.mapping.w_avg) * psi for s, v in w.items()}
        ws = w[row].clone()
        ws[styles] = w[col][styles]
        img = G.synthesis(ws[None], noise_mode="const")
    return (img[0] * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()


def test_mix_writes_nvidia_files_grid_and_pixels(ckpt, tmp_path):
    p, G = ckpt
    out = tmp_path / "out"
    assert main(["mix", str(p), "--rows", "3,1", "--cols", "5,1,9", "--styles", "0-2", "--trunc", "0.7",
                 "--outdir", str(out)]) == 0
    pairs = {f"{r}-{c}.png" for r in (3, 1) for c in (5, 1, 9)} | {f"{s}-{s}.png" for s in (1, 3, 5, 9)}
    assert {f.name for f in out.iterdir()} == pairs | {"grid.png"}
    for r, c in [(3, 5), (1, 9), (3, 1)]:
        assert np.array_equal(np.asarray(Image.open(out / f"{r}-{c}.png")), nvidia_mix(G, r, c, [0, 1, 2], 0.7))
    # grid: black corner, column seeds' own images on top, row seeds' own images on the left
    grid = np.asarray(Image.open(out / "grid.png"))
    assert grid.shape == (16 * 3, 16 * 4, 3)
    cell = lambda i, j: grid[16 * i:16 * (i + 1), 16 * j:16 * (j + 1)]  # noqa: E731
    assert not cell(0, 0).any()
    assert np.array_equal(cell(0, 3), np.asarray(Image.open(out / "9-9.png")))
    assert np.array_equal(cell(2, 0), np.asarray(Image.open(out / "1-1.png")))
    assert np.array_equal(cell(1, 2), np.asarray(Image.open(out / "3-1.png")))


def test_mix_semantics(ckpt):
    _, G = ckpt
    every = list(range(G.num_ws))
    m = style_mix_seeds(G, [3], [5], every)
    assert torch.equal(m.images[(3, 5)], m.images[(5, 5)])  # every style from the column: the column's image
    part = style_mix_seeds(G, [3], [5], [0])
    assert not torch.equal(part.images[(3, 5)], part.images[(3, 3)])
    assert not torch.equal(part.images[(3, 5)], part.images[(5, 5)])
    # NVIDIA applies w_avg + (w - w_avg) * psi at psi 1 too (its w differs from the mapping's by rounding)
    assert torch.equal(style_mix_seeds(G, [3], [5], [0], truncation_psi=1.0).images[(3, 5)],
                       torch.from_numpy(nvidia_mix(G, 3, 5, [0], 1.0)).permute(2, 0, 1))


@pytest.mark.parametrize("args, needle", [
    (["--styles", "0-6"], "--styles 6 is out of range: this generator has 6 style inputs"),
    (["--rows", "4294967296"], "out of range"),
    (["--noise-mode", "loud"], "loud"),
])
def test_mix_errors_are_one_line_exit_2_before_writing(ckpt, tmp_path, capsys, args, needle):
    p, _ = ckpt
    base = {"--rows": "1", "--cols": "2", "--styles": "0-1"}
    for k, v in zip(args[::2], args[1::2]):
        base[k] = v
    argv = ["mix", str(p), "--outdir", str(tmp_path / "o")] + [x for kv in base.items() for x in kv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())

"""`stylebridge generate / info / convert` and the one-line error contract."""

import numpy as np
import pytest
import torch
from PIL import Image

from stylebridge.cli.main import main
from stylebridge.formats import save_checkpoint
from stylebridge.generate import generate_from_seeds
from stylebridge.networks import create_discriminator, create_generator, z_from_seed
from tests.conftest import randomize_


@pytest.fixture
def ckpt(tmp_path):
    torch.manual_seed(0)
    G = randomize_(create_generator("tiny-16"))
    p = save_checkpoint(tmp_path / "m.safetensors", G=G, G_ema=G, D=create_discriminator("tiny-16"))
    return p, G.eval()


def test_generate_writes_nvidia_named_pngs_equal_to_api(ckpt, tmp_path):
    p, G = ckpt
    out = tmp_path / "out"
    assert main(["generate", str(p), "--seeds", "0-2,7", "--trunc", "0.7", "--outdir", str(out),
                 "--grid", str(tmp_path / "grid.png"), "--batch-size", "3"]) == 0
    assert sorted(f.name for f in out.iterdir()) == ["seed0000.png", "seed0001.png", "seed0002.png", "seed0007.png"]
    z = z_from_seed(7, G.z_dim)
    with torch.no_grad():
        img = G(z, truncation_psi=0.7, noise_mode="const")
    expect = (img * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].permute(1, 2, 0).numpy()
    assert np.array_equal(np.asarray(Image.open(out / "seed0007.png")), expect)
    assert Image.open(tmp_path / "grid.png").size == (32, 32)


def test_batch_size_does_not_change_images(ckpt):
    _, G = ckpt
    for mode in ("const", "random"):
        a = [s.image for s in generate_from_seeds(G, range(5), noise_mode=mode, batch_size=1)]
        b = [s.image for s in generate_from_seeds(G, range(5), noise_mode=mode, batch_size=5, exact=False)]
        for x, y in zip(a, b):
            assert (x.int() - y.int()).abs().max() <= 1  # grouped (N=1) vs batched form, float rounding


def test_projected_w(ckpt, tmp_path):
    p, G = ckpt
    ws = G.mapping(torch.randn(2, G.z_dim)).detach().numpy()
    np.savez(tmp_path / "w.npz", w=ws)
    assert main(["generate", str(p), "--projected-w", str(tmp_path / "w.npz"), "--outdir", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "proj01.png").exists()
    np.savez(tmp_path / "bad.npz", w=ws[:, :3])
    assert main(["generate", str(p), "--projected-w", str(tmp_path / "bad.npz"), "--outdir", str(tmp_path)]) == 2


def test_info_and_convert(ckpt, tmp_path, capsys):
    p, _ = ckpt
    assert main(["info", str(p)]) == 0
    out = capsys.readouterr().out
    assert "format:   native" in out and "num_ws 6" in out and "G_ema" in out
    assert main(["convert", str(p), str(tmp_path / "c.safetensors"), "--fp16"]) == 0
    assert main(["info", "--json", str(tmp_path / "c.safetensors")]) == 0


@pytest.mark.parametrize("args,needle", [
    (["generate", "{missing}", "--seeds", "1", "--outdir", "{tmp}"], "no such file"),
    (["generate", "{garbage}", "--seeds", "1", "--outdir", "{tmp}"], "unknown checkpoint format"),
    (["generate", "{ckpt}", "--seeds", "5-1", "--outdir", "{tmp}"], "ends before it starts"),
    (["generate", "{ckpt}", "--seeds", "1", "--noise-mode", "loud", "--outdir", "{tmp}"], "loud"),
    (["generate", "{ckpt}", "--outdir", "{tmp}"], "exactly one of --seeds or --projected-w"),
    (["generate", "{ckpt}", "--seeds", "1", "--precision", "fp16", "--device", "cpu", "--outdir", "{tmp}"], "CUDA"),
    (["generate", "{ckpt}", "--seeds", "1", "--class", "2", "--outdir", "{tmp}"], "unconditional"),
    (["generate", "{ckpt}", "--seeds", "1", "--batch-size", "0", "--outdir", "{tmp}"], "batch-size"),
    (["info", "{truncated}"], "truncated"),
])
def test_user_errors_are_one_line_exit_2(ckpt, tmp_path, capsys, args, needle):
    p, _ = ckpt
    (tmp_path / "garbage.pkl").write_bytes(b"not a checkpoint at all")
    (tmp_path / "truncated.safetensors").write_bytes(p.read_bytes()[:300])
    subs = {"{missing}": str(tmp_path / "nope.pkl"), "{garbage}": str(tmp_path / "garbage.pkl"),
            "{ckpt}": str(p), "{tmp}": str(tmp_path / "o"), "{truncated}": str(tmp_path / "truncated.safetensors")}
    rc = main([subs.get(a, a) for a in args])
    err = capsys.readouterr().err
    assert rc == 2
    assert needle in err
    assert "Traceback" not in err
    assert len([l for l in err.strip().splitlines() if l.startswith("Error")]) == 1


def test_default_batch_size_is_chosen_per_device(ckpt):
    """Measured policy: one image per pass on CPU, batches of 8 on CUDA; exact images either way."""
    from stylebridge.generate import default_batch_size

    assert default_batch_size("cpu") == 1 and default_batch_size(torch.device("cuda", 0)) == 8
    G = ckpt[1]
    a = [s.image for s in generate_from_seeds(G, range(3))]
    b = [s.image for s in generate_from_seeds(G, range(3), batch_size=3)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_bf16_takes_the_batched_form_and_batches_of_8_on_cpu(ckpt):
    """bf16 is never NVIDIA's arithmetic, so --precision bf16 takes what measured fastest:
    the batched form, 8 per pass on a CPU; the images do not depend on the batch size."""
    from stylebridge.generate import default_batch_size, sampling_form

    assert default_batch_size("cpu", "bf16") == 8 and default_batch_size("cpu", "fp32") == 1
    assert sampling_form(True, "cpu", "bf16") is False and sampling_form(True, "cpu", "fp32") is True
    G = ckpt[1]
    a = [s.image for s in generate_from_seeds(G, range(3), precision="bf16")]
    b = [s.image for s in generate_from_seeds(G, range(3), precision="bf16", batch_size=1, exact=False)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    fp32 = [s.image for s in generate_from_seeds(G, range(3))]
    assert all((x.int() - y.int()).abs().float().mean() < 8 for x, y in zip(a, fp32))  # bf16, but the same images

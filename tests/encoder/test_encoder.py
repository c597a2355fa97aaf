"""The encoder: learns a tiny generator's inverse, round-trips through its file, refuses other
bases, and resumes after SIGKILL bit for bit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from stylebridge.cli.main import main
from stylebridge.data.images import load_image, save_image
from stylebridge.encoder import Encoder, EncoderTrainOptions, load_encoder, save_encoder, train_encoder
from stylebridge.encoder.network import base_hash, read_encoder
from stylebridge.errors import CheckpointError, StylebridgeError
from stylebridge.formats import load_checkpoint, save_checkpoint
from stylebridge.invert.api import invert
from tests.encoder.helpers import generator as _generator
from tests.encoder.helpers import samples as _samples

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(scope="module")
def trained(base, tmp_path_factory):
    out = tmp_path_factory.mktemp("enc")
    opts = EncoderTrainOptions(base=str(base), outdir=str(out), iters=150, batch=8, snap=150, lr=2e-3,
                               perceptual="pixel", channels=8, hidden=64, progress=False, device="cpu")
    return train_encoder(opts)


def test_trained_encoder_recovers_own_samples_better_than_the_mean_code(base, trained):
    G = load_checkpoint(base).generator
    x, ws = _samples(G, 32, seed=1234)  # not among the training draws (seed 0 stream)
    E = load_encoder(trained, G)
    res = invert(G, x, "encoder", encoder=E)
    mean_img = G.synthesis(G.mapping.w_avg.expand(32, G.num_ws, -1), noise_mode="const")
    enc_l1 = float((res.reconstruction - x).abs().mean())
    mean_l1 = float((mean_img - x).abs().mean())
    code_err = float(((res.ws - ws) / E.w_std).square().mean())
    mean_code_err = float(((G.mapping.w_avg - ws) / E.w_std).square().mean())
    assert enc_l1 < 0.75 * mean_l1, (enc_l1, mean_l1)
    assert code_err < 0.75 * mean_code_err, (code_err, mean_code_err)
    assert res.method == "encoder" and res.steps.eq(0).all()


def test_refinement_starts_from_the_encoder_code_and_does_not_get_worse(base, trained):
    G = load_checkpoint(base).generator
    x, _ = _samples(G, 3, seed=99)
    trained = load_encoder(trained, G)  # invert() takes a loaded encoder
    ff = invert(G, x, "encoder", encoder=trained)
    ref = invert(G, x, "encoder", encoder=trained, steps=10, perceptual="pixel", precision="fp32", pixel_weight=1.0)
    assert ref.steps.max() == 10
    # The projector returns its best code; step 0 evaluates the encoder's code itself.
    ff_loss = invert(G, x, "encoder", encoder=trained, steps=1, lr=1e-12, perceptual="pixel", precision="fp32").losses
    assert (ref.losses <= ff_loss + 1e-6).all()
    assert not torch.equal(ref.ws, ff.ws)


def test_feedback_passes_follow_their_definition_and_are_the_encoder_methods_default(base, trained):
    from stylebridge.invert.api import encode
    from stylebridge.invert.options import ENCODER_FEEDBACK

    G = load_checkpoint(base).generator
    E = load_encoder(trained, G)
    x, _ = _samples(G, 5, seed=7)
    with torch.no_grad():
        w0 = E(x)
        w = w0
        for _ in range(2):  # w <- w + gain * (E(x) - E(G(w))), G's render clipped to [-1, 1] like an image
            w = w + 0.3 * (w0 - E(G.synthesis(w, noise_mode="const", fused=False).clamp(-1, 1)))
    assert torch.allclose(encode(E, x, G=G, feedback=2, gain=0.3), w, atol=1e-5)
    assert torch.equal(encode(E, x), w0) and torch.equal(encode(E, x, G=G, feedback=0), w0)
    assert not torch.allclose(w, w0, atol=1e-3)
    with pytest.raises(StylebridgeError, match="pass G"):
        encode(E, x, feedback=1)
    # invert's method 'encoder' runs ENCODER_FEEDBACK passes unless told otherwise.
    assert ENCODER_FEEDBACK >= 1
    assert torch.equal(invert(G, x, "encoder", encoder=E).ws, encode(E, x, G=G, feedback=ENCODER_FEEDBACK))
    assert torch.equal(invert(G, x, "encoder", encoder=E, feedback=0).ws, w0)
    with pytest.raises(StylebridgeError, match="method 'encoder'"):
        invert(G, x, "wplus", feedback=1, steps=1)
    with pytest.raises(StylebridgeError, match=">= 0"):
        invert(G, x, "encoder", encoder=E, feedback=-1)


def test_a_feedback_pass_takes_out_an_encoders_systematic_offset(base, trained):
    """An encoder that adds a constant offset to every code: a pass measures the offset on the
    encoder's own reconstruction and removes part of it (a sign error would add it). A briefly
    trained encoder is far from the identity on its own renders, so one pass removes only a
    part (and, as with the shipped encoder at high gains, repeated passes can overshoot)."""
    from stylebridge.invert.api import encode

    G = load_checkpoint(base).generator
    E = load_encoder(trained, G)
    x, ws = _samples(G, 32, seed=4321)
    offset = 1.0 * E.w_std * torch.randn(G.w_dim, generator=torch.Generator().manual_seed(0)).sign()

    class Offset(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.E, self.w_avg = E, E.w_avg

        def forward(self, img):
            return self.E(img) + offset

    biased = Offset()
    err = [float(((encode(biased, x, G=G, feedback=k, gain=0.5) - ws) / E.w_std).square().mean()) for k in (0, 1)]
    assert err[1] < err[0] - 0.03, err


def test_save_load_round_trip(tmp_path):
    G = _generator(0)
    torch.manual_seed(3)
    E = Encoder.for_generator(G, channels=8, hidden=32)
    with torch.no_grad():
        for p in E.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    x = torch.rand(2, G.img_channels, G.img_resolution, G.img_resolution) * 2 - 1
    path = save_encoder(tmp_path / "e.safetensors", E)
    E2 = load_encoder(path, G)
    assert E2.config == E.config and E2.base_hash == E.base_hash == base_hash(G)
    assert torch.equal(E2(x), E.eval()(x))
    half = load_encoder(save_encoder(tmp_path / "h.safetensors", E, dtype=torch.float16), G)
    assert (half(x) - E(x)).abs().max() < 0.05 * E.w_std.max()
    assert (tmp_path / "h.safetensors").stat().st_size < 0.6 * path.stat().st_size


def test_foreign_base_is_refused_in_one_line(base, trained, tmp_path):
    other = _generator(1)
    with pytest.raises(CheckpointError, match="another base generator"):
        load_encoder(trained, other)
    other_ckpt = save_checkpoint(tmp_path / "other.safetensors", G_ema=other)
    x, _ = _samples(other, 1, seed=0)
    save_image(x[0], tmp_path / "in" / "a.png")
    rc = main(["invert", str(other_ckpt), str(tmp_path / "in"), "--outdir", str(tmp_path / "o"),
               "--method", "encoder", "--encoder", str(trained)])
    assert rc == 2
    assert not (tmp_path / "o" / "a.npz").exists()


def test_invert_cli_feed_forward(base, trained, tmp_path):
    G = load_checkpoint(base).generator
    x, _ = _samples(G, 2, seed=7)
    for i in range(2):
        save_image(x[i], tmp_path / "in" / f"{i}.png")
    rc = main(["invert", str(base), str(tmp_path / "in"), "--outdir", str(tmp_path / "o"), "--method", "encoder",
               "--encoder", str(trained)])
    assert rc == 0
    import numpy as np

    with np.load(tmp_path / "o" / "0.npz") as d:
        assert d["w"].shape == (1, G.num_ws, G.w_dim) and str(d["method"]) == "encoder"


def _train_cmd(base, out, *extra):
    return [sys.executable, "-m", "stylebridge.cli.main", "encoder", "train", str(base), "--outdir", str(out),
            "--batch", "4", "--snap", "5", "--perceptual", "pixel", "--channels", "4", "--progressive", "7",
            "--no-progress", "--device", "cpu", "--lr", "1e-3", *extra]


def _env():
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}


def test_resume_after_sigkill_equals_an_uninterrupted_run(base, tmp_path):
    iters = 40
    full, cut = tmp_path / "full", tmp_path / "cut"
    subprocess.run(_train_cmd(base, full, "--iters", str(iters)), check=True, env=_env(), capture_output=True)

    proc = subprocess.Popen(_train_cmd(base, cut, "--iters", str(iters)), env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list(cut.glob("encoder-snapshot-*.safetensors")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = sorted(cut.glob("encoder-snapshot-*.safetensors"))
    assert done and proc.returncode == -signal.SIGKILL
    assert int(done[-1].stem.split("-")[-1]) < iters, "the run ended before it was killed"
    subprocess.run([sys.executable, "-m", "stylebridge.cli.main", "encoder", "train", "--resume", str(cut),
                    "--iters", str(iters), "--no-progress"], check=True, env=_env(), capture_output=True)

    name = f"encoder-snapshot-{iters:06d}.safetensors"
    a, b = load_file(str(full / name)), load_file(str(cut / name))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    _, extra = read_encoder(cut / name)
    assert extra["training"]["images_seen"] == iters * 4


def _encoder_zoo(base, trained, zdir, **encoder_entry):
    """A zoo folder: `base`, a copy of it named twin, and the encoder `trained` for the base."""
    import json
    import shutil

    zdir.mkdir()
    shutil.copy(base, zdir / "base.safetensors")
    shutil.copy(base, zdir / "twin.safetensors")
    shutil.copy(trained, zdir / "encoder.safetensors")
    manifest = {"base": "base", "encoder": {"file": "encoder.safetensors", **encoder_entry},
                "models": {"base": {"file": "base.safetensors"}, "twin": {"file": "twin.safetensors"}}}
    (zdir / "zoo.json").write_text(json.dumps(manifest))
    return zdir, manifest


def test_zoo_lists_the_encoder_and_translation_uses_it(base, trained, tmp_path):
    import shutil

    from stylebridge.invert.api import encode
    from stylebridge.invert.options import ENCODER_FEEDBACK
    from stylebridge.translate import Translator, Zoo
    from stylebridge.translate.zoo import zoo_encoder_for

    G = load_checkpoint(base).generator
    zdir, _ = _encoder_zoo(base, trained, tmp_path / "zoo")
    assert zoo_encoder_for(zdir / "base.safetensors") == zdir / "encoder.safetensors"
    assert zoo_encoder_for(zdir / "twin.safetensors") is None
    zoo = Zoo.from_dir(zdir)
    x, _ = _samples(G, 2, seed=3)
    res = Translator(zoo, method="encoder").translate(x, to="twin")
    assert torch.equal(res.inversion.ws, encode(zoo.encoder(), x, G=zoo[zoo.base], feedback=ENCODER_FEEDBACK))
    assert res.inversion.method == "encoder" and res.outputs["twin"].shape[:2] == (2, 1)
    # The CLI finds the zoo's encoder for the zoo's base without --encoder.
    save_image(x[0], tmp_path / "in" / "a.png")
    assert main(["invert", str(zdir / "base.safetensors"), str(tmp_path / "in"), "--outdir", str(tmp_path / "o"),
                 "--method", "encoder"]) == 0
    assert (tmp_path / "o" / "a.npz").exists()
    # translate and evaluate invert the base's images with the zoo's encoder too (they once
    # asked invert_folder for method 'encoder' without handing it the encoder).
    assert main(["translate", str(tmp_path / "in"), "--zoo", str(zdir), "--to", "twin", "--method", "encoder",
                 "--feedback", "2", "--outdir", str(tmp_path / "t")]) == 0
    with np.load(tmp_path / "t" / "latents" / "a.npz") as d:
        assert str(d["method"]) == "encoder"
        x_in = load_image(tmp_path / "in" / "a.png")[None]
        assert torch.allclose(torch.from_numpy(d["w"]), encode(zoo.encoder(), x_in, G=zoo[zoo.base], feedback=2),
                              atol=1e-5)
    from stylebridge.evaluate.tables import evaluate_translation
    from stylebridge.metrics.lpips import LPIPS

    lp = LPIPS("vgg")  # random weights, non-negative heads: a distance, not the real metric
    for lin in lp.lins:
        lin.weight.data.abs_()
    row = evaluate_translation(zoo, tmp_path / "in", "twin", modes=0, method="encoder", lpips_net=lp,
                               log=lambda m: None)
    assert row["lpips_s"] > 0
    # Table III takes the encoder as a row: its codes as they are (no optimisation steps).
    from stylebridge.evaluate.tables import evaluate_inversion

    t3 = evaluate_inversion(G, tmp_path / "in", "wplus,encoder", encoder=zoo.encoder(), lpips_net=lp,
                            log=lambda m: None, steps=2, perceptual="pixel")
    assert [r["method"] for r in t3["rows"]] == ["wplus", "encoder"]
    assert t3["rows"][1]["steps_mean"] == 0 and t3["rows"][0]["steps_mean"] > 0
    with pytest.raises(StylebridgeError, match="needs an encoder"):
        evaluate_inversion(G, tmp_path / "in", "encoder", lpips_net=lp)
    # The CLI finds the zoo's encoder next to the checkpoint; a bare checkpoint has none.
    shutil.copy(base, tmp_path / "bare.safetensors")
    assert main(["evaluate", "inversion", str(tmp_path / "bare.safetensors"), str(tmp_path / "in"),
                 "--methods", "encoder"]) == 2


def test_the_zoos_encoder_and_its_recorded_appearance_are_the_translation_default(base, trained, tmp_path):
    """A zoo that lists an encoder translates with it by default (API and CLI), drawing what its
    zoo.json records for it ("appearance") after the content layers; other inversions, and
    zoos that record nothing, draw the input's own code (the paper's Eq. 4)."""
    import json

    from stylebridge.translate import Translator, Zoo

    G = load_checkpoint(base).generator
    zdir, manifest = _encoder_zoo(base, trained, tmp_path / "zoo", appearance="mean")
    zoo = Zoo.from_dir(zdir)
    x, _ = _samples(G, 2, seed=5)
    tr = Translator(zoo)
    assert tr.method == "encoder" and tr.appearance_for("base") == "mean"
    assert tr.appearance_for("twin") == "input"  # the encoder belongs to the base: twin's images get W+
    assert Translator(zoo, method="wplus").appearance_for("base") == "input"
    res = tr.translate(x, to="twin")
    want = tr.translate(x, to="twin", appearance="mean", inversion=res.inversion)
    plain = tr.translate(x, to="twin", appearance="input", inversion=res.inversion)
    assert torch.equal(res.outputs["twin"], want.outputs["twin"])
    assert not torch.allclose(res.outputs["twin"], plain.outputs["twin"])
    # The CLI: no --method, no --appearance: the zoo's encoder and its appearance, recorded.
    save_image(x[0], tmp_path / "in" / "a.png")
    assert main(["translate", str(tmp_path / "in"), "--zoo", str(zdir), "--to", "twin",
                 "--outdir", str(tmp_path / "t")]) == 0
    settings = json.loads((tmp_path / "t" / "settings.json").read_text())
    assert settings["method"] == "encoder" and settings["appearance"] == "mean"
    assert main(["translate", str(tmp_path / "in"), "--zoo", str(zdir), "--to", "twin", "--appearance", "input",
                 "--outdir", str(tmp_path / "t")]) == 2  # another appearance: refused, the folder kept
    # Nothing recorded: the input's own code.
    del manifest["encoder"]["appearance"]
    (zdir / "zoo.json").write_text(json.dumps(manifest))
    assert Translator(Zoo.from_dir(zdir)).appearance_for("base") == "input"
    # A recorded appearance that is not one: one line, exit 2.
    manifest["encoder"]["appearance"] = "median"
    (zdir / "zoo.json").write_text(json.dumps(manifest))
    with pytest.raises(StylebridgeError, match="appearance' must be one of input, mean, got 'median'"):
        Zoo.from_dir(zdir)
    assert main(["translate", str(tmp_path / "in"), "--zoo", str(zdir), "--outdir", str(tmp_path / "u")]) == 2


def test_bf16_training_runs_and_fp16_needs_cuda(base, tmp_path):
    opts = EncoderTrainOptions(base=str(base), outdir=str(tmp_path / "b"), iters=2, batch=2, snap=2, perceptual="pixel",
                               channels=4, hidden=16, precision="bf16", progress=False, device="cpu")
    E, _ = read_encoder(train_encoder(opts))
    assert all(torch.isfinite(p).all() for p in E.parameters())
    if not torch.cuda.is_available():
        with pytest.raises(Exception, match="CUDA"):
            train_encoder(EncoderTrainOptions(**{**opts.to_dict(), "precision": "fp16", "outdir": str(tmp_path / "h")}))


def test_shipped_zoo_lists_an_encoder_for_its_base():
    from stylebridge.invert.api import encode
    from stylebridge.translate import Zoo
    from stylebridge.zoo import shipped_zoo_dir

    zoo = Zoo.from_dir(shipped_zoo_dir())
    assert zoo.encoder_path is not None and zoo.encoder_path.stat().st_size < 4e6
    # measured best (README "Encoder inversion"): the default of translate, the demo and the app
    assert zoo.default_method() == "encoder" and zoo.default_appearance("encoder") == "mean"
    E = zoo.encoder()  # refused if it did not fit the shipped base
    G = zoo[zoo.base]
    x, ws = _samples(G, 4, seed=11)
    assert encode(E, x).shape == ws.shape
    with pytest.raises(CheckpointError, match="another base generator"):
        load_encoder(zoo.encoder_path, zoo["script"])


def test_init_starts_from_an_encoders_weights_and_refuses_a_foreign_one(base, trained, tmp_path):
    from stylebridge.encoder.train import EncoderTrainer

    E0, _ = read_encoder(trained)
    opts = EncoderTrainOptions(base=str(base), outdir=str(tmp_path / "i"), iters=1, batch=2, perceptual="pixel",
                               channels=4, hidden=16, init=str(trained), progress=False, device="cpu")
    tr = EncoderTrainer(opts)
    assert tr.E.config == E0.config and tr.opts.channels == E0.config.channels  # the file's config, not --channels
    for k, v in E0.state_dict().items():
        assert torch.equal(tr.E.state_dict()[k], v), k
    assert tr.iteration == 0 and not tr.opt.state  # a new run: fresh optimizer and counters

    other = save_checkpoint(tmp_path / "other.safetensors", G_ema=_generator(1))
    with pytest.raises(CheckpointError, match="another base generator"):
        EncoderTrainer(EncoderTrainOptions(**{**opts.to_dict(), "base": str(other)}))
    with pytest.raises(Exception, match="give one of them"):
        EncoderTrainer(EncoderTrainOptions(**{**opts.to_dict(), "resume": str(trained)}))


def test_new_base_keeps_the_image_trunk_and_learns_the_codes_afresh(base, trained, tmp_path):
    from stylebridge.encoder.train import EncoderTrainer
    from stylebridge.networks.registry import create_generator

    E0, _ = read_encoder(trained)
    G1 = _generator(1)
    other = save_checkpoint(tmp_path / "other.safetensors", G_ema=G1)
    opts = EncoderTrainOptions(base=str(other), outdir=str(tmp_path / "n"), iters=2, batch=2, perceptual="pixel",
                               init=str(trained), new_base=True, progress=False, device="cpu")
    tr = EncoderTrainer(opts)
    new, old = tr.E.state_dict(), E0.state_dict()
    for k in old:
        if k.startswith(("from_rgb", "b", "fc")):
            assert torch.equal(new[k], old[k]), k  # the trunk as trained
    assert not new["head_w.weight"].any() and not new["head_delta.weight"].any()  # codes start at the mean
    assert torch.equal(new["w_avg"], G1.mapping.w_avg) and tr.E.base_hash == base_hash(G1)
    x, _ = _samples(G1, 3, seed=5)
    assert torch.allclose(tr.E(x), G1.mapping.w_avg.expand(3, G1.num_ws, -1))
    train_encoder(opts)
    load_encoder(tmp_path / "n" / "encoder.safetensors", G1)  # belongs to the new base now
    with pytest.raises(CheckpointError, match="another base generator"):
        load_encoder(tmp_path / "n" / "encoder.safetensors", _generator(0))
    bigger = save_checkpoint(tmp_path / "bigger.safetensors", G_ema=create_generator("tiny-32"))
    with pytest.raises(CheckpointError, match="the encoder reads 16 px"):
        EncoderTrainer(EncoderTrainOptions(**{**opts.to_dict(), "base": str(bigger), "outdir": str(tmp_path / "b")}))
    with pytest.raises(StylebridgeError, match="give --init"):
        EncoderTrainOptions(**{**opts.to_dict(), "init": None}).validate()


def test_lr_ramps_down_to_zero_over_the_last_share_of_iterations(base, tmp_path):
    from stylebridge.encoder.train import EncoderTrainer

    opts = EncoderTrainOptions(base=str(base), outdir=str(tmp_path / "l"), iters=100, lr=1e-3, lr_rampdown=0.2,
                               perceptual="pixel", channels=4, hidden=16, progress=False, device="cpu")
    tr = EncoderTrainer(opts)
    lrs = {}
    for it in (0, 79, 80, 90, 99, 100):
        tr.iteration = it
        lrs[it] = tr.learning_rate()
    assert lrs[0] == lrs[79] == lrs[80] == 1e-3
    assert lrs[90] == pytest.approx(0.5e-3) and 0 < lrs[99] < 1e-5 and lrs[100] == 0
    with pytest.raises(Exception, match="ramp-down"):
        EncoderTrainer(EncoderTrainOptions(**{**opts.to_dict(), "lr_rampdown": 1.5}))


def test_widening_keeps_the_codes_and_adds_capacity(base, trained, tmp_path):
    """Net2Net: the widened encoder computes the same codes (exactly up to rounding without
    noise, within the noise with it), has more parameters, and --init --widen trains it."""
    from stylebridge.encoder.network import widen
    from stylebridge.encoder.train import EncoderTrainer

    E0, _ = read_encoder(trained)
    G = load_checkpoint(base).generator
    x, _ = _samples(G, 6, seed=3)
    with torch.no_grad():
        want = E0(x)
        W = widen(E0, E0.config.channels * 2, noise=0.0)
        assert W.config.channels == 2 * E0.config.channels and W.base_hash == E0.base_hash
        assert sum(p.numel() for p in W.parameters()) > sum(p.numel() for p in E0.parameters())
        assert torch.allclose(W(x), want, atol=1e-5)
        noisy = widen(E0, E0.config.channels * 2, noise=1e-3)
        diff = float((noisy(x) - want).abs().max())
        assert 0 < diff < 0.05 * float(want.abs().max())  # the copies differ, the codes barely
    with pytest.raises(CheckpointError, match="cannot widen the encoder from 8 to 12 channels"):
        widen(E0, 12)
    opts = EncoderTrainOptions(base=str(base), outdir=str(tmp_path / "w"), iters=1, batch=2, perceptual="pixel",
                               init=str(trained), widen=16, progress=False, device="cpu")
    tr = EncoderTrainer(opts)
    assert E0.config.channels == 8 and tr.E.config.channels == 16 and tr.opts.channels == 16
    with pytest.raises(Exception, match="give --init"):
        EncoderTrainer(EncoderTrainOptions(**{**opts.to_dict(), "init": None}))

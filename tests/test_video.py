"""Latent interpolation videos (stylegan3 gen_video.py's layout and loop) and their files."""

import numpy as np
import pytest
import torch
from PIL import Image

from stylebridge.cli.main import main
from stylebridge.data.images import to_uint8
from stylebridge.errors import StylebridgeError
from stylebridge.formats import save_checkpoint
from stylebridge.generate import generate_from_seeds, sampling_form, synthesize
from stylebridge.networks import create_generator
from stylebridge.video import keyframe_paths, plan_video, video_frames, write_video
from tests.conftest import randomize_


@pytest.fixture
def models(tmp_path):
    torch.manual_seed(0)
    A = randomize_(create_generator("tiny-16")).eval()
    B = randomize_(create_generator("tiny-16")).eval()
    B.mapping.load_state_dict(A.mapping.state_dict())  # a "fine-tune" of A: same latent space
    pa = save_checkpoint(tmp_path / "a.safetensors", G=A, G_ema=A)
    pb = save_checkpoint(tmp_path / "b.safetensors", G=B, G_ema=B)
    return A, B, pa, pb


def test_seeds_are_dealt_to_cells_as_gen_video_does(models):
    A = models[0]
    plan = plan_video([A], [10, 11, 12, 13, 14, 15], grid=(3, 1))
    assert plan.keyframes == 2 and plan.frames == 240 and plan.size == (16, 48)
    assert plan.cell_seeds.tolist() == [[[10, 11], [12, 13], [14, 15]]]
    reused = plan_video([A], [1, 2, 3], grid=(2, 1), num_keyframes=2)  # seeds[i % len(seeds)]
    assert reused.cell_seeds.tolist() == [[[1, 2], [3, 1]]]
    shuffled = plan_video([A], list(range(8)), grid=(2, 2), shuffle_seed=3)
    want = np.arange(8)
    np.random.RandomState(seed=3).shuffle(want)
    assert shuffled.cell_seeds.reshape(-1).tolist() == want.tolist()


def test_keyframes_are_the_seeds_images_and_the_loop_closes(models):
    A, B = models[:2]
    plan = plan_video([A, B], [4, 7, 9, 2], grid=(2, 1), w_frames=3)
    frames = list(video_frames([A, B], plan, truncation_psi=0.8))
    assert len(frames) == 6 and frames[0].shape == (32, 32, 3) and frames[0].dtype == np.uint8
    # frame 0 shows each cell's first keyframe, frame w_frames its second: generate's images of those seeds
    for f, seeds in ((0, (4, 9)), (3, (7, 2))):
        want = [s.image.permute(1, 2, 0).numpy() for s in generate_from_seeds(A, seeds, truncation_psi=0.8)]
        got = [frames[f][:16, :16], frames[f][:16, 16:]]
        for g, w in zip(got, want):
            assert np.abs(g.astype(int) - w).max() <= 1  # the spline passes through its knots (to float64 rounding)
    # the lower half is model B drawing the same ws
    want_b = next(generate_from_seeds(B, [4], truncation_psi=0.8)).image.permute(1, 2, 0).numpy()
    assert np.abs(frames[0][16:, :16].astype(int) - want_b).max() <= 1
    assert not np.array_equal(frames[1][:16], frames[1][16:])
    # between keyframes the walk moves; after K keyframes it is back where it started (a loop)
    assert not np.array_equal(frames[0], frames[1])
    path = keyframe_paths(A, plan, 0.8)[0][0]
    assert np.allclose(path(plan.keyframes), path(0), atol=1e-6)


def test_fast_form_and_scale(models):
    A = models[0]
    plan = plan_video([A], [1, 2], grid=(2, 1), num_keyframes=1, w_frames=2, scale=2)
    exact = list(video_frames([A], plan))
    fast = list(video_frames([A], plan, exact=False))
    assert exact[0].shape == (32, 64, 3)
    assert np.array_equal(exact[0][::2, ::2], exact[0][1::2, 1::2])  # nearest-neighbour enlargement
    assert np.abs(exact[0].astype(int) - fast[0]).max() <= 1


def test_cli_gif_and_mp4(models, tmp_path):
    _, _, pa, pb = models
    gif = tmp_path / "walk.gif"
    assert main(["video", str(pa), "--seeds", "0-3", "--grid", "2x1", "--w-frames", "4", "--also", str(pb),
                 "--fps", "25", "--output", str(gif), "--no-progress"]) == 0
    with Image.open(gif) as im:
        assert im.n_frames == 8 and im.size == (32, 32) and im.info["duration"] == 40
    pytest.importorskip("imageio_ffmpeg", reason="the test extras install imageio-ffmpeg")
    import imageio_ffmpeg

    mp4 = tmp_path / "walk.mp4"
    assert main(["video", str(pa), "--seeds", "0-1", "--w-frames", "5", "--scale", "3", "--output", str(mp4),
                 "--no-progress"]) == 0
    reader = imageio_ffmpeg.read_frames(str(mp4))
    meta = next(reader)
    assert tuple(meta["size"]) == (48, 48) and meta["fps"] == 60 and sum(1 for _ in reader) == 10


@pytest.mark.parametrize("args, needle", [
    (["--seeds", "0-2", "--grid", "2x1"], "3 seeds do not fill a 2x1 grid evenly"),
    (["--output", "{tmp}/walk.avi"], "write a .gif or an .mp4"),
    (["--grid", "2y1"], "not a grid size"),
    (["--grid", "1100x1", "--num-keyframes", "1"], "too large (at most 16384 a side)"),
    (["--also", "{tmp}/other.safetensors"], "same latent space and image size"),
])
def test_cli_errors_are_one_line_before_any_work(models, tmp_path, capsys, args, needle):
    _, _, pa, _ = models
    G8 = randomize_(create_generator("tiny-32"))
    save_checkpoint(tmp_path / "other.safetensors", G=G8, G_ema=G8)
    opts = {"--seeds": "0-1", "--output": str(tmp_path / "v.gif")}
    for k, v in zip(args[::2], args[1::2]):
        opts[k] = v.format(tmp=tmp_path)
    assert main(["video", str(pa)] + [x for kv in opts.items() for x in kv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not list(tmp_path.glob("*.gif")) and not list(tmp_path.glob("*.avi"))


def test_grey_and_rgba_frames_are_written_as_rgb(tmp_path):
    pytest.importorskip("imageio_ffmpeg", reason="the test extras install imageio-ffmpeg")
    import imageio_ffmpeg

    for channels in (1, 4):
        frames = [np.full((16, 16, channels), 200 - 40 * i, np.uint8) for i in range(3)]  # (Pillow merges equal frames)
        out = write_video(iter(frames), tmp_path / f"c{channels}.mp4", fps=10)
        reader = imageio_ffmpeg.read_frames(str(out))
        meta = next(reader)
        first = np.frombuffer(next(reader), np.uint8).reshape(16, 16, 3)
        assert tuple(meta["size"]) == (16, 16) and abs(int(first.mean()) - 200) <= 3
        with Image.open(write_video(iter(frames), tmp_path / f"c{channels}.gif", fps=10)) as im:
            assert im.n_frames == 3 and np.asarray(im.convert("RGB")).mean() == pytest.approx(200, abs=3)


def test_failed_encoder_leaves_earlier_file_untouched(tmp_path, monkeypatch):
    out = tmp_path / "v.mp4"
    out.write_bytes(b"earlier")
    monkeypatch.setenv("STYLEBRIDGE_FFMPEG", "false")  # an "ffmpeg" that fails at once
    frames = iter([np.zeros((8, 8, 1), np.uint8)] * 3)
    with pytest.raises(StylebridgeError, match="ffmpeg could not write the video"):
        write_video(frames, out, fps=30)
    assert out.read_bytes() == b"earlier" and [p.name for p in tmp_path.iterdir()] == ["v.mp4"]
    monkeypatch.setenv("STYLEBRIDGE_FFMPEG", str(tmp_path / "no-such-ffmpeg"))
    with pytest.raises(StylebridgeError, match="not an executable"):
        write_video(iter([np.zeros((8, 8, 1), np.uint8)]), out)


def test_cli_zoo_draws_each_model_at_its_strength(models, tmp_path, capsys):
    from stylebridge.train.swap import with_strength
    from stylebridge.translate.zoo import write_manifest

    A, B, pa, pb = models
    write_manifest(tmp_path, {"base": "a", "models": {"a": {"file": pa.name}, "b": {"file": pb.name, "strength": 1.5}}})
    gif = tmp_path / "zoo.gif"
    assert main(["video", "--zoo", str(tmp_path), "--seeds", "3", "--w-frames", "1", "--output", str(gif),
                 "--no-progress"]) == 0
    assert "rows: a, b x1.5" in capsys.readouterr().err
    with Image.open(gif) as im:
        frame = np.asarray(im.convert("RGB"))
    B15 = with_strength(A, B, 1.5).eval()
    want = [next(generate_from_seeds(G, [3])).image.permute(1, 2, 0).numpy() for G in (A, B15)]
    # a GIF keeps at most 256 colours per frame: compare loosely, and against B as trained
    assert np.abs(frame[:16].astype(int) - want[0]).mean() < 4
    assert np.abs(frame[16:].astype(int) - want[1]).mean() < 4
    as_trained = next(generate_from_seeds(B, [3])).image.permute(1, 2, 0).numpy()
    assert np.abs(frame[16:].astype(int) - as_trained).mean() > np.abs(frame[16:].astype(int) - want[1]).mean()
    assert main(["video", "--zoo", str(tmp_path), "--strength", "1", "--also", str(pb), "--seeds", "3",
                 "--output", str(gif)]) == 2


def test_keyframes_from_saved_codes(models, tmp_path, capsys):
    """--projected-w: the walk's keyframes are the saved codes (invert's NAME.npz, NVIDIA's
    projected_w.npz), in order over the files; frame k * w_frames is generate's image of code k."""
    A, B, pa, pb = models
    ws = A.mapping(torch.randn(3, A.z_dim), None).detach()
    np.savez(tmp_path / "a.npz", w=ws[:1].numpy())         # one code, as invert writes NAME.npz
    np.savez(tmp_path / "bc.npz", w=ws[1:].numpy())        # two, as NVIDIA's projected_w.npz may hold
    plan = plan_video([A, B], list(range(3)), w_frames=2, keys="codes")
    frames = list(video_frames([A, B], plan, codes=ws))
    assert len(frames) == 6
    for k in range(3):
        want = [to_uint8(synthesize(M, ws[k:k + 1], "const", fused=sampling_form(True, "cpu")))[0]
                .permute(1, 2, 0).numpy() for M in (A, B)]
        assert np.abs(frames[2 * k][:16].astype(int) - want[0]).max() <= 1
        assert np.abs(frames[2 * k][16:].astype(int) - want[1]).max() <= 1
    gif = tmp_path / "codes.gif"
    assert main(["video", str(pa), "--projected-w", str(tmp_path / "a.npz"), "--projected-w", str(tmp_path / "bc.npz"),
                 "--also", str(pb), "--w-frames", "2", "--output", str(gif), "--no-progress"]) == 0
    with Image.open(gif) as im:
        assert im.n_frames == 6 and im.size == (16, 32)
    np.savez(tmp_path / "bad.npz", w=ws[:, :2].numpy())
    for args, needle in ((["--seeds", "1", "--projected-w", str(tmp_path / "a.npz")], "exactly one of --seeds or"),
                         ([], "exactly one of --seeds or"),
                         (["--projected-w", str(tmp_path / "bad.npz")], "the generator needs [N, 6, "),
                         (["--projected-w", str(tmp_path / "bc.npz"), "--grid", "3x1"],
                          "2 codes do not fill a 3x1 grid evenly")):
        capsys.readouterr()
        assert main(["video", str(pa), *args, "--output", str(tmp_path / "x.gif"), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err, (args, err)
    assert not (tmp_path / "x.gif").exists()

"""Generation, SeFa edits and the demo on a second device (the fake accelerator of
tests/fakedevice.py, CUDA's rules on the CPU), with the CPU's images."""

import copy

import torch

from stylebridge.demo import run_demo
from stylebridge.generate import generate_from_seeds
from stylebridge.invert.sefa import edit_grid, factorize
from stylebridge.networks import create_generator
from stylebridge.translate import Zoo
from tests.conftest import derived, randomize_
from tests.fakedevice import FAKE, fake_accelerator


def _images(G, **kw):
    return torch.stack([s.image for s in generate_from_seeds(G, [1, 2, 3], batch_size=2, **kw)])


def test_generate_edit_and_demo_on_device(tmp_path):
    torch.manual_seed(0)
    G = randomize_(create_generator("tiny-16")).eval()
    basis = factorize(G)
    cases = [dict(), dict(exact=False), dict(noise_mode="random", truncation_psi=0.7)]
    ref = [_images(G, **kw) for kw in cases] + [edit_grid(G, basis, [0], [-1.0, 1.0], [4])]
    with fake_accelerator():
        Gd = copy.deepcopy(G).to(FAKE)
        got = [_images(Gd, **kw) for kw in cases] + [edit_grid(Gd, factorize(Gd), [0], [-1.0, 1.0], [4])]
        grey = randomize_(create_generator("tiny-16", img_channels=1)).eval()
        bold = derived(grey, 1)
        zoo = Zoo.from_models({"base": grey.to(FAKE), "bold": bold.to(FAKE)}, base="base")
        demo = run_demo(zoo, tmp_path / "demo.png", text="Hi", steps=3, modes=1, log=lambda s: None)
    for a, b in zip(ref, got):
        assert b.device.type == "cpu" and a.shape == b.shape
        assert (a.float() - b.float()).abs().max() <= (1 if a.dtype == torch.uint8 else 1e-5)
    assert demo.grid.exists() and "bold (seed 0)" in demo.rows


def test_mix_video_and_ppl_on_device():
    import numpy as np

    from stylebridge.generate import style_mix_seeds
    from stylebridge.metrics.lpips import LPIPS
    from stylebridge.metrics.ppl import perceptual_path_length
    from stylebridge.video import plan_video, video_frames

    torch.manual_seed(0)
    G = randomize_(create_generator("tiny-32")).eval()
    lp = LPIPS("vgg")
    for lin in lp.lins:
        lin.weight.data.abs_()  # random weights, but a distance that is positive
    plan = plan_video([G], [1, 2], num_keyframes=2, w_frames=2)
    ref = (style_mix_seeds(G, [1], [2], [0, 1], noise_mode="random"), np.stack(list(video_frames([G], plan))),
           perceptual_path_length(G, samples=4, batch_size=2, lpips_net=lp)["ppl"])
    with fake_accelerator():
        Gd = copy.deepcopy(G).to(FAKE)
        got = (style_mix_seeds(Gd, [1], [2], [0, 1], noise_mode="random"), np.stack(list(video_frames([Gd], plan))),
               perceptual_path_length(Gd, samples=4, batch_size=2, lpips_net=copy.deepcopy(lp))["ppl"])
    assert all((ref[0].images[k].int() - got[0].images[k].int()).abs().max() <= 1 for k in ref[0].images)
    assert np.abs(ref[1].astype(int) - got[1]).max() <= 1
    # PPL divides image differences of ~epsilon by epsilon^2: the forms' float rounding shows at 1e-3
    assert ref[2] > 0 and abs(ref[2] - got[2]) <= 1e-2 * ref[2]

import pytest
import torch

from stylebridge.errors import StylebridgeError
from stylebridge.invert import perceptual as perc
from stylebridge.invert.api import invert, stats_for
from stylebridge.invert.projector import ProjectorConfig, lr_schedule, noise_regularizer, project


def test_topk_and_clamp_hold_at_every_step(G, targets):
    stats = stats_for(G, "sefa")
    cfg = ProjectorConfig(method="sefa", steps=40, topk=3, clamp=0.5, lr=0.5, early_stop=False)
    seen = []

    def check(step, idx, x, img):
        seen.append(step)
        assert (x[:, 3:] == 0).all()
        assert (x[:, :3] >= (stats.v_mean - 0.5 * stats.v_std)[:3] - 1e-6).all()
        assert (x[:, :3] <= (stats.v_mean + 0.5 * stats.v_std)[:3] + 1e-6).all()
    out = project(G, targets, cfg, perc.pixel_gradient_distance, stats, callback=check)
    assert seen == list(range(40))
    assert (out.v[:, 3:] == 0).all()
    assert torch.allclose(out.ws[:, 0], stats.w_from_v(out.v), atol=1e-6)
    assert (out.v[:, :3].abs() > 0).any()  # the free coordinates moved


@pytest.mark.parametrize("method", ["sefa", "w", "wplus"])
def test_batch_independence(G, targets, method):
    kw = dict(steps=30, perceptual="pixel", optimize_noise=True, latent_noise=0.05, early_stop=False, precision="fp32")
    # Exact: other images in the batch change, the image's result does not change one bit.
    swapped = targets.clone()
    swapped[0], swapped[2] = targets[2], -targets[0]
    a = invert(G, targets, method, batch_size=3, **kw)
    b = invert(G, swapped, method, batch_size=3, **kw)
    assert torch.equal(a.ws[1], b.ws[1]) and not torch.equal(a.ws[0], b.ws[0])
    for k in a.noise:
        assert torch.equal(a.noise[k][1], b.noise[k][1])
    # Alone vs in a batch (another batch size, position, early stopping of neighbours):
    # equal up to the rounding of batched vs single-image kernels.
    kw.update(early_stop=True, patience=5, min_steps=10)
    alone = invert(G, targets[1:2], method, **kw)
    for r, i in ((invert(G, targets, method, batch_size=3, **kw), 1),
                 (invert(G, targets.flip(0), method, batch_size=2, **kw), 1)):
        assert torch.allclose(r.ws[i], alone.ws[0], atol=2e-3), (r.ws[i] - alone.ws[0]).abs().max()
        assert int(r.steps[i]) == int(alone.steps[0])
        for k in alone.noise:
            assert torch.allclose(r.noise[k][i], alone.noise[k][0], atol=2e-3)


def test_returns_best_evaluated_code_and_it_reproduces(G, targets):
    r = invert(G, targets, "wplus", steps=25, perceptual="pixel", early_stop=False, precision="fp32")
    for h, loss in zip(r.history, r.losses):
        assert len(h) == 25
        assert float(loss) <= min(h) + 1e-7  # best over all evaluated codes (incl. the final one)
    # The loss reported is the loss of the returned code.
    cfg = ProjectorConfig()
    again = ((r.reconstruction - targets).abs().mean(dim=[1, 2, 3])
             + perc.pixel_gradient_distance(r.reconstruction, targets))
    assert torch.allclose(again, r.losses, atol=1e-4)
    assert cfg.steps == 300


def test_early_stopping_stops_converged_images(G, targets):
    r = invert(G, targets, "sefa", steps=400, perceptual="pixel", lr=0.05, patience=10, min_steps=20, tol=0.05)
    assert (r.steps < 400).all() and (r.steps >= 20).all()


def test_lr_schedule_and_noise_reg():
    cfg = ProjectorConfig(steps=100)
    lrs = [lr_schedule(cfg, s) for s in range(100)]
    assert lrs[0] == 0 and max(lrs) == pytest.approx(0.1) and lrs[-1] < 0.01
    flat = torch.randn(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    smooth = flat.cumsum(dim=3)
    reg = noise_regularizer([torch.cat([flat[:1], smooth[1:] / smooth[1:].std()])])
    assert reg.shape == (2,) and reg[1] > 10 * reg[0]


def test_bad_settings_raise(G, targets):
    with pytest.raises(StylebridgeError, match="topk"):
        invert(G, targets, "w", topk=3, perceptual="pixel")
    with pytest.raises(StylebridgeError, match="method"):
        invert(G, targets, "z", perceptual="pixel")
    with pytest.raises(StylebridgeError, match="targets have shape"):
        invert(G, targets[:, :, :8, :8], "w", perceptual="pixel", steps=2)


def test_perceptual_uses_lpips_when_present(G, targets, monkeypatch):
    from stylebridge.metrics import lpips as lp

    torch.manual_seed(0)
    fake = lp.LPIPS("vgg")  # random weights stand in for the installed ones
    monkeypatch.setattr(lp, "load_lpips", lambda net="vgg", device="cpu", **k: fake)
    name, dist = perc.make_perceptual("lpips", device="cpu")
    assert name == "lpips"
    assert torch.allclose(dist(targets, targets.flip(0)), fake(targets, targets.flip(0)))
    assert perc.make_perceptual("auto", device="cuda")[0] == "lpips"  # 'auto' on a GPU: LPIPS
    assert perc.make_perceptual("auto", device="cpu")[0] == "pixel"   # on a CPU: pixel (measured, options.py)
    r = invert(G, targets[:1], "sefa", steps=5, perceptual="lpips")
    assert r.perceptual == "lpips"
    assert invert(G, targets[:1], "sefa", steps=2).perceptual == "pixel"


def test_perceptual_fallbacks_warn_and_work(G, D, targets, monkeypatch):
    def missing(*a, **k):
        raise StylebridgeError("weights for vgg16 not found")
    from stylebridge.metrics import lpips as lp
    monkeypatch.setattr(lp, "load_lpips", missing)
    with pytest.warns(UserWarning, match="stylebridge weights install"):  # 'auto' on a GPU falls back
        name, dist = perc.make_perceptual("auto", D=D, device="cuda")
    assert name == "discriminator"
    d = dist(targets, targets.flip(0))
    assert d.shape == (3,) and d[1] == 0 and d[0] > 0
    # Per image: no interaction between images of a batch.
    assert torch.allclose(dist(targets[:1], targets[2:]), d[:1], atol=1e-6)
    with pytest.warns(UserWarning, match="pixel fallback"):
        assert perc.make_perceptual("auto", device="cuda")[0] == "pixel"
    with pytest.raises(StylebridgeError, match="weights install"):
        perc.make_perceptual("lpips")
    r = invert(G, targets[:2], "sefa", D=D, steps=20, perceptual="discriminator")
    assert r.perceptual == "discriminator" and r.losses.isfinite().all()


def test_the_targets_side_of_a_feature_distance_is_computed_once(G, D, targets, monkeypatch):
    """The projector compares every step against the same targets: LPIPS and D features of the
    targets are computed once (one backbone pass fewer per step), with the same distances."""
    from stylebridge.metrics import lpips as lp

    torch.manual_seed(0)
    fake = lp.LPIPS("vgg")
    monkeypatch.setattr(lp, "load_lpips", lambda net="vgg", device="cpu", **k: fake)
    x = targets.flip(0) * 0.5
    for kind in ("lpips", "discriminator"):
        _, dist = perc.make_perceptual(kind, D=D, device="cpu")
        calls = []
        real = dist.features
        dist.features = lambda t, real=real: calls.append(len(t)) or real(t)
        compare = perc.against(dist, targets)
        assert calls == [3]  # the targets, once
        full = compare(x, None)
        idx = torch.tensor([2, 0])
        part = compare(x[idx], idx)
        assert calls == [3, 3, 2]  # then only the images
        assert torch.allclose(full, dist(x, targets), atol=1e-6)
        assert torch.allclose(part, dist(x[idx], targets[idx]), atol=1e-6)
    pixel = perc.against(perc.pixel_gradient_distance, targets)  # a plain distance: both sides each time
    assert torch.equal(pixel(x, None), perc.pixel_gradient_distance(x, targets))
    # and a projection with LPIPS finds the same codes as before the cache (it recomputed the targets)
    r = invert(G, targets, "wplus", steps=6, perceptual="lpips", early_stop=False, batch_size=3)
    ref_dist = perc.make_perceptual("lpips", device="cpu")[1]
    ref = project(G, targets, ProjectorConfig(method="wplus", steps=6, early_stop=False),
                  lambda a, b: ref_dist(a, b), stats_for(G, "wplus"))
    assert torch.allclose(r.ws, ref.ws, atol=1e-5)

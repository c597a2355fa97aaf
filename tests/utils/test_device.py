import pytest
import torch

from stylebridge.generate import exact_fp32
from stylebridge.utils.device import fast_cuda, tf32, upload


def _flags():
    return torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32


def test_tf32_is_set_for_the_duration_and_restored():
    before = _flags()
    with tf32(True, "cuda"):
        assert _flags() == (True, True)
        with exact_fp32("cuda"):  # generate's exact mode inside an inversion: off, then back on
            assert _flags() == (False, False)
        assert _flags() == (True, True)
    assert _flags() == before


def test_tf32_restores_after_an_error_and_ignores_other_devices():
    before = _flags()
    with pytest.raises(ValueError):
        with tf32(True, torch.device("cuda", 0)):
            raise ValueError("boom")
    assert _flags() == before
    for dev in ("cpu", torch.device("meta"), None):
        with tf32(not before[0], dev):
            assert _flags() == before


def test_fast_cuda_turns_on_tf32_and_the_autotuner_for_the_duration_only():
    before = _flags(), torch.backends.cudnn.benchmark
    with pytest.raises(ValueError):
        with fast_cuda("cuda"):
            assert _flags() == (True, True) and torch.backends.cudnn.benchmark
            raise ValueError("boom")
    assert (_flags(), torch.backends.cudnn.benchmark) == before
    with fast_cuda("cpu"):
        assert (_flags(), torch.backends.cudnn.benchmark) == before


def test_tf32_speaks_the_newer_api_when_the_process_uses_it():
    """Once fp32_precision was set, PyTorch refuses to read allow_tf32: the helper switches."""
    m, c = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    saved = m.fp32_precision, c.fp32_precision
    try:
        m.fp32_precision = "ieee"
        with tf32(True, "cuda"):
            assert (m.fp32_precision, c.fp32_precision) == ("tf32", "tf32")
        assert m.fp32_precision == "ieee"
    finally:
        m.fp32_precision, c.fp32_precision = saved


def test_upload_keeps_cpu_tensors_and_never_blocks_on_a_device():
    from tests.fakedevice import FAKE, fake_accelerator

    t = torch.arange(6.0).reshape(2, 3)
    assert upload(t, "cpu") is t
    with fake_accelerator() as acc:
        d = upload(t, FAKE)
        assert acc.blocking_uploads == 0 and d.device == FAKE
        back = d.cpu()
        t.add_(1)  # the source may change once upload returned
        assert upload(d, FAKE) is d and acc.blocking_uploads == 0
    assert torch.equal(back, torch.arange(6.0).reshape(2, 3))

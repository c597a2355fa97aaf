"""The strided FIR filter under bf16 on a CPU runs in fp32 (oneDNN's bf16 kernel for it is
many times slower there: benchmarks/bench_bf16_cpu.py), and stays what the bf16 path gives:
the same dtype out, the same numbers to bf16 rounding, gradients through it."""

import torch

from stylebridge.networks import ops


def test_strided_fir_in_bf16_runs_in_fp32_and_keeps_the_callers_dtype():
    torch.manual_seed(0)
    f = ops.setup_filter()
    x = torch.randn(2, 3, 8, 8)
    ref = ops.downsample2d(x, f)
    for inp, ctx_dtype in ((x.bfloat16(), None), (x, torch.bfloat16)):
        inp = inp.detach().requires_grad_(True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=ctx_dtype is not None):
            assert ops._bf16_on_cpu(inp)
            y = ops.downsample2d(inp, f)
        assert y.dtype == inp.dtype and y.shape == (2, 3, 4, 4)
        torch.testing.assert_close(y.float(), ref, atol=0.02, rtol=0.02)
        y.float().sum().backward()
        assert inp.grad is not None and inp.grad.dtype == inp.dtype and inp.grad.abs().sum() > 0
    assert not ops._bf16_on_cpu(x)  # fp32 outside autocast: the plain path
    with torch.autocast("cpu", dtype=torch.float16):
        assert not ops._bf16_on_cpu(x)

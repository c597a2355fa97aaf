"""fp16 blocks (NVIDIA's scheme, used by `train --precision fp16` on CUDA): the batched
synthesis layer pre-normalises weight and styles so its fp16 products stay in range."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from stylebridge.networks import ops


def test_batched_layer_in_fp16_does_not_overflow():
    torch.manual_seed(0)
    x = torch.randn(2, 64, 8, 8) * 200            # activations near NVIDIA's conv_clamp 256
    w = torch.randn(32, 64, 3, 3)
    s = torch.randn(2, 64) * 20 + 20
    b = torch.zeros(32)
    naive = F.conv2d((x * s[:, :, None, None]).half(), w.half(), padding=1)
    assert not torch.isfinite(naive).all()        # without the pre-normalisation fp16 overflows
    ref = ops.modulated_conv_lrelu(x, w, s, b, None)
    got = ops.modulated_conv_lrelu(x.half(), w, s, b, None, clamp=256)
    assert got.dtype == torch.float16 and torch.isfinite(got).all()
    assert (got.float() - ref.clamp(-256, 256)).abs().max() < 1e-2 * ref.abs().max()

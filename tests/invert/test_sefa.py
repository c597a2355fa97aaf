import numpy as np
import pytest
import torch

from stylebridge.errors import StylebridgeError
from stylebridge.invert.projector import latent_stats
from stylebridge.invert.sefa import (
    apply_factor,
    conv_layers,
    factorize,
    load_basis,
    parse_layers,
    save_basis,
    stacked_affine_weights,
)


def test_basis_orthonormal_and_matches_direct_svd(G):
    b = factorize(G, "all")
    V = b.vectors.double()
    assert V.shape == (G.w_dim, G.w_dim)
    assert torch.allclose(V @ V.t(), torch.eye(G.w_dim, dtype=torch.float64), atol=1e-5)
    A = stacked_affine_weights(G, b.layers)
    _, S, Vh = torch.linalg.svd(A, full_matrices=False)
    assert torch.allclose(b.values.double(), S.square(), rtol=1e-4, atol=1e-6)
    # Same directions up to sign (eigenvalues of a random tiny net are distinct).
    cos = (V @ Vh.t()).diagonal().abs()
    assert torch.allclose(cos, torch.ones_like(cos), atol=1e-4)
    assert (b.values[:-1] >= b.values[1:]).all()


def test_weights_are_effective_affine_weights(G):
    layer = G.synthesis.b8.conv0.affine
    A = stacked_affine_weights(G, [1], normalize=False)
    assert torch.allclose(A.float(), layer.weight * layer.weight_gain)
    An = stacked_affine_weights(G, [1])
    assert torch.allclose(An.norm(dim=1), torch.ones(An.shape[0], dtype=An.dtype))


def test_layer_specs(G):
    n = len(conv_layers(G))
    assert n == G.num_ws - 1
    assert parse_layers(G, "all") == list(range(n))
    assert parse_layers(G, "coarse") == [0, 1, 2]
    assert parse_layers(G, "1-2,0") == [0, 1, 2]
    with pytest.raises(StylebridgeError, match="out of range"):
        parse_layers(G, "0-40")
    assert factorize(G, "coarse").layers == [0, 1, 2]


def test_v_maps_back_exactly(G):
    stats = latent_stats(G, factorize(G).vectors, samples=500)
    w = G.mapping(torch.randn(4, G.z_dim), None)[:, 0]
    v = stats.v_from_w(w)
    assert torch.allclose(stats.w_from_v(v), w, atol=1e-5)
    assert torch.allclose(stats.w_from_v(torch.zeros(1, G.w_dim)), G.mapping.w_avg[None])


def test_basis_file_roundtrip_and_bad_file(G, tmp_path):
    b = factorize(G, "0-3")
    save_basis(b, tmp_path / "b.npz")
    c = load_basis(tmp_path / "b.npz", G.w_dim)
    assert torch.equal(c.vectors, b.vectors) and c.layers == [0, 1, 2, 3]
    np.savez(tmp_path / "x.npz", w=np.zeros(3))
    with pytest.raises(StylebridgeError, match="not a basis"):
        load_basis(tmp_path / "x.npz")
    with pytest.raises(StylebridgeError, match="w_dim"):
        load_basis(tmp_path / "b.npz", G.w_dim + 1)


def test_apply_factor_moves_only_chosen_layers(G):
    ws = torch.zeros(2, G.num_ws, G.w_dim)
    d = torch.zeros(G.w_dim)
    d[0] = 1
    out = apply_factor(ws, d, 3.0, [1, 2])
    assert out[:, 1:3, 0].eq(3).all() and out[:, 0].eq(0).all() and out[:, 3:].eq(0).all()
    assert apply_factor(ws, d, -2.0)[:, :, 0].eq(-2).all()

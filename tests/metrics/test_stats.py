import numpy as np
import pytest
import scipy.linalg
import torch
from PIL import Image

from stylebridge.metrics import registry
from stylebridge.metrics.stats import (
    cached_folder_features,
    feature_moments,
    frechet_distance,
    kernel_inception_distance,
)


def _direct_fid(fa, fb):
    """Textbook formula with scipy's sqrtm (as pytorch-fid / NVIDIA compute it)."""
    mu1, mu2 = fa.mean(0), fb.mean(0)
    s1, s2 = np.cov(fa, rowvar=False), np.cov(fb, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean.real))


def test_fid_equals_direct_scipy_computation():
    rng = np.random.RandomState(0)
    fa = rng.randn(200, 16)
    fb = rng.randn(150, 16) @ rng.randn(16, 16) * 0.5 + 0.3
    ours = frechet_distance(*feature_moments(fa), *feature_moments(fb))
    assert ours == pytest.approx(_direct_fid(fa, fb), rel=1e-7)
    assert frechet_distance(*feature_moments(fa), *feature_moments(fa)) == pytest.approx(0, abs=1e-9)


def test_kid_unbiased_near_zero_for_one_distribution():
    rng = np.random.RandomState(1)
    same = [kernel_inception_distance(rng.randn(100, 32), rng.randn(100, 32), num_subsets=10, seed=s)["kid"]
            for s in range(20)]
    shifted = kernel_inception_distance(rng.randn(100, 32), rng.randn(100, 32) + 0.5, num_subsets=10)["kid"]
    se = np.std(same) / np.sqrt(len(same))
    assert abs(np.mean(same)) < 3 * se      # unbiased: mean indistinguishable from 0
    assert min(same) < 0 < max(same)          # (a biased estimator would stay positive)
    assert shifted > 20 * abs(np.mean(same)) and shifted > 0


def test_kid_matches_nvidia_loop_formula():
    rng = np.random.RandomState(2)
    a, b = rng.randn(40, 8), rng.randn(30, 8)
    ours = kernel_inception_distance(a, b, num_subsets=3, max_subset_size=20, seed=5)["kid"]
    r, n, m, t = np.random.RandomState(5), 8, 20, 0.0
    for _ in range(3):
        x, y = a[r.choice(40, m, replace=False)], b[r.choice(30, m, replace=False)]
        k = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
        t += (k.sum() - np.diag(k).sum()) / (m - 1) - ((x @ y.T / n + 1) ** 3).sum() * 2 / m
    assert ours == pytest.approx(t / 3 / m, rel=1e-10)


class CountingExtractor(torch.nn.Module):
    """Stand-in for InceptionV3: mean colour and a few pooled values of uint8 images."""

    cache_name = "counting-test-extractor"

    def __init__(self):
        super().__init__()
        self.images = 0

    def forward(self, x):
        self.images += x.shape[0]
        x = x.float() / 255
        return torch.cat([x.mean((2, 3)), torch.nn.functional.adaptive_avg_pool2d(x, 2).flatten(1)], 1)


def _folder(path, n, seed, shift=0):
    path.mkdir()
    rng = np.random.RandomState(seed)
    for i in range(n):
        a = np.clip(rng.randint(0, 200, (8, 8, 3)) + shift, 0, 255).astype(np.uint8)
        Image.fromarray(a).save(path / f"{i:03d}.png")
    return path


def test_folder_features_cached_and_invalidated(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEBRIDGE_STATS_CACHE", str(tmp_path / "cache"))
    d = _folder(tmp_path / "a", 5, 0)
    ext = CountingExtractor()
    f1 = cached_folder_features(d, ext, "t", batch_size=2)
    assert ext.images == 5 and f1.shape == (5, 15)
    f2 = cached_folder_features(d, ext, "t", batch_size=2)
    assert ext.images == 5 and np.array_equal(f1, f2)           # served from the cache
    assert len(list((tmp_path / "cache").iterdir())) == 1
    cached_folder_features(d, ext, "other-net", batch_size=2)
    assert ext.images == 10                                      # network is part of the key
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(d / "004.png")
    f3 = cached_folder_features(d, ext, "t", batch_size=2)
    assert ext.images == 15 and not np.array_equal(f1, f3)       # a changed file is noticed


def test_registry_fid_kid_folders_and_generator(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEBRIDGE_STATS_CACHE", str(tmp_path / "cache"))
    a = _folder(tmp_path / "a", 12, 0)
    b = _folder(tmp_path / "b", 12, 1, shift=60)
    ext = CountingExtractor()
    r = registry.compute("fid", a=a, b=b, extractor=ext)
    assert set(r) == {"fid", "n_a", "n_b"} and r["fid"] > 0 and r["n_a"] == 12
    assert registry.compute("fid", a=a, b=a, extractor=ext)["fid"] == pytest.approx(0, abs=1e-9)
    k = registry.compute("kid", a=a, b=b, extractor=ext, num_subsets=5)
    assert k["kid"] > 0 and k["subset_size"] == 12

    from stylebridge.networks import create_generator

    G = create_generator("tiny-16").eval()
    g1 = registry.compute("fid", a=a, b=G, extractor=ext, num_gen=10, batch_size=4)
    g2 = registry.compute("fid", a=a, b=G, extractor=ext, num_gen=10, batch_size=3)
    assert g1["n_b"] == 10 and g1["fid"] == pytest.approx(g2["fid"], rel=1e-5)  # seeded, batch-independent
    with pytest.raises(ValueError, match="unknown metric"):
        registry.compute("fidd")

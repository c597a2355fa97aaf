"""FID and KID: Inception features of image folders or generators, cached statistics.

FID (Heusel et al. 2017): |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)), features in
float64, covariance with ddof=1 (as numpy's `np.cov`, NVIDIA's and pytorch-fid's code).
KID (Binkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel
k(x, y) = (x.y / d + 1)^3, averaged over random subsets, as NVIDIA's `kernel_inception_distance`.

Feature statistics of a folder are cached under a hash of (file paths, sizes, mtimes,
network, options) in ~/.cache/stylebridge/feature-stats ($STYLEBRIDGE_STATS_CACHE), written
atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch

from stylebridge.data.images import list_images, load_image, to_uint8
from stylebridge.errors import StylebridgeError
from stylebridge.utils.io import atomic_path


def frechet_distance(mu_a: np.ndarray, sigma_a: np.ndarray, mu_b: np.ndarray, sigma_b: np.ndarray) -> float:
    """FID from means and covariances. tr((S_a S_b)^(1/2)) is computed as the sum of square
    roots of the eigenvalues of S_a^(1/2) S_b S_a^(1/2) (symmetric PSD: stable, real)."""
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    sa, sb = np.asarray(sigma_a, np.float64), np.asarray(sigma_b, np.float64)
    if mu_a.shape != mu_b.shape or sa.shape != sb.shape:
        raise StylebridgeError(f"feature statistics differ in size: {mu_a.shape} vs {mu_b.shape}")
    ea, va = np.linalg.eigh((sa + sa.T) / 2)
    root_a = (va * np.sqrt(np.clip(ea, 0, None))) @ va.T
    m = root_a @ sb @ root_a
    ev = np.linalg.eigvalsh((m + m.T) / 2)
    tr_covmean = np.sqrt(np.clip(ev, 0, None)).sum()
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(sa) + np.trace(sb) - 2 * tr_covmean)



def fid_from_features(fa: np.ndarray, fb: np.ndarray) -> float:
    """FID of two feature sets. With fewer images than features on a side, the covariances
    have low rank and tr((S_a S_b)^(1/2)) is the nuclear norm of X_a X_b^T / sqrt((n_a-1)(n_b-1))
    (X centred features): the same value as `frechet_distance`, without d x d eigenproblems."""
    a, b = np.asarray(fa, np.float64), np.asarray(fb, np.float64)
    if min(len(a), len(b)) >= a.shape[1]:
        return frechet_distance(*feature_moments(a), *feature_moments(b))
    feature_moments(a[:2]), feature_moments(b[:2])  # the same checks (>= 2 vectors, 2-d)
    if a.shape[1] != b.shape[1]:
        raise StylebridgeError(f"feature statistics differ in size: {a.shape[1]} vs {b.shape[1]}")
    xa, xb = a - a.mean(0), b - b.mean(0)
    ca, cb = len(a) - 1, len(b) - 1
    tr_covmean = np.linalg.svd(xa @ xb.T, compute_uv=False).sum() / np.sqrt(ca * cb)
    diff = a.mean(0) - b.mean(0)
    return float(diff @ diff + (xa * xa).sum() / ca + (xb * xb).sum() / cb - 2 * tr_covmean)

def feature_moments(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise StylebridgeError(f"need at least 2 feature vectors for FID, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def kernel_inception_distance(feats_a: np.ndarray, feats_b: np.ndarray, num_subsets: int = 100,
                              max_subset_size: int = 1000, seed: int = 0) -> dict:
    """Unbiased MMD^2 (cubic polynomial kernel) over `num_subsets` random subsets of size
    m = min(len(a), len(b), max_subset_size); returns mean and standard deviation."""
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    n = a.shape[1]
    m = min(a.shape[0], b.shape[0], max_subset_size)
    if m < 2:
        raise StylebridgeError("KID needs at least 2 images on each side")
    rng = np.random.RandomState(seed)
    vals = []
    for _ in range(num_subsets):
        x = a[rng.choice(a.shape[0], m, replace=False)]
        y = b[rng.choice(b.shape[0], m, replace=False)]
        kxx = (x @ x.T / n + 1) ** 3
        kyy = (y @ y.T / n + 1) ** 3
        kxy = (x @ y.T / n + 1) ** 3
        t = ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.sum() / (m * m)
        vals.append(t)
    vals = np.asarray(vals)
    return {"kid": float(vals.mean()), "kid_std": float(vals.std()), "subsets": num_subsets, "subset_size": m}


# ---------------------------------------------------------------- features

Extractor = Callable[[torch.Tensor], torch.Tensor]  # uint8-valued [N, 3, H, W] -> [N, D]


def load_inception(device: str | torch.device = "cpu", path=None):
    from stylebridge.metrics.inception import InceptionV3
    from stylebridge.metrics.weights import load_weights

    m = InceptionV3()
    m.load_official(load_weights("inception", path))
    return m.eval().requires_grad_(False).to(device)


def _rgb_uint8(imgs: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] in [-1, 1] -> uint8 RGB (grey repeated, alpha dropped), NVIDIA's rounding."""
    if imgs.shape[1] == 1:
        imgs = imgs.repeat(1, 3, 1, 1)
    return to_uint8(imgs[:, :3])


@torch.no_grad()
def _run(extractor: Extractor, batch_u8: torch.Tensor, device) -> np.ndarray:
    return extractor(batch_u8.to(device)).detach().float().cpu().numpy().astype(np.float32)


def folder_features(files: Iterable[Path], extractor: Extractor, batch_size: int = 32,
                    device="cpu", resolution: int | None = None, progress: bool = False) -> np.ndarray:
    """Features of image files (loaded as RGB uint8; `resolution` resizes first). Consecutive
    images of one size are batched together."""
    files = list(files)
    out, batch = [], []
    it = files
    if progress:
        from tqdm import tqdm

        it = tqdm(files, desc="features", unit="img")
    for p in it:
        img = _rgb_uint8(load_image(p, resolution=resolution)[None])[0]
        if batch and (img.shape != batch[0].shape or len(batch) == batch_size):
            out.append(_run(extractor, torch.stack(batch), device))
            batch = []
        batch.append(img)
    if batch:
        out.append(_run(extractor, torch.stack(batch), device))
    return np.concatenate(out, axis=0)


def generate_images(G, num: int, seed: int, batch_size: int, device="cpu", truncation_psi: float = 1.0,
                    noise_mode: str = "random"):
    """Yield batches of [-1, 1] images from a generator: z (and random labels) from a seeded
    torch.Generator; per-layer noise drawn from the torch RNG seeded with `seed + 1` when
    noise_mode='random' (as NVIDIA's metrics sample)."""
    g = torch.Generator().manual_seed(int(seed))
    devices = [torch.device(device).index or 0] if torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed) + 1)
        done = 0
        while done < num:
            n = min(batch_size, num - done)
            z = torch.randn(n, G.z_dim, generator=g).to(device)
            c = None
            if getattr(G, "c_dim", 0):
                c = torch.nn.functional.one_hot(torch.randint(G.c_dim, (n,), generator=g), G.c_dim).float().to(device)
            with torch.no_grad():
                yield G(z, c, truncation_psi=truncation_psi, noise_mode=noise_mode)
            done += n


def generator_features(G, extractor: Extractor, num: int, seed: int = 0, batch_size: int = 32, device="cpu",
                       truncation_psi: float = 1.0, progress: bool = False) -> np.ndarray:
    out = []
    batches = generate_images(G, num, seed, batch_size, device, truncation_psi)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, total=(num + batch_size - 1) // batch_size, desc="generate", unit="batch")
    for imgs in batches:
        out.append(_run(extractor, _rgb_uint8(imgs.float().cpu()), device))
    return np.concatenate(out, axis=0)


# ---------------------------------------------------------------- cache

def stats_cache_dir() -> Path:
    env = os.environ.get("STYLEBRIDGE_STATS_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "stylebridge" / "feature-stats"


def cache_key(files: list[Path], network: str, options: dict) -> str:
    entries = []
    for p in files:
        st = p.stat()
        entries.append([str(p.resolve()), st.st_size, st.st_mtime_ns])
    blob = json.dumps({"files": entries, "network": network, "options": options}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def cached_folder_features(folder, extractor: Extractor, network: str, batch_size: int = 32, device="cpu",
                           resolution: int | None = None, max_items: int | None = None,
                           use_cache: bool = True, progress: bool = False) -> np.ndarray:
    """Features of the images in `folder`, read from / written to the statistics cache.
    `network` names the extractor and its weights (part of the cache key)."""
    files = list_images(folder)
    if max_items is not None:
        files = files[:max_items]
    key = cache_key(files, network, {"resolution": resolution, "kind": "features-v1"})
    path = stats_cache_dir() / f"{key}.npy"
    if use_cache and path.is_file():
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            pass  # damaged cache entry: recompute
    feats = folder_features(files, extractor, batch_size, device, resolution, progress)
    if use_cache:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, feats, allow_pickle=False)
    return feats

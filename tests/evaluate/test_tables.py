"""The paper's tables: Table II row (translation) and Table III (inversion).

Without weights: seeded random LPIPS and a pooled-pixel feature extractor prove that every
column is computed from exactly the outputs saved, with the right pairing and grouping.
With the installed weights (skip, or fail under STYLEBRIDGE_REQUIRE_WEIGHTS=1): both CLI
verbs end to end. FID of a handful of images is biased; the tests only check plumbing.
"""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import stylebridge.evaluate.tables as tables
from stylebridge.cli.main import main
from stylebridge.data.images import list_images, load_image, save_image
from stylebridge.errors import StylebridgeError
from stylebridge.formats import save_checkpoint
from stylebridge.metrics.lpips import LPIPS
from stylebridge.metrics.ssim import ssim
from stylebridge.metrics.stats import feature_moments, fid_from_features, frechet_distance
from stylebridge.metrics.weights import WeightsMissingError
from stylebridge.networks import create_generator
from stylebridge.translate import Zoo
from tests.conftest import derived, randomize_
from tests.metrics.metric_helpers import require_weights

FAST = dict(steps=3, perceptual="pixel")


class PoolFeatures:
    """Stand-in for Inception: 4x4 average-pooled RGB of uint8 images (48 features)."""
    cache_name = "pool4-test"

    def __call__(self, u8):
        assert u8.dtype == torch.uint8 and u8.shape[1] == 3
        return F.adaptive_avg_pool2d(u8.float() / 255, 4).flatten(1)


@pytest.fixture(scope="module")
def lp():
    torch.manual_seed(0)
    m = LPIPS("vgg")
    for lin in m.lins:
        lin.weight.data.abs_()
    return m


@pytest.fixture(scope="module")
def base():
    torch.manual_seed(0)
    return randomize_(create_generator("tiny-16")).eval()


@pytest.fixture
def zoo(base):
    return Zoo.from_models({"base": base, "anime": derived(base, 1)}, base="base")


def _folder(path, G, n, seed):
    with torch.no_grad():
        imgs = G(torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed)), noise_mode="const")
    for i, im in enumerate(imgs.clamp(-1, 1)):
        save_image(im, path / f"img{i}.png")
    return path


def _feats(files):
    return PoolFeatures()(torch.stack([((load_image(f) + 1) * 127.5).round().to(torch.uint8) for f in files]))


def test_translation_row_is_computed_from_the_saved_outputs(zoo, lp, tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEBRIDGE_STATS_CACHE", str(tmp_path / "cache"))
    src = _folder(tmp_path / "in", zoo["base"], 3, 1)
    ref = _folder(tmp_path / "ref", zoo["anime"], 4, 2)
    out = tmp_path / "out"
    row = tables.evaluate_translation(zoo, src, "anime", reference_dir=ref, modes=3, outdir=out, lpips_net=lp,
                                      extractor=PoolFeatures(), log=lambda m: None, **FAST)
    assert row["n"] == 3 and row["modes"] == 3 and row["n_fid"] == 3 and row["n_fid_modes"] == 9
    names = ["img0", "img1", "img2"]
    inputs = torch.stack([load_image(src / f"{n}.png") for n in names])
    plain = torch.stack([load_image(out / n / "anime.png") for n in names])
    # input k gets seeds 3k..3k+2: different appearance codes for different inputs
    assert (out / "img2" / "anime_seed6.png").exists() and (out / "img2" / "anime_seed8.png").exists()
    modes = [sorted((out / n).glob("anime_seed*.png")) for n in names]
    assert all(len(m) == 3 for m in modes)
    # LPIPS_s: input vs its own plain translation, averaged
    assert row["lpips_s"] == pytest.approx(float(lp(inputs, plain).double().mean()), rel=1e-5)
    assert row["lpips_s"] != pytest.approx(float(lp(inputs, plain.roll(1, 0)).double().mean()), rel=1e-3)
    # LPIPS_d: pairs within one input's modes only, then averaged over inputs
    per = []
    for m in modes:
        x = torch.stack([load_image(f) for f in m])
        per.append(float(lp(x[[0, 0, 1]], x[[1, 2, 2]]).double().mean()))
    assert row["lpips_d"] == pytest.approx(np.mean(per), rel=1e-5)
    assert row["lpips_d_sem"] == pytest.approx(np.std(per, ddof=1) / np.sqrt(3), rel=1e-4)
    assert tables.folder_diversity(out, "anime_seed*.png", lp)["lpips_d"] == pytest.approx(row["lpips_d"], rel=1e-5)
    # FID of plain and of multi-modal outputs against the reference features
    fr = _feats(list_images(ref)).numpy()
    fp = _feats([out / n / "anime.png" for n in names]).numpy()
    fm = _feats([f for m in modes for f in m]).numpy()
    assert row["fid"] == pytest.approx(frechet_distance(*feature_moments(fp), *feature_moments(fr)), rel=1e-5)
    assert row["fid_modes"] == pytest.approx(frechet_distance(*feature_moments(fm), *feature_moments(fr)), rel=1e-5)
    assert "kid" in row and "kid_modes" in row and any("biased" in n for n in row["notes"])
    table = tables.translation_table(row)
    assert "| base → anime | 3 |" in table and f"{row['fid']:.2f}" in table
    # a re-run reuses the saved inversions and gives the same row
    logs = []
    again = tables.evaluate_translation(zoo, src, "anime", reference_dir=ref, modes=3, outdir=out, lpips_net=lp,
                                        extractor=PoolFeatures(), log=logs.append, **FAST)
    assert any("resume: 3 of 3" in m for m in logs)
    assert again["fid"] == row["fid"] and again["lpips_d"] == row["lpips_d"]


def test_translation_without_reference_or_modes(zoo, lp, tmp_path):
    src = _folder(tmp_path / "in", zoo["base"], 2, 1)
    row = tables.evaluate_translation(zoo, src, "anime", modes=0, lpips_net=lp, log=lambda m: None, **FAST)
    assert "fid" not in row and row["lpips_d"] is None and row["lpips_s"] > 0
    json.dumps(row, allow_nan=False)  # strict JSON: undefined values are null
    assert any("FID not computed" in n for n in row["notes"]) and any("--modes 2" in n for n in row["notes"])
    assert "| base → anime | 2 | n/a | n/a | n/a | n/a | n/a |" in tables.translation_table(row)
    with pytest.raises(StylebridgeError, match="one target"):
        tables.evaluate_translation(zoo, src, "all", lpips_net=lp, **FAST)


def test_missing_weights_fail_before_any_inversion(zoo, lp, tmp_path, no_weights, monkeypatch):
    import stylebridge.invert.api as api

    monkeypatch.setattr(api, "invert_folder", lambda *a, **k: pytest.fail("inverted before checking weights"))
    src = _folder(tmp_path / "in", zoo["base"], 2, 1)
    with pytest.raises(WeightsMissingError, match="stylebridge weights install"):
        tables.evaluate_translation(zoo, src, "anime", **FAST)
    with pytest.raises(WeightsMissingError, match="inception"):  # LPIPS given, FID needs Inception
        tables.evaluate_translation(zoo, src, "anime", reference_dir=src, lpips_net=lp, **FAST)
    with pytest.raises(WeightsMissingError):
        tables.evaluate_inversion(zoo["base"], src, ["w"], **FAST)


def test_inversion_table(base, lp, tmp_path):
    src = _folder(tmp_path / "in", base, 3, 3)
    out = tmp_path / "inv"
    r = tables.evaluate_inversion(base, src, "w,wplus", outdir=out, lpips_net=lp, log=lambda m: None, **FAST)
    assert [row["method"] for row in r["rows"]] == ["w", "wplus"]
    for row in r["rows"]:
        x = torch.stack([load_image(f) for f in list_images(src)])
        y = torch.stack([load_image(out / row["method"] / f"img{i}.png") for i in range(3)])
        s = ssim(x, y).double()
        assert row["n"] == 3 and row["ssim"] == pytest.approx(float(s.mean()), abs=1e-9)
        assert row["ssim_sem"] == pytest.approx(float(s.std() / np.sqrt(3)), rel=1e-6)
        assert row["lpips"] == pytest.approx(float(lp(x, y).double().mean()), rel=1e-5)
        assert row["seconds_per_image"] > 0 and row["steps_mean"] <= 3 and row["perceptual_loss"] == "pixel"
        # the same SSIM as invert_folder's own summary (5 decimals)
        with open(out / row["method"] / "summary.csv") as f:
            summ = [float(line.split(",")[7]) for line in f.readlines()[1:]]
        assert row["ssim"] == pytest.approx(np.mean(summ), abs=1e-5)
    table = tables.inversion_table(r)
    assert table.startswith("| method | SSIM | LPIPS (vgg) |") and "| wplus | " in table
    with pytest.raises(StylebridgeError, match="unknown inversion method"):
        tables.evaluate_inversion(base, src, "sefa,nope", lpips_net=lp)


@pytest.fixture
def zoo_dir(zoo, tmp_path):
    d = tmp_path / "zoo"
    for n in ("base", "anime"):
        save_checkpoint(d / f"{n}.safetensors", G_ema=zoo[n])
    return d


def test_cli_missing_weights_is_one_line(zoo_dir, tmp_path, capsys, no_weights):
    src = _folder(tmp_path / "in", create_generator("tiny-16"), 2, 1)
    for args in (["translation", "--zoo", str(zoo_dir), "--to", "anime", str(src)],
                 ["inversion", str(zoo_dir / "base.safetensors"), str(src), "--methods", "w"]):
        assert main(["evaluate", *args, "--steps", "2"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "stylebridge weights install" in err and "Traceback" not in err
    assert main(["evaluate", "inversion", str(zoo_dir / "base.safetensors"), str(src), "--methods", "x"]) == 2
    assert "unknown inversion method" in capsys.readouterr().err


def test_cli_translation_with_installed_weights(zoo, zoo_dir, tmp_path, capsys, monkeypatch):
    require_weights("vgg16", "lpips_vgg", "inception")
    monkeypatch.setenv("STYLEBRIDGE_STATS_CACHE", str(tmp_path / "cache"))
    src = _folder(tmp_path / "in", zoo["base"], 2, 1)
    ref = _folder(tmp_path / "ref", zoo["anime"], 3, 2)
    assert main(["evaluate", "translation", "--zoo", str(zoo_dir), "--from", "base", "--to", "anime", str(src),
                 "--modes", "2", "--reference-dir", str(ref), "--steps", "2", "--perceptual", "pixel",
                 "--outdir", str(tmp_path / "out"), "--json", str(tmp_path / "t.json")]) == 0
    out = capsys.readouterr().out
    r = json.loads((tmp_path / "t.json").read_text())
    assert "| base → anime | 2 |" in out and r["lpips_net"] == "vgg"
    assert r["fid"] > 0 and r["n_fid_modes"] == 4 and r["n_reference"] == 3 and "kid" in r
    assert 0 < r["lpips_s"] < 1.5 and 0 <= r["lpips_d"] < 1.5
    assert main(["evaluate", "lpips-d", str(tmp_path / "out"), "--pattern", "anime_seed*.png", "--json", "-"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{"):])["lpips_d"] == pytest.approx(r["lpips_d"], rel=1e-5)


def test_cli_inversion_with_installed_weights(base, zoo_dir, tmp_path, capsys):
    require_weights("vgg16", "lpips_vgg")
    src = _folder(tmp_path / "in", base, 2, 1)
    assert main(["evaluate", "inversion", str(zoo_dir / "base.safetensors"), str(src), "--methods", "w,wplus",
                 "--steps", "2", "--perceptual", "pixel", "--json", str(tmp_path / "i.json")]) == 0
    r = json.loads((tmp_path / "i.json").read_text())
    assert [x["method"] for x in r["rows"]] == ["w", "wplus"] and all(0 <= x["lpips"] < 1.5 for x in r["rows"])
    assert "| wplus |" in capsys.readouterr().out


@pytest.mark.parametrize("na,nb,d", [(3, 5, 48), (40, 7, 16), (60, 70, 16), (2, 4, 300)])
def test_low_rank_fid_equals_frechet_distance(na, nb, d):
    rng = np.random.RandomState(na)
    a, b = rng.randn(na, d) * 2, rng.randn(nb, d) + 0.5
    want = frechet_distance(*feature_moments(a), *feature_moments(b))
    # the eigen route adds sqrt(rounding noise) of the zero eigenvalues: agreement to ~1e-8 relative
    assert fid_from_features(a, b) == pytest.approx(want, rel=1e-7)

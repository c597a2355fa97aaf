"""The paper's evaluation tables as functions returning plain dicts.

* `evaluate_translation` (Table II, one row per model pair and input folder):
  - FID between the plain translations G_t(Inv(x, G_s)) and the target domain's real
    images, and FID between the multi-modal outputs and the same real images
    (`fid_modes`); both need `reference_dir` and the Inception weights. Below
    `KID_BELOW` images on either side KID is reported too, because FID is strongly
    biased upward for small N (the 2048-d covariance is rank-deficient);
  - LPIPS_d: mean LPIPS over all pairs of the `modes` multi-modal outputs of one input,
    averaged over inputs (diversity);
  - LPIPS_s: LPIPS between each input and its plain translation, averaged over inputs
    (content kept); `lpips_s_modes` does the same for the multi-modal outputs.
  Input k (in sorted file order) gets the appearance seeds seed + k*modes .. + modes-1,
  so the multi-modal outputs of different inputs have different appearances.
* `evaluate_inversion` (Table III): per inversion method the SSIM and LPIPS of the
  reconstructions against the inputs (mean and standard error over images) and the
  seconds per image of the optimisation.

Every metric is computed on what would be saved: outputs are rounded to uint8 first.
Inversions go through `invert_folder`, so with an `outdir` (or `latents`) they are kept
and a re-run resumes; translations from known codes are cheap and are recomputed.
LPIPS and Inception weights are loaded before any inversion starts, so a missing file
fails at once with the message that says how to install it.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from stylebridge.data.images import from_uint8, list_images, load_image, save_image, to_uint8
from stylebridge.errors import StylebridgeError
from stylebridge.invert import api as invert_api  # called as invert_api.invert_folder: tests replace it there
from stylebridge.invert.api import input_names, read_summary
from stylebridge.invert.options import DEFAULT_PERCEPTUAL, ENCODER_METHOD, METHODS
from stylebridge.metrics.distance import get_lpips, summarize
from stylebridge.metrics.ssim import ssim as ssim_batch
from stylebridge.metrics.stats import (
    cached_folder_features,
    fid_from_features,
    kernel_inception_distance,
    load_inception,
)
from stylebridge.metrics.weights import WEIGHTS
from stylebridge.translate.options import DEFAULT_TRUNCATION
from stylebridge.translate.outputs import inversion_from_code, output_name
from stylebridge.translate.translator import Translator

KID_BELOW = 2048  # with fewer images on a side than Inception's 2048 features, also report KID
METHOD_ORDER = ("sefa", "w", "wplus")
SMALL_N_NOTE = ("FID on fewer than {k} images is biased upward (compare only values computed with equal N); "
                "KID is unbiased and is reported beside it")


def _inputs(inputs) -> tuple[list[Path], list[str]]:
    root = Path(inputs) if isinstance(inputs, (str, Path)) and Path(inputs).is_dir() else None
    files = list_images(root if root else ([inputs] if isinstance(inputs, (str, Path)) else inputs))
    return files, input_names(files, root)


@contextlib.contextmanager
def _workdir(path) -> Iterator[Path]:
    if path is not None:
        yield Path(path)
    else:
        with tempfile.TemporaryDirectory(prefix="stylebridge-eval-") as d:
            yield Path(d)


def _progress(it, total: int, desc: str, on: bool):
    if not on:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, desc=desc, unit="img")


def _inception(extractor, device):
    if extractor is not None:
        return extractor, getattr(extractor, "cache_name", type(extractor).__name__)
    return load_inception(device), f"inception-fid:{WEIGHTS['inception'].content_sha256[:16]}"


def _rgb_u8(x: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] in [-1, 1] -> uint8 RGB (grey repeated, alpha dropped)."""
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    return to_uint8(x[:, :3])


class _Features:
    """Batches uint8 images through the Inception extractor; keeps only the features."""

    def __init__(self, extractor, device, batch_size: int):
        self.extractor, self.device, self.batch_size = extractor, device, batch_size
        self.pending: list[torch.Tensor] = []
        self.done: list[np.ndarray] = []

    def add(self, images: torch.Tensor) -> None:
        if self.extractor is None:
            return
        self.pending += list(_rgb_u8(images))
        if len(self.pending) >= self.batch_size:
            self.flush()

    @torch.no_grad()
    def flush(self) -> None:
        if self.pending:
            f = self.extractor(torch.stack(self.pending).to(self.device))
            self.done.append(f.detach().float().cpu().numpy())
            self.pending = []

    def result(self) -> np.ndarray:
        self.flush()
        return np.concatenate(self.done) if self.done else np.zeros((0, 2048), np.float32)


def _fid_kid(out: dict, key: str, feats: np.ndarray, ref: np.ndarray, kid: bool | None, seed: int) -> None:
    if len(feats) < 2:
        raise StylebridgeError(f"{key}: FID needs at least 2 images on each side, got {len(feats)} outputs")
    out[key] = fid_from_features(feats, ref)
    out[f"n_{key}"] = int(len(feats))
    if kid or (kid is None and min(len(feats), len(ref)) < KID_BELOW):
        k = kernel_inception_distance(feats, ref, num_subsets=100, max_subset_size=1000, seed=seed)
        out[key.replace("fid", "kid")] = k["kid"]
        out[key.replace("fid", "kid") + "_std"] = k["kid_std"]


def evaluate_translation(zoo, inputs, target: str, *, source: str | None = None, reference_dir=None,
                         modes: int = 5, seed: int = 0, content_layers: int | None = None,
                         truncation_psi: float | None = None, appearance: str | None = None,
                         strength: float | dict[str, float] | None = None, method: str | None = None,
                         perceptual: str = DEFAULT_PERCEPTUAL,
                         batch_size: int = 8, outdir=None, latents=None, lpips_net="vgg", kid: bool | None = None,
                         fid_batch_size: int = 32, use_cache: bool = True, extractor=None, progress: bool = False,
                         log: Callable[[str], None] = print, **invert_options) -> dict:
    """Table II row for translating the images `inputs` (folder or files) from `source`
    (default: the zoo's base) into `target`. `outdir` keeps latents/ and NAME/TARGET*.png
    (translate's layout); `latents` reuses an earlier inversion with the source model.
    `method` None: the zoo's default (`Zoo.default_method`); `appearance` None: the zoo's default
    for that inversion (translate/options.py); `strength` None: the zoo's for the target
    (`Zoo.default_strength`). `invert_options` are ProjectorConfig fields
    (steps=, precision=, ...)."""
    source = source or zoo.base
    targets = zoo.resolve(target)
    if len(targets) != 1:
        raise StylebridgeError(f"evaluate one target at a time, got {', '.join(targets)}")
    target = targets[0]
    zoo.check_pair(source, target)
    if modes < 0:
        raise StylebridgeError(f"modes must be >= 0, got {modes}")
    psi = DEFAULT_TRUNCATION if truncation_psi is None else truncation_psi
    Gs = zoo[source]
    device = zoo.device
    files, names = _inputs(inputs)
    ref_files = list_images(reference_dir) if reference_dir is not None else None
    # Weights first: a missing file fails before minutes of inversion.
    lp = get_lpips(lpips_net, device)
    ext, ext_name = _inception(extractor, device) if ref_files is not None else (None, None)

    translator = Translator(zoo, method=method, perceptual=perceptual, batch_size=batch_size, **invert_options)
    method, options = translator.inversion_for(source)  # the zoo's encoder for its base
    appearance = translator.appearance_for(source, appearance)
    strength = translator.strengths_for([target], strength)[target]
    res, ch = Gs.img_resolution, Gs.img_channels
    plain, multi = _Features(ext, device, fid_batch_size), _Features(ext, device, fid_batch_size)
    lpips_s, lpips_s_modes, lpips_d = [], [], []
    with _workdir(latents if latents is not None else (Path(outdir) / "latents" if outdir else None)) as ldir:
        inv = invert_api.invert_folder(Gs, inputs, ldir, method=method, D=zoo.discriminator(source),
                                       perceptual=perceptual, batch_size=batch_size, shard="0/1", log=log,
                                       **options)
        todo = [(k, f, n) for k, (f, n) in enumerate(zip(files, names)) if (ldir / f"{n}.npz").exists()]
        if not todo:
            raise StylebridgeError(f"no readable input images in {inputs}")
        for k, f, n in _progress(todo, len(todo), f"translate {source}->{target}", progress):
            image = load_image(f, res, ch)[None]
            code = inversion_from_code(ldir / f"{n}.npz", image, method)
            r = translator.translate(image, to=[target], source=source, modes=modes, seed=seed + k * modes,
                                     content_layers=content_layers, truncation_psi=psi, inversion=code,
                                     appearance=appearance, strength=strength)
            u8 = to_uint8(r.outputs[target][0])                      # [1 + modes, C, H, W]
            out = from_uint8(u8)
            if outdir is not None:
                for j, label in enumerate(r.labels[target]):
                    save_image(u8[j], Path(outdir) / n / output_name(target, j, label))
            with torch.no_grad():
                x, y = image.to(device), out.to(device)
                lpips_s.append(float(lp(x, y[:1])[0]))
                plain.add(out[:1])
                if modes:
                    lpips_s_modes.append(float(lp(x.expand(modes, -1, -1, -1), y[1:]).double().mean()))
                    multi.add(out[1:])
                if modes >= 2:
                    i, j = torch.triu_indices(modes, modes, offset=1)
                    lpips_d.append(float(lp(y[1:][i], y[1:][j]).double().mean()))
    row = {"source": source, "target": target, "n": len(todo), "failed": len(inv["failed"]), "modes": modes,
           "seed": seed, "truncation_psi": psi, "content_layers": r.content_layers, "method": method,
           "appearance": appearance, "strength": strength,
           "lpips_net": lp.net_name}
    s = summarize(lpips_s, "lpips_s")
    row.update(lpips_s=s["lpips_s"], lpips_s_sem=s["sem"])
    if modes:
        s = summarize(lpips_s_modes, "x")
        row.update(lpips_s_modes=s["x"], lpips_s_modes_sem=s["sem"])
    s = summarize(lpips_d, "x") if lpips_d else {"x": None, "sem": None}
    row.update(lpips_d=s["x"], lpips_d_sem=s["sem"])
    notes = []
    if modes < 2:
        notes.append("LPIPS_d needs --modes 2 or more")
    if ref_files is not None:
        ref = cached_folder_features(reference_dir, ext, ext_name, fid_batch_size, device, resolution=res,
                                     use_cache=use_cache, progress=progress)
        row["n_reference"] = int(len(ref))
        _fid_kid(row, "fid", plain.result(), ref, kid, seed)
        if modes:
            _fid_kid(row, "fid_modes", multi.result(), ref, kid, seed)
        if min(row["n_fid"], len(ref)) < KID_BELOW:
            notes.append(SMALL_N_NOTE.format(k=KID_BELOW))
        notes.append(f"reference images resized to {res}x{res} (the models' resolution)")
    else:
        notes.append("FID not computed: give the target domain's real images (reference_dir / --reference-dir)")
    row["notes"] = notes
    return _clean(row)


def _clean(d: dict) -> dict:
    """NaN (undefined: one image, no modes) -> None, so the JSON is strict."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def evaluate_inversion(G, inputs, methods: Sequence[str] = METHOD_ORDER, *, D=None,
                       perceptual: str = DEFAULT_PERCEPTUAL,
                       batch_size: int = 8, outdir=None, lpips_net="vgg", progress: bool = False,
                       log: Callable[[str], None] = print, encoder=None, **overrides) -> dict:
    """Table III: for each method, SSIM and LPIPS (mean, standard error) of the uint8
    reconstructions against the inputs at the model's resolution, and seconds per image.
    `outdir` keeps OUTDIR/METHOD/NAME.npz|png|summary.csv; a re-run reuses finished images
    (their recorded seconds included). `overrides` are ProjectorConfig fields of the
    optimisations; method 'encoder' (with `encoder=` a loaded encoder of G) is the encoder's
    codes with its default feedback passes, unrefined."""
    methods = [m.strip() for m in (methods.split(",") if isinstance(methods, str) else methods) if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise StylebridgeError(f"unknown inversion method(s) {', '.join(bad) or '(none)'}; use {', '.join(METHODS)}")
    if ENCODER_METHOD in methods:
        encoder = invert_api.resolve_encoder(G, encoder)  # refused before any work
    device = G.mapping.w_avg.device
    files, names = _inputs(inputs)
    lp = get_lpips(lpips_net, device)  # before inverting: a missing weight file fails at once
    res, ch = G.img_resolution, G.img_channels
    rows = []
    with _workdir(outdir) as root:
        for m in methods:
            mdir = root / m
            opts = {"encoder": encoder} if m == ENCODER_METHOD else overrides
            inv = invert_api.invert_folder(G, inputs, mdir, method=m, D=D, perceptual=perceptual,
                                           batch_size=batch_size, shard="0/1", log=log, **opts)
            summary = read_summary(mdir / "summary.csv")
            ss, ll, secs, steps, used = [], [], [], [], set()
            done = [(f, n) for f, n in zip(files, names) if (mdir / f"{n}.png").exists() and n in summary]
            for f, n in _progress(done, len(done), f"score {m}", progress):
                x = load_image(f, res, ch)[None]
                y = load_image(mdir / f"{n}.png", res, ch)[None]
                with torch.no_grad():
                    ss.append(float(ssim_batch(x, y)[0]))
                    ll.append(float(lp(x.to(device), y.to(device))[0]))
                secs.append(float(summary[n]["seconds"]))
                steps.append(int(summary[n]["steps"]))
                used.add(summary[n]["perceptual"])
            if not done:
                raise StylebridgeError(f"no readable input images in {inputs}")
            s, p = summarize(ss, "ssim"), summarize(ll, "lpips")
            rows.append({"method": m, "ssim": s["ssim"], "ssim_sem": s["sem"], "lpips": p["lpips"],
                         "lpips_sem": p["sem"], "seconds_per_image": float(np.mean(secs)),
                         "steps_mean": float(np.mean(steps)), "n": len(done), "failed": len(inv["failed"]),
                         "perceptual_loss": ",".join(sorted(used))})
    notes = [f"images at the model's resolution ({res}x{res}); reconstructions rounded to uint8 as saved",
             f"seconds per image with batches of {batch_size} on {device.type}"]
    if any("lpips" in r["perceptual_loss"] for r in rows) and lp.net_name == "vgg":
        notes.append("the inversion optimised LPIPS-VGG, so the LPIPS column favours it (use --net alex to "
                     "score with a network the inversion did not see)")
    return {"rows": [_clean(r) for r in rows], "lpips_net": lp.net_name, "resolution": res, "batch_size": batch_size,
            "notes": notes}


# ----------------------------------------------------------------------------- markdown

def _pm(mean, sem, digits: int = 4) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    if sem is None or (isinstance(sem, float) and math.isnan(sem)):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {sem:.{digits}f}"


def _num(v, digits: int = 2) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def translation_table(row: dict) -> str:
    """Markdown: the Table II row (KID x 10^3 as in NVIDIA's reports)."""
    kid = lambda k: "n/a" if k not in row else f"{row[k] * 1e3:.2f} ± {row[k + '_std'] * 1e3:.2f}"  # noqa: E731
    lines = ["| translation | N | FID | FID (modes) | KID ×10³ | KID (modes) ×10³ | LPIPS_d | LPIPS_s |",
             "|---|---|---|---|---|---|---|---|",
             f"| {row['source']} → {row['target']} | {row['n']} | {_num(row.get('fid'))} | "
             f"{_num(row.get('fid_modes'))} | {kid('kid')} | {kid('kid_modes')} | "
             f"{_pm(row['lpips_d'], row['lpips_d_sem'])} | {_pm(row['lpips_s'], row['lpips_s_sem'])} |"]
    return "\n".join(lines + [""] + [f"note: {n}" for n in row.get("notes", [])])


def inversion_table(result: dict) -> str:
    """Markdown: Table III, one row per method."""
    lines = [f"| method | SSIM | LPIPS ({result['lpips_net']}) | s / image | steps | N |", "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['method']} | {_pm(r['ssim'], r['ssim_sem'])} | {_pm(r['lpips'], r['lpips_sem'])} | "
                     f"{r['seconds_per_image']:.3f} | {r['steps_mean']:.0f} | {r['n']} |")
    return "\n".join(lines + [""] + [f"note: {n}" for n in result.get("notes", [])])


# ----------------------------------------------------------------------------- folders

@torch.no_grad()
def folder_diversity(root, pattern: str = "*.png", lpips_net="vgg", device="cpu",
                     resolution: int | None = None) -> dict:
    """LPIPS_d of saved outputs: each sub-folder of `root` is one input, the files in it that
    match `pattern` are its multi-modal outputs (translate's layout: --pattern 'anime_seed*.png')."""
    groups = sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if Path(root).is_dir() else []
    lp = get_lpips(lpips_net, device)
    vals, pairs = [], 0
    for g in groups:
        files = sorted(g.glob(pattern))
        if len(files) < 2:
            continue
        x = torch.stack([load_image(f, resolution) for f in files]).to(device)
        i, j = torch.triu_indices(len(files), len(files), offset=1)
        d = lp(x[i], x[j])
        vals.append(float(d.double().mean()))
        pairs += int(d.numel())
    if not vals:
        raise StylebridgeError(f"no sub-folder of '{root}' holds 2 or more files matching '{pattern}' "
                               "(LPIPS_d needs the multi-modal outputs of each input in its own folder)")
    s = summarize(vals, "lpips_d")
    s.update(pairs=pairs, lpips_net=lp.net_name)
    return s

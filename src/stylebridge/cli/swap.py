"""`stylebridge swap`: the paper's layer swap S as a standalone model file."""

from __future__ import annotations

import click

from stylebridge.cli.common import OutputPath
from stylebridge.train.strength import MAX_STRENGTH


@click.command("swap")
@click.option("--source", required=True, type=click.Path(),
              help="G_s: the base model (gives mapping and coarse blocks).")
@click.option("--target", required=True, type=click.Path(),
              help="G_t: the model fine-tuned from G_s (gives the fine blocks).")
@click.option("--resolution", type=int, default=None,
              help="Blocks up to and including this resolution (px) come from the source.")
@click.option("--ls", type=int, default=None,
              help="The paper's notation instead of --resolution: LS1 / LS3 / LS5 = up to 8 / 16 / 32 px.")
@click.option("--strength", type=click.FloatRange(0, MAX_STRENGTH), default=1.0, show_default=True,
              help="Style strength of the written model: its swapped-in synthesis weights at this many times their "
                   "step from --source's (1 = --target's as trained; above 1 a stronger style, below a fainter).")
@click.option("--out", required=True, type=OutputPath("file"), help="Output .safetensors (G and G_ema, no D).")
@click.option("--force", is_flag=True,
              help="Swap even when the mapping networks differ (models not derived from one base) or the "
                   "configs differ with equal tensor shapes.")
def command(source, target, resolution, ls, strength, out, force):
    """Write a model whose mapping and blocks <= R come from --source, the rest from --target."""
    from stylebridge.errors import StylebridgeError
    from stylebridge.train.swap import ls_to_resolution, swap_checkpoints

    if (resolution is None) == (ls is None):
        raise StylebridgeError("give exactly one of --resolution R or --ls N")
    if ls is not None:
        resolution = ls_to_resolution(ls)
    path = swap_checkpoints(source, target, out, resolution, force=force, strength=strength)
    at = "" if strength == 1 else f" at strength {strength:g}"
    click.echo(f"wrote {path} (mapping and blocks <= {resolution} px from {source}, the rest from {target}{at})")

"""`stylebridge swap`: the paper's layer swap S as a standalone model file (or a blend of the two
models, and at a style strength)."""

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
@click.option("--blend-width", type=click.FloatRange(0, 8), default=0.0, show_default=True,
              help="Blend instead of swapping (model blending, as Pinkney's blend_models): each block a mix of "
                   "both models along a logistic ramp this many octaves wide, centred between --resolution and "
                   "the next block (0 = the layer swap).")
@click.option("--strength", type=click.FloatRange(0, MAX_STRENGTH), default=1.0, show_default=True,
              help="Style strength of the written model: its swapped-in synthesis weights at this many times their "
                   "step from --source's (1 = --target's as trained; above 1 a stronger style, below a fainter).")
@click.option("--out", required=True, type=OutputPath("file"), help="Output .safetensors (G and G_ema, no D).")
@click.option("--force", is_flag=True,
              help="Swap even when the mapping networks differ (models not derived from one base) or the "
                   "configs differ with equal tensor shapes.")
def command(source, target, resolution, ls, blend_width, strength, out, force):
    """Write a model whose mapping and blocks <= R come from --source, the rest from --target.

    \b
    Examples:
      stylebridge swap --source ffhq.pkl --target anime.safetensors --ls 3 --out anime-ls3.safetensors
      stylebridge swap --source ffhq.pkl --target anime.pkl --resolution 16 --blend-width 0.7 --out blend.safetensors
      stylebridge swap --source ffhq.pkl --target anime.safetensors --ls 3 --strength 1.5 --out strong.safetensors
    """
    from stylebridge.errors import StylebridgeError
    from stylebridge.train.swap import ls_to_resolution, swap_checkpoints

    if (resolution is None) == (ls is None):
        raise StylebridgeError("give exactly one of --resolution R or --ls N")
    if ls is not None:
        resolution = ls_to_resolution(ls)
    path = swap_checkpoints(source, target, out, resolution, force=force, strength=strength,
                            blend_width=blend_width)
    at = "" if strength == 1 else f" at strength {strength:g}"
    if blend_width:
        click.echo(f"wrote {path} (mapping from {source}; blocks blended from {source} into {target} around "
                   f"{resolution} px, width {blend_width:g} octaves{at})")
    else:
        click.echo(f"wrote {path} (mapping and blocks <= {resolution} px from {source}, the rest from {target}{at})")

"""`stylebridge swap`: the paper's layer swap S as a standalone model file (or a blend of the two
models, and at a style strength)."""

from __future__ import annotations

import click

from stylebridge.cli.common import OutputPath, SeedList
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
@click.option("--out", default=None, type=OutputPath("file"), help="Output .safetensors (G and G_ema, no D).")
@click.option("--preview", default=None, type=OutputPath("file"),
              help="Also (or instead of --out) write a PNG grid to choose the swap by eye: the same samples drawn "
                   "by --source, by --target and by the swap at every resolution (rows, labelled).")
@click.option("--seeds", type=SeedList(), default="0-7", show_default=True, help="Seeds of the preview's columns.")
@click.option("--trunc", "truncation_psi", type=float, default=1.0, show_default=True,
              help="Truncation psi of the preview's samples (1 = none).")
@click.option("--force", is_flag=True,
              help="Swap even when the mapping networks differ (models not derived from one base) or the "
                   "configs differ with equal tensor shapes.")
def command(source, target, resolution, ls, blend_width, strength, out, preview, seeds, truncation_psi, force):
    """Write a model whose mapping and blocks <= R come from --source, the rest from --target.

    \b
    Examples:
      stylebridge swap --source ffhq.pkl --target anime.safetensors --ls 3 --out anime-ls3.safetensors
      stylebridge swap --source ffhq.pkl --target anime.pkl --resolution 16 --blend-width 0.7 --out blend.safetensors
      stylebridge swap --source ffhq.pkl --target anime.safetensors --ls 3 --strength 1.5 --out strong.safetensors
      stylebridge swap --source ffhq.pkl --target anime.safetensors --preview swaps.png
    """
    from stylebridge.errors import StylebridgeError
    from stylebridge.train.swap import blend_shares, check_strength, ls_to_resolution, swap_checkpoints

    if out is None and preview is None:
        raise StylebridgeError("give --out FILE (the swapped model) and/or --preview FILE.png (every swap, to choose)")
    if out is not None and (resolution is None) == (ls is None):
        raise StylebridgeError("give exactly one of --resolution R or --ls N")
    if out is None and (resolution is not None or ls is not None):
        raise StylebridgeError("--resolution / --ls choose the swap --out writes; --preview draws every resolution")
    if ls is not None:
        resolution = ls_to_resolution(ls)
    if preview is not None:
        check_strength(strength)
        blend_shares([resolution or 4], resolution or 4, blend_width)  # bad options fail before the files load
        _preview(source, target, preview, seeds, truncation_psi, strength, blend_width, force)
    if out is None:
        return
    path = swap_checkpoints(source, target, out, resolution, force=force, strength=strength,
                            blend_width=blend_width)
    at = "" if strength == 1 else f" at strength {strength:g}"
    if blend_width:
        click.echo(f"wrote {path} (mapping from {source}; blocks blended from {source} into {target} around "
                   f"{resolution} px, width {blend_width:g} octaves{at})")
    else:
        click.echo(f"wrote {path} (mapping and blocks <= {resolution} px from {source}, the rest from {target}{at})")


def _preview(source, target, path, seeds, truncation_psi, strength, blend_width, force) -> None:
    from stylebridge.data.images import labelled_grid, save_image
    from stylebridge.formats import load_checkpoint
    from stylebridge.train.swap import swap_preview

    G_s = load_checkpoint(source, generator_only=True).generator.eval()
    G_t = load_checkpoint(target, generator_only=True).generator.eval()
    images, labels = swap_preview(G_s, G_t, seeds, truncation_psi, strength, blend_width, force)
    scale = max(1, -(-64 // images.shape[-1]))  # small models enlarged to at least 64 px, labels legible
    save_image(labelled_grid(images, len(seeds), labels, scale=scale), path)
    click.echo(f"wrote {path}: {len(labels)} rows ({', '.join(labels)}) x {len(seeds)} seeds")

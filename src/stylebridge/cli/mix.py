"""`stylebridge mix`: style-mixing matrices (NVIDIA style_mixing.py conventions)."""

from __future__ import annotations

import click

from stylebridge.cli.common import OutputPath, RangeList, SeedList, device_option, load_noted, resolve_device


@click.command("mix")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--rows", "row_seeds", type=SeedList(), required=True,
              help="Seeds of the rows: each row keeps its seed's w outside --styles.")
@click.option("--cols", "col_seeds", type=SeedList(), required=True,
              help="Seeds of the columns: each column gives its w at --styles.")
@click.option("--styles", type=RangeList(), default="0-6", show_default=True,
              help="Style inputs (ws indices, 0 = the coarsest) taken from the column seeds: low indices carry "
                   "pose and shape, high ones colour and texture. `stylebridge info` shows how many a model has.")
@click.option("--trunc", "truncation_psi", type=float, default=1.0, show_default=True,
              help="Truncation psi of every w: 1 = none, smaller = closer to the mean w.")
@click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const", show_default=True,
              help="const: the checkpoint's stored noise; random: fresh noise per row seed; none: no noise.")
@click.option("--outdir", type=OutputPath("dir"), required=True,
              help="Folder for ROW-COL.png (a mix), SEED-SEED.png (a seed's own image) and grid.png.")
@click.option("--fast", is_flag=True,
              help="The batched form of modulated convolution (a pixel may differ by 1/255); default is NVIDIA's "
                   "arithmetic.")
@device_option
def command(checkpoint, row_seeds, col_seeds, styles, truncation_psi, noise_mode, outdir, fast, device):
    """Style mixing of CHECKPOINT: every row seed's image with the style inputs --styles taken
    from every column seed, as NVIDIA's style_mixing.py draws them (same files, same grid, the
    same pixels as its mixes).

    \b
    Example:
      stylebridge mix ffhq.pkl --rows 85,100,75 --cols 55,821,1789 --styles 0-6 --outdir out/
    writes out/85-55.png ... out/75-1789.png, out/55-55.png ... (each seed's own image) and
    out/grid.png (the column seeds along the top, the row seeds down the left).
    """
    from pathlib import Path

    from stylebridge.data.images import save_image
    from stylebridge.generate import check_styles, style_mix_seeds

    G = load_noted(checkpoint, resolve_device(device), generator_only=True).generator
    check_styles(G, styles)  # before any work
    mix = style_mix_seeds(G, row_seeds, col_seeds, styles, truncation_psi, noise_mode, exact=not fast)
    out = Path(outdir)
    for (r, c), img in mix.images.items():
        save_image(img, out / f"{r}-{c}.png")
    save_image(mix.grid(), out / "grid.png")
    click.echo(f"wrote {len(mix.images)} images and grid.png ({len(mix.rows)} rows x {len(mix.cols)} columns, "
               f"styles {','.join(map(str, mix.styles))}) to {out}/")

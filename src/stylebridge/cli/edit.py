"""`stylebridge edit`: render SeFa direction grids (seed x direction rows, degree columns)."""

from __future__ import annotations

import click

from stylebridge.cli.common import OutputPath, RangeList, SeedList, device_option, precision_option, resolve_device


@click.command("edit")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--basis", type=click.Path(dir_okay=False), required=True,
              help="Basis .npz from `stylebridge factorize`.")
@click.option("--index", "indices", type=RangeList(), default="0-4", show_default=True,
              help="Direction indices (0 = strongest), e.g. 0-4,9.")
@click.option("--degree", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="Largest move along a direction; columns go from -degree to +degree.")
@click.option("--steps", "num_steps", type=click.IntRange(min=2), default=5, show_default=True,
              help="Columns per row (odd numbers include the unedited image).")
@click.option("--seeds", type=SeedList(), default="0", show_default=True, help="Seeds of the edited samples.")
@click.option("--trunc", "truncation_psi", type=float, default=0.7, show_default=True,
              help="Truncation psi of the samples.")
@click.option("--edit-layers", default=None,
              help="ws indices the edit is applied to (default: the layers the basis was computed from).")
@click.option("--out", type=OutputPath("file"), required=True,
              help="Output grid image (.png); each row is named (seed, direction) in a left margin.")
@device_option
@precision_option
def command(checkpoint, basis, indices, degree, num_steps, seeds, truncation_psi, edit_layers, out, device, precision):
    """Render how CHECKPOINT's samples change along SeFa directions (as SeFa's apply_factor):
    one row per (seed, direction), columns from -DEGREE to +DEGREE.

    \b
    Example:
      stylebridge factorize ffhq.pkl --out basis.npz
      stylebridge edit ffhq.pkl --basis basis.npz --index 0-4 --degree 5 --seeds 0-1 --out edits.png
    """
    import torch

    from stylebridge.cli.common import parse_range_list
    from stylebridge.data.images import labelled_grid, save_image
    from stylebridge.formats import load_checkpoint
    from stylebridge.invert.sefa import edit_grid, load_basis

    G = load_checkpoint(checkpoint, device=resolve_device(device), generator_only=True).generator
    b = load_basis(basis, G.w_dim)
    layers = parse_range_list(edit_layers) if edit_layers else (b.layers or None)
    if layers is not None and len(layers) == G.num_ws - 1:
        layers = None  # every conv layer: move every ws (as SeFa does for 'all')
    degrees = torch.linspace(-degree, degree, num_steps).tolist()
    grid = edit_grid(G, b, indices, degrees, seeds, truncation_psi, layers, precision=precision)
    rows, cols = grid.shape[:2]
    labels = [f"seed {s}, dir {i}" for s in seeds for i in indices]  # edit_grid's row order
    scale = max(1, 48 // G.img_resolution)
    save_image(labelled_grid(grid.flatten(0, 1), nrow=cols, labels=labels, padding=1, pad_value=-1, scale=scale), out)
    click.echo(f"wrote {out}: {rows} rows (seeds {seeds} x directions {indices}) x {cols} degrees")

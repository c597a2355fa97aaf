"""`stylebridge factorize`: SeFa closed-form factorization of a checkpoint's style space."""

from __future__ import annotations

import click

from stylebridge.cli.common import OutputPath


@click.command("factorize")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--out", type=OutputPath("file"), required=True,
              help="Output .npz with 'eigvec' [w_dim, w_dim] (rows = directions, strongest first) and 'eigval'.")
@click.option("--layers", default="all", show_default=True,
              help="Which modulated convolutions to factorize: all, coarse (<= 8x8), middle (16-32), fine (> 32), "
                   "or conv-layer indices such as 0-3,7 (index = the ws index the layer reads).")
@click.option("--no-normalize", is_flag=True,
              help="Do not scale each style channel's weight row to unit length first "
                   "(SeFa does; rosinality does not).")
def command(checkpoint, out, layers, no_normalize):
    """Eigenvectors and eigenvalues of A^T A, A = the stacked style-affine weights of CHECKPOINT's
    generator (SeFa, Shen & Zhou 2021). The directions are the latent directions that change
    the chosen layers' styles most; `stylebridge edit` renders them, `stylebridge invert
    --method sefa` optimises in this basis (computed there with --layers all).

    \b
    Example:
      stylebridge factorize ffhq.pkl --out basis.npz --layers 0-3
    """
    from stylebridge.formats import load_checkpoint
    from stylebridge.invert.sefa import factorize, save_basis

    G = load_checkpoint(checkpoint, generator_only=True).generator
    basis = factorize(G, layers, normalize=not no_normalize)
    save_basis(basis, out)
    top = ", ".join(f"{v:.3g}" for v in basis.values[:5].tolist())
    click.echo(f"wrote {out}: {basis.vectors.shape[0]} directions from conv layers {basis.layers}; "
               f"top eigenvalues {top}")

"""`stylebridge finetune`: the paper's F with a frozen mapping network (FC)."""

from __future__ import annotations

import click

from stylebridge.cli.train import build_options, shared_options


@click.command("finetune")
@click.option("--base", type=click.Path(), default=None,
              help="Checkpoint to start from (stylebridge .safetensors, NVIDIA .pkl, rosinality .pt). "
                   "Its discriminator is used; without one, pass --new-d.")
@click.option("--freeze-mapping/--train-mapping", default=True, show_default=True,
              help="Freeze the mapping network (no gradient, not optimised, bit-identical in G and G_ema): "
                   "the paper's FC, which keeps the latent space shared with the base.")
@click.option("--new-d", is_flag=True, help="Start a fresh discriminator when the base has none.")
@click.option("--d-warmup", type=int, default=0, show_default=True,
              help="The first N iterations train the discriminator alone (G untouched): with --new-d, a fresh D "
                   "learns the data before G learns from it (measured on the glyph zoo: TRAINING.md).")
@click.option("--freeze-g", type=int, default=0, show_default=True,
              help="FreezeG: keep the synthesis blocks up to this resolution (e.g. 8) as the base's. The coarse "
                   "layers hold the content (layout, which character), so translations keep more of it; the style "
                   "is learned by the finer layers alone. 0 trains every block.")
@shared_options
def command(base, freeze_mapping, new_d, d_warmup, freeze_g, **kw):
    """Fine-tune a pretrained generator on target-domain images (--data).

    Example: stylebridge finetune --base ffhq.pkl --data anime/ --outdir runs/anime --iters 12000
    --batch 8 --aug ada --freeze-d 2
    """
    from stylebridge.errors import StylebridgeError
    from stylebridge.train import finetune

    if base is None and kw["resume"] is None:
        raise StylebridgeError("give the checkpoint to fine-tune with --base (or --resume RUN)")
    specific = {"freeze_mapping": freeze_mapping, "new_d": new_d, "d_warmup": d_warmup, "freeze_g": freeze_g}
    if kw["resume"] is None:
        specific["base"] = base
    opts = build_options(kw, **specific)
    last = finetune(opts)
    click.echo(f"done: {last}")

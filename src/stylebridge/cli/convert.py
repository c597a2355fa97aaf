"""`stylebridge convert`: write a checkpoint in the native or rosinality format."""

from __future__ import annotations

import click

from stylebridge.cli.common import OutputPath


@click.command("convert")
@click.argument("source", type=click.Path(dir_okay=False))
@click.argument("dest", type=OutputPath("file"))
@click.option("--to", "to", type=click.Choice(["native", "rosinality"]), default="native", show_default=True,
              help="native: stylebridge .safetensors (weights + config, no code); rosinality: a .pt that "
                   "rosinality's stylegan2-pytorch loads (g, g_ema, d, latent_avg).")
@click.option("--fp16", is_flag=True, help="Store weights in float16 (native only; half the size).")
def command(source, dest, to, fp16):
    """Convert SOURCE (any supported checkpoint) into DEST."""
    import torch

    from stylebridge.formats import load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(source)
    if to == "native":
        save_checkpoint(dest, G=ckpt.G, G_ema=ckpt.G_ema, D=ckpt.D, dtype=torch.float16 if fp16 else None)
    else:
        from stylebridge.formats.rosinality import save_rosinality

        save_rosinality(dest, G=ckpt.G, G_ema=ckpt.G_ema, D=ckpt.D)
    click.echo(f"wrote {dest} ({to}; networks: {', '.join(ckpt.contents())})")

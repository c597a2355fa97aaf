"""`stylebridge encoder`: feed-forward encoders into W+ for a base generator."""

from __future__ import annotations

import click

from stylebridge.cli.common import OutputPath, Seed, device_option
from stylebridge.encoder.options import default as _d
from stylebridge.utils.precision import PRECISIONS


@click.group("encoder")
def command():
    """Train an e4e-style encoder (image -> W+ code in one pass) for a base generator.

    Use it with `stylebridge invert CKPT IMAGES --method encoder --encoder FILE` (add
    --steps N to refine its codes), or list it in a zoo's zoo.json as "encoder".
    """


@command.command("train")
@click.argument("checkpoint", required=False, type=click.Path(dir_okay=False))
@click.option("--outdir", type=OutputPath("dir"),
              help="Run folder: encoder.safetensors (the encoder, rewritten at each snapshot), "
                   "encoder-snapshot-NNNNNN.safetensors (resumable), log.jsonl, options.json.")
@click.option("--data", type=click.Path(), default=None,
              help="Also train on these real images (folder or .zip), with image losses only.")
@click.option("--real-fraction", type=click.FloatRange(0, 1, max_open=True), default=_d("real_fraction"),
              show_default=True, help="Share of each batch taken from --data.")
@click.option("--iters", type=click.IntRange(min=1), default=None, help=f"Total iterations. [default: {_d('iters')}]")
@click.option("--batch", type=click.IntRange(min=1), default=_d("batch"), show_default=True,
              help="Images per iteration.")
@click.option("--snap", type=click.IntRange(min=1), default=None,
              help=f"Snapshot every N iterations. [default: {_d('snap')}]")
@click.option("--seed", type=Seed(), default=_d("seed"), show_default=True,
              help="Seed of the encoder's init and the samples.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=_d("lr"), show_default=True,
              help="Adam learning rate.")
@click.option("--lr-rampdown", type=click.FloatRange(0, 1), default=_d("lr_rampdown"), show_default=True,
              help="Share of --iters at the end over which the learning rate falls to 0 (half cosine).")
@click.option("--init", "init", type=click.Path(dir_okay=False), default=None,
              help="Start from this encoder file's weights and config (same base; fresh optimizer), e.g. to "
                   "train a shipped encoder further.")
@click.option("--widen", type=click.IntRange(min=1), default=None,
              help="With --init: first widen that encoder to N feature maps at full resolution (Net2Net: the same "
                   "codes with more capacity; N a multiple of its own).")
@click.option("--new-base", is_flag=True,
              help="With --init: that encoder belongs to another base of the same shape (e.g. an earlier base of "
                   "the same data); keep its image layers, learn the codes for CKPT afresh.")
@click.option("--code-weight", type=click.FloatRange(min=0), default=_d("code_weight"), show_default=True,
              help="Weight of the code loss on the generator's own samples.")
@click.option("--pixel-weight", type=click.FloatRange(min=0), default=_d("pixel_weight"), show_default=True,
              help="Weight of the L1 loss between input and re-rendered image.")
@click.option("--perceptual-weight", type=click.FloatRange(min=0), default=_d("perceptual_weight"), show_default=True,
              help="Weight of the perceptual loss.")
@click.option("--perceptual", type=click.Choice(["auto", "lpips", "pixel", "none"]), default=_d("perceptual"),
              show_default=True,
              help="auto: LPIPS-VGG16 if installed, else multi-scale pixel + gradient (pixel; much cheaper on a CPU).")
@click.option("--delta-weight", type=click.FloatRange(min=0), default=_d("delta_weight"), show_default=True,
              help="e4e's penalty on the W+ offsets from the single predicted w (keeps codes near W).")
@click.option("--progressive", type=click.IntRange(min=0), default=_d("progressive"), show_default=True,
              help="Unlock one W+ offset every N iterations (e4e's progressive training; 0: all at once).")
@click.option("--channels", type=click.IntRange(min=1), default=_d("channels"), show_default=True,
              help="Encoder feature maps at full resolution (doubled per halving, at most 256).")
@click.option("--precision", type=click.Choice(PRECISIONS), default=_d("precision"), show_default=True,
              help="Arithmetic of encoder, synthesis and perceptual net; fp16 only on CUDA.")
@click.option("--file-dtype", type=click.Choice(["fp32", "fp16"]), default=_d("file_dtype"), show_default=True,
              help="Storage of encoder.safetensors (fp16 halves it).")
@click.option("--resume", type=click.Path(), default=None,
              help="Continue a run exactly: a run folder (its latest snapshot) or a snapshot file. Other options come "
                   "from the snapshot, except --iters, --snap, --device.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@device_option
def train(checkpoint, outdir, data, real_fraction, iters, batch, snap, seed, lr, lr_rampdown, init, widen, new_base,
          code_weight, pixel_weight, perceptual_weight, perceptual, delta_weight, progressive, channels, precision,
          file_dtype, resume, no_progress, device):
    """Train an encoder for CHECKPOINT's generator on its own samples (and --data).

    \b
    Examples:
      stylebridge encoder train base.pkl --outdir runs/enc --iters 5000 --batch 8
      stylebridge encoder train --resume runs/enc --iters 10000
    """
    from stylebridge.encoder.train import EncoderTrainOptions, find_snapshot, train_encoder
    from stylebridge.errors import StylebridgeError

    defaults = {"iters": _d("iters"), "snap": _d("snap")}
    if resume and init:
        raise click.UsageError("--init starts a new run from an encoder's weights, --resume continues a run: "
                               "give one of them")
    if resume:
        from stylebridge.encoder.network import read_encoder

        saved = read_encoder(find_snapshot(resume))[1].get("options") or {}
        defaults.update({k: saved[k] for k in defaults if k in saved})
    elif not checkpoint:
        raise StylebridgeError("give the base generator's checkpoint (CKPT), or --resume RUN")
    opts = EncoderTrainOptions(
        base=checkpoint, outdir=outdir, data=data, real_fraction=real_fraction, batch=batch, seed=seed, lr=lr,
        lr_rampdown=lr_rampdown, init=init, widen=widen, new_base=new_base,
        code_weight=code_weight, pixel_weight=pixel_weight, perceptual_weight=perceptual_weight, perceptual=perceptual,
        delta_weight=delta_weight, progressive=progressive, channels=channels, precision=precision,
        file_dtype=file_dtype, resume=resume, progress=not no_progress, device=device,
        iters=iters if iters is not None else defaults["iters"], snap=snap if snap is not None else defaults["snap"])
    path = train_encoder(opts)
    click.echo(f"done: {path}")

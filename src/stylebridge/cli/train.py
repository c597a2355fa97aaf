"""`stylebridge train`: train an architecture from random initialisation (same trainer as
`finetune`). Also holds the options both verbs share."""

from __future__ import annotations

import click

from stylebridge.cli.common import OutputPath, Seed, device_option

TRAIN_HELP = {
    "data": "Training images: a folder (searched recursively) or a .zip; any size and format Pillow reads. "
            "Images are center-cropped (or padded, --square pad) to square and resized to the model resolution.",
    "outdir": "Run folder: network-snapshot-NNNNNN.safetensors, samples-NNNNNN.png, log.jsonl, options.json.",
}


def shared_options(f):
    """Options common to `train` and `finetune` (applied bottom-up)."""
    opts = [
        click.option("--data", type=click.Path(), help=TRAIN_HELP["data"]),
        click.option("--outdir", type=OutputPath("dir"), help=TRAIN_HELP["outdir"] +
                     " With --resume: defaults to the resumed run's folder."),
        click.option("--iters", type=int, default=None, help="Total iterations (one G and one D step each). [default: 1000]"),
        click.option("--batch", type=int, default=4, show_default=True, help="Global batch size (split over processes)."),
        click.option("--snap", type=int, default=None, help="Snapshot and sample grid every N iterations. [default: 100]"),
        click.option("--seed", type=Seed(), default=0, show_default=True, help="Seed of every random stream."),
        click.option("--lr", type=float, default=0.002, show_default=True, help="Adam learning rate of G and D."),
        click.option("--gamma", type=float, default=None,
                     help="R1 weight. Default: NVIDIA's heuristic 0.0002 * resolution^2 / batch."),
        click.option("--pl-weight", type=float, default=0.0, show_default=True,
                     help="Path-length regularisation weight (StyleGAN2 used 2; slower; 0 = off)."),
        click.option("--style-mixing", type=float, default=0.9, show_default=True,
                     help="Probability of style-mixing regularisation per batch."),
        click.option("--ema-kimg", type=float, default=None,
                     help="Half-life of the EMA generator in thousands of images. Default: batch * 10 / 32."),
        click.option("--aug", type=click.Choice(["none", "ada", "diffaug"]), default="none", show_default=True,
                     help="Augment reals and fakes before D: ada (adaptive probability towards --ada-target), "
                          "diffaug (DiffAugment color,translation,cutout) or none. Use ada or diffaug below ~5k images."),
        click.option("--aug-p", type=float, default=0.0, show_default=True, help="Initial ADA probability."),
        click.option("--ada-target", type=float, default=0.6, show_default=True, help="ADA target for r_t = E[sign(D(real))]."),
        click.option("--ada-kimg", type=float, default=500, show_default=True, help="ADA speed: images (thousands) for p to go 0 -> 1."),
        click.option("--mirror/--no-mirror", default=False, show_default=True, help="Flip training images left-right at random."),
        click.option("--freeze-d", type=int, default=0, show_default=True,
                     help="FreezeD: freeze the first K discriminator blocks (from the input side)."),
        click.option("--mbstd-group", type=int, default=None,
                     help="Discriminator minibatch-stddev group size. Default: the model's (4 when new). Larger groups "
                          "(NVIDIA's CIFAR config: 32) help D see a lack of variety; use it against mode collapse."),
        click.option("--square", type=click.Choice(["crop", "pad"]), default="crop", show_default=True,
                     help="Make non-square images square by center crop or by padding with white."),
        click.option("--grid-seeds", type=int, default=16, show_default=True, help="Seeds 0..N-1 in the sample grids."),
        click.option("--log-every", type=int, default=None, help="Write a log.jsonl line every N iterations. [default: 10]"),
        click.option("--resume", type=click.Path(), default=None,
                     help="Continue a run exactly: a run folder (its latest snapshot) or a snapshot file. "
                          "Other options come from the snapshot, except --iters, --snap, --log-every, --device."),
        click.option("--no-progress", is_flag=True, help="No progress bar."),
        device_option,
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def build_options(kw: dict, **specific):
    from stylebridge.train.loop import find_snapshot
    from stylebridge.train.options import TrainOptions

    resume = kw["resume"]
    defaults = {"iters": 1000, "snap": 100, "log_every": 10}
    if resume:
        from stylebridge.formats.native import read_native

        saved = read_native(find_snapshot(resume)).extra.get("options") or {}
        defaults.update({k: saved[k] for k in defaults if k in saved})
    d = dict(
        outdir=kw["outdir"], data=kw["data"], batch=kw["batch"], seed=kw["seed"], lr_g=kw["lr"], lr_d=kw["lr"],
        gamma=kw["gamma"], pl_weight=kw["pl_weight"], style_mixing=kw["style_mixing"], ema_kimg=kw["ema_kimg"],
        aug=kw["aug"], aug_p=kw["aug_p"], ada_target=kw["ada_target"], ada_kimg=kw["ada_kimg"], mirror=kw["mirror"],
        freeze_d=kw["freeze_d"], mbstd_group=kw["mbstd_group"], square=kw["square"], grid_seeds=kw["grid_seeds"], resume=resume,
        progress=not kw["no_progress"], device=kw["device"],
        **{k: (kw[k] if kw[k] is not None else v) for k, v in defaults.items()},
    )
    d.update(specific)
    return TrainOptions(**d)


@click.command("train")
@click.option("--config", "config", default=None,
              help="Architecture: a registry name (e.g. tiny-16, glyph-32, stylegan2-256), a JSON object of "
                   "GeneratorConfig fields (may include \"name\" of a registry entry to override) or a .json file.")
@shared_options
def command(config, **kw):
    """Train a StyleGAN2 generator from random initialisation on --data.

    Example: stylebridge train --config tiny-32 --data shapes/ --outdir runs/shapes --iters 2000
    """
    from stylebridge.train import train

    opts = build_options(kw, config=config)
    last = train(opts)
    click.echo(f"done: {last}")

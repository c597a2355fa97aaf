"""`stylebridge train`: train an architecture from random initialisation (same trainer as
`finetune`). Also holds the options both verbs share."""

from __future__ import annotations

import click

from stylebridge.cli.common import OutputPath, Seed, device_option
from stylebridge.train.options import AUGMENTS
from stylebridge.utils.precision import PRECISIONS

TRAIN_HELP = {
    "data": "Training images: a folder (searched recursively) or a .zip; any size and format Pillow reads. "
            "Images are center-cropped (or padded, --square pad) to square and resized to the model resolution.",
    "outdir": "Run folder: network-snapshot-NNNNNN.safetensors, samples-NNNNNN.png, log.jsonl, options.json.",
}


def _d(name: str) -> str:
    """' [default: X]' from TrainOptions, where every training default is defined."""
    from stylebridge.train.options import TrainOptions

    v = TrainOptions.default(name)
    return f" [default: {str(v).lower() if isinstance(v, bool) else v}]"


def shared_options(f):
    """Options common to `train` and `finetune` (applied bottom-up). Every default is None
    here: an option not given keeps TrainOptions' default (or, with --resume, the run's)."""
    opts = [
        click.option("--data", type=click.Path(), help=TRAIN_HELP["data"]),
        click.option("--outdir", type=OutputPath("dir"), help=TRAIN_HELP["outdir"] +
                     " With --resume: defaults to the resumed run's folder."),
        click.option("--iters", type=int, help="Total iterations (one G and one D step each)." + _d("iters")),
        click.option("--batch", type=int, help="Global batch size (split over processes)." + _d("batch")),
        click.option("--snap", type=int, help="Snapshot and sample grid every N iterations." + _d("snap")),
        click.option("--seed", type=Seed(), help="Seed of every random stream." + _d("seed")),
        click.option("--lr", type=float, help="Adam learning rate of G and D." + _d("lr_g")),
        click.option("--gamma", type=float,
                     help="R1 weight. Default: NVIDIA's heuristic 0.0002 * resolution^2 / batch."),
        click.option("--pl-weight", type=float,
                     help="Path-length regularisation weight (StyleGAN2 used 2; slower; 0 = off)." + _d("pl_weight")),
        click.option("--style-mixing", type=float,
                     help="Probability of style-mixing regularisation per batch." + _d("style_mixing")),
        click.option("--ema-kimg", type=float,
                     help="Half-life of the EMA generator in thousands of images. Default: batch * 10 / 32."),
        click.option("--aug", type=click.Choice(AUGMENTS),
                     help="Augment reals and fakes before D: ada (adaptive probability towards --ada-target), "
                          "diffaug (DiffAugment color,translation,cutout) or none. Use ada or diffaug below ~5k "
                          "images." + _d("aug")),
        click.option("--aug-p", type=float, help="Initial ADA probability." + _d("aug_p")),
        click.option("--ada-target", type=float, help="ADA target for r_t = E[sign(D(real))]." + _d("ada_target")),
        click.option("--ada-kimg", type=float,
                     help="ADA speed: images (thousands) for p to go 0 -> 1." + _d("ada_kimg")),
        click.option("--mirror/--no-mirror", default=None,
                     help="Flip training images left-right at random." + _d("mirror")),
        click.option("--freeze-d", type=int, help="FreezeD: freeze the first K discriminator blocks (from the input "
                                                  "side)." + _d("freeze_d")),
        click.option("--mbstd-group", type=int,
                     help="Discriminator minibatch-stddev group size. Default: the model's (4 when new). Larger groups "
                          "(NVIDIA's CIFAR config: 32) help D see a lack of variety; use it against mode collapse."),
        click.option("--square", type=click.Choice(["crop", "pad"]),
                     help="Make non-square images square by center crop or by padding with white." + _d("square")),
        click.option("--grid-seeds", type=int, help="Seeds 0..N-1 in the sample grids." + _d("grid_seeds")),
        click.option("--log-every", type=int, help="Write a log.jsonl line every N iterations." + _d("log_every")),
        click.option("--precision", type=click.Choice(PRECISIONS),
                     help="Arithmetic: fp32; bf16 (autocast: CUDA, and CPUs with AVX512-BF16/AMX); fp16 (NVIDIA's "
                          "fp16 blocks with conv_clamp 256, CUDA only). Default: bf16 where the device has bf16 "
                          "hardware, else fp32 (measured, README 'Training speed'). Stored in the run; --resume keeps "
                          "it unless given, or unless the run moved between CPU and CUDA (then the new device's "
                          "default, with a warning)."),
        click.option("--cuda-graphs/--no-cuda-graphs", default=None,
                     help="CUDA, one process: capture each kind of training iteration once as a CUDA graph and "
                          "replay it, so that the GPU no longer waits for the host to launch thousands of small "
                          "kernels (README 'Training speed'). --aug none or ada." + _d("cuda_graphs")),
        click.option("--resume", type=click.Path(), default=None,
                     help="Continue a run exactly: a run folder (its latest snapshot) or a snapshot file. "
                          "Other options come from the snapshot, except --iters, --snap, --log-every, --device, "
                          "--cuda-graphs (and --precision when given)."),
        click.option("--no-progress", is_flag=True, help="No progress bar."),
        device_option,
    ]
    for o in reversed(opts):
        f = o(f)
    return f


# CLI name -> TrainOptions field(s), for the options whose names differ.
_RENAMED = {"lr": ("lr_g", "lr_d")}
_NOT_OPTIONS = ("no_progress",)


def build_options(kw: dict, **specific):
    """TrainOptions from the CLI's keywords: only the options given (not None) are passed, so
    every default comes from TrainOptions. With --resume, --iters/--snap/--log-every default to
    the run's own values (the other options come from the snapshot in the trainer)."""
    from stylebridge.train.loop import find_snapshot
    from stylebridge.train.options import TrainOptions

    d = {}
    for k, v in kw.items():
        if v is None or k in _NOT_OPTIONS:
            continue
        for name in _RENAMED.get(k, (k,)):
            d[name] = v
    d["progress"] = not kw["no_progress"]
    if kw["resume"]:
        from stylebridge.formats.native import read_native

        saved = read_native(find_snapshot(kw["resume"])).extra.get("options") or {}
        for k in ("iters", "snap", "log_every"):
            if k not in d and k in saved:
                d[k] = saved[k]
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

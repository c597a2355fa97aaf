"""`stylebridge invert`: project images or folders into a generator's latent space."""

from __future__ import annotations

import click

from stylebridge.cli.common import (
    OutputPath,
    Seed,
    device_option,
    echo_err,
    feedback_option,
    inversion_precision_option,
    load_encoder_for,
    load_noted,
    method_option,
    perceptual_option,
    progress_option,
    resolve_device,
)
from stylebridge.invert.options import REFINE_LR, ProjectorConfig
from stylebridge.utils.config import field_default


def _d(name):
    """ProjectorConfig's default of `name`: the one place it is defined."""
    return field_default(ProjectorConfig, name)


@click.command("invert")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("--outdir", type=OutputPath("dir"), required=True,
              help="Writes NAME.npz (array 'w' [1, num_ws, w_dim] as NVIDIA's projected_w.npz, plus 'v' and 'method'), "
                   "NAME.png (reconstruction) and summary.csv (MSE, SSIM, LPIPS per image).")
@method_option
@click.option("--encoder", "encoder_file", type=click.Path(dir_okay=False), default=None,
              help="Encoder file for --method encoder (`stylebridge encoder train`). Default: the encoder that the "
                   "zoo.json next to CHECKPOINT lists for it.")
@click.option("--steps", type=click.IntRange(min=0), default=None,
              help=f"Maximum optimisation steps (paper: 1000; default {_d('steps')}, with --method encoder 0); "
                   "converged images stop earlier.")
@feedback_option
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Images optimised together (each has its own latent; results do not depend on the batch).")
@click.option("--topk", type=click.IntRange(min=1), default=_d("topk"),
              help="sefa: only the K strongest directions move; the others stay at the mean w.")
@click.option("--clamp", type=click.FloatRange(min=0, min_open=True), default=_d("clamp"),
              help="sefa: keep each coordinate of v within S standard deviations of its spread over mapped samples.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help=f"Peak learning rate of Adam (cosine ramp up over the first 5%, down over the last 25%). "
                   f"[default: {_d('lr')}; refining an encoder's codes: {REFINE_LR}]")
@click.option("--lpips-weight", type=click.FloatRange(min=0), default=_d("perceptual_weight"), show_default=True,
              help="Weight of the perceptual loss (LPIPS-VGG16, or the offline fallback).")
@click.option("--l1-weight", type=click.FloatRange(min=0), default=_d("pixel_weight"), show_default=True,
              help="Weight of the pixel loss (L1, or MSE with --mse).")
@click.option("--mse", is_flag=True, help="Use mean squared error instead of L1 as the pixel loss.")
@perceptual_option
@click.option("--optimize-noise/--fixed-noise", default=_d("optimize_noise"), show_default=True,
              help="Optimise per-image noise maps (NVIDIA's projector does); they are saved in NAME.npz.")
@click.option("--noise-reg", type=click.FloatRange(min=0), default=_d("noise_reg"), show_default=True,
              help="Weight of NVIDIA's noise regularisation (with --optimize-noise).")
@click.option("--latent-noise", type=click.FloatRange(min=0), default=_d("latent_noise"), show_default=True,
              help="NVIDIA's initial noise on the latent (0.05 there), decaying over the first 75% of steps.")
@click.option("--init", type=click.Choice(["mean", "search"]), default=_d("init"), show_default=True,
              help="Initial code: the mean w, or the best of 32 mapped samples and the mean.")
@click.option("--no-early-stop", is_flag=True, help="Run every image for all --steps.")
@inversion_precision_option
@click.option("--shard", default=None,
              help="i/n: take every n-th image starting at i (0-based). Under torchrun, RANK/WORLD_SIZE are used.")
@click.option("--seed", type=Seed(), default=0, show_default=True,
              help="Seed of noise maps, latent noise, init search.")
@click.option("--save-video", is_flag=True, help="Also write NAME.gif (or .mp4: --video-format): target | progress "
              "of the reconstruction, as NVIDIA's projector writes proj.mp4.")
@click.option("--video-format", type=click.Choice(["gif", "mp4"]), default="gif", show_default=True,
              help="With --save-video: .mp4 (H.264) needs ffmpeg (`pip install imageio-ffmpeg`).")
@device_option
@progress_option
def command(checkpoint, images, outdir, method, encoder_file, steps, feedback, batch_size, topk, clamp, lr,
            lpips_weight, l1_weight, mse,
            perceptual, optimize_noise, noise_reg, latent_noise, init, no_early_stop, precision, shard, seed,
            save_video, video_format, device, progress):
    """Invert IMAGES (files or folders) with CHECKPOINT's generator: one latent per image.

    Re-running on the same --outdir skips images that already have NAME.npz and NAME.png.
    Images of any size or mode are converted to the model's channels and resolution.

    \b
    Examples:
      stylebridge invert ffhq.pkl photos/ --outdir inv/
      stylebridge invert ffhq.pkl a.png b.jpg --outdir inv/ --method w --steps 1000
      stylebridge invert ffhq.pkl photos/ --outdir inv/ --shard 0/4   # 1 of 4 machines
    Then: stylebridge generate other_domain.pkl --projected-w inv/a.npz --outdir out/
    """
    from pathlib import Path

    from stylebridge.errors import StylebridgeError
    from stylebridge.invert.api import ENCODER_METHOD, invert_folder

    encoder = method == ENCODER_METHOD
    if steps == 0 and not encoder:
        raise StylebridgeError("--steps 0 only makes sense with --method encoder (its codes, unrefined)")
    if lr is None:
        lr = REFINE_LR if encoder else _d("lr")
    if feedback is not None and not encoder:
        raise StylebridgeError("--feedback corrects an encoder's codes: use it with --method encoder")
    if (topk is not None or clamp is not None) and method != "sefa":
        raise StylebridgeError("--topk and --clamp constrain the SeFa coordinates: use them with --method sefa")
    dev = resolve_device(device)
    ckpt = load_noted(checkpoint, dev)
    G = ckpt.generator
    cfg = ProjectorConfig(method="wplus" if encoder else method, steps=max(steps or 0, 1) if encoder else
                          (steps or _d("steps")), lr=lr, pixel_loss="mse" if mse else "l1",
                          pixel_weight=l1_weight, perceptual_weight=lpips_weight, optimize_noise=optimize_noise,
                          noise_reg=noise_reg, latent_noise=latent_noise, topk=topk, clamp=clamp, init=init,
                          early_stop=not no_early_stop, precision=precision, seed=seed)
    inputs = list(images)
    if len(inputs) == 1 and Path(inputs[0]).is_dir():
        inputs = inputs[0]
    else:
        for p in inputs:
            if Path(p).is_dir():
                raise StylebridgeError(f"{p} is a folder: give one folder, or image files only")
    res = invert_folder(G, inputs, outdir, method=method, D=ckpt.D, perceptual=perceptual, batch_size=batch_size,
                        shard=shard, config=cfg, save_video=video_format if save_video else False, log=echo_err,
                        progress=progress,
                        encoder=load_encoder_for(checkpoint, encoder_file, G) if encoder else None,
                        **({"steps": steps or 0, "feedback": feedback} if encoder else {}))
    click.echo(f"done: {res['done']} inverted, {res['skipped']} already done, {len(res['failed'])} unreadable; "
               f"summary {res['summary']}")

"""`stylebridge video`: latent interpolation videos (stylegan3 gen_video.py conventions), drawn
by one model or by several, one above the other."""

from __future__ import annotations

import click

from stylebridge.cli.common import OutputPath, SeedList, device_option, load_noted, resolve_device, strength_option


class GridSize(click.ParamType):
    name = "WxH"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = str(value).lower().replace(",", "x").split("x")
        try:
            w, h = (int(p) for p in parts)
        except ValueError:
            self.fail(f"{value!r} is not a grid size like 4x2", param, ctx)
        if w < 1 or h < 1:
            self.fail(f"{value!r}: both sides must be at least 1", param, ctx)
        return w, h


@click.command("video")
@click.argument("checkpoint", type=click.Path(dir_okay=False), required=False)
@click.option("--seeds", type=SeedList(), default=None,
              help="Seeds of the keyframes, e.g. 0-31; each grid cell walks through its share of them.")
@click.option("--projected-w", "projected_w", multiple=True, type=click.Path(dir_okay=False),
              help="Keyframes from saved codes instead of seeds: an .npz with array 'w' [N, num_ws, w_dim] "
                   "(`invert`'s NAME.npz, NVIDIA's projected_w.npz); repeat for more, in order: a walk through "
                   "your own images, drawn by every model of --also / --zoo as they stand (the input's appearance, "
                   "not translate's default). Noise maps saved with a code are not used (constant noise); --trunc "
                   "does not apply.")
@click.option("--grid", type=GridSize(), default="1x1", show_default=True,
              help="Cells across x down, e.g. 4x2: the seeds are dealt to the cells in turn.")
@click.option("--num-keyframes", type=click.IntRange(min=1), default=None,
              help="Keyframes per cell (the seeds are reused in turn); default: the number of seeds / cells.")
@click.option("--w-frames", type=click.IntRange(min=1), default=120, show_default=True,
              help="Frames from one keyframe to the next; the video has keyframes x w-frames frames and loops.")
@click.option("--shuffle-seed", type=int, default=None, help="Shuffle the keyframes' seeds with this seed.")
@click.option("--trunc", "truncation_psi", type=float, default=1.0, show_default=True,
              help="Truncation psi: 1 = none, smaller = closer to the mean w.")
@click.option("--also", "others", multiple=True, type=click.Path(dir_okay=False),
              help="Another model (e.g. a fine-tune or a swap of CHECKPOINT) that draws the same walk, placed "
                   "below; repeat for more. The ws come from CHECKPOINT's mapping.")
@click.option("--zoo", "zoo_dir", default=None, metavar="DIR",
              help="Draw a zoo instead of CHECKPOINT: its base on top, then --to below it, each at its style strength "
                   "(zoo.json's, or --strength). 'shipped' = the shipped glyph zoo.")
@click.option("--to", "to", default="all", show_default=True,
              help="With --zoo: the models below the base, NAME, A,B or all.")
@strength_option
@click.option("--scale", type=click.IntRange(min=1, max=16), default=1, show_default=True,
              help="Enlarge every frame this many times (nearest neighbour): for small models.")
@click.option("--fps", type=click.FloatRange(min=0, min_open=True, max=240), default=60.0, show_default=True,
              help="Frames per second (a GIF stores at most 50).")
@click.option("--output", type=OutputPath("file"), required=True,
              help="A .mp4 (H.264; needs ffmpeg: `pip install imageio-ffmpeg`) or a .gif.")
@click.option("--fast", is_flag=True,
              help="Render each frame's cells in one batched call (a pixel may differ by 1/255); default is "
                   "NVIDIA's arithmetic, one image at a time.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@device_option
def command(checkpoint, seeds, projected_w, grid, num_keyframes, w_frames, shuffle_seed, truncation_psi, others,
            zoo_dir, to, strength, scale, fps, output, fast, no_progress, device):
    """Render a looping latent interpolation video of CHECKPOINT (or of a zoo: --zoo), as
    stylegan3's gen_video.py does; with --also, the same walk drawn by other models of the same
    latent space below it (a base and its fine-tunes: every frame in every domain).

    \b
    Examples:
      stylebridge video ffhq.pkl --seeds 0-31 --grid 4x2 --output lerp.mp4
      stylebridge video base.safetensors --seeds 0-5 --also script.safetensors --scale 4 --output walk.gif
      stylebridge video --zoo shipped --seeds 0-7 --grid 4x1 --scale 2 --output zoo.gif
      stylebridge video --zoo shipped --projected-w inv/a.npz --projected-w inv/b.npz --scale 4 --output ab.gif
    """
    from tqdm import tqdm

    from stylebridge.errors import StylebridgeError
    from stylebridge.video import check_output, plan_video, video_frames, write_video

    dev = resolve_device(device)
    if (seeds is None) == (not projected_w):
        raise StylebridgeError("give exactly one of --seeds or --projected-w")
    if (checkpoint is None) == (zoo_dir is None):
        raise StylebridgeError("give CHECKPOINT (and --also models) or --zoo DIR: one of the two")
    if zoo_dir is None and (strength is not None or to != "all"):
        raise StylebridgeError("--to and --strength choose a zoo's models: use them with --zoo")
    if zoo_dir is not None:
        if others:
            raise StylebridgeError("--also adds model files to CHECKPOINT; with --zoo choose its models with --to")
        models, names = _zoo_models(zoo_dir, to, strength, dev)
        click.echo(f"rows: {', '.join(names)}", err=True)
    else:
        models = _files([checkpoint, *others], dev)
    codes = None
    if projected_w:
        import torch

        from stylebridge.generate import load_projected_w

        codes = torch.cat([load_projected_w(f, models[0]) for f in projected_w])
        seeds = list(range(len(codes)))
    plan = plan_video(models, seeds, grid, num_keyframes, w_frames, shuffle_seed, scale,
                      keys="seeds" if codes is None else "codes")
    check_output(output, plan)
    frames = video_frames(models, plan, truncation_psi, exact=not fast, codes=codes)
    frames = tqdm(frames, total=plan.frames, desc="video", unit="frame", disable=True if no_progress else None)
    write_video(iter(frames), output, fps)
    h, w = plan.size
    click.echo(f"wrote {output}: {plan.frames} frames of {w}x{h} at {fps:g} fps ({plan.frames / fps:.1f} s, "
               f"{len(models)} model(s), {plan.grid_w}x{plan.grid_h} cells, {plan.keyframes} keyframes each)")


def _files(paths, dev) -> list:
    return [load_noted(path, dev, generator_only=True).generator.eval() for path in paths]


def _zoo_models(zoo_dir, to, strength, dev) -> tuple[list, list[str]]:
    """The zoo's base, then each model of --to at its strength (as translations draw it)."""
    from stylebridge.train.strength import strength_label
    from stylebridge.translate import Zoo
    from stylebridge.translate.translator import Translator

    if zoo_dir == "shipped":
        from stylebridge.zoo import shipped_zoo_dir

        zoo_dir = shipped_zoo_dir()
    zoo = Zoo.from_dir(zoo_dir, device=dev)
    targets = zoo.resolve(to, exclude=zoo.base)
    strengths = Translator(zoo).strengths_for(targets, strength)
    models = [zoo[zoo.base].eval()] + [zoo.model(t, strengths[t]).eval() for t in targets]
    return models, [zoo.base] + [strength_label(t, strengths[t]) for t in targets]

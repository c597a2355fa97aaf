"""`stylebridge translate`: images of one domain into others (multi-modal, reference, multi-domain)."""

from __future__ import annotations

import click

from stylebridge.cli.common import (
    OutputPath,
    Seed,
    appearance_option,
    check_seeds,
    device_option,
    echo_err,
    inversion_options,
    inversion_precision_option,
    progress_option,
    resolve_device,
    strength_option,
)


@click.command("translate")
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("--zoo", "zoo_dir", type=click.Path(file_okay=False), default=None,
              help="Zoo folder (zoo.json or checkpoints with a base.*). Default: the shipped glyph zoo.")
@click.option("--from", "source", default=None, help="Source domain in the zoo (default: the base model).")
@click.option("--to", "to", default="all", show_default=True,
              help="Target domain(s): NAME, A,B,C or all (every model but the source; name the source to get "
                   "its reconstruction too).")
@click.option("--source", "source_ckpt", type=click.Path(dir_okay=False), default=None,
              help="Explicit source checkpoint instead of a zoo (with --target).")
@click.option("--target", "target_ckpts", multiple=True, type=click.Path(dir_okay=False),
              help="Explicit target checkpoint(s) (repeat for several).")
@click.option("--outdir", type=OutputPath("dir"), required=True,
              help="Writes NAME/TARGET*.png, NAME/grid.png, index.html, settings.json and latents/. Re-runs skip "
                   "finished images; other settings in the same folder are refused (use a new --outdir).")
@click.option("--modes", type=click.IntRange(min=0), default=0, show_default=True,
              help="Multi-modal: this many extra outputs per target, appearance codes from seeds.")
@click.option("--seed", type=Seed(), default=0, show_default=True,
              help="First appearance seed (seeds SEED .. SEED+MODES-1).")
@click.option("--content-layers", type=click.IntRange(min=1), default=None,
              help="k: style inputs that take the input's content code (default: all but the last block's).")
@click.option("--trunc", "truncation_psi", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Truncation of the appearance codes toward the target's mean w.")
@appearance_option
@strength_option
@click.option("--reference", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Reference image(s) of the target domain: their inverted codes give the appearance.")
@click.option("--latents", type=OutputPath("dir"), default=None,
              help="Reuse (and extend) the NAME.npz codes of an earlier `stylebridge invert` with the source model.")
@inversion_options
@inversion_precision_option
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Images inverted together (results do not depend on it; larger is faster until memory runs out).")
@click.option("--shard", default=None, help="i/n: this process takes every n-th image starting at i.")
@device_option
@progress_option
def command(images, zoo_dir, source, to, source_ckpt, target_ckpts, outdir, modes, seed, content_layers,
            truncation_psi, appearance, strength, reference, latents, method, steps, feedback, perceptual, precision,
            batch_size, shard, device, progress):
    """Translate IMAGES (files or folders) from one domain into others.

    \b
    Examples:
      stylebridge translate photos/ --zoo zoo/ --from faces --to anime --outdir out/
      stylebridge translate a.png --zoo zoo/ --to all --modes 4 --outdir out/
      stylebridge translate a.png --source base.pkl --target anime.pkl --reference ref.png --outdir out/
    """
    from stylebridge.errors import StylebridgeError
    from stylebridge.translate.folder import translate_folder
    from stylebridge.translate.translator import Translator
    from stylebridge.translate.zoo import Zoo, ZooEntry

    if modes:
        check_seeds(seed + modes - 1, "--seed + --modes - 1")
    dev = resolve_device(device)
    if source_ckpt or target_ckpts:
        if zoo_dir or not (source_ckpt and target_ckpts):
            raise StylebridgeError("give --source and at least one --target, or --zoo, not both")
        from pathlib import Path
        entries = {"source": ZooEntry("source", Path(source_ckpt))}
        for i, t in enumerate(target_ckpts):
            entries[Path(t).stem if Path(t).stem not in entries else f"target{i}"] = ZooEntry(Path(t).stem, Path(t))
        zoo = Zoo(entries, "source", "explicit", device=dev)
        source = "source"
    else:
        if zoo_dir is None:
            from stylebridge.zoo import shipped_zoo_dir
            zoo_dir = shipped_zoo_dir()
        zoo = Zoo.from_dir(zoo_dir, device=dev)
    opts = {"precision": precision}
    if steps is not None:
        opts["steps"] = steps
    if feedback is not None:
        opts["feedback"] = feedback
    translator = Translator(zoo, method=method, perceptual=perceptual, batch_size=batch_size, **opts)
    inputs = list(images) if len(images) > 1 else images[0]
    res = translate_folder(translator, inputs, outdir, to=to, source=source, modes=modes, seed=seed,
                           content_layers=content_layers, truncation_psi=truncation_psi,
                           reference=list(reference) or None, latents=latents, shard=shard, appearance=appearance,
                           strength=strength, log=echo_err, progress=progress)
    click.echo(f"translated {res['done']} image(s) into {', '.join(res['targets'])} "
               f"({res['skipped']} already done); open {res['index']}")
    if res["failed"]:
        click.echo(f"skipped {len(res['failed'])} unreadable file(s)", err=True)

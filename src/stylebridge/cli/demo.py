"""`stylebridge demo`: the whole method in seconds, offline, on the shipped glyph zoo."""

from __future__ import annotations

import click

from stylebridge.cli.common import (
    OutputPath,
    Seed,
    appearance_option,
    perceptual_option,
    progress_option,
    strength_option,
)
from stylebridge.invert.options import DEMO_STEPS, METHODS


@click.command("demo")
@click.option("--text", default="Hello", show_default=True, help="Text to draw with Pillow's built-in font.")
@click.option("--images", multiple=True, type=click.Path(exists=True),
              help="Glyph images or folders of them instead of --text (any size; dark-on-light is inverted). "
                   "Repeat for several.")
@click.option("--to", "to", default="all", show_default=True, help="Styles: NAME, A,B or all.")
@click.option("--modes", type=click.IntRange(min=0), default=0, show_default=True,
              help="Extra multi-modal rows per style (appearance codes from seeds).")
@click.option("--method", type=click.Choice(METHODS), default=None,
              help="Inversion: W+ optimisation, or the zoo's encoder (a forward pass and its feedback passes). "
                   "Default: the encoder where the zoo has one and it measured best (benchmarks/bench_encoder.py), "
                   "else wplus.")
@appearance_option
@strength_option
@click.option("--steps", type=click.IntRange(min=0), default=None,
              help=f"Inversion steps (default {DEMO_STEPS}); with --method encoder, refinement steps "
                   "(default: the steps the zoo's zoo.json records for its encoder; 0 = its codes unrefined).")
@click.option("--zoo", "zoo_dir", type=click.Path(file_okay=False), default=None,
              help="Zoo folder (default: the glyph zoo shipped with stylebridge).")
@click.option("--out", type=OutputPath("file"), default="demo.png", show_default=True,
              help="Grid PNG (an HTML page is written beside it).")
@click.option("--seed", type=Seed(), default=0, show_default=True,
              help="Seed of the inversion and first appearance seed of --modes.")
@click.option("--no-references", is_flag=True,
              help="Leave out the rows of real glyphs (one held-out font per style) under each style.")
@perceptual_option
@progress_option
def command(text, images, to, modes, method, appearance, strength, steps, zoo_dir, out, seed, no_references, perceptual,
            progress):
    """Translate TEXT into every shipped glyph style: renders the text, inverts each glyph with
    the base model, draws the same codes with each style model, and writes one grid
    (rows: input, reconstruction, then per style its translation and, to judge it by, the same
    characters in a real font of that style that no model saw) plus an HTML page."""
    from pathlib import Path

    from stylebridge.cli.common import check_output, check_seeds
    from stylebridge.demo import run_demo
    from stylebridge.errors import StylebridgeError
    from stylebridge.translate import Zoo

    check_output(Path(out).with_suffix(".html"), "file", "--out's page")
    if not images and not text.strip():
        raise StylebridgeError("--text is empty: give some characters (A-Z, a-z, 0-9) or --images")
    from stylebridge.data.glyphs import CHAR_TO_LABEL

    unknown = sorted({c for c in text if c not in CHAR_TO_LABEL and not c.isspace()}) if not images else []
    if unknown:
        click.echo(f"note: the glyph models learned A-Z, a-z and 0-9 only; {''.join(unknown)} will come out "
                   "as look-alikes of those", err=True)
    if modes:
        check_seeds(seed + modes - 1, "--seed + --modes - 1")

    if zoo_dir is None:
        from stylebridge.zoo import shipped_zoo_dir
        zoo_dir = shipped_zoo_dir()
    zoo = Zoo.from_dir(zoo_dir)
    res = run_demo(zoo, out, text=text, images=list(images) or None, to=to, modes=modes,
                   steps=steps, seed=seed, log=click.echo, perceptual=perceptual, progress=progress,
                   method=method, references=not no_references, appearance=appearance,
                   strength=strength)
    if res.content_accuracy:
        acc = ", ".join(f"{k} {v:.0%}" for k, v in res.content_accuracy.items())
        click.echo(f"read back as the input character by the glyph classifier: {acc}")
    click.echo(f"rows: {', '.join(res.rows)}")
    click.echo(f"wrote {res.grid} and {res.page}")

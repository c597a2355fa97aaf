"""`stylebridge demo`: the whole method in seconds, offline, on the shipped glyph zoo."""

from __future__ import annotations

import click


@click.command("demo")
@click.option("--text", default="Hello", show_default=True, help="Text to draw with Pillow's built-in font.")
@click.option("--images", multiple=True, type=click.Path(dir_okay=False),
              help="Glyph images instead of --text (any size; dark-on-light is inverted).")
@click.option("--to", "to", default="all", show_default=True, help="Styles: NAME, A,B or all.")
@click.option("--modes", type=click.IntRange(min=0), default=0, show_default=True,
              help="Extra multi-modal rows per style (appearance codes from seeds).")
@click.option("--method", type=click.Choice(["wplus", "encoder", "w", "sefa"]), default=None,
              help="Inversion: W+ optimisation, or the zoo's encoder (one forward pass). Default: the encoder where "
                   "the zoo has one and it measured best (benchmarks/bench_encoder.py), else wplus.")
@click.option("--steps", type=click.IntRange(min=0), default=None,
              help="Inversion steps (default 200); with --method encoder, refinement steps (default 0).")
@click.option("--zoo", "zoo_dir", type=click.Path(file_okay=False), default=None,
              help="Zoo folder (default: the glyph zoo shipped with stylebridge).")
@click.option("--out", type=click.Path(dir_okay=False), default="demo.png", show_default=True,
              help="Grid PNG (an HTML page is written beside it).")
@click.option("--seed", type=int, default=0, show_default=True)
def command(text, images, to, modes, method, steps, zoo_dir, out, seed):
    """Translate TEXT into every shipped glyph style: renders the text, inverts each glyph with
    the base model, draws the same codes with each style model, and writes one grid
    (rows: input, reconstruction, then one row per style) plus an HTML page."""
    from stylebridge.demo import run_demo
    from stylebridge.translate import Zoo

    if zoo_dir is None:
        from stylebridge.zoo import shipped_zoo_dir
        zoo_dir = shipped_zoo_dir()
    zoo = Zoo.from_dir(zoo_dir)
    res = run_demo(zoo, out, text=text, images=list(images) or None, to=to, modes=modes,
                   steps=steps, seed=seed, log=lambda m: click.echo(m), method=method)
    if res.content_accuracy:
        acc = ", ".join(f"{k} {v:.0%}" for k, v in res.content_accuracy.items())
        click.echo(f"read back as the input character by the glyph classifier: {acc}")
    click.echo(f"rows: {', '.join(res.rows)}")
    click.echo(f"wrote {res.grid} and {res.page}")

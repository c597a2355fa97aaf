"""`stylebridge data glyphs`: render a glyph domain of the embedded font demo to image files."""

from __future__ import annotations

import time

import click

from stylebridge.cli.common import OutputPath


@click.group(name="data")
def command() -> None:
    """Build datasets for the embedded demo (`stylebridge data glyphs --help`)."""


@command.command(name="glyphs")
@click.option("--style", required=True,
              help="Glyph domain: base (ordinary text faces), script, pixel, outline or blackletter.")
@click.option("--out", "out", required=True, type=OutputPath("dir"), help="Folder to write into.")
@click.option("--size", default=32, show_default=True, type=click.IntRange(8, 1024),
              help="Image size in pixels (square).")
@click.option("--split", type=click.Choice(["train", "heldout", "all"]), default="train", show_default=True,
              help="Which fonts: the training fonts, the held-out fonts (kept for evaluation), or both.")
def glyphs(style: str, out: str, size: int, split: str) -> None:
    """Render the 62 characters A-Z a-z 0-9 of every installed font of a domain as 8-bit grey
    PNG files (white ink on black; one scale per font; baseline on a fixed row; each glyph
    centred), OUT/<font-stem>/<code point>.png, plus OUT/dataset.json listing the fonts and
    the labels in NVIDIA's {"labels": [[path, label], ...]} layout. Prints the fonts used.

    The fonts come from Debian packages (blackletter also from npm's @fontsource): run
    `sh scripts/install-fonts.sh` first.
    """
    from stylebridge.data.glyphs import domain_spec, render_domain, write_glyph_dataset

    domain_spec(style)  # unknown style: one clear line before any work
    t0 = time.perf_counter()
    rec = write_glyph_dataset(style, out, split=split, size=size)
    for part in ("train", "heldout"):
        stems = [f["stem"] for f in rec["fonts"] if f["split"] == part]
        if stems:
            click.echo(f"{style} {part} fonts ({len(stems)}): {', '.join(stems)}")
    for stem, why in render_domain(style, split, size).skipped.items():  # cached: no second render
        click.echo(f"skipped {stem}: {why}")
    click.echo(f"wrote {len(rec['labels'])} glyphs of {len(rec['fonts'])} fonts to {out} "
               f"({time.perf_counter() - t0:.1f} s)")

"""Options and parsers shared by several verbs."""

from __future__ import annotations

import os
from pathlib import Path

import click

from stylebridge.errors import StylebridgeError
from stylebridge.utils.device import resolve_device  # noqa: F401  (the library's; verbs import it from here)
from stylebridge.utils.ranges import parse_range_list  # noqa: F401  (likewise)

# Re-exported: the verbs import these from here; their home is the library (stylebridge.utils).
__all__ = ["RangeList", "device_option", "inversion_options", "parse_range_list", "precision_option", "resolve_device"]


class RangeList(click.ParamType):
    name = "LIST"

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        try:
            return parse_range_list(value)
        except StylebridgeError as e:
            self.fail(str(e), param, ctx)


SEED_MAX = 2**32 - 1  # numpy's RandomState(seed) takes 0 .. 2**32 - 1


def check_seeds(seeds, what: str = "--seed") -> None:
    """Raise StylebridgeError unless every seed is in 0 .. 2**32 - 1 (RandomState's range)."""
    for s in [seeds] if isinstance(seeds, int) else seeds:
        if not 0 <= s <= SEED_MAX:
            raise StylebridgeError(f"{what}: seed {s} is out of range; seeds go from 0 to {SEED_MAX} (2**32 - 1)")


class Seed(click.ParamType):
    """One seed, checked when the command line is read (before any work)."""

    name = "SEED"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            seed = value
        else:
            try:
                seed = int(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a whole number", param, ctx)
        check_seeds(seed, _opt(param, "--seed"))
        return seed


class SeedList(RangeList):
    """A RangeList of seeds, each checked when the command line is read."""

    name = "SEEDS"

    def convert(self, value, param, ctx):
        seeds = super().convert(value, param, ctx)
        check_seeds(seeds, _opt(param, "--seeds"))
        return seeds


def _opt(param, default: str) -> str:
    return param.opts[0] if param is not None and param.opts else default


def check_output(path: str | os.PathLike, kind: str = "file", what: str = "output") -> Path:
    """Check that `path` can be written as a `kind` ('file' or 'dir') before any work starts:
    no existing file on its way (file/sub), not a folder where a file goes (or the reverse),
    and the nearest existing folder is writable. Raise StylebridgeError naming `what`."""
    p = Path(path)
    if p.exists():
        if kind == "dir" and not p.is_dir():
            raise StylebridgeError(f"{what} {p} is a file; give a folder")
        if kind == "file" and p.is_dir():
            raise StylebridgeError(f"{what} {p} is a folder; give a file name")
        if not os.access(p if kind == "dir" else p.parent, os.W_OK):
            raise StylebridgeError(f"{what} {p}: no permission to write there")
        return p
    parent = p.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise StylebridgeError(f"cannot write {what} {p}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise StylebridgeError(f"cannot write {what} {p}: no permission to write in {parent}")
    return p


class OutputPath(click.Path):
    """A path the command will write (kind 'file' or 'dir'), checked when the command line is
    read, so a bad path fails before any work. '-' passes through where `allow_dash`."""

    def __init__(self, kind: str = "file", allow_dash: bool = False):
        super().__init__(dir_okay=kind == "dir", file_okay=kind == "file", allow_dash=allow_dash)
        self.kind = kind

    def convert(self, value, param, ctx):
        if value is None or (self.allow_dash and value == "-"):
            return value
        check_output(value, self.kind, _opt(param, "output"))
        return str(value)


def device_option(f):
    return click.option(
        "--device",
        default="auto",
        show_default=True,
        help="Torch device: auto (cuda if available, else cpu), cpu, cuda, cuda:1, ...",
    )(f)


def precision_option(f):
    return click.option(
        "--precision",
        type=click.Choice(["fp32", "bf16", "fp16"]),
        default="fp32",
        show_default=True,
        help="Arithmetic precision. bf16 is about 2x faster on CPUs with AVX512-BF16 and on "
        "recent GPUs, at a small cost in exactness; fp16 only on CUDA.",
    )(f)


def inversion_precision_option(f):
    """--precision of the verbs that invert images: the library's one default."""
    from stylebridge.invert.options import DEFAULT_PRECISION, PRECISION_HELP, PRECISIONS

    return click.option("--precision", type=click.Choice(PRECISIONS), default=DEFAULT_PRECISION, show_default=True,
                        help=PRECISION_HELP)(f)


def perceptual_option(f):
    from stylebridge.invert.options import DEFAULT_PERCEPTUAL, PERCEPTUAL, PERCEPTUAL_HELP

    return click.option("--perceptual", type=click.Choice(PERCEPTUAL), default=DEFAULT_PERCEPTUAL, show_default=True,
                        help="Perceptual loss of the inversion. " + PERCEPTUAL_HELP)(f)


def method_option(f):
    from stylebridge.invert.options import DEFAULT_METHOD, METHOD_HELP, METHODS

    return click.option("--method", type=click.Choice(METHODS), default=DEFAULT_METHOD, show_default=True,
                        help=METHOD_HELP)(f)


def zoo_method_option(f):
    """--method of the verbs that translate with a zoo: default None, the zoo's own
    (`Zoo.default_method`: its encoder where it lists one, else wplus)."""
    from stylebridge.invert.options import METHOD_HELP, METHODS

    return click.option("--method", type=click.Choice(METHODS), default=None,
                        help=METHOD_HELP + " Default: the zoo's encoder where it lists one (the shipped glyph zoo "
                                           "does), else wplus.")(f)


def appearance_option(f):
    from stylebridge.translate.options import APPEARANCE_CHOICES, APPEARANCE_HELP, AUTO_APPEARANCE

    return click.option("--appearance", type=click.Choice(APPEARANCE_CHOICES), default=AUTO_APPEARANCE,
                        show_default=True, help=APPEARANCE_HELP)(f)


class Strengths(click.ParamType):
    """--strength: A (every target) or NAME=A,NAME=A, checked when the command line is read."""

    name = "A|NAME=A,..."

    def convert(self, value, param, ctx):
        from stylebridge.train.strength import parse_strengths

        if isinstance(value, (float, dict)):
            return value
        try:
            return parse_strengths(value)
        except StylebridgeError as e:
            self.fail(str(e), param, ctx)


def strength_option(f):
    from stylebridge.train.strength import STRENGTH_HELP

    return click.option("--strength", type=Strengths(), default=None, help=STRENGTH_HELP)(f)


def feedback_option(f):
    from stylebridge.invert.options import ENCODER_FEEDBACK

    return click.option("--feedback", type=click.IntRange(min=0), default=None,
                        help=f"With --method encoder: feedback passes correcting its codes, w += gain * (E(x) - "
                             f"E(G(w))), each one encoder pass and one render (default {ENCODER_FEEDBACK}).")(f)


def load_noted(checkpoint, device, **kw):
    """load_checkpoint(checkpoint, device=device, **kw), with each of the reader's notes (what it
    assumed or converted) printed on stderr."""
    from stylebridge.formats import load_checkpoint

    ckpt = load_checkpoint(checkpoint, device=device, **kw)
    for note in ckpt.notes:
        click.echo(f"note: {note}", err=True)
    return ckpt


def load_encoder_for(checkpoint, encoder_file, G):
    """The encoder of `--encoder FILE`, else the one the zoo.json next to CHECKPOINT lists for
    it, loaded for G (refused in one line if it belongs to another base); None if neither."""
    from stylebridge.encoder import load_encoder
    from stylebridge.translate.zoo import zoo_encoder_for

    encoder_file = encoder_file or zoo_encoder_for(checkpoint)
    return load_encoder(encoder_file, G) if encoder_file is not None else None


def inversion_options(f):
    """--method / --steps / --feedback / --perceptual, shared by the verbs that translate with a
    zoo (--method defaults to the zoo's, `zoo_method_option`)."""
    f = perceptual_option(f)
    f = feedback_option(f)
    f = click.option("--steps", type=click.IntRange(min=0), default=None,
                     help="Inversion steps (default: the inverter's). With the zoo's encoder: W+ steps that refine "
                          "its codes (default: the steps its zoo.json records; 0 = the codes unrefined).")(f)
    return zoo_method_option(f)


def progress_option(f):
    return click.option("--progress/--no-progress", default=True, show_default=True,
                        help="Progress bar on stderr (shown only when stderr is a terminal).")(f)



def echo_err(message: str) -> None:
    """A log line on stderr that does not break a running tqdm bar."""
    import sys

    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)

"""Options and parsers shared by several verbs."""

from __future__ import annotations

import click

from stylebridge.errors import StylebridgeError
from stylebridge.utils.device import resolve_device
from stylebridge.utils.ranges import parse_range_list

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


def inversion_options(f):
    """--method / --steps / --perceptual, shared by the verbs that invert images."""
    from stylebridge.invert.projector import DEFAULT_METHOD

    f = click.option("--perceptual", type=click.Choice(["auto", "lpips", "discriminator", "pixel"]), default="auto",
                     show_default=True, help="Perceptual loss of the inversion: auto = LPIPS-VGG16 if installed, "
                     "else the discriminator's features, else pixel + gradient.")(f)
    f = click.option("--steps", type=click.IntRange(min=1), default=None,
                     help="Inversion steps (default: the inverter's).")(f)
    return click.option("--method", type=click.Choice(["sefa", "w", "wplus"]), default=DEFAULT_METHOD,
                        show_default=True, help="Inversion method (sefa = the paper's SeFa basis).")(f)

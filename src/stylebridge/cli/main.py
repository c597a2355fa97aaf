"""The `stylebridge` command: registers one sub-command per verb and turns user errors
into one line on stderr with exit status 2."""

from __future__ import annotations

import sys

import click

from stylebridge import __version__
from stylebridge.cli.threads import LONG_VERBS, fewer_threads_note, set_thread_policy
from stylebridge.errors import StylebridgeError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="stylebridge")
@click.option("--debug", is_flag=True, help="Show the full traceback of errors.")
@click.option("--max-megapixels", type=click.FloatRange(min=0, min_open=True, max=1e6), default=None, metavar="N",
              help="Refuse input images over N megapixels, checked before decoding (default 100; "
                   "also $STYLEBRIDGE_MAX_MEGAPIXELS).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, max_megapixels: float | None) -> None:
    """stylebridge: translate images between domains with StyleGAN2 models derived from
    one base model (fine-tune with frozen mapping, layer swap, SeFa inversion).

    Run `stylebridge VERB --help` for the options of each verb.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    _image_bound(max_megapixels)


def _image_bound(max_megapixels: float | None) -> None:
    """The program's image pixel bound: stylebridge's own one-line refusal (data/images.py)
    replaces Pillow's two-line DecompressionBombWarning, and Pillow's hard stop moves above it."""
    import os
    import warnings

    from PIL import Image

    if max_megapixels is not None:
        os.environ["STYLEBRIDGE_MAX_MEGAPIXELS"] = repr(max_megapixels)
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    if max_megapixels is not None and Image.MAX_IMAGE_PIXELS is not None:
        Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS, int(max_megapixels * 1e6))


def _register() -> None:
    # One line per verb; each module defines a click command named `command`.
    from stylebridge.cli import app as app_cli
    from stylebridge.cli import (
        convert,
        demo,
        edit,
        evaluate,
        factorize,
        finetune,
        generate,
        info,
        invert,
        mix,
        swap,
        translate,
        video,
        weights,
    )
    from stylebridge.cli import data as data_cli
    from stylebridge.cli import encoder as encoder_cli
    from stylebridge.cli import train as train_cli
    from stylebridge.cli import zoo as zoo_cli

    for module in (generate, mix, video, info, convert, invert, factorize, edit, data_cli, evaluate, weights, train_cli,
                   finetune, swap, zoo_cli, translate, demo, app_cli, encoder_cli):
        cli.add_command(module.command)


_register()


def _hoist_debug(args: list[str]) -> tuple[list[str], bool]:
    """--debug is accepted anywhere before a '--': it moves in front of the verb."""
    end = args.index("--") if "--" in args else len(args)
    if "--debug" not in args[:end]:
        return args, False
    return ["--debug"] + [a for a in args[:end] if a != "--debug"] + args[end:], True


def _one_line_warnings() -> None:
    """On the real command line a library warning (a precision switched on resume, LPIPS
    unavailable) prints as one line, `warning: ...`, not Python's file:line form."""
    import warnings

    warnings.formatwarning = lambda message, *args, **kw: f"warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; `argv=None` means the real command line (then the thread policy applies)."""
    args, debug = _hoist_debug(list(sys.argv[1:] if argv is None else argv))
    if argv is None:
        _one_line_warnings()
        note = fewer_threads_note(set_thread_policy())
        verb = next((a for a in args if not a.startswith("-")), None)
        if note and verb in LONG_VERBS and not {"-h", "--help"} & set(args):
            click.echo(note, err=True)
    try:
        cli.main(args=args, prog_name="stylebridge", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return 2
    except (StylebridgeError, FileNotFoundError, IsADirectoryError, NotADirectoryError, FileExistsError,
            PermissionError) as e:
        if debug:
            raise
        msg = str(e) if isinstance(e, StylebridgeError) else f"{e.strerror}: {e.filename}"
        click.echo(f"Error: {msg}  (add --debug for the traceback)", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

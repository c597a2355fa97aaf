"""The `stylebridge` command: registers one sub-command per verb and turns user errors
into one line on stderr with exit status 2."""

from __future__ import annotations

import sys

import click

from stylebridge import __version__
from stylebridge.errors import StylebridgeError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="stylebridge")
@click.option("--debug", is_flag=True, help="Show the full traceback of errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """stylebridge: translate images between domains with StyleGAN2 models derived from
    one base model (fine-tune with frozen mapping, layer swap, SeFa inversion).

    Run `stylebridge VERB --help` for the options of each verb.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _register() -> None:
    # One line per verb; each module defines a click command named `command`.
    from stylebridge.cli import generate, info, convert
    from stylebridge.cli import invert, factorize, edit
    from stylebridge.cli import evaluate, weights
    from stylebridge.cli import data as data_cli
    from stylebridge.cli import train as train_cli, finetune, swap
    from stylebridge.cli import zoo as zoo_cli, translate, demo
    from stylebridge.cli import app as app_cli
    from stylebridge.cli import encoder as encoder_cli

    for module in (generate, info, convert, invert, factorize, edit, data_cli, evaluate, weights, train_cli, finetune, swap,
                   zoo_cli, translate, demo, app_cli, encoder_cli):
        cli.add_command(module.command)


_register()


def main(argv: list[str] | None = None) -> int:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="stylebridge", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return 2
    except (StylebridgeError, FileNotFoundError, IsADirectoryError, PermissionError) as e:
        if debug:
            raise
        msg = str(e) if isinstance(e, StylebridgeError) else f"{e.strerror}: {e.filename}"
        click.echo(f"Error: {msg}  (run with --debug for the traceback)", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

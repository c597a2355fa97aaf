"""`stylebridge app`: the web app (needs the optional extra: pip install 'stylebridge[app]')."""

from __future__ import annotations

import click

from stylebridge.cli.common import device_option, resolve_device
from stylebridge.invert.options import DEFAULT_PERCEPTUAL, PERCEPTUAL, PERCEPTUAL_HELP


@click.command("app")
@click.option("--zoo", "zoo_dir", type=click.Path(file_okay=False), default=None,
              help="Zoo folder (zoo.json or checkpoints with a base.*). Default: the shipped glyph zoo.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on. The default serves this machine only. WARNING: any other value "
                   "(e.g. 0.0.0.0) lets everyone who can reach this machine use the app and its CPU/GPU; "
                   "there is no login.")
@click.option("--port", type=click.IntRange(0, 65535), default=7860, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--steps", type=click.IntRange(min=1), default=150, show_default=True,
              help="Default inversion steps shown in the page (users can change them up to --max-steps).")
@click.option("--max-steps", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Most inversion steps a request may ask for.")
@click.option("--perceptual", type=click.Choice(PERCEPTUAL), default=DEFAULT_PERCEPTUAL, show_default=True,
              help="Default perceptual loss of the inversion shown in the page. " + PERCEPTUAL_HELP)
@click.option("--max-upload-mb", type=click.FloatRange(0.01), default=10.0, show_default=True,
              help="Largest uploaded file accepted.")
@click.option("--max-megapixels", type=click.FloatRange(0.001), default=25.0, show_default=True,
              help="Largest uploaded image (width x height) accepted.")
@click.option("--queue", "max_waiting", type=click.IntRange(min=1), default=8, show_default=True,
              help="Requests that may wait while one runs; more are refused with a 'busy' message.")
@click.option("--allow-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Another name the page may be reached by (repeatable). Requests naming any other host are "
                   "refused (DNS rebinding); the address the server was reached at, and localhost on this "
                   "machine, always work.")
@click.option("--open/--no-open", "open_browser", default=False, help="Open the page in the default browser.")
@device_option
def command(zoo_dir, host, port, steps, max_steps, perceptual, max_upload_mb, max_megapixels, max_waiting,
            allowed_hosts, open_browser, device):
    """Serve the translation web app: upload an image (or pick an example, or type text for a
    glyph zoo), choose the source and target models, see the reconstruction and the
    translations as they finish, and download PNGs and the latent code.

    One request runs at a time; others wait in a queue, and a request is stopped after 15 minutes.
    Everything stays on this machine; only requests from the app's own page are answered.

    \b
    Examples:
      stylebridge app                       # the shipped glyph zoo on http://127.0.0.1:7860/
      stylebridge app --zoo my_zoo/ --port 8000
      stylebridge app --host 0.0.0.0        # serve the local network too (no login: see --host)
    """
    from stylebridge.app.engine import Limits, Studio
    from stylebridge.app.jobs import JobQueue
    from stylebridge.app.server import create_app, is_loopback, serve
    from stylebridge.translate.zoo import Zoo

    if zoo_dir is None:
        from stylebridge.zoo import shipped_zoo_dir
        zoo_dir = shipped_zoo_dir()
    zoo = Zoo.from_dir(zoo_dir, device=resolve_device(device))
    limits = Limits(max_upload_bytes=int(max_upload_mb * 2**20), max_pixels=int(max_megapixels * 1e6),
                    max_steps=max_steps)
    click.echo(f"loading zoo {zoo.name!r} ({len(zoo.names)} models) from {zoo_dir}", err=True)
    studio = Studio(zoo, limits, default_steps=steps, default_perceptual=perceptual)
    app = create_app(studio, JobQueue(max_waiting=max_waiting), allowed_hosts=tuple(allowed_hosts))
    if not is_loopback(host):
        click.secho(f"WARNING: serving on {host}, not only this machine: anyone who can reach it can use the app "
                    "(no login). Use --host 127.0.0.1 to keep it local.", fg="yellow", err=True)

    def ready(bound_port: int) -> None:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{bound_port}/"
        click.echo(f"stylebridge app on {url}  (Ctrl-C stops it)", err=True)
        if open_browser:
            import webbrowser
            webbrowser.open(url)

    serve(app, host, port, on_ready=ready)

"""The web app: a small Starlette (ASGI) server with one static page, served by uvicorn.

Routes (JSON unless noted; every error is `{"error": MESSAGE}` with a 4xx/5xx status):

    GET  /                              the page (static/index.html, app.js, style.css)
    GET  /api/info                      zoo, models, options, defaults, limits, examples
    GET  /api/examples/NAME             example image (PNG)
    POST /api/uploads?name=FILE         raw image bytes -> {id, preview, width, height, note}
    GET  /api/uploads/ID/preview        the upload as the model sees it (PNG)
    POST /api/jobs                      {input, source, targets, method, steps, ...} -> job status
    GET  /api/jobs/ID                   state, progress, stage, queue position, files, error
    POST /api/jobs/ID/cancel            cancel a waiting or running job
    GET  /api/jobs/ID/preview           live reconstruction during the inversion (PNG)
    GET  /api/jobs/ID/files/NAME        an output (PNG or the latent .npz); ?download=1 to save
    GET  /api/jobs/ID/all.zip           every output of the job

One worker thread runs the jobs in order (app/jobs.py); requests only check inputs and read
state, so the server keeps answering while a long inversion runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import ipaddress
import json
import logging
import socket
import threading
import time
import urllib.parse
import zipfile
from pathlib import Path

from stylebridge.errors import StylebridgeError

try:
    import anyio
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.datastructures import Headers
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
except ImportError as e:  # pragma: no cover - depends on the install
    raise StylebridgeError("the web app needs the optional dependencies: pip install 'stylebridge[app]' "
                           f"(missing: {e.name})") from None

from stylebridge.app.engine import Studio
from stylebridge.app.jobs import QUEUED, JobQueue, QueueFull

log = logging.getLogger("stylebridge.app")
STATIC = Path(__file__).resolve().parent / "static"
MAX_JSON_BYTES = 64 * 1024
NO_STORE = {"Cache-Control": "no-store"}


BODY_SECONDS = 10  # a body that has not fully arrived by then is refused (408)
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
# POST bodies the page sends; none is a type a cross-site <form> can send without the browser
# asking first (CORS preflight, which this server never grants).
UPLOAD_TYPES = ("application/octet-stream", "image/")
JSON_TYPE = "application/json"


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=NO_STORE)


async def _read_body(request: Request, limit: int, what: str) -> bytes:
    """The request body, refused early (413) when it is larger than `limit` bytes and (408) when
    it has not arrived within BODY_SECONDS (a body shorter than its Content-Length)."""
    declared = request.headers.get("content-length")
    mb = f"{limit / 2**20:.0f} MB" if limit >= 2**20 else f"{limit // 1024} KB"
    if declared and declared.isdigit() and len(declared) < 20 and int(declared) > limit:
        raise HTTPException(413, f"{what} is {int(declared) / 2**20:.1f} MB; the limit is {mb}")
    chunks, size = [], 0
    try:
        with anyio.fail_after(BODY_SECONDS):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise HTTPException(413, f"{what} is larger than the limit of {mb}")
                chunks.append(chunk)
    except TimeoutError:
        raise HTTPException(408, f"{what} did not arrive within {BODY_SECONDS} s") from None
    return b"".join(chunks)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number")


def request_problem(scope, allowed_hosts: tuple[str, ...] = ()) -> tuple[int, str] | None:
    """Why a request does not come from the app's own page, or None when it does.

    * Host must name the address the server was reached at (the loopback names when that is a
      loopback address; `allowed_hosts` add names) with its port: a DNS-rebinding page sends
      its own name.
    * A POST must carry the page's content type (JSON; raw bytes or image/* for uploads), and an
      Origin, when the browser sends one, must be the Host's own.
    """
    headers = Headers(scope=scope)
    server = scope.get("server") or ("", 0)
    try:
        parts = urllib.parse.urlsplit("//" + headers.get("host", ""))
        name, port = (parts.hostname or ""), (parts.port or 80)
    except ValueError:
        return 400, "malformed Host header"
    local = str(server[0]).lower()
    with contextlib.suppress(ValueError):  # '::ffff:127.0.0.1' (dual-stack socket) -> '127.0.0.1'
        ip = ipaddress.ip_address(local)
        local = str(getattr(ip, "ipv4_mapped", None) or ip)
    names = {local, *allowed_hosts} | (set(LOOPBACK_NAMES) if is_loopback(local) else set())
    if name not in names or (server[1] and port != server[1]):
        return 421, "this server answers requests for its own address only (Host header refused)"
    if scope.get("method") != "POST":
        return None
    origin = headers.get("origin")
    if origin is not None and origin.lower().rstrip("/") != "http://" + headers.get("host", "").lower():
        return 403, "cross-site request refused: it must come from the app's own page"
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    wanted = UPLOAD_TYPES if scope.get("path", "").rstrip("/").endswith("/api/uploads") else (JSON_TYPE,)
    if not ctype.startswith(wanted):
        return 415, f"send the request as {' or '.join(t + ('*' if t.endswith('/') else '') for t in wanted)}"
    return None


class SameOrigin:
    """ASGI middleware that answers every request `request_problem` finds fault with."""

    def __init__(self, app, allowed_hosts: tuple[str, ...] = ()):
        self.app, self.allowed_hosts = app, tuple(h.lower() for h in allowed_hosts)

    async def __call__(self, scope, receive, send):
        problem = request_problem(scope, self.allowed_hosts) if scope["type"] == "http" else None
        if problem is not None:
            await _error(problem[1], problem[0])(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(studio: Studio, queue: JobQueue | None = None, allowed_hosts: tuple[str, ...] = ()) -> Starlette:
    """The ASGI app over a Studio. The queue (one worker thread) is created here unless given;
    it is shut down with the app (lifespan). Requests must come from the app's own page
    (`request_problem`); `allowed_hosts` are further names the server may be reached by."""
    queue = queue or JobQueue()

    async def index(request: Request):
        return FileResponse(STATIC / "index.html", headers=NO_STORE)

    async def info(request: Request):
        return JSONResponse(studio.info(), headers=NO_STORE)

    async def example(request: Request):
        data = studio.examples.get(request.path_params["name"])
        if data is None:
            return _error("unknown example", 404)
        return Response(data, media_type="image/png")

    # Uploads are read and decoded a few at a time: a body is only read once its turn comes, so
    # memory is bounded by max_decodes x (upload + decode), whatever arrives at once.
    decode_slots = asyncio.Semaphore(max(1, studio.limits.max_decodes))

    async def upload(request: Request):
        async with decode_slots:
            body = await _read_body(request, studio.limits.max_upload_bytes, "the file")
            up = await run_in_threadpool(studio.add_upload, body, request.query_params.get("name", ""))
            del body
        return JSONResponse({"id": up.id, "preview": f"api/uploads/{up.id}/preview", "width": up.width,
                             "height": up.height, "note": up.note}, headers=NO_STORE)

    async def upload_preview(request: Request):
        try:
            up = studio.upload(request.path_params["id"])
        except StylebridgeError as e:
            return _error(str(e), 404)
        return Response(up.preview, media_type="image/png")

    async def submit(request: Request):
        body = await _read_body(request, MAX_JSON_BYTES, "the request")
        try:
            req = json.loads(body or b"{}", parse_constant=_no_constant)
        except (ValueError, RecursionError):  # bad JSON, NaN / Infinity, over 4300 digits, nested too deep
            return _error("the request is not valid JSON (plain numbers and at most a few levels of nesting)", 400)
        params = await run_in_threadpool(studio.parse_request, req)
        job = queue.submit(studio.run, params)
        return JSONResponse(queue.status(job.id), headers=NO_STORE)

    async def status(request: Request):
        return JSONResponse(queue.status(request.path_params["id"]), headers=NO_STORE)

    async def cancel(request: Request):
        job = queue.cancel(request.path_params["id"])
        return JSONResponse(queue.status(job.id), headers=NO_STORE)

    async def preview(request: Request):
        job = queue.get(request.path_params["id"])
        if job.preview is None:
            return _error("no preview yet", 404)
        return Response(job.preview, media_type="image/png", headers=NO_STORE)

    async def file(request: Request):
        job = queue.get(request.path_params["id"])
        f = job.files.get(request.path_params["name"])
        if f is None:
            return _error(f"job has no file {request.path_params['name']!r}", 404)
        headers = dict(NO_STORE)
        if request.query_params.get("download"):
            headers["Content-Disposition"] = f'attachment; filename="{f.name}"'
        return Response(f.data, media_type=f.media_type, headers=headers)

    async def archive(request: Request):
        job = queue.get(request.path_params["id"])
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for f in list(job.files.values()):
                z.writestr(f.name, f.data)
        return Response(buf.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="stylebridge-{job.id[:8]}.zip"'})

    async def on_user_error(request: Request, exc: StylebridgeError):
        return _error(str(exc), 429 if isinstance(exc, QueueFull) else 400)

    async def on_unknown_job(request: Request, exc: KeyError):
        return _error("unknown job: the server keeps the latest results only (or it was restarted); run it again",
                      404)

    async def on_http(request: Request, exc: HTTPException):
        return _error(str(exc.detail), exc.status_code)

    async def on_crash(request: Request, exc: Exception):
        log.exception("request %s failed", request.url.path, exc_info=exc)
        return _error(f"internal error ({type(exc).__name__}); the server log has the details", 500)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await run_in_threadpool(queue.shutdown)

    routes = [
        Route("/", index),
        Route("/api/info", info),
        Route("/api/examples/{name}", example),
        Route("/api/uploads", upload, methods=["POST"]),
        Route("/api/uploads/{id}/preview", upload_preview),
        Route("/api/jobs", submit, methods=["POST"]),
        Route("/api/jobs/{id}", status),
        Route("/api/jobs/{id}/cancel", cancel, methods=["POST"]),
        Route("/api/jobs/{id}/preview", preview),
        Route("/api/jobs/{id}/files/{name}", file),
        Route("/api/jobs/{id}/all.zip", archive),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(SameOrigin, allowed_hosts=allowed_hosts)],
                    exception_handlers={
        StylebridgeError: on_user_error, KeyError: on_unknown_job, HTTPException: on_http, Exception: on_crash})
    app.state.studio, app.state.queue = studio, queue
    return app


# ---------------------------------------------------------------------------- serving


def is_loopback(host: str) -> bool:
    """Whether a host name or address reaches this machine only (parsed, not a '127.' prefix)."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one); a clear error when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise StylebridgeError(f"cannot listen on {host}:{port} ({e.strerror}); choose another --port") from None
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def _uvicorn_server(app, log_level: str):
    import uvicorn

    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="on", timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


def serve(app, host: str = "127.0.0.1", port: int = 7860, log_level: str = "warning", on_ready=None) -> None:
    """Serve until Ctrl-C."""
    sock = bind(host, port)
    server = _uvicorn_server(app, log_level)
    if on_ready is not None:
        on_ready(sock.getsockname()[1])
    server.run(sockets=[sock])


class BackgroundServer:
    """Serve an app from a thread on a free local port (tests, notebooks):

        with BackgroundServer(app) as url: ...
    """

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        self.app, self.sock = app, bind(host, port)
        self.url = f"http://{host}:{self.sock.getsockname()[1]}/"
        self.server = _uvicorn_server(app, log_level)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True,
                                       name="stylebridge-app-server")

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app server did not start")
            time.sleep(0.02)
        return self.url

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


__all__ = ["create_app", "serve", "BackgroundServer", "is_loopback", "bind", "QUEUED"]

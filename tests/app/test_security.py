"""The app against a hostile web page and hostile JSON (issue 19): requests must come from the
app's own page (Host, Origin, Content-Type), job JSON that is not plain data gets 400 with a
short message, a job's work is capped and a job that runs too long is stopped."""

import http.client
import json
import socket
import time
import urllib.error
import urllib.request

import pytest

from stylebridge.app import server as server_mod
from stylebridge.app.engine import Limits, Studio, work_units
from stylebridge.app.jobs import FAILED, JobQueue
from stylebridge.app.server import BackgroundServer, create_app, is_loopback
from stylebridge.translate.zoo import Zoo
from tests.app.conftest import FAST
from tests.app.test_api import call, png, upload, wait_job

EX = {"type": "example", "name": "sample1.png"}


@pytest.fixture(scope="module")
def app_url(zoo_dir):
    limits = Limits(max_upload_bytes=200_000, max_pixels=1_000_000, max_work=60)
    studio = Studio(Zoo.from_dir(zoo_dir), limits, default_steps=FAST["steps"], default_perceptual="pixel")
    with BackgroundServer(create_app(studio, JobQueue(max_waiting=2))) as url:
        yield url


def raw(url, path, body=b"", headers=None, method="POST"):
    """A request with exactly these headers (urllib adds none that matter here)."""
    req = urllib.request.Request(url + path, data=body if method == "POST" else None, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_loopback_is_parsed_not_a_prefix():
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]", "LOCALHOST"):
        assert is_loopback(host), host
    for host in ("127.evil.example", "0.0.0.0", "::", "10.0.0.1", "localhost.evil.example", "evil.example"):
        assert not is_loopback(host), host


def test_requests_from_other_sites_are_refused(app_url):
    port = app_url.rsplit(":", 1)[1].strip("/")
    job = json.dumps({"input": EX, "targets": ["bold"]}).encode()
    js = {"Content-Type": "application/json"}
    # a page on another site: its Origin (the Host is ours: the browser sends the URL's host)
    status, r = raw(app_url, "api/jobs", job, {**js, "Origin": "http://evil.example"})
    assert status == 403 and "cross-site" in r["error"]
    status, r = raw(app_url, "api/jobs", job, {**js, "Origin": "null"})
    assert status == 403
    # the form-post trick: text/plain needs no CORS preflight, so it is refused whatever the Origin
    status, r = raw(app_url, "api/jobs", job, {"Content-Type": "text/plain"})
    assert status == 415 and "application/json" in r["error"]
    status, r = raw(app_url, "api/uploads?name=x.png", png(8, 8), {"Content-Type": "text/plain"})
    assert status == 415
    status, r = raw(app_url, "api/uploads?name=x.png", png(8, 8), {"Content-Type": "multipart/form-data; b=x"})
    assert status == 415
    # DNS rebinding: the page's own name in Host, for reads too
    for host in ("evil.example", f"evil.example:{port}", f"127.evil.example:{port}", "127.0.0.1:1"):
        status, r = raw(app_url, "api/info", method="GET", headers={"Host": host})
        assert status == 421 and "Host" in r["error"], host
        status, r = raw(app_url, "api/jobs", job, {**js, "Host": host})
        assert status == 421, host
    # our own page, by each loopback name: accepted
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        status, r = raw(app_url, "api/info", method="GET", headers={"Host": host})
        assert status == 200, host
        status, r = raw(app_url, "api/uploads?name=x.png", png(8, 8),
                        {"Content-Type": "image/png", "Host": host, "Origin": f"http://{host}"})
        assert status == 200, (host, r)


def test_unknown_preview_is_404_and_a_short_body_times_out(app_url, monkeypatch):
    status, r = call(app_url + "api/uploads/nosuchid/preview")
    assert status == 404
    monkeypatch.setattr(server_mod, "BODY_SECONDS", 1)
    host, port = app_url.split("//")[1].strip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"POST /api/jobs HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                  "Content-Length: 1000\r\n\r\n{\"input\":".encode())
        t0 = time.monotonic()
        answer = s.recv(4096).decode()
        assert answer.startswith("HTTP/1.1 408") and time.monotonic() - t0 < 5


@pytest.mark.parametrize("body, message", [
    (b'{"input": {"type": "example", "name": "sample1.png"}, "steps": Infinity}', "not valid JSON"),
    (b'{"input": {"type": "example", "name": "sample1.png"}, "seed": -Infinity}', "not valid JSON"),
    (b'{"input": {"type": "example", "name": "sample1.png"}, "modes": NaN}', "not valid JSON"),
    (b'{"input": {"type": "example", "name": "sample1.png"}, "seed": ' + b"9" * 5000 + b"}", "not valid JSON"),
    (b'{"input": {"type": "example", "name": "sample1.png"}, "targets": ' + b"[" * 20000 + b"]" * 20000 + b"}",
     "not valid JSON"),
    (b'{"input": {"type": "example", "name": "sample1.png"}, "targets": [1]}', "list of model names"),
    (b'{"input": {"type": "example", "name": "sample1.png"}, "targets": [["bold"]]}', "list of model names"),
    (b'{"input": {"type": "example", "name": "sample1.png"}, "steps": true}', "must be a number"),
    (b'{"input": {"type": "example", "name": "sample1.png"}, "steps": 2.5}', "whole number"),
    (b'{"input": {"type": "example", "name": "sample1.png"}, "content_layers": 1e308}', "between"),
    (b'{"input": {"type": "example", "name": ["x"]}}', "must be a string"),
    (b'{"input": {"type": "example", "name": "sample1.png"}, "source": {"a": 1}}', "must be a string"),
    (b'[1, 2]', "JSON object"),
])
def test_hostile_job_json_gets_400_with_a_short_message(app_url, body, message):
    status, r = call(app_url + "api/jobs", body)
    assert status == 400 and message in r["error"], r
    assert len(r["error"]) < 300


def test_out_of_range_numbers_are_not_echoed(app_url):
    status, r = call(app_url + "api/jobs", b'{"input": {"type": "example", "name": "sample1.png"}, "steps": '
                     + b"9" * 300 + b"}")
    assert status == 400 and "steps must be between 1 and" in r["error"] and "999999" not in r["error"]


def test_targets_are_deduplicated_and_work_is_capped(app_url, zoo_dir):
    studio = Studio(Zoo.from_dir(zoo_dir), Limits(max_work=60), default_steps=6, default_perceptual="pixel")
    p = studio.parse_request({"input": EX, "targets": ["script"] * 9300, "steps": 6})
    assert p["targets"] == ["script"]
    body = json.dumps({"input": EX, "targets": ["script"] * 6000}, separators=(",", ":")).encode()
    assert len(body) < 64 * 1024
    status, r = call(app_url + "api/jobs", body)
    assert status == 200  # one target
    # a reference image makes every target an inversion: 30 steps x (1 + 2 targets) > 60
    status, up = upload(app_url, png(16, 16), "ref.png")
    assert work_units(30, 2, 0, True) == 30 * 3 + 2
    status, r = call(app_url + "api/jobs", {"input": EX, "targets": ["bold", "script"], "steps": 30,
                                            "reference": up["id"]})
    assert status == 400 and "too much work" in r["error"] and "limit is 60" in r["error"]


def test_a_job_running_too_long_is_stopped():
    q = JobQueue(max_seconds=0.2)

    def slow(job):
        while True:
            job.check_cancelled()
            time.sleep(0.01)
    job = q.wait(q.submit(slow).id, 10)
    assert job.state == FAILED and "stopped after 0.2 s" in job.error
    q.shutdown()


def test_http_client_without_origin_still_works(app_url):
    """Scripts (curl, Python) send no Origin: they keep working with the right content type."""
    host, port = app_url.split("//")[1].strip("/").split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=20)
    c.request("POST", "/api/jobs", json.dumps({"input": EX, "targets": ["bold"]}),
              {"Content-Type": "application/json; charset=utf-8"})
    r = c.getresponse()
    assert r.status == 200, r.read()
    job = json.loads(r.read())
    assert wait_job(app_url, job["id"])["state"] == "done"


def test_allowed_hosts_add_names(zoo_dir):
    studio = Studio(Zoo.from_dir(zoo_dir), default_steps=FAST["steps"], default_perceptual="pixel")
    with BackgroundServer(create_app(studio, allowed_hosts=("mybox.local",))) as url:
        port = url.rsplit(":", 1)[1].strip("/")
        assert raw(url, "api/info", method="GET", headers={"Host": f"mybox.local:{port}"})[0] == 200
        assert raw(url, "api/info", method="GET", headers={"Host": f"otherbox.local:{port}"})[0] == 421

"""The web app without a browser: the job queue (one at a time, positions, cancel, errors that
never kill the worker), the HTTP API (size limits, bad input, unknown models, cancel), the
latent download, and the CLI verb in a subprocess."""

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image

from stylebridge.app.engine import Limits, Studio
from stylebridge.app.jobs import CANCELLED, DONE, FAILED, JobQueue, QueueFull
from stylebridge.app.server import BackgroundServer, create_app, is_loopback
from stylebridge.data.images import to_uint8
from stylebridge.errors import StylebridgeError
from stylebridge.invert.api import load_code, render
from stylebridge.translate.zoo import Zoo
from tests.app.conftest import FAST

# ---------------------------------------------------------------------------- queue


def test_queue_runs_one_job_at_a_time_in_order():
    q = JobQueue(max_waiting=4)
    running, seen, overlap = [], [], []
    gate = threading.Event()

    def work(job):
        running.append(job.id)
        if len(running) > 1:
            overlap.append(job.id)
        seen.append(job.params["n"])
        gate.wait(5)
        running.remove(job.id)

    jobs = [q.submit(work, {"n": i}) for i in range(3)]
    deadline = time.monotonic() + 5
    while jobs[0].state != "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert q.position(jobs[0]) is None and q.position(jobs[1]) == 1 and q.position(jobs[2]) == 2
    assert q.status(jobs[2].id)["queue_position"] == 2
    gate.set()
    for j in jobs:
        assert q.wait(j.id, 10).state == DONE
    assert seen == [0, 1, 2] and not overlap
    q.shutdown()


def test_queue_full_cancel_waiting_and_errors_keep_the_worker_alive():
    q = JobQueue(max_waiting=2)
    gate = threading.Event()
    first = q.submit(lambda job: gate.wait(5))
    while first.state != "running":
        time.sleep(0.01)
    a = q.submit(lambda job: None)
    b = q.submit(lambda job: None)
    with pytest.raises(QueueFull, match="busy"):
        q.submit(lambda job: None)
    assert q.cancel(a.id).state == CANCELLED and q.waiting == 1 and q.position(b) == 1
    gate.set()
    assert q.wait(b.id).state == DONE

    def user_error(job):
        raise StylebridgeError("a message for the page")

    def crash(job):
        raise RuntimeError("boom")
    e1 = q.submit(user_error)
    q.wait(e1.id)
    e2 = q.submit(crash)
    assert q.wait(e1.id).error == "a message for the page" and e1.state == FAILED
    assert q.wait(e2.id).state == FAILED and "RuntimeError: boom" in e2.error and "Traceback" not in e2.error
    ok = q.submit(lambda job: job.report(0.5, "half"))
    assert q.wait(ok.id).state == DONE and ok.progress == 1.0
    q.shutdown()


def test_queue_evicts_old_finished_jobs():
    q = JobQueue(keep_finished=2)
    ids = [q.submit(lambda job: None).id for _ in range(4)]
    for i in ids[-2:]:
        q.wait(i)
    with pytest.raises(KeyError):
        q.get(ids[0])
    assert q.get(ids[-1]).state == DONE
    q.shutdown()


# ---------------------------------------------------------------------------- HTTP


def call(url, data=None, method=None, content_type="application/json"):
    body = json.dumps(data).encode() if isinstance(data, (dict, list)) else data
    req = urllib.request.Request(url, data=body, method=method or ("POST" if body is not None else "GET"),
                                 headers={"Content-Type": content_type} if body is not None else {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            raw, status, ctype = r.read(), r.status, r.headers.get("content-type", "")
    except urllib.error.HTTPError as e:
        raw, status, ctype = e.read(), e.code, e.headers.get("content-type", "")
    return status, (json.loads(raw) if "json" in ctype else raw)


def png(w, h, mode="RGB", value=128):
    buf = io.BytesIO()
    Image.new(mode, (w, h), value).save(buf, format="PNG")
    return buf.getvalue()


def upload(url, data, name="x.png"):
    return call(url + f"api/uploads?name={name}", data, content_type="application/octet-stream")


def wait_job(url, job_id, until=("done", "failed", "cancelled"), timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        status, s = call(url + f"api/jobs/{job_id}")
        assert status == 200, s
        if s["state"] in until:
            return s
        assert time.monotonic() < deadline, f"job still {s['state']}: {s['stage']}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def app_url(zoo_dir):
    limits = Limits(max_upload_bytes=200_000, max_pixels=1_000_000)
    studio = Studio(Zoo.from_dir(zoo_dir), limits, default_steps=FAST["steps"], default_perceptual="pixel")
    with BackgroundServer(create_app(studio, JobQueue(max_waiting=2))) as url:
        yield url


def test_info_lists_the_zoo(app_url):
    status, info = call(app_url + "api/info")
    assert status == 200 and info["kind"] == "glyphs" and info["text_input"] is True
    assert [m["name"] for m in info["models"]] == ["base", "bold", "script", "stranger"]
    assert info["resolution"] == 16 and info["defaults"]["content_layers"] == 3
    status, page = call(app_url)
    assert status == 200 and b"stylebridge" in page and b"static/app.js" in page
    status, ex = call(app_url + info["examples"][0])
    assert status == 200 and Image.open(io.BytesIO(ex)).size == (16, 16)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_upload_limits_and_non_images(app_url):
    status, r = upload(app_url, b"%PDF-1.4 not an image", "doc.pdf")
    assert status == 400 and "not an image" in r["error"]
    status, r = upload(app_url, b"")
    assert status == 400 and "empty" in r["error"]
    status, r = upload(app_url, os.urandom(300_000))          # over the byte limit
    assert status == 413 and "limit" in r["error"]
    status, r = upload(app_url, png(1200, 1000))              # 1.2 MP > the 1 MP limit, few bytes
    assert status == 400 and "megapixels" in r["error"] and "1200x1000" in r["error"]
    # a decompression bomb: 100 MP of 1-bit pixels in a small file, refused from the header alone
    status, r = upload(app_url, png(10_000, 10_000, mode="1", value=0))
    assert status == 400 and "megapixels" in r["error"]
    status, r = upload(app_url, png(40, 30, "RGBA", (255, 0, 0, 128)), "ok.png")
    assert status == 200 and (r["width"], r["height"]) == (40, 30)
    assert "inverted" in r["note"]  # glyph zoo: a light image is flipped to light-on-black
    status, prev = call(app_url + r["preview"])
    assert status == 200 and Image.open(io.BytesIO(prev)).size == (16, 16)


def test_bad_requests_give_messages(app_url):
    status, r = call(app_url + "api/jobs", b"{not json", content_type="application/json")
    assert status == 400 and "JSON" in r["error"]
    status, r = call(app_url + "api/jobs", {"targets": ["bold"]})
    assert status == 400 and "choose an input" in r["error"]
    ex = {"type": "example", "name": "sample1.png"}
    status, r = call(app_url + "api/jobs", {"input": ex, "targets": ["nope"]})
    assert status == 400 and "unknown model(s) nope" in r["error"]
    status, r = call(app_url + "api/jobs", {"input": ex, "source": "ghost"})
    assert status == 400 and "unknown source model" in r["error"]
    status, r = call(app_url + "api/jobs", {"input": ex, "steps": 10**6})
    assert status == 400 and "steps must be between" in r["error"]
    status, r = call(app_url + "api/jobs", {"input": ex, "truncation": "lots"})
    assert status == 400 and "must be a number" in r["error"]
    status, r = call(app_url + "api/jobs", {"input": ex, "appearance": "median"})
    assert status == 400 and "unknown appearance 'median'" in r["error"]
    status, r = call(app_url + "api/jobs", {"input": {"type": "upload", "id": "gone"}})
    assert status == 400 and "choose the image again" in r["error"]
    status, r = call(app_url + "api/jobs", {"input": {"type": "text", "text": "x" * 40}})
    assert status == 400 and "characters" in r["error"]
    status, r = call(app_url + "api/jobs/doesnotexist")
    assert status == 404 and "unknown job" in r["error"]
    status, r = call(app_url + "api/jobs", b"x" * 100_000)
    assert status == 413


def test_unrelated_target_is_refused_in_the_page(app_url):
    ex = {"type": "example", "name": "sample2.png"}
    status, job = call(app_url + "api/jobs", {"input": ex, "targets": ["stranger"]})
    assert status == 200
    s = wait_job(app_url, job["id"])
    assert s["state"] == "failed" and "do not share a mapping network" in s["error"]
    status, job = call(app_url + "api/jobs", {"input": ex, "targets": ["stranger", "bold"]})
    s = wait_job(app_url, job["id"])
    assert s["state"] == "done" and any("stranger skipped" in n for n in s["notes"])
    assert {f["name"] for f in s["files"]} == {"input.png", "reconstruction.png", "latent.npz", "bold.png"}


def test_latent_download_reproduces_the_reconstruction(app_url, zoo_dir):
    ex = {"type": "example", "name": "sample3.png"}
    status, job = call(app_url + "api/jobs", {"input": ex, "targets": ["bold"], "method": "wplus"})
    s = wait_job(app_url, job["id"])
    assert s["state"] == "done", s
    files = {f["name"]: f for f in s["files"]}
    _, npz = call(app_url + files["latent.npz"]["url"] + "?download=1")
    tmp = zoo_dir.parent / "latent.npz"
    tmp.write_bytes(npz)
    ws, noise = load_code(tmp)
    zoo = Zoo.from_dir(zoo_dir)
    _, rec = call(app_url + files["reconstruction.png"]["url"])
    _, bold = call(app_url + files["bold.png"]["url"])
    again = to_uint8(render(zoo["base"], ws, noise))[0, 0].numpy()
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(rec))), again)
    again_bold = to_uint8(render(zoo["bold"], ws, noise))[0, 0].numpy()
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(bold))), again_bold)
    _, z = call(app_url + f"api/jobs/{job['id']}/all.zip")
    import zipfile
    assert set(zipfile.ZipFile(io.BytesIO(z)).namelist()) == set(files)


def test_cancel_a_long_inversion_and_queue_meanwhile(app_url):
    ex = {"type": "example", "name": "sample1.png"}
    # early stopping off by asking many steps of a loss that keeps improving is not guaranteed:
    # cancel as soon as steps are reported, long before 2000 steps could finish
    status, long = call(app_url + "api/jobs", {"input": ex, "targets": ["bold"], "steps": 2000, "method": "wplus"})
    assert status == 200
    status, queued = call(app_url + "api/jobs", {"input": ex, "targets": ["script"]})
    assert status == 200
    status, third = call(app_url + "api/jobs", {"input": ex, "targets": ["script"]})
    assert status == 200
    status, r = call(app_url + "api/jobs", {"input": ex, "targets": ["script"]})
    assert status == 429 and "busy" in r["error"]  # max_waiting=2
    s = wait_job(app_url, long["id"], until=("running",))
    deadline = time.monotonic() + 20
    while "step" not in s["stage"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
        s = call(app_url + f"api/jobs/{long['id']}")[1]
    assert call(app_url + f"api/jobs/{queued['id']}")[1]["queue_position"] == 1
    # a waiting job can be cancelled too (cancelled while the long one still runs: once that one
    # stops, the queued job may finish, and the third start, before a later request arrives)
    status, c = call(app_url + f"api/jobs/{third['id']}/cancel", b"", method="POST")
    assert c["state"] == "cancelled"
    t0 = time.monotonic()
    status, c = call(app_url + f"api/jobs/{long['id']}/cancel", b"", method="POST")
    assert status == 200
    s = wait_job(app_url, long["id"])
    assert s["state"] == "cancelled" and time.monotonic() - t0 < 5
    assert s["progress"] < 0.7
    # the next one then runs to completion, the cancelled one never
    assert wait_job(app_url, queued["id"])["state"] == "done"
    assert call(app_url + f"api/jobs/{third['id']}")[1]["state"] == "cancelled"


def test_rgb_zoo_has_no_text_mode(rgb_zoo_dir):
    studio = Studio(Zoo.from_dir(rgb_zoo_dir), default_steps=3, default_perceptual="pixel")
    assert studio.info()["text_input"] is False and studio.channels == 3
    with pytest.raises(StylebridgeError, match="glyph zoo"):
        studio.parse_request({"input": {"type": "text", "text": "abc"}})
    p = studio.parse_request({"input": {"type": "example", "name": "sample1.png"}, "targets": "all",
                              "modes": 2, "content_layers": 2})
    assert p["targets"] == ["bold", "script"] and p["images"].shape == (1, 3, 16, 16)  # 'all' leaves the source out
    q = JobQueue()
    job = q.wait(q.submit(studio.run, p).id, 60)
    assert job.state == DONE, job.error
    assert {"bold_seed0.png", "bold_seed1.png", "script_seed1.png"} <= set(job.files)
    q.shutdown()


# ---------------------------------------------------------------------------- CLI


def test_cli_serves_on_a_free_port_and_warns_about_other_hosts(zoo_dir):
    from stylebridge.cli.main import main

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and not is_loopback("0.0.0.0")
    proc = subprocess.Popen([sys.executable, "-m", "stylebridge.cli.main", "app", "--zoo", str(zoo_dir), "--port", "0",
                             "--device", "cpu"], stderr=subprocess.PIPE, text=True, env={**os.environ,
                            "OMP_NUM_THREADS": "1"})
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "the app exited early"
            m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            url = m and m.group(1)
        assert url, "no URL printed"
        status, info = call(url + "api/info")
        assert status == 200 and info["zoo"] == "testzoo"
    finally:
        proc.terminate()
        proc.wait(10)
    assert main(["app", "--zoo", str(zoo_dir / "missing")]) == 2


def test_cli_help_warns_about_binding_beyond_localhost(capsys):
    from stylebridge.cli.main import main

    assert main(["app", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "WARNING" in out and "0.0.0.0" in out and "no login" in out


def test_each_method_has_its_own_default_steps():
    """The page switches the steps field with the method: the encoder's default is its
    refinement steps (the zoo's record: the shipped glyph zoo's 200, by measurement; 0 would be one
    forward pass), the optimisations' the inversion steps."""
    from stylebridge.app.engine import Studio
    from stylebridge.zoo import shipped_zoo_dir

    studio = Studio(Zoo.from_dir(shipped_zoo_dir()), default_steps=77)
    d = studio.info()["defaults"]
    assert studio.zoo.default_encoder_steps() == 200
    assert d["steps_by_method"] == {"sefa": 77, "w": 77, "wplus": 77, "encoder": 200}
    assert d["steps"] == d["steps_by_method"][d["method"]]
    # ... and the appearance: the shipped zoo's encoder draws the target's mean w after the
    # content layers (its zoo.json, by measurement); the optimisations the input's own code.
    assert d["method"] == "encoder" and studio.info()["appearances"] == ["input", "mean"]
    assert d["appearance_by_method"] == {"sefa": "input", "w": "input", "wplus": "input", "encoder": "mean"}
    assert d["appearance"] == "mean"


def test_text_jobs_show_each_styles_real_glyphs_beside_its_translation():
    """With a glyph zoo that ships references, a text job adds, in each target's row, the same
    characters in that style's held-out font; an image job (no known characters) adds none."""
    from stylebridge.app.jobs import Job
    from stylebridge.data.glyphs import CHAR_TO_LABEL
    from stylebridge.translate.references import load_references
    from stylebridge.zoo import shipped_zoo_dir

    zoo = Zoo.from_dir(shipped_zoo_dir())
    studio = Studio(zoo)
    target = zoo.resolve("all", exclude=zoo.base)[0]
    p = studio.parse_request({"input": {"type": "text", "text": "H i"}, "targets": [target],
                              "method": "encoder", "steps": 0})
    job = Job(work=studio.run, params=p)
    studio.run(job)
    real = job.files[f"{target}_real.png"]
    assert (real.kind, real.group) == ("real", target)
    imgs, _, font = load_references(zoo)[target]
    assert font in real.label
    got = np.asarray(Image.open(io.BytesIO(real.data)))
    want = to_uint8(torch.cat([imgs[CHAR_TO_LABEL["H"]], imgs[CHAR_TO_LABEL["i"]]], dim=-1))[0].numpy()
    assert got.shape == want.shape and np.abs(got.astype(int) - want.astype(int)).max() <= 1

    example = next(iter(studio.examples))
    job = Job(work=studio.run, params=studio.parse_request(
        {"input": {"type": "example", "name": example}, "targets": [target], "method": "encoder", "steps": 0}))
    studio.run(job)
    assert not [f for f in job.files.values() if f.kind == "real"]


def test_jobs_draw_the_styles_at_the_requested_strength(zoo_dir):
    """A job's "strength" reaches the translator (None: each model's own, listed in /api/info);
    out of range is a message, not a job."""
    from stylebridge.app.jobs import Job

    zoo = Zoo.from_dir(zoo_dir)
    studio = Studio(zoo)
    d = studio.info()["defaults"]
    assert d["strength"] is None and set(d["strength_by_model"].values()) == {1.0} and "bold" in d["strength_by_model"]
    assert studio.info()["limits"]["max_strength"] == 4.0
    example = next(iter(studio.examples))
    req = {"input": {"type": "example", "name": example}, "targets": ["bold"], "method": "wplus", "steps": 2,
           "perceptual": "pixel"}
    outs = {}
    for strength in (None, 2.5):
        job = Job(work=studio.run, params=studio.parse_request({**req, "strength": strength}))
        studio.run(job)
        outs[strength] = np.asarray(Image.open(io.BytesIO(job.files["bold.png"].data)))
        (zoo_dir.parent / "latent.npz").write_bytes(job.files["latent.npz"].data)
        ws, noise = load_code(zoo_dir.parent / "latent.npz")
        want = zoo["bold"] if strength is None else zoo.model("bold", strength)
        assert np.array_equal(outs[strength], to_uint8(render(want, ws, noise))[0, 0].numpy())
    assert not np.array_equal(outs[None], outs[2.5])
    with pytest.raises(StylebridgeError, match="strength must be between 0.0 and 4.0"):
        studio.parse_request({**req, "strength": 7})

"""Uploads cannot exhaust the server's memory: the decompression bombs of issue 19 (a 631-byte
JPEG claiming 5000x5000, a 3 KB 1-bit 5000x5000 PNG, an RGBA 5000x5000 PNG), 8 of each at once,
against the real `stylebridge app` in a subprocess whose peak resident memory (VmHWM) we read.

Measured on a 3-channel tiny zoo (idle server 256 MB): before the fix 8 x 631 B JPEGs took the
peak to 5.7 GB and 8 x RGBA PNGs to 9.1 GB; now the JPEG is refused from its header (too short
for its size), the others are decoded one at a time at about twice the model's size, and the
whole run of 32 uploads peaks at about +200 MB (MEMORY_BOUND: 300 MB), back to idle afterwards.
"""

import concurrent.futures
import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from tests.app.test_api import call, upload

MEMORY_BOUND = 300 * 2**20  # bytes of peak RSS growth allowed for 32 hostile uploads


def bombs() -> dict[str, bytes]:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(buf, "JPEG", quality=50)
    jpeg = bytearray(buf.getvalue())
    sof = jpeg.find(b"\xff\xc0")
    jpeg[sof + 5:sof + 9] = (5000).to_bytes(2, "big") * 2  # height, width: 5000 x 5000, data for 16 x 16
    one_bit = io.BytesIO()
    Image.new("1", (5000, 5000), 0).save(one_bit, "PNG")
    a = np.zeros((5000, 5000, 4), np.uint8)
    a[::50, ::50] = np.random.RandomState(0).randint(0, 255, (100, 100, 4))
    rgba = io.BytesIO()
    Image.fromarray(a, "RGBA").save(rgba, "PNG")
    photo = io.BytesIO()  # a real 5000x5000 JPEG: decoded at 1/8 scale by the JPEG decoder itself
    Image.fromarray(a[..., :3], "RGB").save(photo, "JPEG", quality=30)
    return {"bomb.jpg": bytes(jpeg), "bomb1.png": one_bit.getvalue(), "bombrgba.png": rgba.getvalue(),
            "big.jpg": photo.getvalue()}


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in kB, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f) if k in ("VmRSS", "VmHWM")}


def serve_app(zoo_dir, *args):
    """Start `stylebridge app` on a free port; returns (process, url)."""
    proc = subprocess.Popen([sys.executable, "-m", "stylebridge.cli.main", "app", "--zoo", str(zoo_dir), "--port", "0",
                             "--device", "cpu", *args], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        if m:
            return proc, m.group(1)
    proc.kill()
    raise RuntimeError("the app did not start")


def post_upload(url: str, name: str, data: bytes, timeout: float = 180) -> tuple[int, str]:
    """(status, error message) of one upload; a long timeout: uploads wait for their turn."""
    req = urllib.request.Request(url + f"api/uploads?name={name}", data=data, method="POST",
                                 headers={"Content-Type": "application/octet-stream"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, ""
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()).get("error", "")


def upload_bombs(url: str, files: dict[str, bytes], copies: int = 8) -> list[tuple[str, int, str]]:
    """Upload every bomb `copies` times, all at once; (name, status, message) per upload."""
    jobs = [(name, data) for name, data in files.items() for _ in range(copies)]
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        answers = list(pool.map(lambda j: post_upload(url, *j), jobs))
    return [(name, status, error) for (name, _), (status, error) in zip(jobs, answers)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/status")
def test_bombs_stay_within_a_memory_bound_and_the_server_keeps_serving(rgb_zoo_dir):
    files = bombs()
    assert len(files["bomb.jpg"]) < 700 and len(files["bomb1.png"]) < 4000 and len(files["big.jpg"]) < 2**20
    proc, url = serve_app(rgb_zoo_dir)  # default limits: 10 MB, 25 megapixels (the bombs are exactly 25)
    try:
        assert call(url + "api/info")[0] == 200
        idle = memory_kb(proc.pid)
        answers = upload_bombs(url, files)
        peak = memory_kb(proc.pid)
        growth = (peak["VmHWM"] - idle["VmHWM"]) * 1024
        print(f"\nidle RSS {idle['VmRSS'] / 1024:.0f} MB, peak {peak['VmHWM'] / 1024:.0f} MB "
              f"(+{growth / 2**20:.0f} MB), after {peak['VmRSS'] / 1024:.0f} MB; answers "
              f"{sorted({(n, s, e[:60]) for n, s, e in answers})}")
        # the truncated JPEG is refused; the PNGs are decoded at the model's size
        assert all(s == 400 and "damaged" in e for n, s, e in answers if n == "bomb.jpg"), answers
        assert all(s == 200 for n, s, e in answers if n != "bomb.jpg"), answers
        assert growth < MEMORY_BOUND, f"peak RSS grew by {growth / 2**20:.0f} MB"
        status, info = call(url + "api/info")
        assert status == 200 and info["resolution"] == 16
        status, r = upload(url, files["bomb1.png"], "again.png")
        assert status == 200 and (r["width"], r["height"]) == (5000, 5000)
    finally:
        proc.terminate()
        proc.wait(10)

"""A run killed with SIGKILL and resumed equals an uninterrupted run, bit for bit (CPU)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from stylebridge.cli.main import main
from tests.train.helpers import disc_images, tensors, write_folder

ARGS = ["--config", "tiny-16", "--batch", "4", "--snap", "2", "--seed", "5", "--aug", "ada", "--aug-p", "0.3",
        "--ada-kimg", "0.1", "--pl-weight", "1", "--mirror", "--gamma", "0.05", "--no-progress", "--log-every", "1"]


def test_sigkill_then_resume_is_exact(tmp_path):
    data = write_folder(tmp_path / "data", disc_images(10))
    common = ["train", "--data", str(data)] + ARGS
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(common + ["--outdir", str(tmp_path / "ref"), "--iters", "8"]) == 0
        run = tmp_path / "killed"
        env = dict(os.environ, OMP_NUM_THREADS="1")
        proc = subprocess.Popen([sys.executable, "-c", "import sys; from stylebridge.cli.main import main; "
                                 "sys.exit(main(sys.argv[1:]))"] + common + ["--outdir", str(run), "--iters", "100000"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                cwd=str(Path(__file__).resolve().parents[2]))
        deadline = time.time() + 120
        while not (run / "network-snapshot-000004.safetensors").exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.time() < deadline, "the run never wrote snapshot 4"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        assert not (run / "network-snapshot-000100000.safetensors").exists()
        assert main(["train", "--resume", str(run), "--iters", "8", "--no-progress"]) == 0
    finally:
        torch.set_num_threads(threads)
    ref, got = tensors(tmp_path / "ref" / "network-snapshot-000008.safetensors"), \
        tensors(run / "network-snapshot-000008.safetensors")
    assert set(ref) == set(got)
    nets = [k for k in ref if k.startswith(("G.", "G_ema.", "D."))]
    assert len(nets) > 50
    diff = [k for k in ref if not torch.equal(ref[k], got[k])]
    assert diff == [], diff[:5]

"""Two CPU processes (gloo) with global batch 4 take the same step as one process.

Per-pixel noise is drawn per process, so it cannot match one process sample for sample;
the worker keeps the noise strengths at 0 (zero gradient), and the discriminator has no
minibatch-std layer (it couples the samples of a shard). Then G and D after one full
iteration (G step, D step, R1 step, EMA) must agree to float tolerance.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from tests.train.helpers import make_base, tensors

ROOT = Path(__file__).resolve().parents[2]


def _launch(args, env):
    r = subprocess.run([sys.executable] + args, cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]


def test_two_processes_match_one(tmp_path):
    base = make_base(tmp_path / "base.safetensors", mbstd_num_channels=0)  # mbstd couples samples of a shard
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    _launch(["tests/train/ddp_worker.py", str(base), str(tmp_path / "one")], env)
    _launch(["-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
             "tests/train/ddp_worker.py", str(base), str(tmp_path / "two")], env)
    one = torch.load(tmp_path / "one" / "rank0.pt", weights_only=True)
    r0 = torch.load(tmp_path / "two" / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "two" / "rank1.pt", weights_only=True)
    for k in r0:
        assert torch.equal(r0[k], r1[k]), f"ranks diverged at {k}"
    keys = [k for k in one if one[k].is_floating_point()]
    for k in keys:
        assert torch.allclose(r0[k], one[k], rtol=1e-4, atol=2e-6), (k, (r0[k] - one[k]).abs().max())
    start = tensors(base)
    moved = [k for k in keys if not torch.equal(one[k], start[k])]
    assert sum(k.startswith("D.") for k in moved) > 10 and sum(k.startswith("G.synthesis") for k in moved) > 10

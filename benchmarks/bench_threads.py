"""CPU threads of the CLI when another process keeps one core busy: the demo's inversion
with torch's default (one thread per core), with 1 thread, and with every core but one
(the CLI's policy, stylebridge/cli/threads.py), each in a fresh process.

    python benchmarks/bench_threads.py [--steps 200] [--no-busy]

Starts `python -c 'while 1: pass'` for the duration (unless --no-busy). Prints a table and
writes JSON.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402

from stylebridge.cli.threads import usable_cores  # noqa: E402


def run_demo(threads: int, steps: int) -> float:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run([sys.executable, "-m", "stylebridge.cli.main", "demo", "--steps", str(steps),
                              "--no-progress", "--out", f"{d}/demo.png"], env=env, capture_output=True, text=True,
                             check=True).stdout
    return float(re.search(r"invert:\s+([\d.]+) s", out).group(1))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--no-busy", action="store_true")
    ap.add_argument("--out", default="benchmarks/results/threads.json")
    args = ap.parse_args(argv)
    cores = usable_cores()
    variants = {"one per core (torch default)": cores, "1": 1, "cores - 1 (the CLI's policy)": max(1, cores - 1)}
    busy = None if args.no_busy else subprocess.Popen([sys.executable, "-c", "while 1: pass"])
    rows = []
    try:
        for name, n in variants.items():
            rows.append({"threads": name, "n": n, "invert_s": run_demo(n, args.steps)})
            print(rows[-1], flush=True)
    finally:
        if busy is not None:
            busy.kill()
    table = print_table(rows, ["threads", "n", "invert_s"])
    res = {"rows": rows, "table": table, "cores": cores, "busy": busy is not None, "steps": args.steps}
    write_json(args.out, res)
    return res


if __name__ == "__main__":
    main()

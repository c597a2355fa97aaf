"""The command line's CPU thread policy (set once, in the CLI entry; library functions never
change process-wide settings).

torch starts one OpenMP thread per core. When another process keeps a core busy, every
parallel region waits for the thread that shares that core, and small models (the glyph
demo) become 20-30x slower. Leaving one core free avoids that cliff at a small cost on an
idle machine (measured: README, "Threads"). OMP_NUM_THREADS, when set, always wins.
"""

from __future__ import annotations

import os

ENV = "OMP_NUM_THREADS"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def policy_threads(cores: int | None = None) -> int:
    """Threads for a CLI run: every core but one (at least 1)."""
    cores = usable_cores() if cores is None else cores
    return max(1, cores - 1)


def set_thread_policy() -> int | None:
    """Apply the policy unless the user set OMP_NUM_THREADS; returns the threads set (or None).
    Before torch is imported the environment variable is enough (it also sizes the OpenMP
    pool); afterwards torch.set_num_threads does it."""
    if os.environ.get(ENV):
        return None
    n = policy_threads()
    os.environ[ENV] = str(n)
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    return n

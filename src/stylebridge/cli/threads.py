"""The command line's CPU thread policy (set once, in the CLI entry; library functions never
change process-wide settings).

torch starts one OpenMP thread per core. When another process keeps a core busy, every
parallel region waits for the thread that shares that core, and small models (the glyph
demo) become 20-30x slower. So the CLI leaves as many cores free as other processes keep
busy (the 1-minute load average, rounded): all cores on an idle machine, one fewer per busy
core, at least one (measured: README, "Threads"). OMP_NUM_THREADS, when set, always wins.
"""

from __future__ import annotations

import os

ENV = "OMP_NUM_THREADS"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def busy_cores() -> float:
    """Cores other processes keep busy: the 1-minute load average (0 where unknown)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # not Unix
        return 0.0


def policy_threads(cores: int | None = None, busy: float | None = None) -> int:
    """Threads for a CLI run: the cores that other processes leave free (at least 1)."""
    cores = usable_cores() if cores is None else cores
    busy = busy_cores() if busy is None else busy
    return max(1, min(cores, cores - round(busy)))


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


# Verbs whose runs last long: they keep the thread count chosen at their start for their
# whole life, so a busy moment at start would slow all of it (measured: an encoder run started
# just after other work got 1 thread, 0.69 s per iteration against 0.37 s with 2).
LONG_VERBS = ("train", "finetune", "encoder")


def fewer_threads_note(threads: int | None, cores: int | None = None, busy: float | None = None) -> str | None:
    """A one-line note when the policy chose fewer threads than cores (None otherwise)."""
    cores = usable_cores() if cores is None else cores
    if threads is None or threads >= cores:
        return None
    busy = busy_cores() if busy is None else busy
    return (f"note: using {threads} of {cores} CPU threads: other processes keep cores busy (load average "
            f"{busy:.1f}); this run keeps that count, set OMP_NUM_THREADS={cores} to use them all")

"""A job queue with one worker thread: requests wait their turn (torch work never runs twice at
once), report progress, can be cancelled while queued or running, and keep their result files
in memory until they are evicted (oldest finished jobs first).

A job's work is a function `work(job)`; it reports with `job.report(...)`, adds output files with
`job.add_file(...)`, and calls `job.check_cancelled()` often (the inversion calls it every
step), which raises `JobCancelled` once a cancel was asked for.
"""

from __future__ import annotations

import collections
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stylebridge.errors import StylebridgeError

log = logging.getLogger("stylebridge.app")

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)


class JobCancelled(Exception):
    """Raised inside a job's work when a cancel was asked for."""


class JobTimedOut(JobCancelled):
    """Raised inside a job's work once it ran longer than the queue allows."""


class QueueFull(StylebridgeError):
    """Too many requests are waiting."""


@dataclass
class OutputFile:
    name: str            # file name, unique in the job (e.g. 'anime.png', 'latent.npz')
    data: bytes
    media_type: str
    label: str = ""      # caption in the page
    kind: str = "file"   # 'input' | 'reconstruction' | 'translation' | 'real' | 'latent' | 'file'
    group: str = ""      # target model name for translations and real glyphs (one row in the page)


@dataclass(eq=False)  # identity: jobs hold tensors
class Job:
    work: Callable[[Job], None]
    params: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: secrets.token_hex(12))
    state: str = QUEUED
    progress: float = 0.0
    stage: str = "waiting in the queue"
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    files: dict[str, OutputFile] = field(default_factory=dict)
    preview: bytes | None = None
    preview_version: int = 0
    created: float = field(default_factory=time.time)
    max_seconds: float | None = None   # the worker stops the job after this long (None: never)
    started: float | None = None
    finished: float | None = None
    _cancel: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ---- called by the work function (worker thread)

    def report(self, progress: float | None = None, stage: str | None = None) -> None:
        with self._lock:
            if progress is not None:
                self.progress = min(max(float(progress), self.progress), 1.0)
            if stage is not None:
                self.stage = stage

    def add_file(self, f: OutputFile) -> None:
        with self._lock:
            self.files[f.name] = f

    def set_preview(self, png: bytes) -> None:
        with self._lock:
            self.preview = png
            self.preview_version += 1

    def note(self, text: str) -> None:
        with self._lock:
            if text not in self.notes:
                self.notes.append(text)

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise JobCancelled()
        if self.max_seconds is not None and self.started is not None and time.time() - self.started > self.max_seconds:
            raise JobTimedOut()

    # ---- called by anyone

    def snapshot(self, position: int | None = None) -> dict[str, Any]:
        with self._lock:
            files = [{"name": f.name, "label": f.label, "kind": f.kind, "group": f.group,
                      "url": f"api/jobs/{self.id}/files/{f.name}", "bytes": len(f.data)} for f in self.files.values()]
            out = {"id": self.id, "state": self.state, "progress": round(self.progress, 4), "stage": self.stage,
                   "error": self.error, "notes": list(self.notes), "files": files,
                   "preview": f"api/jobs/{self.id}/preview?v={self.preview_version}" if self.preview else None,
                   "queue_position": position,
                   "seconds": round((self.finished or time.time()) - self.started, 2) if self.started else None}
        return out


class JobQueue:
    """FIFO of jobs run one at a time by a single worker thread. A job that runs longer than
    `max_seconds` is stopped at its next `check_cancelled` (the inversion checks every step)."""

    def __init__(self, max_waiting: int = 8, keep_finished: int = 32, max_seconds: float | None = 900.0):
        self.max_waiting, self.keep_finished, self.max_seconds = max_waiting, keep_finished, max_seconds
        self._jobs: dict[str, Job] = {}
        self._waiting: collections.deque[Job] = collections.deque()
        self._finished: collections.deque[str] = collections.deque()
        self._cond = threading.Condition()
        self._running: Job | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="stylebridge-app-worker", daemon=True)
        self._thread.start()

    def submit(self, work: Callable[[Job], None], params: dict[str, Any] | None = None) -> Job:
        with self._cond:
            if self._stop:
                raise StylebridgeError("the server is shutting down")
            if len(self._waiting) >= self.max_waiting:
                raise QueueFull(f"the server is busy: {len(self._waiting)} requests are waiting already; "
                                "try again in a minute")
            job = Job(work, params or {}, max_seconds=self.max_seconds)
            self._jobs[job.id] = job
            self._waiting.append(job)
            self._cond.notify_all()
        return job

    def get(self, job_id: str) -> Job:
        with self._cond:
            job = self._jobs.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def position(self, job: Job) -> int | None:
        """1 for the next job to run, None when not waiting."""
        with self._cond:
            try:
                return self._waiting.index(job) + 1
            except ValueError:
                return None

    def status(self, job_id: str) -> dict[str, Any]:
        job = self.get(job_id)
        return job.snapshot(self.position(job))

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        with self._cond:
            job._cancel.set()
            if job in self._waiting:  # never started: finished at once
                self._waiting.remove(job)
                self._finish(job, CANCELLED, "cancelled before it started")
        return job

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._running is not None or bool(self._waiting)

    def wait(self, job_id: str, timeout: float = 60.0) -> Job:
        """Block until the job finished (tests, scripts)."""
        job = self.get(job_id)
        deadline = time.monotonic() + timeout
        with self._cond:
            while job.state not in FINISHED:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"job {job_id} still {job.state} after {timeout} s")
                self._cond.wait(left)
        return job

    def shutdown(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stop = True
            for job in list(self._waiting):
                job._cancel.set()
                self._finish(job, CANCELLED, "the server stopped")
            self._waiting.clear()
            if self._running is not None:
                self._running._cancel.set()
            self._cond.notify_all()
        self._thread.join(timeout)

    # ---- worker

    def _finish(self, job: Job, state: str, stage: str, error: str | None = None) -> None:
        """Under self._cond."""
        with job._lock:
            job.state, job.stage, job.error, job.finished = state, stage, error, time.time()
            if state == DONE:
                job.progress = 1.0
        self._finished.append(job.id)
        while len(self._finished) > self.keep_finished:
            self._jobs.pop(self._finished.popleft(), None)
        self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                job = self._waiting.popleft()
                self._running = job
                with job._lock:
                    job.state, job.started, job.stage = RUNNING, time.time(), "starting"
            state, stage, error = DONE, "done", None
            try:
                job.check_cancelled()
                job.work(job)
            except JobTimedOut:
                state, stage, error = FAILED, "failed", (f"stopped after {job.max_seconds:g} s, the longest a request "
                                                         "may run on this server: use fewer steps or targets")
            except JobCancelled:
                state, stage = CANCELLED, "cancelled"
            except StylebridgeError as e:
                state, stage, error = FAILED, "failed", str(e)
            except MemoryError:
                state, stage, error = FAILED, "failed", "out of memory: try a smaller image, fewer targets or modes"
            except Exception as e:  # never a stack trace in the page; the server log has it
                log.exception("job %s failed", job.id)
                state, stage, error = FAILED, "failed", f"internal error ({type(e).__name__}: {e}); see the server log"
            with self._cond:
                self._running = None
                self._finish(job, state, stage, error)

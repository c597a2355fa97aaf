"""CUDA graphs for the training step: each kind of iteration is captured once and replayed.

Why: a StyleGAN2 step is thousands of small kernels (modulated convolutions, FIR filters,
bias and activation, their gradients, R1's double backward, Adam, EMA). On an H100 the
host spends longer launching them than the GPU spends running them (bench_train.py
--profile: at 64 px, batch 32, the host needed about twice the GPU's kernel time), so the
GPU idles. A replayed graph launches them all at once from the device.

How: `Trainer.device_step` is written to be capturable: its inputs come from the host as
tensors (latents, style-mixing cutoffs, reals) copied into static buffers before each
replay; every piece of state it changes (weights, Adam's moments and step counts, EMA,
w_avg, the path-length mean, ADA's statistics, the logged sums) is updated in place; ADA's
probability is read from a device tensor; there is no host synchronisation and no branch on
a device value. What differs between iterations on the host side (lazy path length every 4,
lazy R1 every 16, ADA on or not yet) is the `StepKind`: one graph per kind, each captured
after `warmup` eager runs of that kind (cuDNN's autotuner, Adam's state and the caching
allocator settle first). The random streams are the trainer's own: the CPU generator draws
the inputs as in eager mode, and the device generator is registered with each graph, so a
replay advances it like the eager step would.

Where capture is impossible (a PyTorch before 2.3, without graph-safe custom generators; an
operation that cannot be captured), training stops with a clear error at the first capture
(iteration 3, or the first R1 / path-length iteration captured): an aborted capture leaves
CUDA's generators unusable for the process. `--resume RUN --no-cuda-graphs` goes on.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

import torch

from stylebridge.errors import StylebridgeError


@dataclasses.dataclass(frozen=True)
class StepKind:
    """What the host decides about one iteration before it runs."""

    pl: bool   # the path-length regulariser runs
    r1: bool   # R1 runs
    ada: bool  # ADA augments (p > 0)
    g: bool = True  # G learns (False while a fresh D warms up, TrainOptions.d_warmup)


def check(opts: Any, device: torch.device, info: Any) -> bool:
    """Whether this run replays CUDA graphs; a clear error where it cannot."""
    if not opts.cuda_graphs:
        return False
    if device.type != "cuda":
        raise StylebridgeError(f"--cuda-graphs needs a CUDA device (this run is on {device.type})")
    if info.world_size > 1:
        raise StylebridgeError("--cuda-graphs runs in one process; with torchrun leave it off")
    if opts.aug == "diffaug":
        raise StylebridgeError("--cuda-graphs works with --aug none or ada (DiffAugment draws on the host)")
    return True


class CudaGraphs:
    """Capture with CUDA, as PyTorch documents whole-network capture: the eager warm-up runs
    on a side stream (lazy initialisations then happen off the default stream), and
    `capture(trainer, fn)` records fn's kernels and returns the replay.

    All graphs share one memory pool. That is safe in any replay order here because nothing
    a captured step allocates outlives it: gradients are released by `zero_grad(set_to_none)`
    inside the step, and every tensor that persists (weights, optimizer state, statistics,
    static inputs) exists before the first capture. One pool instead of one per kind of
    iteration keeps the memory of a single step's activations."""

    def __init__(self):
        self.stream: torch.cuda.Stream | None = None
        self.pool = None

    def warmup(self, tr: Any, fn: Callable[[], None]) -> None:
        if self.stream is None:
            self.stream = torch.cuda.Stream(tr.device)
        self.stream.wait_stream(torch.cuda.current_stream(tr.device))
        with torch.cuda.stream(self.stream):
            fn()
        torch.cuda.current_stream(tr.device).wait_stream(self.stream)

    def capture(self, tr: Any, fn: Callable[[], None]) -> Callable[[], None]:
        graph = torch.cuda.CUDAGraph()
        # The trainer's own device generator must be known to the graph (PyTorch 2.3+); PyTorch
        # releases from mid-2026 register it on first use and deprecate the call. Where neither
        # works, capture fails with "unexpected CUDA generator".
        register = getattr(graph, "register_generator_state", None)
        if register is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning, UserWarning))
                register(tr.local_gen)
        if self.pool is None:
            self.pool = torch.cuda.graph_pool_handle()
        torch.cuda.synchronize(tr.device)
        with torch.cuda.graph(graph, pool=self.pool):
            fn()
        return graph.replay


class StepGraphs:
    """Captures and replays `trainer.device_step` (a train.loop.Trainer), one graph per StepKind. `backend` does the
    capturing (CudaGraphs; the tests use one that replays by calling the step again)."""

    def __init__(self, trainer: Any, warmup: int = 2, backend: Any = None):
        self.tr = trainer
        self.warmup = warmup
        self.backend = backend or CudaGraphs()
        self.static: dict[str, torch.Tensor] = {}
        self.replays: dict[StepKind, Callable[[], None]] = {}
        self.keys: dict[StepKind, set[str]] = {}  # the statistics each kind adds to (seen in its eager runs)
        self.eager_runs: Counter[StepKind] = Counter()

    def _load(self, host: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The draws of this iteration in the static buffers (copies that do not block the host)."""
        dev = self.tr.device
        for k, v in host.items():
            buf = self.static.get(k)
            if buf is None or buf.shape != v.shape or buf.dtype != v.dtype:
                buf = self.static[k] = torch.empty(v.shape, dtype=v.dtype, device=dev)
            buf.copy_(v.pin_memory() if dev.type == "cuda" else v, non_blocking=True)
        return {k: self.static[k] for k in host}

    def _eager(self, kind: StepKind, inputs: dict[str, torch.Tensor]) -> None:
        tr = self.tr
        outer, tr._touched = tr._touched, set()
        try:
            warm = getattr(self.backend, "warmup", None)
            (warm or (lambda _, fn: fn()))(tr, lambda: tr.device_step(inputs, kind))
            self.keys[kind] = tr._touched
        finally:
            tr._touched = outer | tr._touched
        self.eager_runs[kind] += 1

    def run(self, kind: StepKind, host: dict[str, torch.Tensor]) -> None:
        tr = self.tr
        inputs = self._load(host)
        if kind not in self.replays:
            if self.eager_runs[kind] < self.warmup:
                self._eager(kind, inputs)
                return
            for opt in (tr.G_opt, tr.D_opt):
                opt.zero_grad(set_to_none=True)  # gradients are made inside the graph's memory
            try:
                self.replays[kind] = self.backend.capture(tr, lambda: tr.device_step(inputs, kind))
            except Exception as e:
                # An aborted capture leaves CUDA's random generators in capture mode: this process
                # cannot train on, with graphs or without. The last snapshot is intact.
                reason = f"{type(e).__name__}: {e}".splitlines()[0][:300]
                raise StylebridgeError(
                    f"CUDA graph capture failed at iteration {tr.iteration} ({reason}); continue from the last "
                    "snapshot without graphs: --resume RUN --no-cuda-graphs") from e
        # Capturing records the kernels without running them: every iteration, the first too, replays.
        self.replays[kind]()
        tr._touched |= self.keys[kind]

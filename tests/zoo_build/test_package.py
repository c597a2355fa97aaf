"""Re-training some styles of a shipped zoo while the others stay (scripts/train_zoo.py
finetune/export --base-file, package --choose STYLE=keep): fine-tunes from a base without a
discriminator get a fresh one; the shipped models compete with the new ones and stay only
for the same base."""

import json

import numpy as np
import pytest
import torch

from stylebridge.errors import StylebridgeError
from stylebridge.formats import load_checkpoint, save_checkpoint
from stylebridge.networks import create_discriminator, create_generator
from stylebridge.translate.zoo import read_manifest, write_manifest
from stylebridge.zoo_build import variants
from stylebridge.zoo_build.package import stage_package
from stylebridge.zoo_build.stages import stage_export, stage_finetune
from tests.conftest import derived, randomize_


@pytest.fixture()
def zoo(tmp_path):
    """A shipped zoo (base without D, one style) and a work folder to re-train another style."""
    torch.manual_seed(0)
    base = randomize_(create_generator("tiny-16", img_channels=1)).eval()
    dest, work = tmp_path / "zoo", tmp_path / "work"
    dest.mkdir()
    save_checkpoint(dest / "base.safetensors", G_ema=base, dtype=torch.float16)
    save_checkpoint(dest / "script.safetensors", G_ema=derived(base, 1), dtype=torch.float16)
    write_manifest(dest, {"name": "glyphs", "base": "base", "encoder": None, "models": {
        "base": {"file": "base.safetensors"},
        "script": {"file": "script.safetensors", "recipe": "old recipe", "style_accuracy": 0.1}}})
    (work / "data").mkdir(parents=True)
    imgs = (np.random.RandomState(0).rand(40, 1, 16, 16) * 255).astype(np.uint8)
    np.savez_compressed(work / "data" / "blackletter_train.npz", images=imgs, labels=np.zeros(40, int))
    return dest, work


def test_a_base_without_d_gets_a_fresh_one_and_the_shipped_models_compete(zoo):
    dest, work = zoo
    stage_finetune(work, "cpu", 1e9, 2, ["fcft"], ("blackletter",), base_file=dest / "base.safetensors")
    run = work / "blackletter-fcft"
    opts = json.loads((run / "options.json").read_text())
    assert opts["new_d"] is True and opts["mbstd_group"] == 32 and opts["freeze_mapping"] is True
    ck = load_checkpoint(next(run.glob("network-snapshot-*.safetensors")))
    assert ck.D is not None  # trained with the fresh discriminator it started
    torch.testing.assert_close(ck.G_ema.mapping.state_dict(), load_checkpoint(dest / "base.safetensors")
                               .G_ema.mapping.state_dict())  # FC: the mapping stays the base's
    stage_export(work, base_file=dest / "base.safetensors", shipped=dest)
    assert {p.name for p in (work / "models").iterdir()} == {
        "base.safetensors", "blackletter-fcft.safetensors", "script-shipped.safetensors"}


def _row(content, style):
    return {"content": {"merged": content}, "style": style, "realism_fid": 30.0, "source_style": 0.0,
            "style_ceiling": 0.9, "classifier_ceiling": {"merged": 0.9}}


def test_the_shipped_model_stays_when_it_wins_and_is_packaged_as_it_was(zoo):
    dest, work = zoo
    rows = {"script-shipped": _row(0.9, 0.6), "script-fcft": _row(0.9, 0.5), "script-fcft-ls8": _row(0.7, 0.9),
            "blackletter-fcft": _row(0.9, 0.7)}
    chosen = variants.choose(rows)
    assert chosen == {"script": "keep", "blackletter": "ls0"}
    assert variants.parse_choice(variants.format_choice(chosen)) == {"script": "keep", "blackletter": (0, 0)}
    assert variants.bar_report(rows, chosen)[0].startswith("script (keep): content 1.00 of the ceiling")
    assert "| script | shipped now | 0.900 | 0.600 |" in variants.markdown_table(
        {**rows, "base": {"content": {"merged": 0.9}, "samples": {"chars": 1, "fid": 1.0}},
         **{k: {**r, "samples": {"chars": 1, "fid": 1.0}, "real_floor_fid": 1.0, "source_fid": 1.0}
            for k, r in rows.items()}})
    (work / "models").mkdir()
    G = load_checkpoint(dest / "base.safetensors").G_ema
    D = create_discriminator("tiny-16", img_channels=1)
    save_checkpoint(work / "models" / "base.safetensors", G_ema=G, D=D)
    save_checkpoint(work / "models" / "blackletter-fcft.safetensors", G_ema=derived(G, 5), dtype=torch.float16)
    (work / "eval.json").write_text(json.dumps(rows))
    before = (dest / "script.safetensors").read_bytes()
    stage_package(work, {"script": "keep", "blackletter": (8, 0), "outline": None, "pixel": None}, dest,
                  recipe_note=", fresh D")
    m = read_manifest(dest)["models"]
    assert (dest / "script.safetensors").read_bytes() == before
    assert m["script"]["recipe"] == "old recipe" and m["script"]["style_accuracy"] == 0.6  # measured anew
    assert m["blackletter"]["recipe"].endswith("+ LS 8 px, fresh D") and "style_accuracy" not in m["blackletter"]
    assert (dest / "blackletter.safetensors").is_file()
    # the base ships with its discriminator, so that styles can be fine-tuned from it later
    shipped_d = load_checkpoint(dest / "base.safetensors").D
    assert shipped_d is not None and all(torch.equal(a, b.half().float()) for a, b in
                                         zip(shipped_d.state_dict().values(), D.state_dict().values()))
    with pytest.raises(StylebridgeError, match="ships no model for outline"):
        stage_package(work, {"outline": "keep"}, dest)
    # a kept model only stays beside the base it derives from
    save_checkpoint(work / "models" / "base.safetensors", G_ema=derived(G, 9))
    with pytest.raises(StylebridgeError, match="derive from another base"):
        stage_package(work, {"script": "keep"}, dest)


def test_a_one_phase_base_run_is_where_its_styles_start_and_a_foreign_encoder_is_unlisted(zoo, capsys):
    """The v2 recipe (one phase, WORK/base): finetune and export start from that run's last
    snapshot with its own D; packaging records the recipe it was given, keeps an encoder
    trained for the shipped (fp16-rounded) base and drops one trained for another base."""
    from stylebridge.encoder.network import Encoder, save_encoder
    from stylebridge.zoo_build.package import shipping_base
    from stylebridge.zoo_build.stages import BASE_V2_PHASES

    dest, work = zoo
    G = load_checkpoint(dest / "base.safetensors").G_ema
    D = create_discriminator("tiny-16", img_channels=1)
    (work / "base").mkdir()
    save_checkpoint(work / "base" / "network-snapshot-000250.safetensors", G=G, G_ema=G, D=D)
    with pytest.raises(StylebridgeError):  # the shipped recipe's last phase has no run here
        stage_finetune(work, "cpu", 1e9, 1, ["fcft"], ("blackletter",))
    stage_finetune(work, "cpu", 1e9, 1, ["fcft"], ("blackletter",), phases=BASE_V2_PHASES)
    assert json.loads((work / "blackletter-fcft" / "options.json").read_text())["new_d"] is False
    stage_export(work, phases=BASE_V2_PHASES)
    assert torch.equal(load_checkpoint(work / "models" / "base.safetensors").D.state_dict()["b4.fc.weight"],
                       D.state_dict()["b4.fc.weight"])
    for name, base in (("mine.safetensors", shipping_base(work / "models")), ("other.safetensors", derived(G, 3))):
        save_encoder(dest / name, Encoder.for_generator(base, channels=8, hidden=32))
        m = read_manifest(dest)
        write_manifest(dest, {**m, "encoder": {"file": name}})
        stage_package(work, {"blackletter": (0, 0), "outline": None, "pixel": None, "script": None}, dest,
                      phases=BASE_V2_PHASES)
        m = read_manifest(dest)
        assert m["models"]["base"]["recipe"] == "trained from scratch (glyph-32, 250 iterations in 1 phase(s))"
        assert (m.get("encoder") or {}).get("file") == ("mine.safetensors" if name == "mine.safetensors" else None)
    assert "not listed: encoder other.safetensors (trained for another base" in capsys.readouterr().out


def test_the_base_stage_passes_cuda_graphs_to_the_trainer(zoo):
    """train_zoo.py base --cuda-graphs (gpu-session.sh's base-v2 step) reaches the trainer,
    which refuses it in one line off CUDA before any work."""
    from stylebridge.zoo_build.stages import BASE_V2_PHASES, stage_base

    _, work = zoo
    imgs = (np.random.RandomState(1).rand(8, 1, 32, 32) * 255).astype(np.uint8)
    np.savez_compressed(work / "data" / "base_train.npz", images=imgs, labels=np.zeros(8, int))
    with pytest.raises(StylebridgeError, match="--cuda-graphs needs a CUDA device"):
        stage_base(work, "cpu", 1e9, phases=BASE_V2_PHASES, cuda_graphs=True)
    assert not list((work / "base").glob("network-snapshot-*"))


def test_a_base_continued_from_a_checkpoint_is_stashed_unstashed_and_says_where_it_began(zoo, tmp_path):
    """train_zoo.py base --init (a shipped base without D: a fresh one), then stash / unstash:
    the stashed run continues where it stopped, and the packaged recipe names the start."""
    from stylebridge.utils.precision import default_precision
    from stylebridge.zoo_build.package import base_recipe
    from stylebridge.zoo_build.stages import latest_iters, stage_base, stage_stash, stage_unstash

    dest, work = zoo
    imgs = (np.random.RandomState(1).rand(8, 1, 16, 16) * 255).astype(np.uint8)
    np.savez_compressed(work / "data" / "base_train.npz", images=imgs, labels=np.zeros(8, int))
    phases = (dict(iters=2, batch=4, gamma=0.2, seed=5, mbstd_group=4, style_mixing=0.0),)
    stage_base(work, "cpu", 1e9, phases=phases, init=dest / "base.safetensors")
    opts = json.loads((work / "base" / "options.json").read_text())
    assert opts["new_d"] is True and latest_iters(work / "base") == 2
    assert opts["precision"] == default_precision("cpu")  # each machine's measured default (zoo_precision)
    assert base_recipe(work, phases) == "continued from base.safetensors (glyph-32, 2 iterations in 1 phase(s))"
    stash = tmp_path / "stash"
    stage_stash(work, stash)
    assert [p.name for p in (stash / "base").glob("network-snapshot-*")] == ["network-snapshot-000002.safetensors"]
    states = load_checkpoint(stash / "base" / "network-snapshot-000002.safetensors").extra["G_opt"]["state"].values()
    assert all(not st["exp_avg"].any() and st["exp_avg_sq"].any() for st in states)  # beta1 = 0: never read
    other = tmp_path / "other"
    (other / "data").mkdir(parents=True)
    np.savez_compressed(other / "data" / "base_train.npz", images=imgs, labels=np.zeros(8, int))
    stage_unstash(stash, other)
    assert latest_iters(other / "base") == 2
    stage_base(other, "cpu", 1e9, phases=({**phases[0], "iters": 3},), init=dest / "base.safetensors")
    assert latest_iters(other / "base") == 3  # continued, not restarted from the init
    stage_base(work, "cpu", 1e9, phases=({**phases[0], "iters": 3},), init=dest / "base.safetensors")
    for a, b in zip(
        load_checkpoint(work / "base" / "network-snapshot-000003.safetensors").G.parameters(),
        load_checkpoint(other / "base" / "network-snapshot-000003.safetensors").G.parameters(),
    ):
        assert torch.equal(a, b)  # the stash carries everything: bit for bit what staying would give
    stage_unstash(stash, work)  # WORK got further: its own snapshots stay
    assert latest_iters(work / "base") == 3


def test_the_finetune_stage_passes_cuda_graphs_and_resumes_in_chunks(zoo):
    """train_zoo.py finetune --cuda-graphs reaches the trainer (refused off CUDA before any
    work); --chunk N resumes every N iterations (a GPU run: fewer resumes and captures)."""
    dest, work = zoo
    with pytest.raises(StylebridgeError, match="--cuda-graphs needs a CUDA device"):
        stage_finetune(work, "cpu", 1e9, 4, ["fcft"], ("blackletter",), base_file=dest / "base.safetensors",
                       cuda_graphs=True)
    run = work / variants.variant_name("blackletter", "fcft")
    assert not list(run.glob("network-snapshot-*"))
    stage_finetune(work, "cpu", 1e9, 4, ["fcft"], ("blackletter",), base_file=dest / "base.safetensors", chunk=2)
    assert sorted(p.name for p in run.glob("network-snapshot-*")) == [
        "network-snapshot-000002.safetensors", "network-snapshot-000004.safetensors"]


def test_package_ships_an_encoder_for_its_base_and_records_strengths(zoo):
    """--encoder FILE ships that file as DEST/encoder.safetensors with the entry given (its
    refinement steps and appearance), refused when it was trained for another base;
    --strength STYLE=A records a newly packaged style's strength with a note, refused for a
    style that is kept or off and for a strength out of range; nothing is written then."""
    from stylebridge.encoder.network import Encoder, save_encoder
    from stylebridge.translate.zoo import Zoo
    from stylebridge.zoo_build.package import shipping_base

    dest, work = zoo
    G = load_checkpoint(dest / "base.safetensors").G_ema
    (work / "models").mkdir()
    save_checkpoint(work / "models" / "base.safetensors", G_ema=G, D=create_discriminator("tiny-16", img_channels=1))
    save_checkpoint(work / "models" / "blackletter-fcft.safetensors", G_ema=derived(G, 5), dtype=torch.float16)
    save_encoder(work / "enc.safetensors", Encoder.for_generator(shipping_base(work / "models"), channels=8,
                                                                 hidden=32))
    save_encoder(work / "foreign.safetensors", Encoder.for_generator(derived(G, 3), channels=8, hidden=32))
    choice = {"script": "keep", "blackletter": (0, 0), "outline": None, "pixel": None}
    before = (dest / "zoo.json").read_text()
    for kwargs, msg in (({"strengths": {"script": 1.1}}, "only a newly packaged style"),
                        ({"strengths": {"outline": 1.1}}, "only a newly packaged style"),
                        ({"strengths": {"blackletter": 9.0}}, "--strength blackletter: style strength must be"),
                        ({"encoder": work / "foreign.safetensors"}, "trained for another base"),
                        ({"encoder": work / "missing.safetensors"}, "no such file"),
                        ({"encoder": work / "enc.safetensors", "encoder_entry": {"steps": -1}},
                         "--encoder-entry: the encoder's 'steps'"),
                        ({"encoder": work / "enc.safetensors", "encoder_entry": {"appearance": "x"}},
                         "--encoder-entry: the encoder's 'appearance'")):
        with pytest.raises(StylebridgeError, match=msg):
            stage_package(work, choice, dest, **kwargs)
        assert (dest / "zoo.json").read_text() == before and not (dest / "encoder.safetensors").exists()
    stage_package(work, choice, dest, strengths={"blackletter": 1.1}, encoder=work / "enc.safetensors",
                  encoder_entry={"recipe": "r", "appearance": "mean", "steps": 50})
    m = read_manifest(dest)
    assert m["encoder"] == {"recipe": "r", "appearance": "mean", "steps": 50, "file": "encoder.safetensors"}
    assert (dest / "encoder.safetensors").read_bytes() == (work / "enc.safetensors").read_bytes()
    assert m["models"]["blackletter"]["strength"] == 1.1 and "exp_strength" in m["models"]["blackletter"][
        "strength_note"]
    assert "strength" not in m["models"]["script"]
    z = Zoo.from_dir(dest)
    assert (z.default_strength("blackletter"), z.default_encoder_steps(), z.default_appearance("encoder")) == (
        1.1, 50, "mean")
    z.encoder()  # loads: it belongs to the shipped base
    assert variants.parse_strengths("blackletter=1.1,script=1") == {"blackletter": 1.1, "script": 1.0}
    for bad in ("blackletter", "fraktur=1", "script=x"):
        with pytest.raises(StylebridgeError, match="is not STYLE=A"):
            variants.parse_strengths(bad)
    with pytest.raises(StylebridgeError, match="must be a JSON object"):
        variants.parse_entry("[1]")
    with pytest.raises(StylebridgeError, match="is not JSON"):
        variants.parse_entry("{steps")

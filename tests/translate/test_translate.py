"""Translation: reproduction, multi-modal code sharing, reference without re-mapping,
multi-domain inverting once, refusal of unrelated models, folder jobs and CLI errors."""

import json

import pytest
import torch

import stylebridge.translate.translator as translator_mod
from stylebridge.cli.main import main
from stylebridge.data.images import save_image
from stylebridge.errors import CheckpointError, StylebridgeError
from stylebridge.translate import Translator

FAST = dict(steps=4, perceptual="pixel")


def test_identity_translation_reproduces_reconstruction(zoo, images):
    tr = Translator(zoo, **FAST)
    res = tr.translate(images, to="base")
    assert torch.equal(res.outputs["base"][:, 0], res.inversion.reconstruction)


def test_multimodal_shares_content_code_and_differs_elsewhere(zoo, images, monkeypatch):
    seen = []
    real = translator_mod.render
    monkeypatch.setattr(translator_mod, "render",
                        lambda G, ws, noise=None: seen.append(ws.clone()) or real(G, ws, noise))
    tr = Translator(zoo, **FAST)
    res = tr.translate(images, to="anime", modes=3, content_layers=4)
    out = res.outputs["anime"]
    assert out.shape == (2, 4, 3, 16, 16) and res.labels["anime"] == ["translation", "seed 0", "seed 1", "seed 2"]
    plain, modes = seen[0], seen[1:]
    for m in modes:
        assert torch.equal(m[:, :4], plain[:, :4])           # content layers: the inverted code, exactly
        assert not torch.allclose(m[:, 4:], plain[:, 4:])    # appearance layers: from the seeds
    assert not torch.allclose(modes[0][:, 4:], modes[1][:, 4:])
    assert not torch.allclose(out[:, 1], out[:, 2])
    # the same input with the same seeds gives the same outputs (reproducible)
    again = tr.translate(images, to="anime", modes=3, content_layers=4, inversion=res.inversion)
    assert torch.equal(again.outputs["anime"], out)


def test_appearance_truncation_goes_toward_target_mean(zoo):
    Gt = zoo["anime"]
    wa0 = translator_mod.appearance_codes(Gt, [3], 0.0)
    assert torch.allclose(wa0[0, 0], Gt.mapping.w_avg)


def test_mean_appearance_draws_the_targets_mean_w_after_the_content_layers(zoo, images):
    tr = Translator(zoo, **FAST)
    plain = tr.translate(images, to="anime", modes=1, truncation_psi=0.0)
    mean = tr.translate(images, to="anime", content_layers=4, appearance="mean", inversion=plain.inversion)
    Gt, ws = zoo["anime"], plain.inversion.ws
    want = ws.clone()
    want[:, 4:] = Gt.mapping.w_avg
    assert torch.equal(mean.outputs["anime"][:, 0], translator_mod.render(Gt, want))
    assert mean.labels["anime"] == ["translation"]
    assert not torch.allclose(mean.outputs["anime"][:, 0], plain.outputs["anime"][:, 0])
    # what `--modes 1 --trunc 0` draws in its seed column, at the default content layers
    again = tr.translate(images, to="anime", appearance="mean", inversion=plain.inversion)
    assert torch.allclose(again.outputs["anime"][:, 0], plain.outputs["anime"][:, 1], atol=1e-6)
    with pytest.raises(StylebridgeError, match="appearance must be one of auto, input, mean"):
        tr.translate(images, to="anime", appearance="average", inversion=plain.inversion)


def test_reference_code_is_not_mapped_again(zoo, images, monkeypatch):
    tr = Translator(zoo, **FAST)
    ref = images[:1].flip(-1)
    ref_inv = tr.invert("anime", ref)
    src_inv = tr.invert("base", images)
    seen = []
    real = translator_mod.render
    monkeypatch.setattr(translator_mod, "render",
                        lambda G, ws, noise=None: seen.append(ws.clone()) or real(G, ws, noise))
    monkeypatch.setattr(tr, "invert", lambda model, imgs, callback=None: ref_inv)

    def no_mapping(*a, **k):
        raise AssertionError("codes already in W were sent through the mapping network")
    for name in ("base", "anime"):
        monkeypatch.setattr(zoo[name].mapping, "forward", no_mapping)
    res = tr.translate(images, to="anime", reference=ref, content_layers=3, inversion=src_inv)
    assert res.labels["anime"] == ["translation", "reference 0"]
    assert torch.equal(seen[1][:, 3:], ref_inv.ws[:, 3:].expand(2, -1, -1))
    assert torch.equal(seen[1][:, :3], src_inv.ws[:, :3])


def test_multi_domain_inverts_each_input_once(zoo, images, monkeypatch):
    calls = []
    real = translator_mod.invert
    monkeypatch.setattr(translator_mod, "invert",
                        lambda G, imgs, *a, **k: calls.append(imgs.shape[0]) or real(G, imgs, *a, **k))
    res = Translator(zoo, **FAST).translate(images, to="anime,sketch,base")
    assert calls == [2]
    assert set(res.outputs) == {"anime", "sketch", "base"}


def test_unrelated_models_are_refused(zoo, images):
    with pytest.raises(CheckpointError, match="do not share a mapping network"):
        Translator(zoo, **FAST).translate(images, to="unrelated")
    with pytest.raises(StylebridgeError, match="unknown model"):
        Translator(zoo, **FAST).translate(images, to="nope")
    with pytest.raises(StylebridgeError, match="content layers"):
        Translator(zoo, **FAST).translate(images, to="anime", content_layers=99)


def test_zoo_cli_lists_and_flags_unrelated(zoo_dir, capsys):
    assert main(["zoo", str(zoo_dir)]) == 2
    out, err = capsys.readouterr()
    assert "anime" in out and "DIFFERENT MAPPING" in out and "unrelated" in err
    (zoo_dir / "unrelated.safetensors").unlink()
    data = json.loads((zoo_dir / "zoo.json").read_text())
    del data["models"]["unrelated"]
    data["models"]["sketch"]["strength"] = "1.5"  # a number as text reads as one
    (zoo_dir / "zoo.json").write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["zoo", str(zoo_dir)]) == 0
    assert "(drawn at style strength 1.5)" in capsys.readouterr().out


def test_translate_folder_cli_resumes(zoo_dir, images, tmp_path, capsys):
    src = tmp_path / "in"
    for i, im in enumerate(images):
        save_image(im, src / f"img{i}.png")
    (src / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    args = ["translate", str(src), "--zoo", str(zoo_dir), "--to", "anime,sketch", "--modes", "2", "--steps", "3",
            "--perceptual", "pixel", "--outdir", str(out)]
    assert main(args) == 0
    for n in ("img0", "img1"):
        assert (out / n / "grid.png").exists() and (out / n / "anime_seed1.png").exists()
    assert "img0/grid.png" in (out / "index.html").read_text()
    capsys.readouterr()
    assert main(args) == 0
    assert "0 image(s)" in capsys.readouterr().out


@pytest.mark.parametrize("args,needle", [
    (["translate", "x.png", "--zoo", "{missing}", "--outdir", "{out}"], "does not exist"),
    (["translate", "x.png", "--zoo", "{broken}", "--outdir", "{out}"], "broken zoo manifest"),
    (["translate", "{img}", "--zoo", "{zoo}", "--to", "unrelated", "--outdir", "{out}"], "do not share"),
    (["translate", "{img}", "--zoo", "{zoo}", "--to", "cats", "--outdir", "{out}"], "unknown model"),
    (["translate", "{img}", "--source", "{zoo}/base.safetensors", "--outdir", "{out}"], "--source and at least one"),
])
def test_translate_cli_errors(zoo_dir, images, tmp_path, capsys, args, needle):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "zoo.json").write_text("{not json")
    save_image(images[0], tmp_path / "img.png")
    subs = {"{missing}": str(tmp_path / "nozoo"), "{broken}": str(broken), "{zoo}": str(zoo_dir),
            "{out}": str(tmp_path / "o"), "{img}": str(tmp_path / "img.png")}
    args = [a.replace("{zoo}", str(zoo_dir)) if a.startswith("{zoo}/") else subs.get(a, a) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_strength_draws_the_target_at_a_multiple_of_its_step(zoo, images):
    """`strength=a`: each target rendered with its synthesis weights a times their step from the
    base's (`Zoo.model`); 1 and the default (no zoo record) are the target as trained, bit for bit."""
    from stylebridge.train import with_strength

    tr = Translator(zoo, **FAST)
    plain = tr.translate(images, to="anime,sketch")
    assert plain.strengths == {"anime": 1.0, "sketch": 1.0}
    one = tr.translate(images, to="anime", strength=1, inversion=plain.inversion)
    assert torch.equal(one.outputs["anime"], plain.outputs["anime"])
    strong = tr.translate(images, to="anime,sketch", strength=2, modes=1, inversion=plain.inversion)
    assert strong.strengths == {"anime": 2.0, "sketch": 2.0}
    G2 = with_strength(zoo["base"], zoo["anime"], 2)
    assert torch.equal(strong.outputs["anime"][:, 0], translator_mod.render(G2, plain.inversion.ws))
    assert not torch.allclose(strong.outputs["anime"][:, 0], plain.outputs["anime"][:, 0], atol=1e-3)
    assert zoo.model("anime", 2) is zoo.model("anime", 2.0)  # built once per strength
    assert zoo.model("anime", 1) is zoo["anime"] and zoo.model("base", 3) is zoo["base"]
    for i in range(20):  # ever new strengths (a server's requests): a bounded number of models is kept
        zoo.model("anime", 1 + i / 100)
    assert len(zoo._strengthened) == max(4, len(zoo.names))
    assert zoo.model("anime", 1.19) is zoo.model("anime", 1.19)  # the newest are the ones kept
    zero = tr.translate(images, to="anime", strength=0, inversion=plain.inversion)  # the base's synthesis
    assert torch.allclose(zero.outputs["anime"][:, 0], translator_mod.render(zoo["base"], plain.inversion.ws),
                          atol=1e-5)
    with pytest.raises(StylebridgeError, match="style strength must be between 0 and 4"):
        tr.translate(images, to="anime", strength=-1, inversion=plain.inversion)
    # by name: the named targets at theirs, the others at the zoo's (here 1)
    some = tr.translate(images, to="anime,sketch", strength={"anime": 2}, inversion=plain.inversion)
    assert some.strengths == {"anime": 2.0, "sketch": 1.0}
    assert torch.equal(some.outputs["anime"][:, 0], strong.outputs["anime"][:, 0])
    assert torch.equal(some.outputs["sketch"], plain.outputs["sketch"])
    with pytest.raises(StylebridgeError, match="strength given for anmie, not among the targets"):
        tr.translate(images, to="anime,sketch", strength={"anmie": 2}, inversion=plain.inversion)


@pytest.mark.parametrize("text,want", [("1.5", 1.5), (" 2 ", 2.0), ("a=1.2,b=0", {"a": 1.2, "b": 0.0}),
                                       ("a = 3", {"a": 3.0})])
def test_strength_option_reads_one_number_or_names(text, want):
    from stylebridge.train.strength import parse_strengths

    assert parse_strengths(text) == want


@pytest.mark.parametrize("text,msg", [("lots", "must be a number"), ("a=1,a=2", "given twice"),
                                      ("=2", "NAME=STRENGTH"), ("a=1,b", "NAME=STRENGTH"), ("a=9", "between 0 and 4")])
def test_strength_option_refuses_in_one_line(text, msg, zoo_dir, images, tmp_path, capsys):
    from stylebridge.train.strength import parse_strengths

    with pytest.raises(StylebridgeError, match=msg):
        parse_strengths(text)
    save_image(images[0], tmp_path / "a.png")
    assert main(["translate", str(tmp_path / "a.png"), "--zoo", str(zoo_dir), "--to", "anime", "--strength", text,
                 "--outdir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--strength" in err and "Traceback" not in err

"""Regenerate tests/fixtures/*.safetensors from the official StyleGAN2 code (never run by tests/CI).

The fixtures are the proof that stylebridge's networks equal NVIDIA's and rosinality's: tiny
networks built and evaluated *with their code*, stored as plain tensors (weights in THEIR key
layout, inputs, outputs). No code of theirs is stored; this script imports it from a temporary
extraction of their repositories:

    python scripts/make_reference_fixtures.py \
        --nvidia /work/.mirror/NVlabs+stylegan2-ada-pytorch/repo \
        --rosinality /work/.mirror/rosinality+stylegan2-pytorch/repo \
        --out tests/fixtures [--keep-pickle /tmp/nv_real.pkl]

Both repositories are extracted with `git --git-dir REPO archive HEAD | tar -x`. NVIDIA's ops
take their pure-PyTorch reference paths on CPU. rosinality's `op/` compiles CUDA at import; in
the temporary copy the two `load(...)` calls are replaced by `None` (their CPU fallbacks are
then used) and the channel table is shrunk (512 -> 32/16) so that a 32 px model stays tiny.
"""

from __future__ import annotations

import argparse
import copy
import json
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

SEEDS = [0, 1, 7]


def extract(repo: str, dest: Path, *paths: str) -> Path:
    dest.mkdir(parents=True)
    cmd = ["git", "--git-dir", repo, "archive", "HEAD", *paths]  # paths: the mirror may lack big binaries
    archive = subprocess.run(cmd, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def randomize(module: torch.nn.Module, seed: int) -> None:
    """Move every parameter/buffer away from its init so that every tensor matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in list(module.named_parameters()) + list(module.named_buffers()):
            if name.endswith(("resample_filter", "kernel")):
                continue
            noise = torch.randn(p.shape, generator=g)
            if name.endswith(("noise_strength", "noise.weight")):
                p.copy_(0.3 * noise)
            elif p.ndim <= 1 or name.endswith("const"):
                p.add_(0.2 * noise)          # biases, affine biases (init 1), w_avg, noise buffers
            else:
                p.mul_(1.0 + 0.1 * noise)     # weights: keep the scale of the init


def to_plain(x):
    if isinstance(x, dict):
        return {k: to_plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_plain(v) for v in x]
    return x


def pixels(img: torch.Tensor) -> torch.Tensor:
    # NVIDIA generate.py: (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    return (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)


# ---------------------------------------------------------------------------------------------
# NVIDIA stylegan2-ada-pytorch

NV_CONFIGS = {
    # name: (G kwargs, D kwargs)
    "nv16_rgb": dict(z_dim=32, c_dim=0, w_dim=32, img_resolution=16, img_channels=3,
                     mapping_kwargs=dict(num_layers=2),
                     synthesis_kwargs=dict(channel_base=256, channel_max=32, num_fp16_res=0, conv_clamp=None)),
    "nv16_grey": dict(z_dim=16, c_dim=0, w_dim=24, img_resolution=16, img_channels=1,
                      mapping_kwargs=dict(num_layers=3),
                      synthesis_kwargs=dict(channel_base=128, channel_max=16, num_fp16_res=0, conv_clamp=256)),
    "nv8_cond": dict(z_dim=16, c_dim=4, w_dim=16, img_resolution=8, img_channels=3,
                     mapping_kwargs=dict(num_layers=2),
                     synthesis_kwargs=dict(channel_base=128, channel_max=16, num_fp16_res=0, conv_clamp=None)),
}


def make_nvidia(repo: str, tmp: Path, out: Path, keep_pickle: str | None) -> None:
    src = extract(repo, tmp / "nvidia")
    sys.path.insert(0, str(src))
    import types
    sys.modules.setdefault("requests", types.ModuleType("requests"))  # dnnlib.util imports it; unused here
    import dnnlib  # noqa: F401  (theirs, from the temporary copy)
    import legacy
    from training import networks

    for idx, (name, gk) in enumerate(NV_CONFIGS.items()):
        gk = copy.deepcopy(gk)
        sk = gk["synthesis_kwargs"]
        dk = dict(c_dim=gk["c_dim"], img_resolution=gk["img_resolution"], img_channels=gk["img_channels"],
                  architecture="resnet", channel_base=sk["channel_base"], channel_max=sk["channel_max"],
                  num_fp16_res=0, conv_clamp=sk["conv_clamp"], mapping_kwargs={}, block_kwargs={},
                  epilogue_kwargs=dict(mbstd_group_size=4))
        torch.manual_seed(100 + idx)
        G = networks.Generator(**gk).eval().requires_grad_(False)
        D = networks.Discriminator(**dk).eval().requires_grad_(False)
        randomize(G, 200 + idx)
        randomize(D, 300 + idx)
        G_ema = copy.deepcopy(G)

        # Through their own pickle + legacy loader, exactly as generate.py does.
        data = dict(training_set_kwargs=dict(class_name="training.dataset.ImageFolderDataset", path="x.zip",
                                             resolution=gk["img_resolution"], use_labels=gk["c_dim"] > 0),
                    G=G, D=D, G_ema=G_ema, augment_pipe=None)
        blob = pickle.dumps(data)
        if keep_pickle and idx == 0:
            Path(keep_pickle).write_bytes(blob)
        import io
        G = legacy.load_network_pkl(io.BytesIO(blob))["G_ema"]
        D = legacy.load_network_pkl(io.BytesIO(blob))["D"]

        t: dict[str, torch.Tensor] = {}
        for k, v in G.state_dict().items():
            t[f"G_ema.{k}"] = v.clone()
        for k, v in D.state_dict().items():
            t[f"D.{k}"] = v.clone()
        c1 = torch.zeros([1, G.c_dim])
        if G.c_dim:
            c1[:, 1] = 1                                     # generate.py --class=1
        zs = torch.from_numpy(np.concatenate([np.random.RandomState(s).randn(1, G.z_dim) for s in SEEDS]))
        t["z"] = zs
        t["c"] = c1.repeat(len(SEEDS), 1)
        for psi, mode in [(0.7, "const"), (0.7, "none"), (1.0, "const")]:
            imgs = [pixels(G(zs[i:i + 1], c1, truncation_psi=psi, noise_mode=mode)) for i in range(len(SEEDS))]
            t[f"pixels_psi{psi}_{mode}"] = torch.cat(imgs)
        z32 = zs.float()
        c = t["c"]
        ws = G.mapping(z32, c, truncation_psi=0.7)
        t["ws_psi0.7"] = ws
        t["ws_psi0.5_cutoff2"] = G.mapping(z32, c, truncation_psi=0.5, truncation_cutoff=2)
        t["ws_psi1"] = G.mapping(z32, c)
        t["img_const"] = G.synthesis(ws, noise_mode="const")
        t["img_none"] = G.synthesis(ws, noise_mode="none")
        wplus = torch.randn(len(SEEDS), G.num_ws, G.w_dim, generator=torch.Generator().manual_seed(5))
        t["wplus"] = wplus
        t["img_wplus_const"] = G.synthesis(wplus, noise_mode="const")
        dimg = torch.randn(4, gk["img_channels"], gk["img_resolution"], gk["img_resolution"],
                           generator=torch.Generator().manual_seed(6))
        dc = torch.zeros(4, G.c_dim)
        if G.c_dim:
            dc[torch.arange(4), torch.arange(4) % G.c_dim] = 1
        t["d_img"] = dimg
        t["d_c"] = dc
        t["d_logits"] = D(dimg, dc)
        meta = {"G_init_kwargs": json.dumps(to_plain(dict(gk))), "D_init_kwargs": json.dumps(to_plain(dk)),
                "seeds": json.dumps(SEEDS), "class_idx": "1" if G.c_dim else "",
                "made_by": "scripts/make_reference_fixtures.py with NVlabs/stylegan2-ada-pytorch"}
        t = {k: v.detach().contiguous() for k, v in t.items()}
        save_file(t, str(out / f"{name}.safetensors"), metadata=meta)
        print(name, sum(v.numel() * v.element_size() for v in t.values()), "bytes")
    make_tf(legacy, out)
    sys.path.remove(str(src))
    official = ("dnnlib", "legacy", "training", "torch_utils", "metrics")
    for mod in [m for m in sys.modules if m.split(".")[0] in official]:
        del sys.modules[mod]


# ---------------------------------------------------------------------------------------------
# NVIDIA TensorFlow pickles: random arrays under TF names/shapes, converted by THEIR legacy.py

TF_G_KWARGS = dict(latent_size=16, dlatent_size=16, label_size=0, resolution=16, num_channels=3,
                   mapping_layers=2, fmap_base=64, fmap_max=16)
TF_D_KWARGS = dict(label_size=0, resolution=16, num_channels=3, fmap_base=64, fmap_max=16, mbstd_group_size=4)


def tf_variables(seed: int) -> dict[str, dict[str, np.ndarray]]:
    """TF variable names and shapes of a StyleGAN2 G (mapping/synthesis components) and D."""
    rng = np.random.RandomState(seed)
    arr = lambda *shape: rng.randn(*shape).astype(np.float32)  # noqa: E731
    nf = lambda res: min(TF_G_KWARGS["fmap_base"] * 2 // res, TF_G_KWARGS["fmap_max"])  # noqa: E731
    w = TF_G_KWARGS["dlatent_size"]
    mapping = {}
    feats = [TF_G_KWARGS["latent_size"], w, w]
    for i in range(TF_G_KWARGS["mapping_layers"]):
        mapping[f"Dense{i}/weight"] = arr(feats[i], feats[i + 1])
        mapping[f"Dense{i}/bias"] = arr(feats[i + 1])
    syn = {"4x4/Const/const": arr(1, nf(4), 4, 4)}

    def modconv(p, cin, cout, k=3, noise=True):
        syn[f"{p}/weight"] = arr(k, k, cin, cout)
        syn[f"{p}/bias"] = arr(cout)
        syn[f"{p}/mod_weight"] = arr(w, cin)
        syn[f"{p}/mod_bias"] = arr(cin)
        if noise:
            syn[f"{p}/noise_strength"] = np.float32(rng.randn())
    modconv("4x4/Conv", nf(4), nf(4))
    modconv("4x4/ToRGB", nf(4), 3, k=1, noise=False)
    n = 1
    for res in (8, 16):
        modconv(f"{res}x{res}/Conv0_up", nf(res // 2), nf(res))
        modconv(f"{res}x{res}/Conv1", nf(res), nf(res))
        modconv(f"{res}x{res}/ToRGB", nf(res), 3, k=1, noise=False)
    syn["noise0"] = arr(1, 1, 4, 4)
    for res in (8, 16):
        for _ in range(2):
            syn[f"noise{n}"] = arr(1, 1, res, res)
            n += 1
    D = {"16x16/FromRGB/weight": arr(1, 1, 3, nf(16)), "16x16/FromRGB/bias": arr(nf(16))}
    for res in (16, 8):
        D[f"{res}x{res}/Conv0/weight"] = arr(3, 3, nf(res), nf(res))
        D[f"{res}x{res}/Conv0/bias"] = arr(nf(res))
        D[f"{res}x{res}/Conv1_down/weight"] = arr(3, 3, nf(res), nf(res // 2))
        D[f"{res}x{res}/Conv1_down/bias"] = arr(nf(res // 2))
        D[f"{res}x{res}/Skip/weight"] = arr(1, 1, nf(res), nf(res // 2))
    D["4x4/Conv/weight"] = arr(3, 3, nf(4) + 1, nf(4))
    D["4x4/Conv/bias"] = arr(nf(4))
    D["4x4/Dense0/weight"] = arr(nf(4) * 16, nf(4))
    D["4x4/Dense0/bias"] = arr(nf(4))
    D["Output/weight"] = arr(nf(4), 1)
    D["Output/bias"] = arr(1)
    return {"G": {"dlatent_avg": arr(w)}, "G/mapping": mapping, "G/synthesis": syn, "D": D}


def make_tf(legacy, out: Path) -> None:
    v = tf_variables(11)
    stub = lambda name, kw, variables, comps: legacy._TFNetworkStub(  # noqa: E731
        version=4, name=name, static_kwargs=kw, components=comps, variables=list(variables.items()))
    tf_G = stub("G", TF_G_KWARGS, v["G"], {"mapping": stub("G_mapping", {}, v["G/mapping"], {}),
                                          "synthesis": stub("G_synthesis", {}, v["G/synthesis"], {})})
    tf_D = stub("D", TF_D_KWARGS, v["D"], {})
    G = legacy.convert_tf_generator(tf_G)
    D = legacy.convert_tf_discriminator(tf_D)
    t = {}
    for comp, arrays in v.items():
        for name, a in arrays.items():
            t[f"tf.{comp}.{name}"] = torch.from_numpy(np.array(a, dtype=np.float32))
    t.update({f"G.{k}": x.clone() for k, x in G.state_dict().items()})
    t.update({f"D.{k}": x.clone() for k, x in D.state_dict().items()})
    meta = {"G_static_kwargs": json.dumps(TF_G_KWARGS), "D_static_kwargs": json.dumps(TF_D_KWARGS),
            "made_by": "scripts/make_reference_fixtures.py: random TF arrays converted by NVIDIA legacy.py"}
    save_file({k: x.contiguous() for k, x in t.items()}, str(out / "tf16.safetensors"), metadata=meta)
    print("tf16", sum(x.numel() * x.element_size() for x in t.values()), "bytes")


# ---------------------------------------------------------------------------------------------
# rosinality stylegan2-pytorch

ROS_SIZE, ROS_STYLE, ROS_MLP = 32, 32, 3
ROS_CHANNELS = {"4: 512": "4: 32", "8: 512": "8: 32", "16: 512": "16: 32", "32: 512": "32: 16"}


def make_rosinality(repo: str, tmp: Path, out: Path) -> None:
    src = extract(repo, tmp / "rosinality", "model.py", "op")
    for f in ("op/fused_act.py", "op/upfirdn2d.py"):
        p = src / f
        text = p.read_text()
        text, n = re.subn(r"\n(\w+) = load\(\n.*?\n\)\n", r"\n\1 = None\n", text, flags=re.S)
        assert n == 1, f
        p.write_text(text)
    model_py = src / "model.py"
    text = model_py.read_text()
    for a, b in ROS_CHANNELS.items():
        assert text.count(a) == 2, a
        text = text.replace(a, b)
    model_py.write_text(text)
    sys.path.insert(0, str(src))
    import model

    torch.manual_seed(400)
    g_ema = model.Generator(ROS_SIZE, ROS_STYLE, ROS_MLP, channel_multiplier=1).eval()
    d = model.Discriminator(ROS_SIZE, channel_multiplier=1).eval()
    randomize(g_ema, 401)
    randomize(d, 402)
    t: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        latent_avg = g_ema.mean_latent(2000)[0]
        for k, v in g_ema.state_dict().items():
            t[f"g_ema.{k}"] = v.clone()
        for k, v in d.state_dict().items():
            t[f"d.{k}"] = v.clone()
        t["latent_avg"] = latent_avg
        gz = torch.Generator().manual_seed(7)
        z = torch.randn(3, ROS_STYLE, generator=gz)
        z2 = torch.randn(3, ROS_STYLE, generator=gz)
        t["z"], t["z2"] = z, z2
        t["img"] = g_ema([z], randomize_noise=False)[0]
        t["img_trunc0.7"] = g_ema([z], truncation=0.7, truncation_latent=latent_avg, randomize_noise=False)[0]
        t["img_mix3"] = g_ema([z, z2], inject_index=3, randomize_noise=False)[0]
        wplus = torch.randn(3, g_ema.n_latent, ROS_STYLE, generator=gz)
        t["wplus"] = wplus
        t["img_wplus"] = g_ema([wplus], input_is_latent=True, randomize_noise=False)[0]
        t["w"] = g_ema.get_latent(z)
        dimg = torch.randn(4, 3, ROS_SIZE, ROS_SIZE, generator=gz)
        t["d_img"] = dimg
        t["d_logits"] = d(dimg)
    meta = {"size": str(ROS_SIZE), "style_dim": str(ROS_STYLE), "n_mlp": str(ROS_MLP),
            "channels": json.dumps({4: 32, 8: 32, 16: 32, 32: 16}),
            "made_by": "scripts/make_reference_fixtures.py with rosinality/stylegan2-pytorch (channel table shrunk)"}
    t = {k: v.detach().contiguous() for k, v in t.items()}
    save_file(t, str(out / "rosinality32.safetensors"), metadata=meta)
    print("rosinality32", sum(v.numel() * v.element_size() for v in t.values()), "bytes")

    # Their Generator must accept our writer's output strictly (checked here, with their code).
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from stylebridge.formats.rosinality import read_rosinality_state, rosinality_state_dicts
        raw = read_rosinality_state({"g_ema": g_ema.state_dict(), "d": d.state_dict(), "latent_avg": latent_avg})
        back = rosinality_state_dicts(raw.G_ema, raw.D, check_channels=False)
        g2 = model.Generator(ROS_SIZE, ROS_STYLE, ROS_MLP, channel_multiplier=1)
        g2.load_state_dict(back["g_ema"], strict=True)
        d2 = model.Discriminator(ROS_SIZE, channel_multiplier=1)
        d2.load_state_dict(back["d"], strict=True)
        same = torch.equal(g2.eval()([z], randomize_noise=False)[0], t["img"])
        print("rosinality strict load of our writer's output: OK; same image:", same)
    except ImportError as e:
        print("skipped writer check:", e)
    sys.path.remove(str(src))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nvidia", default="/work/.mirror/NVlabs+stylegan2-ada-pytorch/repo")
    ap.add_argument("--rosinality", default="/work/.mirror/rosinality+stylegan2-pytorch/repo")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "tests" / "fixtures"))
    ap.add_argument("--keep-pickle", default=None, help="also write NVIDIA's own pickle of the first config here "
                    "(for checking tests/formats/fixtures_util.py; never commit it: it embeds their source)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_grad_enabled(False)
    with tempfile.TemporaryDirectory() as tmp:
        make_nvidia(args.nvidia, Path(tmp), out, args.keep_pickle)
        make_rosinality(args.rosinality, Path(tmp), out)


if __name__ == "__main__":
    main()

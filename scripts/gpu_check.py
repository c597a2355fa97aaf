"""Every verb and the Python API on one device, with tiny models made on the fly; prints a
table (check, status, seconds, detail), writes it as JSON, exits 1 if any check failed.

    scripts/gpu-check.sh                     # on a CUDA machine (default --device cuda)
    scripts/gpu-check.sh --device cpu        # the same checks on the CPU (gloo instead of nccl)

Each check is independent (its own inputs, its own try/except): one failure hides nothing.
Where CPU and device should agree, the check runs both and compares (generate's exact mode
within 1/255, a short fp32 projector run within a tolerance). Checks not started within
`--budget` seconds are reported as 'skip'; so are those whose metric weights are missing
(`stylebridge weights install`), which never counts as a failure.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch

from stylebridge.cli.main import main as cli
from stylebridge.data.images import save_image, to_uint8
from stylebridge.errors import StylebridgeError
from stylebridge.formats import load_checkpoint, save_checkpoint
from stylebridge.networks import create_discriminator, create_generator

CONFIG = "tiny-16"


class Skip(Exception):
    """Not run here (missing weights, no time left): reported, never a failure."""


class Ctx:
    def __init__(self, root: Path, device: str):
        self.root, self.device = root, device
        self.dev = torch.device(device)
        self.cpu_models = {}

    def path(self, *parts) -> Path:
        p = self.root.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


# ----------------------------------------------------------------------------- fixtures


def _model(seed: int, channels: int = 3, scale: float = 0.3):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = create_generator(CONFIG, img_channels=channels).eval()
        D = create_discriminator(CONFIG, img_channels=channels)
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in G.parameters():
                p.add_(torch.randn(p.shape, generator=g) * scale)
            G.mapping.w_avg.copy_(torch.randn(G.mapping.w_avg.shape, generator=g))
    return G, D


def _derived(G, seed: int):
    Gt = copy.deepcopy(G)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in Gt.synthesis.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.2)
    return Gt


def _disc_images(n: int, size: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[:size, :size]
    out = np.zeros((n, size, size, 3), np.uint8)
    for i in range(n):
        cy, cx, r = rng.uniform(4, size - 4), rng.uniform(4, size - 4), rng.uniform(2, 4)
        out[i][(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = (rng.rand(3) * 200 + 55).astype(np.uint8)
    return out


def _zoo(ctx: Ctx, name: str, channels: int, kind: str | None) -> Path:
    G, D = _model(0, channels)
    root = ctx.path(name, "zoo.json").parent
    models = {"base": G, "bold": _derived(G, 1), "script": _derived(G, 2)}
    for n, g in models.items():
        save_checkpoint(root / f"{n}.safetensors", G=g, G_ema=g, D=D)
    manifest = {"name": name, "base": "base", "models": {n: {"file": f"{n}.safetensors"} for n in models}}
    if kind:
        manifest["kind"] = kind
    (root / "zoo.json").write_text(json.dumps(manifest))
    return root


def setup(ctx: Ctx) -> None:
    G, D = _model(0)
    save_checkpoint(ctx.path("base.safetensors"), G=G, G_ema=G, D=D)
    save_checkpoint(ctx.path("derived.safetensors"), G=_derived(G, 1), G_ema=_derived(G, 1), D=D)
    for i, a in enumerate(_disc_images(12)):
        save_image(a, ctx.path("data", f"{i:03d}.png"))
    with torch.no_grad():
        imgs = G(torch.randn(3, G.z_dim, generator=torch.Generator().manual_seed(9)), noise_mode="const")
    for i, im in enumerate(imgs.clamp(-1, 1)):
        save_image(to_uint8(im), ctx.path("inputs", f"in{i}.png"))
    _zoo(ctx, "zoo", 3, None)
    _zoo(ctx, "glyphzoo", 1, "glyphs")


# ----------------------------------------------------------------------------- helpers


def run_cli(*args) -> str:
    """A verb in this process; its output is returned, a non-zero exit raises with its tail."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        code = cli([str(a) for a in args])
    if code != 0:
        raise RuntimeError(f"`stylebridge {' '.join(map(str, args[:2]))}` exit {code}: {buf.getvalue()[-400:]}")
    return buf.getvalue()


def need_weights(*names: str) -> None:
    from stylebridge.metrics.weights import find_weights

    for n in names:
        try:
            find_weights(n)
        except (StylebridgeError, FileNotFoundError) as e:
            raise Skip(f"{n} weights missing ({str(e)[:60]}); run `stylebridge weights install`") from None


def _snapshots(run: Path) -> list[str]:
    return sorted(p.name for p in run.glob("network-snapshot-*.safetensors"))


def _last_log(run: Path) -> dict:
    return json.loads((run / "log.jsonl").read_text().strip().splitlines()[-1])


TRAIN = ["--batch", "4", "--snap", "2", "--iters", "2", "--seed", "1", "--no-progress", "--log-every", "1",
         "--grid-seeds", "2"]

# ----------------------------------------------------------------------------- checks


def check_environment(ctx: Ctx) -> str:
    from stylebridge.utils.device import tf32

    if ctx.dev.type != "cuda":
        return f"torch {torch.__version__}, {ctx.device}, {torch.get_num_threads()} threads"
    with tf32(True, ctx.dev):
        on = torch.backends.cuda.matmul.allow_tf32
    cap = torch.cuda.get_device_capability(ctx.dev)
    return (f"torch {torch.__version__}, {torch.cuda.get_device_name(ctx.dev)}, sm_{cap[0]}{cap[1]}, "
            f"TF32 in inversion {'on' if on else 'off'}{'' if cap[0] >= 8 else ' (no effect before Ampere)'}")


def check_generate_exact(ctx: Ctx) -> str:
    from stylebridge.generate import generate_from_seeds

    run_cli("generate", ctx.root / "base.safetensors", "--seeds", "0-3", "--outdir", ctx.path("gen_exact"),
            "--device", ctx.device)
    G = load_checkpoint(ctx.root / "base.safetensors", networks=("G_ema",)).generator
    ref = torch.stack([s.image for s in generate_from_seeds(G, range(4))]).int()
    got = torch.stack([s.image for s in generate_from_seeds(copy.deepcopy(G).to(ctx.dev), range(4))]).int()
    diff = int((ref - got).abs().max())
    assert diff <= 1, f"device vs CPU differ by {diff}/255 (exact mode: at most 1)"
    return f"4 PNGs; device vs CPU max {diff}/255"


def check_generate_fast(ctx: Ctx) -> str:
    out = ctx.path("gen_fast")
    run_cli("generate", ctx.root / "base.safetensors", "--seeds", "0-7", "--outdir", out, "--fast", "--batch-size",
            "4", "--device", ctx.device, "--noise-mode", "random")
    prec = "fp16" if ctx.dev.type == "cuda" else "bf16"
    run_cli("generate", ctx.root / "base.safetensors", "--seeds", "0-3", "--outdir", ctx.path("gen_half"),
            "--precision", prec, "--device", ctx.device)
    return f"{len(list(out.glob('*.png')))} PNGs --fast, 4 with --precision {prec}"


def check_mix_video(ctx: Ctx) -> str:
    from stylebridge.generate import style_mix_seeds
    from stylebridge.video import plan_video, video_frames

    out = ctx.path("mix")
    run_cli("mix", ctx.root / "base.safetensors", "--rows", "1,2", "--cols", "3,4", "--styles", "0-2", "--outdir", out,
            "--device", ctx.device)
    run_cli("video", ctx.root / "base.safetensors", "--seeds", "0-3", "--grid", "2x1", "--w-frames", "3", "--also",
            ctx.root / "derived.safetensors", "--output", ctx.path("walk.gif"), "--device", ctx.device,
            "--no-progress")
    G = load_checkpoint(ctx.root / "base.safetensors", networks=("G_ema",)).generator
    Gd = copy.deepcopy(G).to(ctx.dev)
    ref, got = style_mix_seeds(G, [1], [3], [0, 1]), style_mix_seeds(Gd, [1], [3], [0, 1])
    mix_diff = max(int((ref.images[k].int() - got.images[k].int()).abs().max()) for k in ref.images)
    plan = plan_video([G], [0, 1], num_keyframes=2, w_frames=2)
    v_ref, v_got = (np.stack(list(video_frames([m], plan))).astype(int) for m in (G, Gd))
    video_diff = int(np.abs(v_ref - v_got).max())
    assert mix_diff <= 1 and video_diff <= 1, f"device vs CPU differ: mix {mix_diff}/255, video {video_diff}/255"
    return f"{len(list(out.glob('*.png')))} mix PNGs, a 2-model GIF; device vs CPU max {mix_diff} / {video_diff} /255"


def check_train(ctx: Ctx) -> str:
    run = ctx.path("train_run", "x").parent
    run_cli("train", "--config", CONFIG, "--data", ctx.root / "data", "--outdir", run, "--aug", "ada", "--aug-p",
            "0.2", "--ada-kimg", "0.1", "--pl-weight", "1", "--gamma", "0.05", "--mirror", "--device", ctx.device,
            *TRAIN)
    log = _last_log(run)
    assert all(np.isfinite(v) for k, v in log.items() if isinstance(v, float)), log
    run_cli("train", "--resume", run, "--iters", "4", "--device", ctx.device, "--no-progress")
    snaps = _snapshots(run)
    assert "network-snapshot-000004.safetensors" in snaps, snaps
    return f"ADA + R1 + path length, 2 iters then resumed to 4; loss_D {log['loss_D']:.3f}, p {log['aug_p']:.4f}"


def check_train_cuda_graphs(ctx: Ctx) -> str:
    """24 iterations (ADA switching on, lazy R1 and path length: several kinds of iteration) eager
    and replayed from CUDA graphs, both in strict fp32 with deterministic cuDNN: the same
    training to rounding. Then `train --cuda-graphs` and a resume through the CLI."""
    if ctx.dev.type != "cuda":
        raise Skip("CUDA graphs need a CUDA device")
    from stylebridge.train.loop import Trainer
    from stylebridge.train.options import TrainOptions
    from stylebridge.utils.device import tf32

    kw = dict(config=CONFIG, data_array=_disc_images(12), batch=4, seed=1, pl_weight=1.0, gamma=0.05,
              g_reg_interval=2, d_reg_interval=3, aug="ada", aug_p=0.0, ada_interval=2, ada_kimg=0.02,
              style_mixing=0.5, mirror=True, device=ctx.device, progress=False, grid_seeds=2)
    runs = {}
    det = torch.backends.cudnn.deterministic
    torch.backends.cudnn.deterministic = True
    try:
        with tf32(False, ctx.dev):
            for graphs in (False, True):
                tr = Trainer(TrainOptions(outdir=str(ctx.path(f"graphs_{graphs}", "x").parent), cuda_graphs=graphs,
                                          **kw))
                for _ in range(24):
                    tr.step()
                runs[graphs] = (tr, tr.pop_log(0.0))
    finally:
        torch.backends.cudnn.deterministic = det
    (eager, le), (graphed, lg) = runs[False], runs[True]
    kinds = len(graphed.graphs.replays)
    assert kinds >= 2, f"only {kinds} kinds of iteration captured"
    diff = max(float((a - b).abs().max() / (a.abs().max() + 1e-8))
               for a, b in zip(eager.G_ema.state_dict().values(), graphed.G_ema.state_dict().values()))
    dloss = abs(le["loss_D"] - lg["loss_D"])
    assert diff < 1e-3 and dloss < 1e-3, f"graphs vs eager: weights rel. diff {diff:.2e}, loss_D diff {dloss:.2e}"
    run = ctx.path("graphs_cli", "x").parent
    run_cli("train", "--config", CONFIG, "--data", ctx.root / "data", "--outdir", run, "--aug", "ada", "--aug-p",
            "0.2", "--device", ctx.device, "--cuda-graphs", *TRAIN[:4], "--iters", "6", *TRAIN[6:])
    run_cli("train", "--resume", run, "--iters", "8", "--device", ctx.device, "--cuda-graphs", "--no-progress")
    assert "network-snapshot-000008.safetensors" in _snapshots(run), _snapshots(run)
    return (f"{kinds} kinds captured; after 24 iterations vs eager: weights rel. diff {diff:.1e}, "
            f"loss_D diff {dloss:.1e}; CLI 6 iters + resume to 8")


def check_finetune(ctx: Ctx) -> str:
    run = ctx.path("ft_run", "x").parent
    run_cli("finetune", "--base", ctx.root / "base.safetensors", "--data", ctx.root / "data", "--outdir", run,
            "--freeze-mapping", "--freeze-d", "1", "--freeze-g", "4", "--aug", "ada", "--aug-p", "0.3", "--gamma",
            "0.05", "--pl-weight", "1", "--device", ctx.device, *TRAIN)
    run_cli("finetune", "--resume", run, "--iters", "4", "--device", ctx.device, "--no-progress")
    from safetensors.torch import load_file

    a, b = load_file(str(ctx.root / "base.safetensors")), load_file(str(run / _snapshots(run)[-1]))
    mapping = [k for k in a if k.startswith("G.mapping.") and k.endswith("weight")]
    d_first = [k for k in a if k.startswith("D.b16.")]
    assert mapping and all(torch.equal(a[k], b[k]) for k in mapping), "FC: the mapping moved"
    assert d_first and all(torch.equal(a[k], b[k]) for k in d_first), "FreezeD: block b16 moved"
    g_first = [k for k in a if k.startswith(("G.synthesis.b4.", "G_ema.synthesis.b4."))]
    assert g_first and all(torch.equal(a[k], b[k]) for k in g_first), "FreezeG: block b4 moved"
    moved = sum(not torch.equal(a[k], b[k]) for k in a if k.startswith("G.synthesis."))
    assert moved > 5, "the synthesis network did not train"
    return f"FC + FreezeD 1 + FreezeG 4 + ADA + R1 + path length, resumed to 4; {moved} synthesis tensors moved"


def check_swap(ctx: Ctx) -> str:
    out = ctx.path("swapped.safetensors")
    run_cli("swap", "--source", ctx.root / "base.safetensors", "--target", ctx.root / "derived.safetensors",
            "--resolution", "8", "--out", out)
    run_cli("generate", out, "--seeds", "0", "--outdir", ctx.path("gen_swap"), "--device", ctx.device)
    blend = ctx.path("blended.safetensors")
    run_cli("swap", "--source", ctx.root / "base.safetensors", "--target", ctx.root / "derived.safetensors",
            "--resolution", "8", "--blend-width", "0.5", "--strength", "1.5", "--out", blend)
    run_cli("generate", blend, "--seeds", "0", "--outdir", ctx.path("gen_blend"), "--device", ctx.device)
    return "LS at 8 px and a blend at strength 1.5, rendered on the device"


def _invert_cli(ctx: Ctx, method: str, perceptual: str, *extra) -> dict:
    out = ctx.path(f"inv_{method}_{perceptual}", "x").parent
    run_cli("invert", ctx.root / "base.safetensors", ctx.root / "inputs", "--outdir", out, "--method", method,
            "--steps", "20", "--perceptual", perceptual, "--device", ctx.device, *extra)
    import csv

    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert len(rows) == 3 and all(np.isfinite(float(r["loss"])) for r in rows), rows
    return rows[0]


def check_invert_wplus_lpips(ctx: Ctx) -> str:
    need_weights("lpips_vgg")
    r = _invert_cli(ctx, "wplus", "lpips", "--save-video")
    return f"3 images, {r['steps']} steps, loss {float(r['loss']):.4f}, ssim {r['ssim']}, lpips {r['lpips']}"


def check_invert_sefa_discriminator(ctx: Ctx) -> str:
    r = _invert_cli(ctx, "sefa", "discriminator", "--topk", "8", "--clamp", "2")
    return f"topk 8, clamp 2: {r['steps']} steps, loss {float(r['loss']):.4f}"


def check_invert_w_pixel_noise(ctx: Ctx) -> str:
    r = _invert_cli(ctx, "w", "pixel", "--optimize-noise", "--latent-noise", "0.05", "--init", "search",
                    "--precision", "fp32", "--no-early-stop")
    return f"noise maps + latent noise + init search: loss {float(r['loss']):.4f}"


def check_encoder(ctx: Ctx) -> str:
    run = ctx.path("encoder_run", "x").parent
    run_cli("encoder", "train", ctx.root / "base.safetensors", "--outdir", run, "--iters", "2", "--batch", "4",
            "--snap", "1", "--perceptual", "pixel", "--device", ctx.device, "--no-progress")
    run_cli("encoder", "train", "--resume", run, "--iters", "3", "--device", ctx.device, "--no-progress")
    r = _invert_cli(ctx, "encoder", "pixel", "--encoder", run / "encoder.safetensors")
    return f"2 iters then resumed to 3; invert --method encoder --steps 20: loss {float(r['loss']):.4f}"


def check_projector_cpu_vs_device(ctx: Ctx) -> str:
    from stylebridge.data.images import load_image
    from stylebridge.invert import invert

    G = load_checkpoint(ctx.root / "base.safetensors", networks=("G_ema",)).generator
    x = torch.stack([load_image(p, 16, 3) for p in sorted((ctx.root / "inputs").glob("*.png"))])
    kw = dict(steps=30, perceptual="pixel", precision="fp32", early_stop=False)
    a = invert(G, x, "wplus", **kw)
    b = invert(copy.deepcopy(G).to(ctx.dev), x, "wplus", **kw)
    rel = float(((a.losses - b.losses).abs() / a.losses).max())
    img = float((a.reconstruction - b.reconstruction).abs().mean())
    assert rel < 0.05 and img < 0.05, f"CPU vs device: loss rel. diff {rel:.4f}, image mean diff {img:.4f}"
    note = " (device: TF32 on)" if ctx.dev.type == "cuda" else ""
    return f"wplus fp32 30 steps: loss rel. diff {rel:.2e}, reconstruction mean diff {img:.2e}{note}"


def check_translate(ctx: Ctx) -> str:
    out = ctx.path("translated", "x").parent
    ref = sorted((ctx.root / "inputs").glob("*.png"))[0]
    run_cli("translate", ctx.root / "inputs", "--zoo", ctx.root / "zoo", "--to", "bold,script", "--modes", "2",
            "--reference", ref, "--outdir", out, "--steps", "10", "--perceptual", "pixel", "--device", ctx.device,
            "--strength", "1.5")
    files = sorted(p.name for p in (out / "in0").glob("*.png"))
    assert {"bold.png", "bold_seed0.png", "bold_ref0.png", "script_seed1.png", "grid.png"} <= set(files), files
    return f"2 targets at strength 1.5, --modes 2, a reference: {len(files)} files per input"


def check_translate_api(ctx: Ctx) -> str:
    from stylebridge.data.images import load_image
    from stylebridge.translate import Translator, Zoo

    zoo = Zoo.from_dir(ctx.root / "zoo", device=ctx.dev)
    x = torch.stack([load_image(p, 16, 3) for p in sorted((ctx.root / "inputs").glob("*.png"))[:2]])
    res = Translator(zoo, steps=10, perceptual="pixel").translate(x, to="all", modes=1, reference=x[:1])
    shapes = {t: tuple(v.shape) for t, v in res.outputs.items()}
    assert all(s == (2, 3, 3, 16, 16) for s in shapes.values()), shapes
    return f"Translator.translate to {len(shapes)} targets"


def _eval(ctx: Ctx, *args) -> dict:
    js = ctx.path("eval", f"{args[0]}.json")
    run_cli("evaluate", *args, "--device", ctx.device, "--json", js)
    return json.loads(js.read_text())


def check_evaluate_fid_kid(ctx: Ctx) -> str:
    need_weights("inception")
    f = _eval(ctx, "fid", ctx.root / "base.safetensors", ctx.root / "data", "--num-gen", "8", "--no-cache")
    k = _eval(ctx, "kid", ctx.root / "base.safetensors", ctx.root / "data", "--num-gen", "8", "--no-cache",
              "--subsets", "4")
    return f"FID {f['fid']:.1f}, KID {k['kid']:.4f} (8 generated vs 12 real)"


def check_evaluate_distance(ctx: Ctx) -> str:
    need_weights("lpips_vgg")
    d = _eval(ctx, "distance", ctx.root / "base.safetensors", ctx.root / "derived.safetensors", "--samples", "8")
    p = _eval(ctx, "ppl", ctx.root / "base.safetensors", "--samples", "16", "--batch-size", "8")
    from stylebridge.metrics.ppl import perceptual_path_length

    G = load_checkpoint(ctx.root / "base.safetensors", networks=("G_ema",)).generator
    cpu = perceptual_path_length(G, samples=16, batch_size=8)["ppl"]
    assert abs(p["ppl"] - cpu) <= 1e-2 * cpu, f"PPL on the device {p['ppl']:.4f} vs CPU {cpu:.4f}"
    return f"model distance {d['distance']:.4f} +- {d['sem']:.4f}; PPL {p['ppl']:.3f} (CPU {cpu:.3f})"


def check_evaluate_translation(ctx: Ctx) -> str:
    need_weights("lpips_vgg", "inception")
    r = _eval(ctx, "translation", ctx.root / "inputs", "--zoo", ctx.root / "zoo", "--to", "bold", "--modes", "2",
              "--steps", "5", "--perceptual", "pixel", "--reference-dir", ctx.root / "data", "--no-cache")
    return f"LPIPS_s {r['lpips_s']:.4f}, LPIPS_d {r['lpips_d']:.4f}, FID {r['fid']:.1f}"


def check_evaluate_inversion(ctx: Ctx) -> str:
    need_weights("lpips_vgg")
    r = _eval(ctx, "inversion", ctx.root / "base.safetensors", ctx.root / "inputs", "--methods", "wplus,sefa",
              "--steps", "5", "--perceptual", "pixel")
    return ", ".join(f"{row['method']} SSIM {row['ssim']:.3f}" for row in r["rows"])


def check_app_engine(ctx: Ctx) -> str:
    from stylebridge.app.engine import Studio
    from stylebridge.app.jobs import Job
    from stylebridge.translate import Zoo

    studio = Studio(Zoo.from_dir(ctx.root / "glyphzoo", device=ctx.dev), default_steps=5, num_examples=1)
    up = studio.add_upload((ctx.root / "inputs" / "in0.png").read_bytes(), "in0.png")
    params = studio.parse_request({"input": {"type": "text", "text": "Ab"}, "modes": 1, "steps": 5,
                                   "perceptual": "pixel", "reference": up.id})
    job = Job(studio.run, params)
    studio.run(job)
    need = {"reconstruction.png", "latent.npz", "bold.png", "bold_seed0.png", "bold_ref0.png"}
    assert need <= set(job.files), sorted(job.files)
    return f"text job with a mode and a reference: {len(job.files)} files"


def check_demo_edit(ctx: Ctx) -> str:
    run_cli("demo", "--zoo", ctx.root / "glyphzoo", "--text", "Hi", "--steps", "5", "--modes", "1",
            "--out", ctx.path("demo", "demo.png"))
    basis = ctx.path("basis.npz")
    run_cli("factorize", ctx.root / "base.safetensors", "--out", basis)
    run_cli("edit", ctx.root / "base.safetensors", "--basis", basis, "--index", "0-1", "--steps", "3",
            "--out", ctx.path("edit.png"), "--device", ctx.device)
    return "demo, factorize, edit"


def check_torchrun(ctx: Ctx) -> str:
    backend = "nccl" if ctx.dev.type == "cuda" else "gloo"
    run = ctx.path("ddp_run", "x").parent
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "1", "-m",
           "stylebridge.cli.main", "finetune", "--base", str(ctx.root / "base.safetensors"), "--data",
           str(ctx.root / "data"), "--outdir", str(run), "--device", ctx.device, *TRAIN]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, (r.stdout + r.stderr)[-600:]
    assert _snapshots(run), "no snapshot written"
    return f"1 process, {backend}: {len(_snapshots(run))} snapshot(s)"


CHECKS = [check_environment, check_generate_exact, check_generate_fast, check_mix_video,
          check_projector_cpu_vs_device,
          check_invert_wplus_lpips, check_invert_sefa_discriminator, check_invert_w_pixel_noise, check_encoder,
          check_translate, check_translate_api, check_app_engine, check_train, check_finetune, check_swap,
          check_torchrun, check_evaluate_fid_kid, check_evaluate_distance, check_evaluate_translation,
          check_evaluate_inversion, check_demo_edit,
          check_train_cuda_graphs]  # last: a capture that fails leaves CUDA's generators unusable in this process


# ----------------------------------------------------------------------------- driver


def run_checks(ctx: Ctx, budget: float, only: list[str] | None = None) -> list[dict]:
    start = time.perf_counter()
    rows = []
    for check in CHECKS:
        name = check.__name__[len("check_"):]
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        if t0 - start > budget:
            rows.append({"check": name, "status": "skip", "seconds": 0.0,
                         "detail": f"time budget {budget:.0f} s spent"})
            continue
        try:
            status, detail = "ok", check(ctx)
        except Skip as e:
            status, detail = "skip", str(e)
        except Exception as e:  # noqa: BLE001 - every check reports, none stops the others
            status = "FAIL"
            detail = f"{type(e).__name__}: {e}".replace("\n", " ")[:300]
            (ctx.root / f"{name}.traceback.txt").write_text(traceback.format_exc())
        if ctx.dev.type == "cuda":
            torch.cuda.synchronize(ctx.dev)
        rows.append({"check": name, "status": status, "seconds": round(time.perf_counter() - t0, 2), "detail": detail})
        print(f"  {name:<28s} {status:<4s} {rows[-1]['seconds']:7.1f} s", file=sys.stderr, flush=True)
    return rows


def table(rows: list[dict]) -> str:
    w = max(len(r["check"]) for r in rows)
    lines = [f"| {'check':<{w}} | status | seconds | detail", f"|{'-' * (w + 2)}|--------|---------|-------"]
    lines += [f"| {r['check']:<{w}} | {r['status']:<6} | {r['seconds']:7.1f} | {r['detail']}" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default=os.environ.get("STYLEBRIDGE_CHECK_DEVICE", "cuda"),
                    help="cuda (default), cuda:N or cpu; env STYLEBRIDGE_CHECK_DEVICE")
    ap.add_argument("--budget", type=float, default=480.0, help="seconds after which no new check starts")
    ap.add_argument("--workdir", default=None, help="keep the models and outputs here (default: a temp folder)")
    ap.add_argument("--json", default="gpu-check.json", help="write the rows here ('' = not at all)")
    ap.add_argument("--only", default="", help="comma-separated check names (default: all)")
    a = ap.parse_args(argv)
    dev = torch.device(a.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        print("gpu-check: no CUDA device here; run with --device cpu to check the CPU path", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        root = Path(a.workdir) if a.workdir else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        root.mkdir(parents=True, exist_ok=True)
        ctx = Ctx(root, a.device)
        t0 = time.perf_counter()
        setup(ctx)
        print(f"gpu-check on {a.device}: tiny models ready in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        rows = run_checks(ctx, a.budget, [s for s in a.only.split(",") if s])
        failed = [r for r in rows if r["status"] == "FAIL"]
        if failed and a.workdir:
            print(f"tracebacks: {root}/*.traceback.txt", file=sys.stderr)
    print(table(rows))
    total = sum(r["seconds"] for r in rows)
    print(f"\n{len(rows) - len(failed)} of {len(rows)} checks passed or skipped, {len(failed)} failed, {total:.0f} s")
    if a.json:
        Path(a.json).write_text(json.dumps({"device": a.device, "torch": torch.__version__, "rows": rows}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

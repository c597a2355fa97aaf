"""The inversion choices and their defaults, defined once: the CLI verbs, the Python API,
the demo and the app all read them from here.

Adding an inversion method: append its name to METHODS (and teach the projector or its
own module to run it); every verb's --method choice and the app's menu follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stylebridge.errors import StylebridgeError

if TYPE_CHECKING:
    from stylebridge.networks.stylegan2 import Generator

# Measured (README, closing notes of issue 6): W+ reconstructs far better than SeFa or W at
# the same cost, on real held-out glyphs (SSIM 0.917 vs 0.817, LPIPS 0.061 vs 0.117) and
# against NVIDIA's 1000-step recipe at 64 px (LPIPS 0.069 vs 0.235 in 1/9 of the time).
# The paper's SeFa stays one flag away: --method sefa.
PROJECTOR_METHODS: tuple[str, ...] = ("sefa", "w", "wplus")   # optimisations, run by invert/projector.py
ENCODER_METHOD = "encoder"   # a trained encoder (stylebridge.encoder); with steps > 0, W+ refinement from its codes
METHODS: tuple[str, ...] = PROJECTOR_METHODS + (ENCODER_METHOD,)
DEFAULT_METHOD = "wplus"
# Whether a zoo's encoder is the default inversion of translate, the demo and the app where
# the zoo lists one (`Zoo.default_method`): decided by benchmarks/bench_encoder.py against
# issue 15's rule (README, "Encoder inversion"). Yes, with the zoo's recorded appearance
# (translate/options.py; the glyph zoo's: the target's mean w). On both test sets its
# translations keep as many characters as W+'s plain ones, the default before (held-out fonts
# 0.927 against 0.922; Pillow's font 0.860 against 0.855), and read as their style more often
# (0.63 against 0.42; 0.69 against 0.49), 50-60x faster per image; the demo's text in 0.13 s.
# `invert` keeps W+ (its reconstructions have the lower LPIPS).
ENCODER_IS_DEFAULT = True
# W+ refinement steps from the encoder's codes where translate, the demo and the app invert with
# a zoo's encoder, no steps are given and the zoo records none (zoo.json "encoder": {"steps": N},
# `Zoo.default_encoder_steps`: the shipped glyph zoo records 50, TRAINING.md session 16).
# `invert --method encoder` stays one forward pass unless --steps is given.
ENCODER_DEFAULT_STEPS = 0
DEMO_STEPS = 200          # the demo's W+ inversion steps (early stopping ends most glyphs sooner)
# Peak lr of the refinement from encoder codes, by measurement (benchmarks/exp_refine.py,
# benchmarks/results/refine.json: 64 held-out glyphs): lowest mean LPIPS over 20 and 40 steps
# among 0.02 / 0.05 / 0.1 (0.049 / 0.045 / 0.050). The projector's own warm-up and ramp-down
# (0.05 / 0.25 of the steps) beat no warm-up and longer ramp-downs (results/refine_schedule.json).
# Checked again from the feedback passes' codes on 256 glyphs of held-out fonts that no
# benchmark reports on (results/refine_validation.json): 0.05 still lowest (LPIPS at 20 / 40
# steps 0.035 / 0.026; 0.1: 0.040 / 0.026; 0.2: 0.042 / 0.036).
REFINE_LR = 0.05
# Feedback passes of the encoder (training-free, in the spirit of ReStyle's iterations): the
# encoder's code w of an image x is corrected by what the encoder gets wrong on its own
# reconstruction, w <- w + FEEDBACK_GAIN * (E(x) - E(G(w))). Each pass costs one encoder pass
# and one batched render. Chosen by measurement on 1024 glyphs of 53 held-out fonts that no
# other benchmark uses (benchmarks/exp_feedback.py, results/feedback.json), by the rule fixed
# before measuring (highest content accuracy, then fewer passes): the shipped encoder alone
# reads 0.917 of the characters (LPIPS 0.0444); 2 passes at gain 0.25 0.933 (0.0449); 1 pass
# 0.928 (0.0438). More passes, or higher gains, drift off: 3 at 0.5 fall back to 0.916 (0.064).
ENCODER_FEEDBACK = 2
FEEDBACK_GAIN = 0.25
METHOD_HELP = ("Inversion method: wplus = one w per layer (W+: the best reconstructions); w = one w (NVIDIA); "
               "sefa = the paper's SeFa basis; encoder = a trained encoder (the zoo's; invert also takes --encoder "
               "FILE), one forward pass and --feedback passes, refined by --steps N W+ steps when given.")

# Perceptual loss of the inversion. 'auto' is the default everywhere (CLI, API, demo, app):
# LPIPS-VGG16 on a GPU when its weights are installed (else the checkpoint's discriminator
# features, else pixel), and the pixel + gradient loss on a CPU. Measured on the shipped glyph
# zoo, 4 held-out glyphs, W+, 1 CPU thread (benchmarks/bench_perceptual.py, README): pixel at
# 300 steps 7.8 s/image, SSIM 0.953, LPIPS 0.034; LPIPS in about that time (60 steps) 6.5 s,
# SSIM 0.801, LPIPS 0.045; LPIPS at 300 steps 28 s (3.6x), SSIM 0.953, LPIPS 0.011 (the
# network it optimised). Per second pixel is better on a CPU; on a GPU LPIPS is cheap.
PERCEPTUAL: tuple[str, ...] = ("auto", "lpips", "discriminator", "pixel")
DEFAULT_PERCEPTUAL = "auto"
PERCEPTUAL_HELP = ("auto (default): LPIPS-VGG16 on a GPU when installed (`stylebridge weights install`), else "
                   "the checkpoint's discriminator features, else pixel; on a CPU the multi-scale pixel + gradient "
                   "loss: measured on glyphs, better than LPIPS in the same time, as good in SSIM at 1/3.6 of LPIPS's "
                   "time (README).")

# Arithmetic of the inversion (synthesis and perceptual network). fp32 by default: bf16 is
# about 2x faster only with AVX512-BF16 (or a recent GPU); without it, measured on an AMD EPYC
# (glyph zoo, 60 steps), bf16 took 25.5 s/image against 2.8 s in fp32, for no better result.
# With it (session 12, benchmarks/bench_invert_precision.py): 1.7-1.8x faster at the same
# steps, LPIPS 6% higher; 350 bf16 steps beat fp32's 200 in less time. fp32 stays the
# default: the same codes on every machine.
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")
DEFAULT_PRECISION = "fp32"
PRECISION_HELP = ("fp32 (default) is exact and fast everywhere; bf16 is about 2x faster on CPUs with "
                  "AVX512-BF16 and on recent GPUs, but 9x slower on CPUs without it. Where bf16 is fast, bf16 "
                  "with --steps 350 reconstructs better than fp32's 200 in less time (measured, README).")


def auto_perceptual(device) -> tuple[str, ...]:
    """What 'auto' tries, in order, on `device` (a torch.device or its name)."""
    if str(device).startswith("cuda"):
        return ("lpips", "discriminator", "pixel")
    return ("pixel",)


def check_choice(value: str, choices: tuple[str, ...], what: str) -> str:
    from stylebridge.errors import StylebridgeError

    if value not in choices:  # at most 40 characters of the value: never echo a huge request back
        raise StylebridgeError(f"unknown {what} {str(value)[:40]!r}; use one of {', '.join(choices)}")
    return value


# The projector's settings live here too, beside the choices they take: the command line
# shows their defaults in --help without importing torch.
@dataclass
class ProjectorConfig:
    method: str = DEFAULT_METHOD     # 'sefa' | 'w' | 'wplus'
    steps: int = 300                 # maximum optimisation steps (paper / NVIDIA: 1000; see benchmarks)
    lr: float = 0.1                  # peak learning rate (NVIDIA: 0.1)
    lr_rampup: float = 0.05          # fraction of steps of the cosine warm-up
    lr_rampdown: float = 0.25        # fraction of steps of the cosine ramp-down to 0
    betas: tuple[float, float] = (0.9, 0.999)
    pixel_loss: str = "l1"           # 'l1' | 'mse'
    pixel_weight: float = 1.0
    perceptual_weight: float = 1.0
    optimize_noise: bool = False     # optimise per-image noise maps (NVIDIA: yes)
    noise_reg: float = 1e5           # NVIDIA's regularize_noise_weight
    latent_noise: float = 0.0        # NVIDIA's initial_noise_factor (0.05): noise on w early on
    latent_noise_ramp: float = 0.75  # fraction of steps over which that noise decays to 0
    topk: int | None = None          # sefa: only the K strongest directions move
    clamp: float | None = None       # sefa: |v_j - mean_j| <= clamp * std_j
    init: str = "mean"               # 'mean' | 'search' (best of `init_candidates` mapped samples)
    init_candidates: int = 32
    early_stop: bool = True          # stop an image when its loss stops improving
    patience: int = 40               # ... by `tol` (relative) within this many steps
    tol: float = 2e-3
    min_steps: int = 50
    precision: str = DEFAULT_PRECISION  # "fp32" | "bf16" (synthesis and perceptual net; see options.py)
    fused: bool | None = None        # None: fastest modulated-conv form for the batch size
    seed: int = 0                    # for latent noise, noise maps and init candidates

    def validate(self, G: Generator) -> None:
        check_choice(self.method, PROJECTOR_METHODS, "inversion method")
        if self.steps < 1:
            raise StylebridgeError("--steps must be at least 1")
        if self.pixel_loss not in ("l1", "mse"):
            raise StylebridgeError("pixel loss must be 'l1' or 'mse'")
        if self.topk is not None and not 1 <= self.topk <= G.w_dim:
            raise StylebridgeError(f"--topk must be between 1 and w_dim={G.w_dim}, got {self.topk}")
        if self.clamp is not None and self.clamp <= 0:
            raise StylebridgeError(f"--clamp must be positive, got {self.clamp}")
        if (self.topk is not None or self.clamp is not None) and self.method != "sefa":
            raise StylebridgeError("--topk and --clamp constrain the SeFa coordinates: use them with --method sefa")
        if self.init not in ("mean", "search"):
            raise StylebridgeError(f"init must be 'mean' or 'search', got {self.init!r}")
        if self.precision not in ("fp32", "bf16"):
            raise StylebridgeError("inversion precision must be fp32 or bf16")
        if G.c_dim:
            raise StylebridgeError("inversion of class-conditional generators is not supported")

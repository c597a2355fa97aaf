"""The inversion choices and their defaults, defined once: the CLI verbs, the Python API,
the demo and the app all read them from here.

Adding an inversion method: append its name to METHODS (and teach the projector or its
own module to run it); every verb's --method choice and the app's menu follow.
"""

from __future__ import annotations

# Measured (README, closing notes of issue 6): W+ reconstructs far better than SeFa or W at
# the same cost, on real held-out glyphs (SSIM 0.917 vs 0.817, LPIPS 0.061 vs 0.117) and
# against NVIDIA's 1000-step recipe at 64 px (LPIPS 0.069 vs 0.235 in 1/9 of the time).
# The paper's SeFa stays one flag away: --method sefa.
PROJECTOR_METHODS: tuple[str, ...] = ("sefa", "w", "wplus")   # optimisations, run by invert/projector.py
ENCODER_METHOD = "encoder"   # a trained encoder (stylebridge.encoder); with steps > 0, W+ refinement from its codes
METHODS: tuple[str, ...] = PROJECTOR_METHODS + (ENCODER_METHOD,)
DEFAULT_METHOD = "wplus"
# Whether the demo and the app invert with a zoo's encoder by default: decided by
# benchmarks/bench_encoder.py against issue 15's rule (README, "Encoder inversion"): not yet.
ENCODER_IS_DEFAULT = False
METHOD_HELP = ("Inversion method: wplus = one w per layer (W+, measured best); w = one w (NVIDIA); sefa = the "
               "paper's SeFa basis; encoder = a trained encoder (the zoo's, or --encoder), one forward pass, "
               "refined by --steps N W+ steps when given.")

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
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")
DEFAULT_PRECISION = "fp32"
PRECISION_HELP = ("fp32 (default) is exact and fast everywhere; bf16 is about 2x faster on CPUs with "
                  "AVX512-BF16 and on recent GPUs, but 9x slower on CPUs without it (measured, README).")


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

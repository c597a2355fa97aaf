"""The translation choices and their defaults, defined once (torch-free: the command line
shows them in --help without importing torch). The translator, the CLI verbs, the demo and
the app read them from here.
"""

from __future__ import annotations

DEFAULT_TRUNCATION = 0.5  # the paper's code sampled appearance codes at psi 0.5 (there hard-coded)

# What the plain translation column draws in the appearance inputs (those after the first k
# content layers): 'input', the input's own code (the paper's Eq. 4), or 'mean', the target's
# mean w (Eq. 10's appearance code at truncation 0, as `--modes 1 --trunc 0` draws it).
APPEARANCES: tuple[str, ...] = ("input", "mean")
# 'auto' (the default of every verb and of the API's None): what the zoo recorded for its
# encoder (zoo.json "encoder": {"appearance": ...}) when the images are inverted with that
# encoder, else 'input'. The shipped glyph zoo records 'mean', by measurement
# (benchmarks/bench_encoder.py, README "The target's mean appearance"): from the encoder's
# codes the styles read 0.63 / 0.69 of the time with 'mean' against 0.37 / 0.45 with 'input'
# (held-out fonts / Pillow's font), keeping 0.93 / 0.86 of the characters (0.95 / 0.88).
# From W+ codes 'mean' trades characters for style (0.87 against 0.92 content), so it is
# not the default there.
AUTO_APPEARANCE = "auto"
APPEARANCE_CHOICES: tuple[str, ...] = (AUTO_APPEARANCE,) + APPEARANCES
APPEARANCE_HELP = ("What the translation draws in the style inputs after --content-layers: input = the input's own "
                   "code (the paper's Eq. 4); mean = the target's mean w (as --modes 1 --trunc 0 does); auto "
                   "(default) = what the zoo records for its encoder when inverting with it (the shipped glyph zoo: "
                   "mean, measured: its styles read 0.63-0.69 of the time instead of 0.37-0.45, with a few more "
                   "characters lost; README), else input.")

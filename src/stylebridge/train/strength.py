"""Style strength, defined once (torch-free: the command line shows it in --help without
importing torch). Fine-tuning moves the synthesis weights from the base's; strength a draws
a model with them at a times that step (train/swap.py `with_strength`): 1 is the model as
trained, 0 the base's synthesis, above 1 more of the style and, in the end, fewer of the
input's characters (benchmarks/exp_strength.py measures the trade per style).
"""

from __future__ import annotations

from stylebridge.errors import StylebridgeError

MAX_STRENGTH = 4.0  # far past where the shipped styles lose their characters: a typo, not a choice

STRENGTH_HELP = ("Style strength: draw each target with its synthesis weights at this many times their step from "
                 "the base's (1 = the model as trained, 0 = the base's look, 1.5-2 = a stronger style that keeps "
                 f"fewer of the input's characters; 0 to {MAX_STRENGTH:g}). One number for every target, or "
                 "NAME=A,NAME=A for some (the others keep theirs). Default: the strength the zoo records for each "
                 "model (zoo.json \"strength\"), else 1.")


def parse_strengths(text: str) -> float | dict[str, float]:
    """'1.5' -> 1.5 (every target); 'script=1.2,blackletter=2' -> {'script': 1.2, 'blackletter': 2.0}."""
    text = str(text).strip()
    if "=" not in text:
        return check_strength(text)
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise StylebridgeError(f"cannot read {part.strip()[:40]!r} as NAME=STRENGTH (example: script=1.2,"
                                   "blackletter=2)")
        if name in out:
            raise StylebridgeError(f"style strength for {name[:40]!r} given twice")
        out[name] = check_strength(value.strip())
    return out


def check_strength(strength) -> float:
    """A style strength as a float, or one line saying what is allowed."""
    try:
        a = float(strength)
    except (TypeError, ValueError):
        raise StylebridgeError(f"style strength must be a number, got {str(strength)[:40]!r}") from None
    if not 0.0 <= a <= MAX_STRENGTH:  # also refuses nan
        raise StylebridgeError(f"style strength must be between 0 and {MAX_STRENGTH:g} (1: the model as trained, "
                               f"0: the base's synthesis, above 1: a stronger style), got {strength}")
    return a


def strength_label(name: str, strength: float) -> str:
    """How a model drawn at a style strength is named in pictures: 'blackletter x1.75' (just
    the name at strength 1)."""
    return name if strength == 1.0 else f"{name} x{strength:g}"

"""The embedded demo as a user meets it (issue 16: "demo under 10 s on 2 cores"): the whole
`stylebridge demo` process, timed, for the zoo's default inversion (the encoder's codes refined
by the steps its zoo.json records) against the encoder's codes unrefined (`--steps 0`) in the
same run; and what that default inversion does to every character of Pillow's default font
(the demo's input): the glyph classifier's content accuracy (merged look-alikes) of the
reconstruction and of each style's translation, and which characters come back as another.

    python benchmarks/bench_demo.py [--rounds 3] [--text Hello] [--zoo DIR]

Prints tables and writes JSON (benchmarks/results/demo.json). Wall times are whole processes
(start-up, imports, model loading included), best of --rounds, alternating the two settings.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import print_table, write_json  # noqa: E402

from stylebridge.data.glyphs import CHAR_TO_LABEL  # noqa: E402


def time_demo(text: str, extra: list[str], zoo: str | None, out: Path) -> float:
    """Seconds of one whole `stylebridge demo` process."""
    cmd = [str(Path(sys.executable).with_name("stylebridge")), "demo", "--text", text, "--modes", "1",
           "--out", str(out), "--no-progress", *extra, *(["--zoo", zoo] if zoo else [])]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": str(torch_threads())})
    return time.perf_counter() - t0


def torch_threads() -> int:
    return int(os.environ.get("OMP_NUM_THREADS", min(2, os.cpu_count() or 1)))


def pillow_font(zoo_dir: str | None, chars: str) -> dict:
    """Content accuracy of reconstruction and translations of `chars` in Pillow's font with the
    zoo's default inversion, and the characters each gets wrong."""
    from stylebridge.data.glyphs import CHARS
    from stylebridge.demo import glyph_inputs
    from stylebridge.metrics.glyph_classifier import load_glyph_classifier
    from stylebridge.translate import Translator, Zoo
    from stylebridge.zoo import shipped_zoo_dir

    zoo = Zoo.from_dir(zoo_dir or shipped_zoo_dir())
    x, labels = glyph_inputs(chars, None, zoo[zoo.base].img_resolution)
    tr = Translator(zoo, batch_size=len(x), seed=0)
    method, options = tr.inversion_for(zoo.base)
    inv = tr.invert(zoo.base, x)
    res = tr.translate(x, to="all", inversion=inv)
    clf = load_glyph_classifier()
    want = [CHAR_TO_LABEL[c] for c in labels]
    out = {"method": method, "refine_steps": options.get("steps"), "chars": len(labels)}
    rows = [("reconstruction", inv.reconstruction)] + [(n, res.outputs[n][:, 0]) for n in res.outputs]
    for name, imgs in rows:
        got = clf.predict(imgs.clamp(-1, 1)).tolist()
        wrong = [f"{c}->{CHARS[g]}" for c, g, w in zip(labels, got, want) if not _same(g, w)]
        out[name] = {"content": 1 - len(wrong) / len(labels), "wrong": wrong,
                     "strength": None if name == "reconstruction" else res.strengths[name]}
    return out


def _same(got: int, want: int) -> bool:
    """The same character up to the classifier's merged look-alikes (glyph_classifier.MERGE_GROUPS)."""
    from stylebridge.metrics.glyph_classifier import merge_map

    mm = merge_map()
    return bool(mm[got] == mm[want])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--text", default="Hello", help="the demo's text (scripts/demo.sh's)")
    ap.add_argument("--chars", default="".join(CHAR_TO_LABEL), help="characters drawn with Pillow's default font")
    ap.add_argument("--zoo", default=None, help="zoo folder (default: the shipped glyph zoo)")
    ap.add_argument("--out", default="benchmarks/results/demo.json")
    args = ap.parse_args()
    if args.rounds < 1:
        raise SystemExit(f"--rounds must be at least 1, got {args.rounds}")
    settings = {"default (zoo's refinement steps)": [], "encoder codes unrefined (--steps 0)": ["--steps", "0"]}
    best = {k: float("inf") for k in settings}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, extra in settings.items():
                best[name] = min(best[name], time_demo(args.text, extra, args.zoo, Path(tmp) / f"d{r}.png"))
    base = best["encoder codes unrefined (--steps 0)"]
    timing = [{"setting": k, "seconds": round(v, 2), "vs unrefined": round(v / base, 2)} for k, v in best.items()]
    print(f"whole `stylebridge demo --text {args.text} --modes 1` process, best of {args.rounds}, "
          f"{torch_threads()} threads")
    print_table(timing, ["setting", "seconds", "vs unrefined"])
    font = pillow_font(args.zoo, args.chars)
    print(f"\nPillow's default font, {font['chars']} characters, {font['method']} + {font['refine_steps']} W+ steps")
    table = [{"row": k, "content": round(v["content"], 3), "strength": v["strength"], "wrong": " ".join(v["wrong"])}
             for k, v in font.items() if isinstance(v, dict)]
    print_table(table, ["row", "content", "strength", "wrong"])
    write_json(args.out, {"text": args.text, "rounds": args.rounds, "threads": torch_threads(), "timing": timing,
                          "pillow_font": font})


if __name__ == "__main__":
    main()

"""The glyph zoo's model variants: their names, the rule that chooses what ships, and the
README's ablation table. Pure bookkeeping on names and eval.json rows (no torch).

Variant names: STYLE-VARIANT[N][-lsR], e.g. 'outline-fcft750-ls16' = the outline domain,
FC-FT (frozen mapping; 'ft' = mapping trained), its 750-iteration snapshot (no N: the final
one), layer-swapped with the base at 16 px (no -lsR: no swap). 'STYLE-shipped' is the model
the zoo ships today, measured as it is beside new variants.
A choice (scripts/train_zoo.py package --choose) per style: 'lsR' | 'lsR@N' | 'off' | 'keep'
(the shipped model stays).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from stylebridge.data.glyph_fonts import DOMAINS as FONT_DOMAINS
from stylebridge.errors import StylebridgeError
from stylebridge.train.loop import SNAPSHOT_RE

STYLES = tuple(FONT_DOMAINS)                         # the style classifier's classes: base first
DOMAINS = tuple(s for s in STYLES if s != "base")    # the target domains
SWAPS = (4, 8, 16)                                   # swap resolutions the ablation measures
SHIPPED = "shipped"                                  # STYLE-shipped: the zoo's model as it ships now
VARIANT_NAMES = {"ft": "FT (mapping trained)", "fcft": "FC-FT", SHIPPED: "shipped now"}


def variant_name(style: str, variant: str = "fcft", iters: int = 0, swap: int = 0) -> str:
    """('outline', 'fcft', 750, 16) -> 'outline-fcft750-ls16' (iters 0: final snapshot; swap 0: none)."""
    return f"{style}-{variant}" + (str(iters) if iters else "") + (f"-ls{swap}" if swap else "")


def parse_variant(name: str) -> tuple[str, str, int, int]:
    """'outline-fcft750-ls16' -> ('outline', 'fcft', 750, 16): style, variant (ft / fcft),
    the snapshot's iterations (0: the final one) and the swap resolution (0: no swap)."""
    style, model, *swap = name.split("-")
    variant = "fcft" if model.startswith("fcft") else model
    return style, variant, int(model.removeprefix(variant) or 0), int(swap[0].removeprefix("ls")) if swap else 0


def snapshot_iters(path: str | Path) -> int:
    """network-snapshot-000750.safetensors -> 750 (train/loop.py names the snapshots)."""
    m = SNAPSHOT_RE.search(Path(path).name)
    if not m:
        raise StylebridgeError(f"{path}: not a network-snapshot-NNNNNN.safetensors file")
    return int(m.group(1))


def parse_choice(text: str) -> dict[str, tuple[int, int] | str | None]:
    """'script=ls4@750,pixel=off,outline=keep' -> {'script': (4, 750), 'pixel': None,
    'outline': 'keep'}: per style (swap resolution, snapshot iterations), None for a style that
    does not ship, 'keep' for one whose shipped model stays."""
    choice: dict[str, tuple[int, int] | str | None] = {}
    for kv in filter(None, text.split(",")):
        m = re.fullmatch(r"(\w+)=(?:off|keep|ls(\d+)(?:@(\d+))?)", kv)
        if not m or m[1] not in DOMAINS:
            raise StylebridgeError(f"--choose: '{kv}' is not STYLE=lsR, STYLE=lsR@N, STYLE=keep or STYLE=off "
                                   f"(STYLE one of {', '.join(DOMAINS)})")
        choice[m[1]] = (None if kv.endswith("=off") else "keep" if kv.endswith("=keep")
                        else (int(m[2]), int(m[3] or 0)))
    return choice


def parse_strengths(text: str) -> dict[str, float]:
    """'blackletter=1.1,script=1' -> {'blackletter': 1.1, 'script': 1.0} (package --strength)."""
    out: dict[str, float] = {}
    for kv in filter(None, text.split(",")):
        m = re.fullmatch(r"(\w+)=(\d+(?:\.\d*)?)", kv)
        if not m or m[1] not in DOMAINS:
            raise StylebridgeError(f"--strength: '{kv}' is not STYLE=A (STYLE one of {', '.join(DOMAINS)}, A a "
                                   "number such as 1.1)")
        out[m[1]] = float(m[2])
    return out


def parse_entry(text: str) -> dict:
    """package --encoder-entry: a JSON object (the encoder's zoo.json entry)."""
    try:
        entry = json.loads(text)
    except ValueError as e:
        raise StylebridgeError(f"--encoder-entry is not JSON: {e}") from None
    if not isinstance(entry, dict):
        raise StylebridgeError("--encoder-entry must be a JSON object, e.g. "
                               "'{\"appearance\": \"mean\", \"steps\": 50}'")
    return entry


def chosen_row(style: str, choice: tuple[int, int] | str) -> str:
    """The eval.json row of a parsed choice (`parse_choice`): (swap, iterations) -> the FC-FT
    variant's name, 'keep' -> STYLE-shipped."""
    return f"{style}-{SHIPPED}" if choice == "keep" else variant_name(style, "fcft", choice[1], choice[0])


def format_choice(chosen: dict[str, str]) -> str:
    """{'script': 'ls4@750', 'pixel': 'off'} -> 'script=ls4@750,pixel=off' (what --choose reads)."""
    return ",".join(f"{k}={v}" for k, v in chosen.items())


def _same_as_unswapped(name: str, rows: dict) -> bool:
    """Whether swap row `name` measured exactly as its model without a swap: a swap at or under
    a FreezeG resolution (`finetune --freeze-g`) takes from the base what the fine-tune kept."""
    style, variant, it, swap = parse_variant(name)
    plain = rows.get(variant_name(style, variant, it))
    keys = ("content", "style", "realism_fid", "samples", "distance")
    return bool(swap) and plain is not None and all(rows[name].get(k) == plain.get(k) for k in keys)


def markdown_table(rows: dict) -> str:
    """The README's ablation table from eval.json. Swap rows that measured exactly as their
    unswapped model are left out, and a line under the table says which."""
    out = ["| domain | variant | content acc. (merged) | style acc. | realism FID (classifier space) "
           "| own samples: chars / FID | model distance to base |", "|---|---|---|---|---|---|---|"]
    same = sorted({parse_variant(n)[3] for n in rows if n != "base" and not n.startswith("_")
                   and _same_as_unswapped(n, rows)})
    for style in DOMAINS:
        ref = None
        for name, r in rows.items():
            if not name.startswith(style + "-") or _same_as_unswapped(name, rows):
                continue
            _, variant, it, swap = parse_variant(name)
            label = VARIANT_NAMES[variant] + (f" ({it} it.)" if it else "") + (f" + LS {swap} px" if swap else "") \
                + (f", strength {r['strength']:g}" if "strength" in r else "")
            d, smp = r.get("distance"), r["samples"]
            dist = f"{d['distance']:.4f} ± {d['sem']:.4f}" if d else ""
            out.append(f"| {style} | {label} | {r['content']['merged']:.3f} | {r.get('style', float('nan')):.3f} "
                       f"| {r['realism_fid']:.1f} | {smp['chars']} / {smp['fid']:.1f} | {dist} |")
            ref = r
        if ref is not None:
            st = (f"real {ref['style_ceiling']:.3f} / inputs {ref['source_style']:.3f}" if "style" in ref else "")
            out.append(f"| {style} | *reference* | ceiling {ref['classifier_ceiling']['merged']:.3f} | {st} "
                       f"| real {ref['real_floor_fid']:.1f} / untranslated inputs {ref['source_fid']:.1f} | | |")
    b = rows["base"]
    out.append(f"| base | *base model* | reconstruction {b['content']['merged']:.3f} | | | "
               f"{b['samples']['chars']} / {b['samples']['fid']:.1f} | |")
    if same:
        out.append(f"\nLeft out: the LS {' and '.join(map(str, same))} px rows measured exactly as the same "
                   "model without a swap (its blocks up to that resolution are the base's: FreezeG).")
    return "\n".join(out)


# Issue 16's bar: content is judged relative to what the glyph classifier can read in that
# style at all (its accuracy on real held-out glyphs of the style, "classifier_ceiling"), style
# relative to the style classifier's accuracy on them ("style_ceiling").
MIN_CONTENT = 0.95  # a shipped variant keeps at least this share of the classifier's ceiling (merged)
STYLE_BAR = 0.75    # ... and should read as its style at least this share of the style ceiling (reported)
MIN_GAIN = 0.10     # a style ships only when it adds this much style accuracy over the untranslated inputs


def content_floor(row: dict, min_content: float = MIN_CONTENT) -> float:
    """The content accuracy a variant must keep: `min_content` x the classifier's accuracy on
    real held-out glyphs of its style (the whole of `min_content` where a row has no ceiling)."""
    return min_content * row.get("classifier_ceiling", {}).get("merged", 1.0)


def choose(rows: dict, min_content: float = MIN_CONTENT, min_gain: float = MIN_GAIN) -> dict[str, str]:
    """Per domain, among the FC-FT variants (no swap, or LS at some resolution) whose content
    accuracy (merged) is at least `content_floor` (`min_content` of the classifier's ceiling in
    that style), the one whose outputs the style classifier most often reads as the target
    style (ties: the larger model distance); when none keeps enough content, the one that
    keeps the most. A domain ships only when translating adds
    its style: that variant's style accuracy exceeds the untranslated inputs' by at least
    `min_gain`; otherwise it is 'off'.
    Earlier snapshots of the fine-tune (STYLE-fcftN: N iterations) compete alike, and so does
    the model shipped now (STYLE-shipped: 'keep' when it wins).
    -> {style: 'lsR' | 'lsR@N' | 'keep' | 'off'} ('ls0': no swap; '@N': the N-iteration snapshot)"""
    out = {}
    for style in DOMAINS:
        cands = {k: r for k, r in rows.items() if k.startswith(f"{style}-fcft") or k == f"{style}-{SHIPPED}"}
        if not cands:
            continue
        ok = {k: r for k, r in cands.items() if r["content"]["merged"] >= content_floor(r, min_content)}
        best = (max(ok, key=lambda k: (ok[k].get("style", 0.0), ok[k].get("distance", {}).get("distance", 0.0)))
                if ok else max(cands, key=lambda k: cands[k]["content"]["merged"]))
        r = cands[best]
        if "style" in r and r["style"] - r["source_style"] < min_gain:
            out[style] = "off"
        elif best == f"{style}-{SHIPPED}":
            out[style] = "keep"
        else:
            _, _, it, swap = parse_variant(best)
            out[style] = f"ls{swap}" + (f"@{it}" if it else "")
    return out


def choice_rule() -> str:
    """The rule `choose` applies, in one line (printed beside its result)."""
    return (f"most style with content >= {MIN_CONTENT:.2f} x the classifier's ceiling in that style; "
            f"off: adds < {MIN_GAIN:.2f} style")


def bar_report(rows: dict, chosen: dict[str, str]) -> list[str]:
    """One line per chosen style: content and style as shares of their ceilings, against
    issue 16's bar (content >= MIN_CONTENT, style >= STYLE_BAR of the ceilings)."""
    out = []
    for style, c in chosen.items():
        if c == "off":
            out.append(f"{style}: not shipped")
            continue
        r = rows[chosen_row(style, parse_choice(f"{style}={c}")[style])]
        cs = r["content"]["merged"] / r["classifier_ceiling"]["merged"]
        ss = r["style"] / r["style_ceiling"]
        ok = cs >= MIN_CONTENT and ss >= STYLE_BAR
        at = f", strength {r['strength']:g}" if "strength" in r else ""
        out.append(f"{style} ({c}{at}): content {cs:.2f} of the ceiling, style {ss:.2f} of the ceiling: "
                   f"{'meets' if ok else 'misses'} the bar ({MIN_CONTENT:.2f} / {STYLE_BAR:.2f})")
    return out

"""NVIDIA-style number lists ('0-3,7'), read by the CLI options and by library calls that take layer lists."""

from __future__ import annotations

import re

from stylebridge.errors import StylebridgeError


def parse_range_list(text: str) -> list[int]:
    """Parse NVIDIA-style number lists: '0-3,7' -> [0, 1, 2, 3, 7]."""
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d+)-(\d+)", part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if hi < lo:
                raise StylebridgeError(f"range '{part}' ends before it starts; write it as {hi}-{lo}")
            out.extend(range(lo, hi + 1))
        elif re.fullmatch(r"\d+", part):
            out.append(int(part))
        else:
            raise StylebridgeError(f"cannot read '{part}' as a number or range (examples: 7, 0-3, 0-3,7)")
    if not out:
        raise StylebridgeError(f"no numbers in '{text}' (examples: 7, 0-3, 0-3,7)")
    return out

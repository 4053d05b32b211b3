"""How shares and lists of names are written for people, the same for every platform."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percent(share: float | None) -> str:
    """``0.6`` -> ``60%``, ``0.12345`` -> ``12.3%``: rounded down, so that a share below a
    minimum never prints as the minimum. ``None``: ``-``; a share that is no number (NaN, an
    infinity: a ratio of nothing) is ``n/a`` rather than an error."""
    if share is None:
        return "-"
    if not math.isfinite(share):
        return "n/a"
    tenths = math.floor(share * 1000 + 1e-9)
    return f"{tenths // 10}%" if tenths % 10 == 0 else f"{tenths / 10:.1f}%"


def either(names: Sequence[str]) -> str:
    """``a, b or c``."""
    *most, last = names
    return f"{', '.join(most)} or {last}" if most else last

"""'Did you mean …?' for every place a user can misspell a name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Names scoring this much below the best are left out: 'customer_emial' -> 'customer_email',
# not also 'customer_id' and 'customer_phone'.
_MARGIN = 0.1


def closest(name: str, options: Iterable[str], *, n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The valid names nearest to ``name`` (case-insensitive), best first. A name that
    differs only in case is the one answer ('usd' -> 'USD'); names far behind the best are
    left out."""
    choices = sorted(set(options))
    lowered = {c.lower(): c for c in choices}
    key = name.lower()
    if key in lowered:
        return [lowered[key]]
    hits = difflib.get_close_matches(key, list(lowered), n=n, cutoff=cutoff)
    if not hits:
        return []
    best = difflib.SequenceMatcher(None, key, hits[0]).ratio()
    return [
        lowered[h] for h in hits if difflib.SequenceMatcher(None, key, h).ratio() >= best - _MARGIN
    ]


def did_you_mean(name: str, options: Iterable[str]) -> str | None:
    """A hint like "did you mean 'email'?" or None when nothing is close."""
    hits = closest(name, options)
    if not hits:
        return None
    return "did you mean " + " or ".join(f"'{h}'" for h in hits) + "?"

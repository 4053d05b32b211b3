"""'Did you mean …?' for every place a user can misspell a name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, options: Iterable[str], *, n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The valid names nearest to ``name`` (case-insensitive), best first."""
    choices = sorted(set(options))
    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=cutoff)
    return [lowered[h] for h in hits]


def did_you_mean(name: str, options: Iterable[str]) -> str | None:
    """A hint like "did you mean 'email'?" or None when nothing is close."""
    hits = closest(name, options)
    if not hits:
        return None
    return "did you mean " + " or ".join(f"'{h}'" for h in hits) + "?"

"""sqlglot's reading of INTERVAL literals, made to keep every part of the text.

sqlglot (30.30) rewrites ``INTERVAL '5 days'`` into its canonical ``INTERVAL '5' DAY`` with a
pattern that finds ``<number> <unit>`` pairs in the text, and when it finds exactly one it
keeps that one alone: ``INTERVAL '1 day 02:00:03'`` became ``INTERVAL '1' DAY``, and
``INTERVAL '-1 day +02:00'`` became ``INTERVAL '-1' DAY``. A model transpiled for PostgreSQL
or Spark then meant something else, silently (a filter on the last 36 hours kept the last
24). Here the pattern answers only when its pairs make up the whole text; any other text stays
as written, as sqlglot already keeps a text of several pairs (``'7 days 12 hours'``), and the
warehouse reads it (or refuses it, loudly).

Every module of retl that has sqlglot read SQL imports this one first
(``tests/test_quality.py`` checks it); importing it installs the change, once per process.
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp

_NAME = "INTERVAL_STRING_RE"  # the pattern sqlglot's parser reads (exp.INTERVAL_STRING_RE)


class WholeText:
    """``pattern``, whose ``findall`` finds nothing unless its matches, one after the other,
    make up the whole text."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern

    def findall(self, text: str) -> list[Any]:
        found: list[Any] = []
        end = 0
        for match in self.pattern.finditer(text):
            if match.start() != end:
                return []
            found.append(match.groups())
            end = match.end()
        return found if end == len(text) else []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pattern, name)


def install() -> None:
    """Put the whole-text pattern where sqlglot's parser looks (idempotent)."""
    current = getattr(exp, _NAME, None)
    if isinstance(current, re.Pattern):
        setattr(exp, _NAME, WholeText(current))


install()

"""sqlglot's reading of DuckDB's SQL, fixed where it read a model otherwise than DuckDB.

- **INTERVAL literals keep every part of their text.** sqlglot (30.30) rewrites
  ``INTERVAL '5 days'`` into its canonical ``INTERVAL '5' DAY`` with a pattern that finds
  ``<number> <unit>`` pairs in the text, and when it finds exactly one it keeps that one
  alone: ``INTERVAL '1 day 02:00:03'`` became ``INTERVAL '1' DAY``, and ``INTERVAL '-1 day
  +02:00'`` became ``INTERVAL '-1' DAY``. A model transpiled for PostgreSQL or Spark then
  meant something else, silently (a filter on the last 36 hours kept the last 24). Here the
  pattern answers only when its pairs make up the whole text; any other text stays as
  written, as sqlglot already keeps a text of several pairs (``'7 days 12 hours'``), and the
  warehouse reads it (or refuses it, loudly).
- **A json_object value is any expression** (below).

Every module of retl that has sqlglot read SQL imports this one first
(``tests/test_quality.py`` checks it); importing it installs the changes, once per process.
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


# --- json_object's values --------------------------------------------------------------
# sqlglot (30.30) reads a JSON_OBJECT value as an operand of bitwise operators at most, so
# DuckDB's json_object('gift', total > 100, 'n', n) failed to parse ("unexpected ')'"): a
# model DuckDB runs was refused by `retl validate` and `retl sync`. DuckDB reads any
# expression there. Its parser here reads a value as any expression but an alias (what a
# SELECT item is without its name); the keys are read as sqlglot reads them.


def _parse_json_key_value(self: Any) -> exp.JSONKeyValue | None:
    self._match_text_seq("KEY")
    key = self._parse_column()
    self._match_set(self.JSON_KEY_VALUE_SEPARATOR_TOKENS)
    self._match_text_seq("VALUE")
    value = self._parse_assignment()
    if not key and not value:
        return None
    pair: exp.JSONKeyValue = self.expression(exp.JSONKeyValue(this=key, expression=value))
    return pair


def install_json_values() -> None:
    """DuckDB's parser reads a json_object value as any expression (idempotent)."""
    from sqlglot.dialects.dialect import Dialect

    parser = Dialect.get_or_raise("duckdb").parser_class
    if hasattr(parser, "_parse_json_key_value") and hasattr(parser, "_parse_assignment"):
        setattr(parser, "_parse_json_key_value", _parse_json_key_value)  # noqa: B010


install()
install_json_values()

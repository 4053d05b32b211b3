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
- **``* REPLACE`` and ``* RENAME`` as DuckDB expands them** (below).
- **Date and interval arithmetic typed as DuckDB types it** (below).

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


# --- * REPLACE and * RENAME ----------------------------------------------------------
# sqlglot (30.30) expands a star's REPLACE and RENAME otherwise than DuckDB in three shapes,
# which `retl validate` then reported wrongly:
# - a name REPLACE'd in a ``*`` over two tables that both have it: sqlglot puts the new
#   expression in once per table; DuckDB keeps one column, at the first place ("column name
#   appears more than once", a false error);
# - a USING (or NATURAL) join's column REPLACE'd or RENAME'd in a ``*``: sqlglot keeps the
#   joined column as it is; DuckDB replaces or renames it;
# - a column RENAME'd: the new name took the table's spelling back (``rename (a as z)`` was
#   still ``a``) when read by retl, and ``rename (a as A)`` lost its case.
# Here each star's expansion is mended after sqlglot's, from the star as written.

_ALIAS_META = "retl_alias"  # columns/trace.py: an alias as written


def _star_of(node: exp.Expr) -> exp.Star | None:
    if isinstance(node, exp.Star):
        return node
    if isinstance(node, exp.Column) and isinstance(node.this, exp.Star):
        return node.this
    return None


def _renamed(node: exp.Expr, ident: exp.Identifier) -> exp.Expr:
    """``node`` (an expanded column, or a USING join's ``coalesce(...) AS name``) named
    ``ident``, its spelling as written kept for retl (``_ALIAS_META``)."""
    inner = node.this if isinstance(node, exp.Alias) else node
    new = ident.copy()
    new.meta[_ALIAS_META] = ident.meta.get(_ALIAS_META, ident.name)
    return exp.Alias(this=inner, alias=new)


def _source_name(node: exp.Expr) -> str | None:
    """The column a star's expansion item reads (its alias for a USING join's coalesce)."""
    if isinstance(node, exp.Alias) and isinstance(node.this, exp.Coalesce):
        return node.alias
    inner = node.this if isinstance(node, exp.Alias) else node
    return inner.name if isinstance(inner, exp.Column) else None


def _mended(star: exp.Star, items: list[exp.Expr]) -> list[exp.Expr]:
    """One star's expansion as DuckDB makes it (see above)."""
    replaced = {r.alias: r for r in star.args.get("replace") or [] if isinstance(r, exp.Alias)}
    renamed = {
        # a USING join's column, named in RENAME, is qualified as its coalesce(...) already
        (r.this.this if isinstance(r.this, exp.Coalesce) else r.this).name: r.args["alias"]
        for r in star.args.get("rename") or []
        if isinstance(r, exp.Alias) and isinstance(r.args.get("alias"), exp.Identifier)
    }
    out: list[exp.Expr] = []
    kept: set[str] = set()
    for item in items:
        inner = item.this if isinstance(item, exp.Alias) else item
        replacement = next((r for r in replaced.values() if item is r or inner is r), None)
        if replacement is None and isinstance(inner, exp.Coalesce):
            replacement = replaced.get(item.alias_or_name)  # a USING join's column
        if replacement is not None:
            if replacement.alias in kept:
                continue  # the same name from another table: DuckDB keeps one
            kept.add(replacement.alias)
            out.append(replacement)
            continue
        source = _source_name(item)
        ident = renamed.get(source) if source is not None else None
        out.append(_renamed(item, ident) if ident is not None else item)
    return out


def _mends(star: exp.Star | None) -> bool:
    return star is not None and bool(star.args.get("replace") or star.args.get("rename"))


def _expand_stars_as_duckdb(original: Any) -> Any:
    def expand_stars(scope: Any, resolver: Any, *args: Any, **kwargs: Any) -> None:
        select = scope.expression
        items = list(select.selects) if isinstance(select, exp.Select) else []
        duckdb = type(resolver.dialect).__name__ == "DuckDB"
        if not duckdb or not any(_mends(_star_of(i)) for i in items):
            original(scope, resolver, *args, **kwargs)
            return
        # Each star alone, so that its expansion is known as its own.
        out: list[exp.Expr] = []
        for item in items:
            star = _star_of(item)
            if star is None:
                out.append(item)
                continue
            select.set("expressions", [item])
            scope.clear_cache()
            original(scope, resolver, *args, **kwargs)
            expanded = list(select.selects)
            out += _mended(star, expanded) if _mends(star) and expanded != [item] else expanded
        select.set("expressions", out)
        scope.clear_cache()

    return expand_stars


def install_star_expansion() -> None:
    """Stars expanded as DuckDB expands them (idempotent)."""
    from sqlglot.optimizer import qualify_columns

    current = getattr(qualify_columns, "_expand_stars", None)
    if callable(current) and not getattr(current, "retl", False):
        patched = _expand_stars_as_duckdb(current)
        patched.retl = True
        setattr(qualify_columns, "_expand_stars", patched)  # noqa: B010


# --- date and interval arithmetic ----------------------------------------------------
# sqlglot (30.30) types ``n * interval '1 day'`` as n's type (BIGINT), ``ts - ts`` as a
# TIMESTAMP, ``d - d`` as a DATE, ``epoch_ms(ts)`` (read as a time from Unix
# milliseconds) as a TIMESTAMP and ``d + tm`` as a DATE. DuckDB: an INTERVAL, an INTERVAL,
# a BIGINT (days), a BIGINT and a TIMESTAMP. `retl validate` took the interval for a number
# (a missed error: `value` cannot be an INTERVAL) and the day count for a date (a false
# error: `num_items` of ``d - d``). Also ``int_column + d`` (sqlglot: an INT; DuckDB: a
# DATE) and ``avg`` of an interval, date, timestamp or time (sqlglot: a DOUBLE; DuckDB: an
# INTERVAL, a TIMESTAMP, a TIMESTAMP and a TIME).

_T = exp.DType
_NUMBERS = {*exp.DataType.INTEGER_TYPES, *exp.DataType.REAL_TYPES}
_INTEGERS = set(exp.DataType.INTEGER_TYPES)
_DATES = {_T.DATE, _T.DATE32}
_TIMES = {
    _T.TIMESTAMP,
    _T.TIMESTAMPTZ,
    _T.TIMESTAMP_S,
    _T.TIMESTAMP_MS,
    _T.TIMESTAMP_NS,
    _T.TIMESTAMPNTZ,
    _T.DATETIME,
}


def _kind(node: exp.Expr) -> Any:
    return node.type.this if isinstance(node.type, exp.DataType) else None


def _scaled_interval(original: Any) -> Any:
    """``n * interval``, ``interval * n``, ``interval / n``: an INTERVAL."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        left, right = _kind(node.left), _kind(node.right)
        if (left is _T.INTERVAL and right in _NUMBERS) or (
            right is _T.INTERVAL and left in _NUMBERS and isinstance(node, exp.Mul)
        ):
            self._set_type(node, _T.INTERVAL)
        return node

    return annotate


def _time_difference(original: Any) -> Any:
    """``date - date``: a BIGINT (days); a time or timestamp minus one: an INTERVAL."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        left, right = _kind(node.left), _kind(node.right)
        if left in _DATES and right in _DATES:
            self._set_type(node, _T.BIGINT)
        elif left in _DATES | _TIMES and right in _DATES | _TIMES:
            self._set_type(node, _T.INTERVAL)
        return node

    return annotate


def _date_and_time(original: Any) -> Any:
    """``date + time`` (either way round): a TIMESTAMP (sqlglot typed it as the left one);
    an integer plus a date (either way round): a DATE (sqlglot: an integer column's INT)."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        left, right = _kind(node.left), _kind(node.right)
        if {left, right} in ({_T.DATE, _T.TIME}, {_T.DATE32, _T.TIME}):
            self._set_type(node, _T.TIMESTAMP)
        elif (left in _DATES and right in _INTEGERS) or (right in _DATES and left in _INTEGERS):
            self._set_type(node, _T.DATE)
        return node

    return annotate


def _time_average(original: Any) -> Any:
    """``avg`` of an interval: an INTERVAL; of a date or timestamp: a TIMESTAMP (of a
    TIMESTAMPTZ, one); of a time: a TIME (sqlglot: a DOUBLE, whatever it averages)."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        kind = _kind(node.this)
        if kind in (_T.INTERVAL, _T.TIME, _T.TIMESTAMPTZ):
            self._set_type(node, kind)
        elif kind in _DATES | _TIMES:
            self._set_type(node, _T.TIMESTAMP)
        return node

    return annotate


def _epoch_of_time(original: Any) -> Any:
    """``epoch_ms(timestamp)``: the milliseconds, a BIGINT (``epoch_ms(n)`` is a time)."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        if _kind(node.this) in _DATES | _TIMES:
            self._set_type(node, _T.BIGINT)
        return node

    return annotate


def install_time_arithmetic() -> None:
    """DuckDB's types of date and interval arithmetic (idempotent)."""
    from sqlglot.dialects.dialect import Dialect

    metadata = Dialect.get_or_raise("duckdb").EXPRESSION_METADATA
    for node, wrap in (
        (exp.Mul, _scaled_interval),
        (exp.Div, _scaled_interval),
        (exp.Sub, _time_difference),
        (exp.Add, _date_and_time),
        (exp.Avg, _time_average),
        (exp.UnixToTime, _epoch_of_time),
    ):
        spec = metadata.get(node) or {}
        annotator = spec.get("annotator")
        if annotator is None:
            returns = spec.get("returns")

            def annotator(self: Any, e: Any, returns: Any = returns) -> Any:
                return self._set_type(e, returns)

        if not getattr(annotator, "retl", False):
            patched = wrap(annotator)
            patched.retl = True
            metadata[node] = {**spec, "annotator": patched}


install()
install_json_values()
install_star_expansion()
install_time_arithmetic()

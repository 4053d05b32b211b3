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
- **Date and interval arithmetic, and functions sqlglot does not type, typed as DuckDB
  types them** (below).
- **A set operation's columns typed as DuckDB types them** (below).
- **CASE, COALESCE, IF, greatest, least and a list literal of DuckDB's common type; a sum
  of booleans a HUGEINT, a rounded integer an integer** (below).
- **Fraction literals, division and DECIMAL arithmetic typed as DuckDB types them**
  (below).
- **Text functions sqlglot reads but does not type, typed** (below).
- **``list || list`` typed as a list** (below).
- **A struct's field names keep their spelling; a field is read in any case** (below).
- **A NULL read from a subquery or CTE is an INTEGER; JSON's ``->>`` and ``->`` typed**
  (below).
- **A VALUES list's unnamed columns named as the engine names them** (below).
- **``first``, ``last``, ``arg_max`` and ``list_max`` typed as the value they pick**
  (below).

Every module of retl that has sqlglot read SQL imports this one first
(``tests/test_quality.py`` checks it); importing it installs the changes, once per process.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from reverse_etl.type_errors import clash, list_clash, report

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


def _patch(owner: Any, name: str, wrap: Callable[[Any], Any]) -> None:
    """Replace ``owner.name`` by ``wrap`` of it, once (a second call leaves it: the patched
    one is marked ``retl``)."""
    current = getattr(owner, name, None)
    if callable(current) and not getattr(current, "retl", False):
        patched = wrap(current)
        patched.retl = True
        setattr(owner, name, patched)


def _patch_annotator(metadata: Any, node: Any, wrap: Callable[[Any], Any]) -> None:
    """Wrap the type annotator of ``node`` in a dialect's ``metadata``, once for each
    ``wrap`` (one that only says what it ``returns`` is given as an annotator first): a
    node's annotator may be wrapped by several fixes, each once."""
    spec = metadata.get(node) or {}
    annotator = spec.get("annotator")
    if annotator is None:
        returns = spec.get("returns")

        def annotator(self: Any, e: Any, returns: Any = returns) -> Any:
            return self._set_type(e, returns)

    done: frozenset[str] = getattr(annotator, "retl_wraps", frozenset())
    if wrap.__qualname__ not in done:
        patched = wrap(annotator)
        patched.retl = True
        patched.retl_wraps = done | {wrap.__qualname__}
        metadata[node] = {**spec, "annotator": patched}


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


# --- PIVOT statement's aliased values -----------------------------------------------------
# sqlglot (30.30) reads the IN list of DuckDB's PIVOT statement as a plain IN, so an aliased
# value (``PIVOT t ON b IN ('x' AS ex) USING sum(a)``, a column named ex) failed to parse: a
# model DuckDB runs was refused. Its parser here reads each value as the SELECT form's
# (``PIVOT (sum(a) FOR b IN ('x' AS ex))``) does: a value, or a value AS a name.


def _pivot_value(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Alias):
        return exp.PivotAlias(this=node.this, alias=node.args.get("alias"))
    return node


def _parse_simplified_pivot(self: Any, is_unpivot: bool | None = None) -> exp.Pivot:
    from sqlglot.tokenizer_core import TokenType

    def _parse_on() -> exp.Expr | None:
        this = self._parse_bitwise()
        if self._match(TokenType.IN):
            found: exp.Expr = self._parse_in(this, alias=True)
            found.set("expressions", [_pivot_value(e) for e in found.expressions])
            return found
        if self._match(TokenType.ALIAS, advance=False):
            aliased: exp.Expr | None = self._parse_alias(this)  # UNPIVOT ON (c1, c2) AS n
            return aliased
        bare: exp.Expr | None = this
        return bare

    this = self._parse_table()
    expressions = self._match(TokenType.ON) and self._parse_csv(_parse_on)
    into = self._parse_unpivot_columns()
    using = self._match(TokenType.USING) and self._parse_csv(
        lambda: self._parse_alias(self._parse_column())
    )
    group = self._parse_group()
    pivot: exp.Pivot = self.expression(
        exp.Pivot(
            this=this,
            expressions=expressions,
            using=using,
            group=group,
            unpivot=is_unpivot,
            into=into,
        )
    )
    return pivot


def install_pivot_values() -> None:
    """DuckDB's PIVOT statement reads an aliased IN value (idempotent)."""
    from sqlglot.dialects.dialect import Dialect

    parser = Dialect.get_or_raise("duckdb").parser_class
    if hasattr(parser, "_parse_simplified_pivot") and hasattr(parser, "_parse_unpivot_columns"):
        setattr(parser, "_parse_simplified_pivot", _parse_simplified_pivot)  # noqa: B010


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

    _patch(qualify_columns, "_expand_stars", _expand_stars_as_duckdb)


# --- date and interval arithmetic ----------------------------------------------------
# sqlglot (30.30) types ``n * interval '1 day'`` as n's type (BIGINT), ``ts - ts`` as a
# TIMESTAMP, ``d - d`` as a DATE, ``epoch_ms(ts)`` (read as a time from Unix
# milliseconds) as a TIMESTAMP and ``d + tm`` as a DATE. DuckDB: an INTERVAL, an INTERVAL,
# a BIGINT (days), a BIGINT and a TIMESTAMP. `retl validate` took the interval for a number
# (a missed error: `value` cannot be an INTERVAL) and the day count for a date (a false
# error: `num_items` of ``d - d``). Also ``int_column + d`` (sqlglot: an INT; DuckDB: a
# DATE) and ``avg`` of an interval, date, timestamp or time (sqlglot: a DOUBLE; DuckDB: an
# INTERVAL, a TIMESTAMP, a TIMESTAMP and a TIME). And ``'2020-01-01' - d`` (sqlglot: a DATE;
# DuckDB casts the text to a DATE: a BIGINT), ``'2020-01-01' - ts`` (an INTERVAL). And
# ``now()``, ``get_current_timestamp()``, ``transaction_timestamp()`` (sqlglot: unknown, as
# any function it does not know; DuckDB: a TIMESTAMPTZ). And ``median``, ``mean``,
# ``list_avg``, ``list_append``, ``age`` and ``date_part`` (sqlglot: unknown, "type not
# inferred" in `retl validate`), ``extract(epoch FROM ts)`` (sqlglot: a BIGINT; DuckDB: a
# DOUBLE, seconds with their fraction), ``current_timestamp`` and ``current_time``
# (sqlglot: without time zone; DuckDB: WITH TIME ZONE, as now()).

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
    """``date - date``: a BIGINT (days); a time or timestamp minus one: an INTERVAL; a text
    literal minus either, the same (sqlglot: a DATE, a TIMESTAMP)."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        left, right = _kind(node.left), _kind(node.right)
        if isinstance(node.left, exp.Literal) and node.left.is_string:
            left = right  # '2020-01-01' - d: DuckDB casts the text to the other side's type
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
        averaged = _average(kind) if kind not in _NUMBERS else None  # numbers: sqlglot's
        if averaged is not None:
            self._set_type(node, averaged)
        return node

    return annotate


_NOW = {"now", "get_current_timestamp", "transaction_timestamp"}
_DOUBLE_PARTS = {"epoch", "julian"}  # date_part's (extract's) parts that are a DOUBLE


def _average(kind: Any) -> Any:
    """DuckDB's type of ``avg`` (``mean``, ``list_avg``) of a ``kind``; None if not known."""
    if kind in _NUMBERS:
        return _T.DOUBLE
    if kind in (_T.INTERVAL, _T.TIME, _T.TIMESTAMPTZ):
        return kind
    return _T.TIMESTAMP if kind in _DATES | _TIMES else None


def _element(node: exp.Expr) -> Any:
    """The element type of a list-typed ``node``, else None."""
    typ = node.type
    if _kind(node) in _LISTS and isinstance(typ, exp.DataType) and typ.expressions:
        return typ.expressions[0].this
    return None


def _part(node: exp.Expr | None) -> Any:
    """date_part's type for its part, written as a text literal (None otherwise)."""
    if not isinstance(node, exp.Literal) or not node.is_string:
        return None
    return _T.DOUBLE if node.name.lower() in _DOUBLE_PARTS else _T.BIGINT


def _function_type(name: str, args: list[exp.Expr]) -> Any:
    """DuckDB's type of a function sqlglot does not know (None: still unknown)."""
    if name in _NOW and not args:
        return _T.TIMESTAMPTZ
    if name == "mean" and len(args) == 1:
        return _average(_kind(args[0]))
    if name == "list_avg" and len(args) == 1:
        return _average(_element(args[0]))
    if name == "age" and len(args) in (1, 2):
        return _T.INTERVAL
    if name in ("date_part", "datepart") and len(args) == 2:
        return _part(args[0])
    if name in _FUNCTION_RETURNS and args:
        return _data_type(_FUNCTION_RETURNS[name])
    return None


def _duckdb_function(original: Any) -> Any:
    """``now()`` and its synonyms: a TIMESTAMPTZ; ``mean``, ``list_avg``, ``age``,
    ``date_part`` as DuckDB types them (sqlglot: unknown, as any function it does not
    know)."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        if node.name.lower() in _LIST_FUNCTIONS:
            return _list_function(self, node)
        kind = _function_type(node.name.lower(), node.expressions)
        if kind is not None:
            self._set_type(node, kind)
        return node

    return annotate


def _median(original: Any) -> Any:
    """``median``: a DOUBLE of integers, a TIMESTAMP of dates, else its argument's type
    (sqlglot: unknown)."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        kind = _kind(node.this)
        if kind in _INTEGERS:
            self._set_type(node, _T.DOUBLE)
        elif kind in _DATES:
            self._set_type(node, _T.TIMESTAMP)
        elif kind not in (None, _T.UNKNOWN, _T.NULL):
            self._set_type(node, node.this.type)
        return node

    return annotate


def _extracted(original: Any) -> Any:
    """``extract(epoch FROM ts)`` (and julian): a DOUBLE (sqlglot: a BIGINT, as the others)."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        if node.this.name.lower() in _DOUBLE_PARTS:
            self._set_type(node, _T.DOUBLE)
        return node

    return annotate


def _with_time_zone(kind: Any) -> Any:
    """``current_timestamp`` (``current_time``): DuckDB's is WITH TIME ZONE, as now()'s."""

    def wrap(original: Any) -> Any:
        def annotate(self: Any, node: Any) -> Any:
            original(self, node)
            return self._set_type(node, kind)

        return annotate

    return wrap


def _appended(original: Any, *, prepended: bool = False) -> Any:
    """``list_append(list, value)`` (``list_prepend(value, list)``: sqlglot puts the list
    first too): a list of the items' and the value's common type; items and a value of
    clashing types a type error."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        return _append(self, node, node.this, node.expression, prepended=prepended)

    return annotate


def _append(self: Any, node: Any, listed: Any, value: Any, *, prepended: bool = False) -> Any:
    """Type ``node``, ``value`` appended to (or prepended to) the list ``listed``."""
    if listed is None:
        return node
    if _kind(listed) is _T.NULL and value is not None and _kind(value) not in (None, _T.NULL):
        element = value.type
    elif _element(listed) is not None and value is not None and _kind(value) is not None:
        single = exp.DataType(this=_T.LIST, expressions=[_data_type(value.type)], nested=True)
        sides = (single, listed.type) if prepended else (listed.type, single)
        list_clash(node, *sides)
        element = common_type(listed.type.expressions[0], value.type, lambda a, _: a)
    else:
        return node
    if _data_type(element).this is not _T.UNKNOWN:
        typ = exp.DataType(this=_T.LIST, expressions=[_data_type(element)], nested=True)
        self._set_type(node, typ)
    return node


def _prepended(original: Any) -> Any:
    return _appended(original, prepended=True)


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
        (exp.Anonymous, _duckdb_function),
        (exp.Median, _median),
        (exp.Extract, _extracted),
        (exp.CurrentTimestamp, _with_time_zone(_T.TIMESTAMPTZ)),
        (exp.CurrentTime, _with_time_zone(_T.TIMETZ)),
    ):
        _patch_annotator(metadata, node, wrap)


# --- set operations' column types ---------------------------------------------------
# sqlglot (30.30) types a UNION's (INTERSECT's, EXCEPT's) column as its left branch's
# type unless that one "coerces" into the right one's: ``SELECT 1 AS v UNION ALL SELECT
# 'a'`` was an INTEGER (DuckDB: VARCHAR), ``true UNION n`` a BOOLEAN (DuckDB: BIGINT),
# ``d UNION ts`` a DATE. `retl validate` then judged a text as a number (a missed error)
# or a number as a boolean (a false one). Here a set operation over DuckDB takes DuckDB's
# common type of its branches (its "max logical type"), by position or, for BY NAME, by
# name, as sqlglot already matches them.

SET_COLUMNS = "retl_set_columns"  # on a set operation: its columns, [(name, DataType)]

# DuckDB's order of scalar types in a common type: the later one wins.
_LADDER = [
    [_T.BOOLEAN],
    [_T.TINYINT],
    [_T.SMALLINT],
    [_T.INT],
    [_T.BIGINT],
    [_T.INT128],
    [_T.DECIMAL],
    [_T.FLOAT],
    [_T.DOUBLE],
    [_T.TIME],
    [_T.DATE],
    [_T.TIMESTAMP, _T.TIMESTAMPNTZ, _T.TIMESTAMP_S, _T.TIMESTAMP_MS, _T.TIMESTAMP_NS, _T.DATETIME],
    [_T.TIMESTAMPTZ],
    [_T.INTERVAL],
    [*exp.DataType.TEXT_TYPES],
    [_T.BLOB, _T.VARBINARY, _T.BINARY],
]
_RANK = {kind: rank for rank, kinds in enumerate(_LADDER) for kind in kinds}
_DIGITS = {_T.BOOLEAN: 1, _T.TINYINT: 3, _T.SMALLINT: 5, _T.INT: 10, _T.BIGINT: 19}
_LISTS = {_T.ARRAY, _T.LIST}
# Types a list is concatenated with without an error, or not known here: NULL, unknown.
_SCALAR = {None, _T.NULL, _T.UNKNOWN}


def _data_type(kind: Any) -> exp.DataType:
    return kind if isinstance(kind, exp.DataType) else exp.DataType.build(kind)


def _decimal(left: exp.DataType, right: exp.DataType) -> exp.DataType | None:
    """DuckDB's DECIMAL wide enough for both (a DECIMAL and an integer, or two DECIMALs)."""
    parts = []
    for side in (left, right):
        if side.this is _T.DECIMAL:
            params = [int(p.name) for p in side.expressions if p.name.isdigit()]
            width, scale = (params + [18, 3][len(params) :])[:2]
        elif side.this in _DIGITS:
            width, scale = _DIGITS[side.this], 0
        elif side.this is _T.INT128:
            width, scale = 38, 0
        else:
            return None
        parts.append((width - scale, scale))
    scale = max(s for _, s in parts)
    width = min(38, max(w for w, _ in parts) + scale)
    return exp.DataType.build(f"DECIMAL({width}, {scale})")


def common_type(left: Any, right: Any, fallback: Any) -> Any:
    """DuckDB's common type of two branches' types; ``fallback(left, right)`` (sqlglot's)
    for the types this does not rank (maps, unions, unsigned integers …)."""
    a, b = _data_type(left), _data_type(right)
    if _T.UNKNOWN in (a.this, b.this):
        return _T.UNKNOWN
    if a.this is _T.NULL or b.this is _T.NULL:
        return b if a.this is _T.NULL else a
    if a.this is _T.JSON or b.this is _T.JSON:
        return _T.JSON
    if a.this in _LISTS and b.this in _LISTS:
        ea = a.expressions[0] if a.expressions else exp.DataType.build("UNKNOWN")
        eb = b.expressions[0] if b.expressions else exp.DataType.build("UNKNOWN")
        element = _data_type(common_type(ea, eb, fallback))
        return exp.DataType(this=a.this, expressions=[element], nested=True)
    if a.this in _LISTS or b.this in _LISTS:
        return a if a.this in _LISTS else b
    if a.this is _T.STRUCT and b.this is _T.STRUCT:
        if len(a.expressions) != len(b.expressions):
            return a
        fields = []
        for fa, fb in zip(a.expressions, b.expressions, strict=True):
            ka, kb = fa.args.get("kind"), fb.args.get("kind")
            if not isinstance(ka, exp.DataType) or not isinstance(kb, exp.DataType):
                return a
            kind = _data_type(common_type(ka, kb, fallback))
            fields.append(exp.ColumnDef(this=fa.this.copy(), kind=kind))
        return exp.DataType(this=_T.STRUCT, expressions=fields, nested=True)
    if a.this is _T.STRUCT or b.this is _T.STRUCT:
        return a if a.this is _T.STRUCT else b
    ra, rb = _RANK.get(a.this), _RANK.get(b.this)
    if _T.BOOLEAN in (a.this, b.this) and {a.this, b.this} <= exp.DataType.INTEGER_TYPES | {
        _T.BOOLEAN
    }:  # an unsigned one too (sqlglot's fallback kept the BOOLEAN: coalesce(flag, u, 1.5))
        return b if a.this is _T.BOOLEAN else a
    if ra is None or rb is None:
        return fallback(left, right)
    if _T.DECIMAL in (a.this, b.this) and max(ra, rb) == _RANK[_T.DECIMAL]:
        return _decimal(a, b) or (a if ra >= rb else b)
    return a if ra >= rb else b


def _typed_as_duckdb(original: Any) -> Any:
    def annotate(self: Any, expression: Any) -> Any:
        if type(self.dialect).__name__ != "DuckDB":
            return original(self, expression)
        sqlglot_coerce = self._maybe_coerce
        self._maybe_coerce = lambda a, b: common_type(a, b, sqlglot_coerce)
        try:
            original(self, expression)
        finally:
            del self._maybe_coerce
        # the columns (name, type), for retl's own reading of the query's output
        columns = self._setop_column_types.get(id(expression), [])
        expression.meta[SET_COLUMNS] = [(n, _data_type(k)) for n, k in columns]
        return expression

    return annotate


def install_set_operation_types() -> None:
    """A set operation's columns typed as DuckDB types them (idempotent)."""
    from sqlglot.optimizer.annotate_types import TypeAnnotator

    _patch(TypeAnnotator, "_annotate_set_operation", _typed_as_duckdb)


# --- CASE, COALESCE and the other picks of one of several values; sum of booleans --------
# sqlglot (30.30) types ``CASE WHEN c THEN flag ELSE 0 END`` (and COALESCE, IF, greatest,
# least and a list literal ``[flag, 0]``) as its first branch's type unless that one
# "coerces" into the next: a BOOLEAN and an INTEGER made a BOOLEAN (DuckDB: an INTEGER, the
# common type, as a set operation's), and ``sum(flag)`` (``sum(status = 'paid')``, a count of
# rows) a BOOLEAN (DuckDB: a HUGEINT). `retl validate` refused such a count as a number (a
# false error: ``num_items``, ``value``) and let it pass as a boolean (a missed one). Here
# these take DuckDB's common type of their values, as a set operation does, and a sum of
# booleans is a HUGEINT. Also ``round(n)`` and ``round(n, 2)`` of an integer (sqlglot: a
# DOUBLE; DuckDB: n's type: no fraction to drop). And values DuckDB finds no common type of
# (``coalesce(name, 0)``, ``CASE WHEN c THEN d ELSE 0 END``: "Cannot mix values of type
# VARCHAR and INTEGER_LITERAL") are a type error, as DuckDB says when the model runs (validate
# passed them, and the sync failed); a text literal is cast, as DuckDB casts it.

_ONE_OF_SEVERAL = (exp.Case, exp.Coalesce, exp.If, exp.Greatest, exp.Least, exp.Array)
_MIXED_IN = {exp.Case: "a CASE", exp.Coalesce: "a COALESCE", exp.If: "an IF", exp.Array: "a list"}


def _values(node: exp.Expr) -> list[exp.Expr]:
    """The values one of which a CASE, COALESCE, IF, greatest, least or a list literal is."""
    if isinstance(node, exp.Case):
        # DuckDB starts from the ELSE value, then takes each THEN's in turn: ``CASE WHEN c
        # THEN flag WHEN e THEN 1.5 ELSE 0 END`` runs (INTEGER, then DOUBLE) where a BOOLEAN
        # and a DOUBLE, read from the first THEN, would not.
        found = [node.args.get("default")]
        found.extend(i.args.get("true") for i in node.args.get("ifs") or [])
    elif isinstance(node, exp.If):
        found = [node.args.get("true"), node.args.get("false")]
    elif isinstance(node, exp.Array):
        found = list(node.expressions)
    else:
        found = [node.this, *node.expressions]
    return [v for v in found if isinstance(v, exp.Expr)]


def _of_common_type(original: Any) -> Any:
    """DuckDB's common type of the values; a text literal takes the others' type (DuckDB
    reads ``coalesce(ts, '2020-01-01')`` as a TIMESTAMP), unless all are texts or NULL."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        values = [v for v in _values(node) if not (isinstance(v, exp.Literal) and v.is_string)]
        kinds = [v.type for v in values if isinstance(v.type, exp.DataType)]
        if not kinds or len(kinds) != len(values):
            return node
        if all(k.this is _T.NULL for k in kinds) or any(k.this is _T.UNKNOWN for k in kinds):
            return node
        known = [k for k in kinds if k.this is not _T.NULL]
        common = known[0]
        for kind in known[1:]:
            if clash(common, kind):  # as DuckDB, from the left: coalesce(a, flag, 1.5) runs
                what = _MIXED_IN.get(type(node), type(node).__name__.lower())
                report(node, "cannot mix values of types {} and {} in " + what, (common, kind))
                return node
            common = _data_type(common_type(common, kind, self._maybe_coerce))
        if isinstance(node, exp.Array):
            container = _kind(node) if _kind(node) in _LISTS else _T.ARRAY
            common = exp.DataType(this=container, expressions=[common], nested=True)
        return self._set_type(node, common)

    return annotate


def _summed_booleans(original: Any) -> Any:
    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        if node.this is not None and _kind(node.this) is _T.BOOLEAN:
            self._set_type(node, _T.INT128)
        return node

    return annotate


def _rounded_integers(original: Any) -> Any:
    """``round(i, n)`` of an integer is its type; of a DECIMAL(p, s) a DECIMAL(p, n) (``n``
    kept between 0 and ``s``), as DuckDB types it: sqlglot said DOUBLE, and Spark refused
    the text of ``round(amount, 2)`` as a DOUBLE's (``spark_numbers``)."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        if node.this is not None and _kind(node.this) in _INTEGERS:
            self._set_type(node, node.this.type)
        elif node.this is not None and _kind(node.this) is _T.DECIMAL:
            self._set_type(node, _rounded_decimal(node.this.type, node.args.get("decimals")))
        return node

    return annotate


def _rounded_decimal(kind: exp.DataType, decimals: exp.Expr | None) -> exp.DataType:
    """DuckDB's type of ``round(d, decimals)`` for a DECIMAL ``kind``."""
    params = [p.this for p in kind.expressions if isinstance(p, exp.DataTypeParam)]
    digits = 0 if decimals is None else _whole_literal(decimals)
    if len(params) != 2 or digits is None:  # (DuckDB refuses a column's decimals)
        return exp.DataType.build("DECIMAL")
    precision, scale = int(params[0].name), int(params[1].name)
    return exp.DataType.build(f"DECIMAL({precision}, {max(0, min(digits, scale))})")


def _whole_literal(x: exp.Expr) -> int | None:
    """A whole number literal's value (``-1`` too), else None."""
    sign = 1
    if isinstance(x, exp.Neg):
        sign, x = -1, x.this
    if isinstance(x, exp.Literal) and x.is_int:
        return sign * int(x.name)
    return None


def install_common_types() -> None:
    """DuckDB's types of CASE, COALESCE, IF, greatest, least, a list literal, a sum of
    booleans and a rounded integer (idempotent)."""
    from sqlglot.dialects.dialect import Dialect

    metadata = Dialect.get_or_raise("duckdb").EXPRESSION_METADATA
    for node in _ONE_OF_SEVERAL:
        _patch_annotator(metadata, node, _of_common_type)
    _patch_annotator(metadata, exp.Sum, _summed_booleans)
    _patch_annotator(metadata, exp.Round, _rounded_integers)


# --- numbers: fraction literals, division, DECIMAL arithmetic -----------------------------
# sqlglot (30.30) types a fraction literal (``1.5``) as a DOUBLE, DuckDB's ``/`` (and ``//``)
# of a DECIMAL as a DECIMAL, and a DECIMAL plus, minus, times or modulo another number as the
# first DECIMAL's type. DuckDB (1.5) reads ``1.5`` as a DECIMAL(2, 1) (as many digits as
# written, up to 38; with an exponent, ``1e20``, a DOUBLE), divides any two numbers as
# DOUBLEs (two whole numbers' ``//`` stays a whole number; a FLOAT without a DOUBLE divides
# as a FLOAT), and widens a DECIMAL's sum, difference, product and remainder (``d * 1.5``
# of a DECIMAL(10, 2) is a DECIMAL(12, 3)); a FLOAT or DOUBLE operand makes either a FLOAT
# or a DOUBLE (``f * 1.5``: a FLOAT). So `retl validate` said DECIMAL of ``total /
# quantity``, and Spark's refusal of a DOUBLE made text (engine/spark_numbers.py) passed
# ``'x' || total / quantity``, whose text differs there. (sqlglot reads ``.5`` as ``0.5``:
# a DECIMAL(2, 1) here, DuckDB's DECIMAL(1, 1).)

_FLOATS = {_T.FLOAT, _T.DOUBLE}
_MAX_DIGITS = 38  # DuckDB's widest DECIMAL
_INT64_DIGITS = 18  # DuckDB keeps a result of narrower DECIMALs within this width
_UNSIGNED = {_T.UTINYINT: 3, _T.USMALLINT: 5, _T.UINT: 10, _T.UBIGINT: 20}
_WIDTHS: dict[Any, int] = {**_DIGITS, _T.INT128: 38, **_UNSIGNED}  # a whole number's digits
_WIDTHS.pop(_T.BOOLEAN)


def _literal_number(original: Any) -> Any:
    """A fraction literal: DuckDB's DECIMAL(digits, digits after the point); with an
    exponent or over 38 digits, a DOUBLE (sqlglot: a DOUBLE, always)."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        text = node.name
        if node.is_string or node.is_int or "e" in text.lower() or "." not in text:
            return node
        width = sum(c.isdigit() for c in text)
        scale = sum(c.isdigit() for c in text.split(".", 1)[1])
        if 0 < width <= _MAX_DIGITS:
            self._set_type(node, exp.DataType.build(f"DECIMAL({width}, {scale})"))
        return node

    return annotate


def _width_and_scale(kind: exp.DataType) -> tuple[int, int] | None:
    """A DECIMAL's (or a whole number type's) width and scale, as DuckDB reads them."""
    if kind.this is _T.DECIMAL:
        params = [int(p.name) for p in kind.expressions if p.name.isdigit()]
        width, scale = (params + [18, 3][len(params) :])[:2]
        return width, scale
    whole = _WIDTHS.get(kind.this)
    return (whole, 0) if whole is not None else None


def _float_of(left: Any, right: Any) -> Any:
    """A DOUBLE if either is one, else a FLOAT if either is one (None: neither)."""
    if _T.DOUBLE in (left, right):
        return _T.DOUBLE
    return _T.FLOAT if _T.FLOAT in (left, right) else None


def _decimal_result(node: exp.Expr, left: exp.DataType, right: exp.DataType) -> Any:
    """DuckDB's DECIMAL of ``left`` and ``right`` added, subtracted, multiplied or taken
    modulo (``node``: which), None where DuckDB gives no DECIMAL (a scale over 38: an error)."""
    found = [_width_and_scale(left), _width_and_scale(right)]
    parts = [p for p in found if p is not None]
    if len(parts) != 2:
        return None
    widest = max(w for w, _ in parts)
    if isinstance(node, exp.Mul):
        width, scale = sum(w for w, _ in parts), sum(s for _, s in parts)
        if scale > _MAX_DIGITS:
            return None
        if width > _INT64_DIGITS and widest <= _INT64_DIGITS and scale < _INT64_DIGITS:
            width = _INT64_DIGITS
    else:
        scale = max(s for _, s in parts)
        width = max(scale + max(w - s for w, s in parts), widest)
        if not isinstance(node, exp.Mod):
            width += 1  # a sum's carry
            if width > _INT64_DIGITS and widest <= _INT64_DIGITS:
                width = _INT64_DIGITS
    return exp.DataType.build(f"DECIMAL({min(width, _MAX_DIGITS)}, {scale})")


def _number_arithmetic(original: Any) -> Any:
    """``+``, ``-``, ``*``, ``%`` of two numbers, one a DECIMAL or a FLOAT or DOUBLE: DuckDB's
    type (a FLOAT or DOUBLE if either is one, else a DECIMAL of DuckDB's width and scale)."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        left, right = _kind(node.left), _kind(node.right)
        if left not in _NUMBERS or right not in _NUMBERS:
            return node
        floating = _float_of(left, right)
        if floating is not None:
            self._set_type(node, floating)
        elif _T.DECIMAL in (left, right):
            kind = _decimal_result(node, node.left.type, node.right.type)
            if kind is not None:
                self._set_type(node, kind)
        return node

    return annotate


def _number_division(original: Any) -> Any:
    """``/`` of two numbers: a DOUBLE (a FLOAT of a FLOAT without a DOUBLE); ``//`` of two
    whole numbers stays sqlglot's whole number, of any other two numbers it is ``/``'s."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        left, right = _kind(node.left), _kind(node.right)
        if left not in _NUMBERS or right not in _NUMBERS:
            return node
        if isinstance(node, exp.IntDiv) and left in _INTEGERS and right in _INTEGERS:
            return node
        self._set_type(node, _float_of(left, right) or _T.DOUBLE)
        return node

    return annotate


def install_number_types() -> None:
    """DuckDB's types of fraction literals, division and DECIMAL arithmetic (idempotent)."""
    from sqlglot.dialects.dialect import Dialect

    metadata = Dialect.get_or_raise("duckdb").EXPRESSION_METADATA
    _patch_annotator(metadata, exp.Literal, _literal_number)
    for arithmetic in (exp.Add, exp.Sub, exp.Mul, exp.Mod):
        _patch_annotator(metadata, arithmetic, _number_arithmetic)
    for division in (exp.Div, exp.IntDiv):
        _patch_annotator(metadata, division, _number_division)


# --- text functions sqlglot reads but does not type ---------------------------------------
# sqlglot (30.30) reads DuckDB's replace, left, right, lpad, rpad, split_part,
# regexp_replace, regexp_extract, string_split (str_split, split), regexp_extract_all and
# uuid() but gives them no type, nor strlen, printf, hash, epoch_us, epoch_ns, try_strptime,
# regexp_split_to_array, product, fsum, favg (functions it does not know): `retl validate`
# said "type not inferred, so not checked", and passed ``split_part(s, ',', 1) AS num_items``
# (a text where an integer is asked for; the sync refused every row). Typed as DuckDB types
# them (regexp_extract with a list of names is a STRUCT: left unknown).

_RETURNS: dict[type[exp.Expr], Any] = {
    exp.Replace: _T.VARCHAR,
    exp.Left: _T.VARCHAR,
    exp.Right: _T.VARCHAR,
    exp.Pad: _T.VARCHAR,
    exp.SplitPart: _T.VARCHAR,
    exp.RegexpReplace: _T.VARCHAR,
    exp.Split: "VARCHAR[]",
    exp.RegexpExtractAll: "VARCHAR[]",
    exp.Uuid: _T.UUID,
}
_FUNCTION_RETURNS = {
    "strlen": _T.BIGINT,
    "printf": _T.VARCHAR,
    "hash": _T.UBIGINT,
    "epoch_us": _T.BIGINT,
    "epoch_ns": _T.BIGINT,
    "try_strptime": _T.TIMESTAMP,
    "regexp_split_to_array": "VARCHAR[]",
    "product": _T.DOUBLE,
    "fsum": _T.DOUBLE,
    "favg": _T.DOUBLE,
}


def _returning(kind: Any) -> Callable[[Any], Any]:
    def wrap(original: Any) -> Any:
        def annotate(self: Any, node: Any) -> Any:
            original(self, node)
            if _kind(node) in (None, _T.UNKNOWN):
                self._set_type(node, _data_type(kind))
            return node

        return annotate

    return wrap


def _regexp_extracted(original: Any) -> Any:
    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        if _kind(node) in (None, _T.UNKNOWN) and not isinstance(node.args.get("group"), exp.Array):
            self._set_type(node, _T.VARCHAR)
        return node

    return annotate


def install_text_functions() -> None:
    """DuckDB's types of the text functions sqlglot reads but does not type (idempotent)."""
    from sqlglot.dialects.dialect import Dialect

    metadata = Dialect.get_or_raise("duckdb").EXPRESSION_METADATA
    for node, kind in _RETURNS.items():
        _patch_annotator(metadata, node, _returning(kind))
    _patch_annotator(metadata, exp.RegexpExtract, _regexp_extracted)


# --- list || list ----------------------------------------------------------------------
# sqlglot (30.30) types DuckDB's ``||`` as a VARCHAR whatever its operands: ``tags ||
# ['x']`` (DuckDB: list_concat, a VARCHAR[]) was a text, so `retl validate` refused it
# where a list is asked for (a false error) and let it pass where a text is (a missed one).


def _concatenated_list(original: Any) -> Any:
    """``list || list``: a list of the items' common type (of clashing types: a type error)."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        left, right = _kind(node.left), _kind(node.right)
        if left in _LISTS and right in _LISTS:
            list_clash(node, node.left.type, node.right.type)
            common = common_type(node.left.type, node.right.type, lambda a, _: a)
            self._set_type(node, _data_type(common))
        elif (left in _LISTS) != (right in _LISTS) and _SCALAR.isdisjoint((left, right)):
            # a list and a text (a number …): DuckDB concatenates neither way
            report(node, "cannot concatenate types {} and {}", (node.left.type, node.right.type))
        return node

    return annotate


def _concatenated_lists(original: Any) -> Any:
    """``list_concat(a, b, ...)``: a list of the items' common type, as DuckDB types it
    (sqlglot: the first list's), and the first pair of clashing types a type error."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        return _concat(self, node, [node.this, *node.expressions])

    return annotate


def _concat(self: Any, node: Any, lists: list[Any]) -> Any:
    """Type ``node``, the lists ``lists`` concatenated; a list and a value of a known type
    that is no list a type error."""
    if any(x is None for x in lists):
        return node
    kinds = [_kind(x) for x in lists]
    other = next((x for x, k in zip(lists, kinds, strict=True) if k not in _LISTS), None)
    if other is not None:
        listed = next((x for x, k in zip(lists, kinds, strict=True) if k in _LISTS), None)
        if listed is not None and _kind(other) not in _SCALAR:
            report(node, "cannot concatenate types {} and {}", (listed.type, other.type))
        if not all(k in _LISTS or k is _T.NULL for k in kinds):
            return node
    typed = [x.type for x in lists if _kind(x) in _LISTS]
    if not typed:
        return node
    common = typed[0]
    for more in typed[1:]:
        list_clash(node, _data_type(common), more)
        common = common_type(common, more, lambda a, _: a)
    if _data_type(common).this is not _T.UNKNOWN:
        self._set_type(node, _data_type(common))
    return node


# DuckDB's list functions sqlglot reads as an unknown function (exp.Anonymous), each typed
# as the one sqlglot knows: list_cat as list_concat, array_push_back (array_push_front) as
# list_append (list_prepend), the list first in each.
_LIST_FUNCTIONS = {"list_cat", "array_push_back", "array_push_front"}


def _list_function(self: Any, node: Any) -> Any:
    """Type ``node``, a call of one of ``_LIST_FUNCTIONS``, as DuckDB does."""
    name, args = node.name.lower(), list(node.expressions)
    if name == "list_cat" and len(args) >= 2:
        return _concat(self, node, args)
    if name in ("array_push_back", "array_push_front") and len(args) == 2:
        return _append(self, node, args[0], args[1], prepended=name == "array_push_front")
    return node


def install_list_concat() -> None:
    """DuckDB's type of ``list || list``, ``list_concat`` and ``list_append`` (idempotent)."""
    from sqlglot.dialects.dialect import Dialect

    metadata = Dialect.get_or_raise("duckdb").EXPRESSION_METADATA
    _patch_annotator(metadata, exp.DPipe, _concatenated_list)
    _patch_annotator(metadata, exp.ArrayAppend, _appended)
    _patch_annotator(metadata, exp.ArrayPrepend, _prepended)
    _patch_annotator(metadata, exp.ArrayConcat, _concatenated_lists)


# --- the aggregates and list functions that pick a value ---------------------------------
# sqlglot (30.30) types ``first(x)``, ``last(x)``, ``arg_max(x, y)`` / ``arg_min`` /
# ``max_by`` / ``min_by``, ``list_max(l)`` and ``list_min(l)`` as unknown, as any function
# it does not type; DuckDB's value is one of ``x`` (of ``l``'s items), of its type. The
# rewrites that need an operand's type (engine/spark_numbers.py, spark_kinds.py) then left
# ``floor(first(i))`` a BIGINT on Spark (DuckDB: a DOUBLE), ``first(d1) - first(d2)`` an
# INTERVAL (DuckDB: days), ``date_trunc('day', first(ts))`` a time in the session's zone,
# and `retl validate` did not check them ("type not inferred"). ``arg_max(x, y, n)`` is a
# list of ``x``'s type.


def _picked(original: Any) -> Any:
    """``first(x)`` (``first(x ORDER BY k)``: sqlglot types the ORDER as its ``x``),
    ``last``, ``arg_max``, ``arg_min``: ``x``'s type; with a count (``arg_max(x, y, n)``),
    a list of it."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        kind = _kind(node.this) if node.this is not None else None
        if kind in (None, _T.UNKNOWN):
            return node
        if node.args.get("count") is not None:
            typ = exp.DataType(this=_T.LIST, expressions=[_data_type(node.this.type)], nested=True)
            return self._set_type(node, typ)
        return self._set_type(node, node.this.type)

    return annotate


def _list_picked(original: Any) -> Any:
    """``list_max(l)``, ``list_min(l)``: the type of ``l``'s items."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        if node.this is not None and _element(node.this) is not None:
            self._set_type(node, node.this.type.expressions[0])
        return node

    return annotate


def _same_list(original: Any) -> Any:
    """``list_distinct(l)`` (and Spark's ``array_compact`` retl writes inside it): ``l``'s
    type (unknown, ``len(list_distinct(l))`` was a text's LENGTH on Spark, and failed)."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        if node.this is not None and _element(node.this) is not None:
            self._set_type(node, node.this.type)
        return node

    return annotate


def install_picked_values() -> None:
    """DuckDB's types of the aggregates and list functions that pick a value (idempotent)."""
    from sqlglot.dialects.dialect import Dialect

    metadata = Dialect.get_or_raise("duckdb").EXPRESSION_METADATA
    picks: list[tuple[type[exp.Expr], Callable[[Any], Any]]] = [
        (exp.First, _picked),
        (exp.Last, _picked),
        (exp.ArgMax, _picked),
        (exp.ArgMin, _picked),
        (exp.ArrayMax, _list_picked),
        (exp.ArrayMin, _list_picked),
        (exp.ArrayDistinct, _same_list),
        (exp.ArrayCompact, _same_list),
    ]
    for node, wrap in picks:
        _patch_annotator(metadata, node, wrap)


# --- struct field names --------------------------------------------------------------
# sqlglot (30.30) lower-cases every identifier of a DuckDB query, struct fields too:
# ``{'Cc': 1}``, ``struct_pack("Cc" := 1)`` and ``::struct("Cc" int)`` had a field ``cc``
# where DuckDB keeps ``Cc`` (a parameter's field checked under a name it does not have).
# Their spelling is kept here (sqlglot's normalisation skips a node marked case sensitive);
# as DuckDB reads ``st.CC`` as the field ``Cc``, a field is then found in any case.

_CASE_SENSITIVE = "case_sensitive"  # sqlglot's normalize_identifiers leaves it as written


def keep_field_spelling(tree: exp.Expr) -> None:
    """Mark the field names of ``tree``'s struct literals and struct types (in place)."""
    for struct in tree.find_all(exp.Struct):
        for item in struct.expressions:
            name = item.this if isinstance(item, exp.PropertyEQ) else item.args.get("alias")
            if isinstance(item, (exp.PropertyEQ, exp.Alias)) and isinstance(name, exp.Identifier):
                name.meta[_CASE_SENSITIVE] = True
    for dt in tree.find_all(exp.DataType):
        if dt.this is exp.DType.STRUCT:
            for col in dt.expressions:
                if isinstance(col, exp.ColumnDef) and isinstance(col.this, exp.Identifier):
                    col.this.meta[_CASE_SENSITIVE] = True


def _field_in_any_case(original: Any) -> Any:
    """``struct.field``: the struct's field of that name in any case (DuckDB's reading)."""

    def annotate(self: Any, node: Any) -> Any:
        original(self, node)
        typ = node.this.type
        if _kind(node) not in (None, _T.UNKNOWN) or _kind(node.this) is not _T.STRUCT:
            return node
        wanted = node.expression.name.lower()
        for field in typ.expressions:
            if isinstance(field, exp.ColumnDef) and field.name.lower() == wanted:
                self._set_type(node, field.args.get("kind"))
                break
        return node

    return annotate


def _declared_as_written(original: Any) -> Any:
    """A declared type (``struct("Bb" int)``) read with its field names as written."""

    def to_data_type(self: Any, schema_type: str, dialect: Any = None) -> Any:
        from sqlglot.dialects.dialect import Dialect

        reader = Dialect.get_or_raise(dialect) if dialect else self.dialect
        cache = self._type_mapping_cache
        if type(reader).__name__ != "DuckDB" or schema_type in cache:
            return original(self, schema_type, dialect)
        try:
            cache[schema_type] = exp.DataType.from_str(
                schema_type, dialect=reader, udt=reader.SUPPORTS_USER_DEFINED_TYPES
            )
        except AttributeError:
            return original(self, schema_type, dialect)  # sqlglot's own error
        return cache[schema_type]

    return to_data_type


def install_struct_fields() -> None:
    """A struct's field found in any case (idempotent; keep_field_spelling marks them)."""
    from sqlglot.optimizer.annotate_types import TypeAnnotator
    from sqlglot.schema import MappingSchema

    _patch(MappingSchema, "_to_data_type", _declared_as_written)
    _patch(TypeAnnotator, "_annotate_dot", _field_in_any_case)


# --- NULL through a subquery, JSON's arrows ------------------------------------------
# sqlglot (30.30) types ``x`` of ``SELECT x FROM (SELECT NULL AS x)`` (or of a CTE) as
# unknown: the NULL it reads is replaced, once all is typed, by DuckDB's "default NULL
# type", unknown, so `retl validate` said "type not inferred". DuckDB binds a subquery's or
# CTE's NULL column as an INTEGER where the query outputs it, but as a NULL inside
# expressions: ``coalesce(x, b)`` and ``CASE ... THEN x ELSE b END`` are ``b``'s type (a
# VARCHAR), not an INTEGER. So the NULL read from a source stays a NULL while the query is
# typed, and what is still a NULL read of a column at the end (the column itself, output as
# it is) is an INTEGER. And ``j ->> 'k'`` (``json_extract_string``) and ``j -> 'k'``
# (``json_extract``) were unknown too: DuckDB's are a VARCHAR and a JSON (for one path; a
# list of paths gives a list, left to sqlglot).

_NULL_READS = "_retl_null_reads"


def _noting_null_reads(original: Any) -> Any:
    """``_set_type`` that notes each column typed as a NULL (one read from a subquery or
    CTE whose column is a NULL)."""

    def set_type(self: Any, expression: Any, target_type: Any) -> Any:
        out = original(self, expression, target_type)
        if isinstance(expression, exp.Column) and _data_type(expression.type).this is _T.NULL:
            self.__dict__.setdefault(_NULL_READS, {})[id(expression)] = expression
        return out

    return set_type


def _null_reads_as_integer(original: Any) -> Any:
    """``annotate`` that types a NULL read of a column still a NULL at the end (then unknown:
    sqlglot's default) as DuckDB's INTEGER, with the alias or parentheses around it."""

    def annotate(self: Any, expression: Any, *args: Any, **kwargs: Any) -> Any:
        out = original(self, expression, *args, **kwargs)
        reads = self.__dict__.pop(_NULL_READS, {})
        if type(self.dialect).__name__ != "DuckDB":
            return out
        for column in reads.values():
            node = column
            while node is not None and _data_type(node.type).this is _T.UNKNOWN:
                self._set_type(node, _T.INT)
                node = node.parent if isinstance(node.parent, (exp.Alias, exp.Paren)) else None
        return out

    return annotate


def _json_extracted(kind: Any) -> Any:
    """``->>`` (a VARCHAR) or ``->`` (a JSON) of one path."""

    def wrap(original: Any) -> Any:
        def annotate(self: Any, node: Any) -> Any:
            original(self, node)
            path = node.expression
            if isinstance(path, (exp.JSONPath, exp.Literal)):
                self._set_type(node, kind)
            return node

        return annotate

    return wrap


def install_null_and_json() -> None:
    """DuckDB's types of a subquery's NULL and of JSON's ``->>`` (idempotent)."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.optimizer.annotate_types import TypeAnnotator

    _patch(TypeAnnotator, "_set_type", _noting_null_reads)
    _patch(TypeAnnotator, "annotate", _null_reads_as_integer)
    metadata = Dialect.get_or_raise("duckdb").EXPRESSION_METADATA
    _patch_annotator(metadata, exp.JSONExtractScalar, _json_extracted(_T.VARCHAR))
    # ``->`` (a JSON) stays untyped: on PostgreSQL a column of JSON strings is read as their
    # text (engine/json_columns.py), so ``j->'url' AS page_url`` is sent as text there; typed
    # JSON, validate refused it for a text parameter (tests/warehouse/test_pg_json_text_params)


# --- a VALUES list's unnamed columns -------------------------------------------------------
# sqlglot names them _col_0, _col_1 ...; DuckDB names them col0, col1 ... and PostgreSQL
# column1, column2 ...: a model reading o.col0 of an upstream ``select * from (values ...)``
# was told that upstream has no such column.
_VALUES_NAMES = {"duckdb": ("col", 0), "postgres": ("column", 1)}


def _values_names(prefix: str, first: int) -> Callable[[Any], Any]:
    def wrap(_original: Any) -> Any:
        def generate_values_aliases(self: Any, expression: exp.Values) -> list[exp.Identifier]:
            row = expression.expressions[0].expressions
            return [exp.to_identifier(f"{prefix}{first + i}") for i in range(len(row))]

        return generate_values_aliases

    return wrap


def install_values_names() -> None:
    """The engines' names of a VALUES list's unnamed columns (idempotent)."""
    from sqlglot.dialects.dialect import Dialect

    for name, (prefix, first) in _VALUES_NAMES.items():
        dialect = type(Dialect.get_or_raise(name))
        _patch(dialect, "generate_values_aliases", _values_names(prefix, first))


install()
install_json_values()
install_pivot_values()
install_star_expansion()
install_time_arithmetic()
install_set_operation_types()
install_common_types()
install_number_types()
install_text_functions()
install_list_concat()
install_picked_values()
install_struct_fields()
install_null_and_json()
install_values_names()

"""What a DuckDB-dialect model may say that sqlglot carries to another engine's SQL with
other results, silently: refused here, by name, before it runs.

Found by running the same expressions in DuckDB and, transpiled, in PostgreSQL and Spark
(docs/warehouses.md lists what is bridged and what is not). Those of one engine live with
it (``engine/postgres.py``: ``SIMILAR TO``, weeks of ``date_diff``; ``engine/spark.py``:
intervals; ``engine/spark_meanings.py``: day-of-week numbers, ``log``, ``date_diff``,
``regexp_replace``), as do the rewrites that give DuckDB's meaning there
(``pg_meanings.py``, ``spark_meanings.py``, ``spark_numbers.py``), which share the helpers
at the end of this module."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from reverse_etl.errors import EngineError

T = TypeVar("T", bound=exp.Expr)

# How each engine's format() writes a NULL argument (DuckDB's gives NULL).
_NULL_AS = {"PostgreSQL": "''", "Spark SQL": "'null'"}


# printf formats whose every conversion is an integer's %d (with flags and a width) or %%:
# Spark's printf (Java's Formatter) writes those as DuckDB's does. Not %x or %o: DuckDB
# writes a negative one's 64 bits, Java an INT's 32.
_INTEGER_PRINTF = re.compile(r"(?:[^%]|%%|%[-+ 0]*\d*d)*")


def _printf_differs(node: exp.Expr) -> bool:
    """A DuckDB ``printf`` another engine writes other text for: ``%s`` of a timestamp
    (Spark: its microseconds), of a list (``[1,2]``, not ``[1, 2]``), ``%.2f`` of 1.005
    (Java rounds the decimal text: 1.01, not 1.00), or a format that is no literal."""
    if not (isinstance(node, exp.Anonymous) and str(node.this).lower() == "printf"):
        return False
    fmt = node.expressions[0] if node.expressions else None
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        return True
    return _INTEGER_PRINTF.fullmatch(fmt.this) is None


def refuse_unportable(tree: exp.Expr, read: str, target: str) -> None:
    """Raise for what ``tree`` (read as ``read`` SQL) would compute differently in any other
    engine (``target``: ``PostgreSQL``, ``Spark SQL``)."""
    if read == "duckdb" and any(_printf_differs(n) for n in tree.find_all(exp.Anonymous)):
        raise EngineError(
            f"printf() gives other text in {target} but for an integer's %d: its %s "
            "writes a timestamp, a date or a list otherwise than DuckDB, and its %f rounds "
            "otherwise (Spark: printf('%.2f', 1.005) is 1.01, DuckDB's 1.00)",
            hint="build the text with || or concat(), round() and cast() (retl writes them "
            f"as DuckDB computes them), or write the model in {target}'s SQL",
        )
    if read == "duckdb" and tree.find(exp.Format) is not None:
        raise EngineError(
            f"format() gives other text in {target}: DuckDB fills '{{}}' placeholders and "
            f"gives NULL for a NULL argument, and {target}'s format takes '%s' and writes a "
            f"NULL argument as {_NULL_AS.get(target, 'something else')}",
            hint="build the text with || or concat() (NULL arguments skipped), or write the "
            f"model in {target}'s SQL",
        )


# DuckDB's functions that take a lambda (``x -> x + 1``); elsewhere ``x -> 'k'`` is JSON.
_HIGHER_ORDER = (exp.Transform, exp.ArrayFilter, exp.Reduce)
_HIGHER_ORDER_NAMES = frozenset(
    {
        "list_transform",
        "array_transform",
        "list_apply",
        "array_apply",
        "apply",
        "list_filter",
        "array_filter",
        "filter",
        "list_reduce",
        "array_reduce",
        "reduce",
    }
)


def json_arrows(tree: exp.Expr) -> exp.Expr:
    """``j -> 'k'`` as DuckDB reads it inside a function's arguments: JSON of ``j`` at
    ``k``. sqlglot reads it there as a lambda whose body is the literal
    (``coalesce(j->'a', ...)``, ``to_json(j->'a')``), which went to Spark as a lambda and
    to PostgreSQL's ``->`` untouched by its rewrites (both failed). A lambda outside a
    function taking one, of one parameter, whose body is a text or integer literal, or a
    chain of ``->`` and ``->>`` from one (``'k'``, ``'k'->'b'``, ``'k'->>0``), is that JSON
    extraction, as DuckDB computes it. Any other body (``'k' = 'x'``, which DuckDB reads
    as the key ``('k' = 'x')`` and refuses, ``'k' + 1``) stays as sqlglot read it. Changed
    in place (the root is never a lambda), and returned."""
    for node in list(tree.find_all(exp.Lambda)):
        parent = node.parent
        if isinstance(parent, _HIGHER_ORDER) or (
            isinstance(parent, exp.Anonymous) and str(parent.this).lower() in _HIGHER_ORDER_NAMES
        ):
            continue
        params = node.expressions
        if len(params) != 1 or not isinstance(params[0], exp.Identifier):
            continue
        first: exp.Expr | None = node.this
        while isinstance(first, exp.JSONExtract | exp.JSONExtractScalar):
            first = first.this
        if not (isinstance(first, exp.Literal) and (first.is_string or first.is_int)):
            continue
        key = first.copy()
        extract = exp.JSONExtract(
            this=exp.Column(this=params[0].copy()),
            expression=Dialect.get_or_raise("duckdb").to_json_path(key),
            only_json_types=False,
        )
        body = node.this
        if first is body:
            node.replace(extract)
        else:
            first.replace(extract)
            node.replace(body)
    return tree


def innermost_first(nodes: Iterable[T]) -> list[T]:
    """``nodes`` (sqlglot nodes of one tree) ordered the innermost first: a rewrite that
    copies its operands then copies them with their own rewrites done."""
    return sorted(nodes, key=_depth, reverse=True)


def _depth(node: exp.Expr) -> int:
    depth = 0
    parent = node.parent
    while parent is not None:
        depth, parent = depth + 1, parent.parent
    return depth


# Dates and timestamps (not times of day: an epoch of those means something else).
POINTS_IN_TIME = tuple(
    t for t in exp.DataType.TEMPORAL_TYPES if t not in (exp.DType.TIME, exp.DType.TIMETZ)
)


def is_time_value(node: exp.Expr) -> bool:
    """Whether ``node`` is a date or time by its form alone (a cast or typed literal such as
    ``timestamp '...'``, ``current_timestamp``), without the tables' types: what the
    rewrites of functions whose meaning depends on their operand's type can trust."""
    if isinstance(node, exp.Cast | exp.TryCast):
        return node.to.is_type(*POINTS_IN_TIME)
    return isinstance(node, exp.CurrentTimestamp | exp.CurrentDate)


def bigint(x: exp.Expr) -> exp.Expr:
    """``CAST(x AS BIGINT)``: the integer type DuckDB's counting functions return."""
    return exp.Cast(this=x, to=exp.DataType.build("BIGINT"))


def null_if_null(x: exp.Expr, value: exp.Expr) -> exp.Expr:
    """``CASE WHEN x IS NULL THEN NULL ELSE value END``."""
    unknown = exp.Is(this=x.copy(), expression=exp.Null())
    return exp.Case(ifs=[exp.If(this=unknown, true=exp.Null())], default=value)


def none_null(*xs: exp.Expr) -> exp.Expr:
    """``NOT x IS NULL AND NOT y IS NULL ...``."""
    return exp.and_(*(exp.Not(this=exp.Is(this=x.copy(), expression=exp.Null())) for x in xs))


def is_epoch_ms(node: exp.Expr) -> bool:
    """``epoch_ms(x)`` as sqlglot reads it from DuckDB: milliseconds to a timestamp (right
    for a number; DuckDB gives a date's or timestamp's milliseconds)."""
    scale = node.args.get("scale") if isinstance(node, exp.UnixToTime) else None
    return isinstance(scale, exp.Literal) and scale.name == "3"


_STRFTIME_CODE = re.compile(r"%-?[A-Za-z%]")


def strftime_format(
    duckdb_format: str, codes: Mapping[str, str], literal: Callable[[str], str]
) -> str | None:
    """DuckDB's strftime ``duckdb_format`` in another engine's pattern language: each code
    by ``codes``, each run of literal text (``%%`` as ``%`` included) as ``literal`` quotes
    it. None when a code is not in ``codes`` or a ``%`` stands alone."""
    out: list[str] = []
    text = ""
    pos = 0
    for code in _STRFTIME_CODE.finditer(duckdb_format):
        between = duckdb_format[pos : code.start()]
        pos = code.end()
        if "%" in between:
            return None
        text += between
        if code.group() == "%%":
            text += "%"
            continue
        if code.group() not in codes:
            return None
        out += [literal(text) if text else "", codes[code.group()]]
        text = ""
    rest = text + duckdb_format[pos:]
    if "%" in duckdb_format[pos:]:
        return None
    out.append(literal(rest) if rest else "")
    return "".join(out)


def glob_as_like(pattern: exp.Expr) -> exp.Expr | None:
    """DuckDB's GLOB pattern ``pattern`` (a literal of ``*`` and ``?``) as a LIKE pattern
    with ``\\`` as its escape (``%``, ``_``, the pattern's own ``%`` and ``_`` escaped);
    None for another pattern (a character class, a backslash, not a literal)."""
    if not isinstance(pattern, exp.Literal) or not pattern.is_string:
        return None
    text = pattern.name
    if "[" in text or "\\" in text:
        return None
    like = "".join({"*": "%", "?": "_", "%": "\\%", "_": "\\_"}.get(ch, ch) for ch in text)
    return exp.Literal.string(like)


def whole_number(x: exp.Expr | None) -> int | None:
    """The value of a literal whole number from 0 (no sign, no fraction), else None."""
    if isinstance(x, exp.Literal) and not x.is_string and x.name.isdigit():
        return int(x.name)
    return None


def model_index(node: exp.Expr) -> exp.Expr | None:
    """The one index of a model's subscript ``l[i]`` as sqlglot read it from DuckDB (a
    literal held from 0: ``l[1]`` as 0, ``l[-1]`` as -2), or None: not a subscript, one
    a rewrite wrote (it sets ``offset``), or one of several indexes."""
    if (
        not isinstance(node, exp.Bracket)
        or node.args.get("offset") is not None
        or len(node.expressions) != 1
        or node.this is None
    ):
        return None
    index: exp.Expr = node.expressions[0]
    return index

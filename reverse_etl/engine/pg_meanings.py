"""DuckDB's meaning of two functions, written for PostgreSQL (found by tests/portable_exprs.py).

- ``round(x)`` of a DOUBLE rounds half away from zero in DuckDB (2.5 gives 3, -0.5 gives -1)
  and half to even in PostgreSQL (2.5 gives 2). Written ``CASE WHEN abs(x - trunc(x)) = 0.5
  THEN trunc(x) + sign(x) ELSE round(x) END``: exact, since ``x - trunc(x)`` is exact in
  binary floating point, and the same as ``round(x)`` for a NUMERIC, whose ``round`` already
  rounds half away from zero. ``round(x, n)`` is left: PostgreSQL has it for NUMERIC only,
  and it rounds half away from zero there too.
- ``substring(s, start[, n])`` with a negative ``start`` counts from the end in DuckDB
  (``substr('hello', -3)`` is 'llo'); PostgreSQL reads the position as it is (before the
  first character: 'hello'). Written with the position ``length(s) + start + 1``, which
  PostgreSQL then clips as DuckDB does (``substr('hello', -7, 3)`` is 'h' in both).
- ``strftime(t, format)``: sqlglot writes the format for ``to_char`` with its literal text
  bare, where PostgreSQL reads patterns: the ``T`` of ``%Y-%m-%dT%H`` followed by ``HH24``
  is the ordinal suffix ``TH`` ('2024-03-15THH24:11'); and ``%A``/``%B`` become blank-padded
  names in the server's language. Written here with every literal run in double quotes and
  DuckDB's English names unpadded (``FMDay``); a format with a code not in ``_PG_FORMAT``
  (``%U``, ``%w``, ``%z``, ...) or a quote in its text goes as sqlglot writes it.
- ``extract(second from t)`` and ``date_part('second', t)`` are whole seconds in DuckDB (12)
  and carry the fraction in PostgreSQL (12.5): written ``floor(...)``.
- DuckDB functions PostgreSQL has no function of (sqlglot wrote them as they are, and they
  failed there): ``quarter``, ``dayofyear``, ``dayofweek``, ``isodow``, ``week`` (ISO),
  ``hour``, ``minute`` and
  ``second`` of a time as BIGINT ``extract``s (the second whole), ``dayname`` and
  ``monthname`` as ``to_char`` in English, unpadded; ``contains(a, b)`` as ``strpos(a, b) >
  0``, ``ends_with(a, b)`` as ``right(a, length(b)) = b``.

A model written in PostgreSQL's dialect means PostgreSQL's functions: only DuckDB-dialect
models are rewritten (``PostgresEngine.transpile``).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from reverse_etl.engine.portable import innermost_first, strftime_format


def duckdb_meanings(tree: exp.Expr) -> exp.Expr:
    """``tree`` with the calls above written for PostgreSQL as DuckDB means them, the
    innermost first (a rewrite copies its operands, which then hold their own rewrites).
    Changed in place (the root is a statement, never replaced), and returned."""
    for node in innermost_first(tree.find_all(*_REWRITES)):
        rewrite = next(_REWRITES[k] for k in type(node).__mro__ if k in _REWRITES)
        new = rewrite(node)
        if new is not node:
            node.replace(new)
    return tree


def _round(node: exp.Expr) -> exp.Expr:
    if node.args.get("decimals") is not None or _integer(node.this):
        return node
    x = node.this
    fraction = exp.Abs(this=exp.Sub(this=x.copy(), expression=_trunc(x)))
    tie = exp.EQ(this=fraction, expression=exp.Literal.number("0.5"))
    away = exp.Add(this=_trunc(x), expression=exp.Sign(this=x.copy()))
    return exp.Case(ifs=[exp.If(this=tie, true=away)], default=node.copy())


def _trunc(x: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this="TRUNC", expressions=[x.copy()])


def _substring(node: exp.Expr) -> exp.Expr:
    start = node.args.get("start")
    if start is None or (isinstance(start, exp.Literal) and start.is_int):
        return node  # no position, or one of at least 0: the same in both
    text = node.this
    from_end = exp.Add(
        this=exp.Add(this=exp.Length(this=text.copy()), expression=exp.Paren(this=start.copy())),
        expression=exp.Literal.number(1),
    )
    counted = node.copy()
    counted.set("start", from_end)
    if isinstance(start, exp.Neg) and isinstance(start.this, exp.Literal):
        return counted  # a negative literal
    negative = exp.LT(this=start.copy(), expression=exp.Literal.number(0))
    return exp.Case(ifs=[exp.If(this=negative, true=counted)], default=node.copy())


def _integer(node: exp.Expr) -> bool:
    if isinstance(node, exp.Neg):
        node = node.this
    return isinstance(node, exp.Literal) and node.is_int


# DuckDB's strftime codes that PostgreSQL's to_char writes the same way.
_PG_FORMAT = {
    "%Y": "YYYY",
    "%y": "YY",
    "%m": "MM",
    "%d": "DD",
    "%H": "HH24",
    "%I": "HH12",
    "%M": "MI",
    "%S": "SS",
    "%f": "US",
    "%p": "AM",
    "%j": "DDD",
    "%b": "Mon",
    "%a": "Dy",
    "%B": "FMMonth",
    "%A": "FMDay",
    "%G": "IYYY",
    "%V": "IW",
    "%u": "ID",
    "%-d": "FMDD",
    "%-m": "FMMM",
    "%-H": "FMHH24",
    "%-I": "FMHH12",
    "%-M": "FMMI",
    "%-S": "FMSS",
    "%-j": "FMDDD",
}


def _strftime(node: exp.Expr) -> exp.Expr:
    fmt = node.args.get("format")
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        return node
    pg = _pg_format(fmt.this)
    if pg is None:
        return node
    return exp.Anonymous(this="TO_CHAR", expressions=[node.this.copy(), exp.Literal.string(pg)])


def _pg_format(duckdb_format: str) -> str | None:
    """``duckdb_format`` for ``to_char``, each run of literal text in one pair of double
    quotes; None when a code has no exact counterpart, or the format holds a double quote or
    a backslash (to_char's own escapes) or a lone ``%``."""
    if '"' in duckdb_format or "\\" in duckdb_format:
        return None
    return strftime_format(duckdb_format, _PG_FORMAT, _quoted)


def _quoted(text: str) -> str:
    return f'"{text}"'


def _whole_seconds(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Extract):
        part = node.this
        second = isinstance(part, exp.Var | exp.Literal) and part.name.lower() == "second"
    else:  # date_part('second', t), as sqlglot reads it from DuckDB
        args = node.expressions
        second = (
            str(node.this).lower() == "date_part"
            and len(args) == 2
            and isinstance(args[0], exp.Literal)
            and args[0].name.lower() == "second"
        )
    if not second:
        return node
    return exp.Floor(this=node.copy())


# DuckDB's date part functions and the part PostgreSQL's extract() names.
_PARTS: dict[type[exp.Expr], str] = {
    exp.Quarter: "QUARTER",
    exp.DayOfYear: "DOY",
    exp.Week: "WEEK",
    exp.Hour: "HOUR",
    exp.Minute: "MINUTE",
    exp.DayOfWeek: "DOW",  # Sunday 0, as DuckDB's dayofweek
    exp.DayOfWeekIso: "ISODOW",  # Monday 1 ... Sunday 7
}


def _missing(node: exp.Expr) -> exp.Expr:
    """A DuckDB function PostgreSQL lacks, in PostgreSQL's words (see the module docstring)."""
    x = node.this
    if type(node) in _PARTS:
        part = exp.Extract(this=exp.Var(this=_PARTS[type(node)]), expression=x.copy())
        return exp.Cast(this=part, to=exp.DataType.build("BIGINT"))
    if isinstance(node, exp.Second):
        whole = exp.Floor(this=exp.Extract(this=exp.Var(this="SECOND"), expression=x.copy()))
        return exp.Cast(this=whole, to=exp.DataType.build("BIGINT"))
    if isinstance(node, exp.Dayname | exp.Monthname):
        pattern = "FMDay" if isinstance(node, exp.Dayname) else "FMMonth"
        return exp.Anonymous(this="TO_CHAR", expressions=[x.copy(), exp.Literal.string(pattern)])
    y = node.expression
    if isinstance(node, exp.Contains):
        found = exp.Anonymous(this="STRPOS", expressions=[x.copy(), y.copy()])
        return exp.Paren(this=exp.GT(this=found, expression=exp.Literal.number(0)))
    tail = exp.Right(this=x.copy(), expression=exp.Length(this=y.copy()))
    return exp.Paren(this=exp.EQ(this=tail, expression=y.copy()))


_REWRITES: dict[type[exp.Expr], Callable[[exp.Expr], exp.Expr]] = {
    exp.Round: _round,
    exp.Substring: _substring,
    exp.TimeToStr: _strftime,
    exp.Extract: _whole_seconds,
    exp.Anonymous: _whole_seconds,  # date_part('second', t)
    **dict.fromkeys(
        (*_PARTS, exp.Second, exp.Dayname, exp.Monthname, exp.Contains, exp.EndsWith), _missing
    ),
}

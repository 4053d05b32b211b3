"""DuckDB's meaning of functions, written for PostgreSQL (found by tests/portable_exprs.py).

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
  and carry the fraction in PostgreSQL (12.5): written ``floor(...)``. Every part but
  ``epoch`` is a BIGINT in DuckDB and a NUMERIC in PostgreSQL (read as a DOUBLE: 2024.0):
  written ``CAST(trunc(...) AS BIGINT)`` (``year``, ``month``, ``day`` too).
- ``date_trunc`` of a DATE is a TIMESTAMP in DuckDB, a TIMESTAMPTZ in PostgreSQL: the DATE
  (by its form, or its catalog type) is cast to a TIMESTAMP. ``epoch_ms(n)`` of a number is
  a TIMESTAMP in DuckDB, ``to_timestamp`` a TIMESTAMPTZ: written ``AT TIME ZONE 'UTC'``.
- DuckDB functions PostgreSQL has no function of (sqlglot wrote them as they are, and they
  failed there): ``quarter``, ``dayofyear``, ``dayofweek``, ``isodow``, ``week`` (ISO),
  ``hour``, ``minute`` and
  ``second`` of a time as BIGINT ``extract``s (the second whole), ``dayname`` and
  ``monthname`` as ``to_char`` in English, unpadded; ``contains(a, b)`` as ``strpos(a, b) >
  0``, ``ends_with(a, b)`` as ``right(a, length(b)) = b``; ``weekday`` (Sunday 0),
  ``isoyear``, ``yearweek`` (ISO year * 100 + ISO week), ``millisecond`` and ``microsecond``
  (of the minute) as BIGINT ``extract``s; ``strlen`` (bytes) as ``octet_length``;
  ``epoch_us``/``epoch_ns`` of a time, and ``epoch_ms`` of one whose form says it is a date
  or timestamp (sqlglot reads ``epoch_ms(x)`` as milliseconds to a timestamp), from
  ``extract(epoch ...)`` (exact there) truncated as DuckDB truncates; ``make_date`` (sqlglot
  wrote ``date_from_parts``) as ``make_date``.
- ``regexp_extract(s, pattern[, group])`` with a literal pattern and group: the group of
  ``regexp_match(s, '(' || pattern || ')')`` (the whole match is then group 1), '' where
  DuckDB gives '' (no match, a group that took no part), NULL for a NULL ``s``. A pattern
  that starts with options other than ``(?i)``, or a group that is not a literal, goes as
  sqlglot writes it (and fails). Both engines read the pattern as their own regular
  expressions (RE2 and PostgreSQL's): they agree on the common forms, not on all (a ``.``
  matches a line break in PostgreSQL only).
- ``strptime(s, format)`` is a TIMESTAMP in DuckDB; sqlglot wrote ``to_timestamp``, a
  TIMESTAMPTZ there ('2024-01-02 00:00:00+00' in a payload where DuckDB's is '2024-01-02
  00:00:00'). Read in the session's zone (UTC), so ``AT TIME ZONE 'UTC'`` gives the same
  TIMESTAMP. A format with ``%z`` or ``%Z`` (a TIMESTAMPTZ in DuckDB too), or one that is not
  a literal, goes as sqlglot writes it.
- ``string_split('', sep)`` is [''] in DuckDB (``string_to_array`` gives an empty array), and
  ``list_contains(l, x)`` of a NULL list NULL (sqlglot's form gave false).
- ``try_strptime(s, format)``, which PostgreSQL lacks, for a literal format of ``%Y %m %d``
  (and ``%H %M %S``): see ``_try_strptime``.

A model written in PostgreSQL's dialect means PostgreSQL's functions: only DuckDB-dialect
models are rewritten (``PostgresEngine.transpile``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from reverse_etl.engine import pg_lists
from reverse_etl.engine.date_diff import pg_date_diff
from reverse_etl.engine.portable import (
    POINTS_IN_TIME,
    bigint,
    innermost_first,
    is_epoch_ms,
    is_time_value,
    none_null,
    null_if_null,
    strftime_format,
)
from reverse_etl.engine.typed import TableTypes, typed_pairs


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
    """``extract``/``date_part`` of a literal part: a BIGINT, as DuckDB's (PostgreSQL's is a
    NUMERIC, read as a DOUBLE: 2024.0 where DuckDB's ``year`` is 2024), the second whole;
    ``epoch`` (a DOUBLE in DuckDB) and a part that is not a literal go as they are."""
    if isinstance(node, exp.Extract):
        part = node.this
        name = part.name.lower() if isinstance(part, exp.Var | exp.Literal) else None
    else:  # date_part('second', t), as sqlglot reads it from DuckDB
        args = node.expressions
        literal = len(args) == 2 and isinstance(args[0], exp.Literal) and args[0].is_string
        name = args[0].name.lower() if literal else None
    if name is None or name == "epoch":
        return node
    if name == "second":
        return bigint(exp.Floor(this=node.copy()))
    return bigint(_trunc(node.copy()))


# DuckDB's date part functions and the part PostgreSQL's extract() names.
_PARTS: dict[type[exp.Expr], str] = {
    exp.Quarter: "QUARTER",
    exp.DayOfYear: "DOY",
    exp.Week: "WEEK",
    exp.Hour: "HOUR",
    exp.Minute: "MINUTE",
    exp.DayOfWeek: "DOW",  # Sunday 0, as DuckDB's dayofweek
    exp.DayOfWeekIso: "ISODOW",  # Monday 1 ... Sunday 7
    # sqlglot writes these as PostgreSQL's extract(), a NUMERIC there (2024.0)
    exp.Year: "YEAR",
    exp.Month: "MONTH",
    exp.Day: "DAY",
    exp.DayOfMonth: "DAY",
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


def _extract(part: str, x: exp.Expr) -> exp.Expr:
    return exp.Extract(this=exp.Var(this=part), expression=x.copy())


def _epoch_scaled(x: exp.Expr, scale: int) -> exp.Expr:
    """DuckDB's epoch in 10^-scale seconds of the date or time ``x``: integer division of
    its microseconds, so truncated toward zero (-0.5 ms is 0 ms)."""
    scaled = exp.Mul(this=_extract("EPOCH", x), expression=exp.Literal.number(10**scale))
    return bigint(_trunc(scaled))


# DuckDB functions sqlglot leaves by name (Anonymous), PostgreSQL has none of, and what
# they are there; ``x`` is the one argument.
_NAMED: dict[str, Callable[[exp.Expr], exp.Expr]] = {
    "weekday": lambda x: bigint(_extract("DOW", x)),  # Sunday 0, as dayofweek
    "isoyear": lambda x: bigint(_extract("ISOYEAR", x)),
    "yearweek": lambda x: bigint(
        exp.Add(
            this=exp.Mul(this=_extract("ISOYEAR", x), expression=exp.Literal.number(100)),
            expression=_extract("WEEK", x),
        )
    ),
    # of the minute, seconds included (12.5005 s: 12500 ms, 12500500 us)
    "millisecond": lambda x: bigint(_trunc(_extract("MILLISECONDS", x))),
    "microsecond": lambda x: bigint(_extract("MICROSECONDS", x)),
    "strlen": lambda x: bigint(exp.Anonymous(this="OCTET_LENGTH", expressions=[x.copy()])),
    "epoch_us": lambda x: _epoch_scaled(x, 6),
    # microseconds (exact even where extract() is a DOUBLE, before PostgreSQL 14) * 1000:
    # DuckDB's timestamps hold microseconds
    "epoch_ns": lambda x: exp.Mul(this=_epoch_scaled(x, 6), expression=exp.Literal.number(1000)),
}


def _anonymous(node: exp.Expr) -> exp.Expr:
    name = str(node.this).lower()
    if name == "date_part":
        return _whole_seconds(node)
    if name == "list_slice":
        return pg_lists.list_slice(node)
    if name.startswith("list_"):
        return pg_lists.list_aggregate(node)
    if name in _NAMED and len(node.expressions) == 1:
        return _NAMED[name](node.expressions[0])
    if name == "try_strptime" and len(node.expressions) == 2:
        return _try_strptime(node)
    return node


# try_strptime's codes written as a group of a regular expression, and the field each is
_TRY_CODES = {
    "%Y": (r"(\d{1,4})", "y"),
    "%m": (r"(\d{1,2})", "m"),
    "%d": (r"(\d{1,2})", "d"),
    "%H": (r"(\d{1,2})", "H"),
    "%M": (r"(\d{1,2})", "M"),
    "%S": (r"(\d{1,2})", "S"),
}


def _try_strptime(node: exp.Expr) -> exp.Expr:
    """DuckDB's ``try_strptime(s, format)``: NULL for a text the format does not read or a
    day that does not exist (PostgreSQL has no such function: it failed there). For a
    literal format of ``%Y %m %d`` (each once) and ``%H %M %S`` with literal text between,
    written with no call that can fail: the fields matched by a regular expression (1 to 4
    digits of a year, 1 or 2 of the rest, blanks around the text allowed, as DuckDB),
    checked (a month's days, leap years, 23:59:59 at most; a year from 1, where DuckDB
    gives year 0 as 1 BC) and then ``make_timestamp``; another format goes as it is."""
    s, fmt = node.expressions
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        return node
    pattern, fields = [], []
    for token in re.findall(r"%.|[^%]", fmt.this, flags=re.S):
        if token in _TRY_CODES and _TRY_CODES[token][1] not in fields:
            pattern.append(_TRY_CODES[token][0])
            fields.append(_TRY_CODES[token][1])
        elif token == "%%" or not token.startswith("%"):
            pattern.append(re.escape(token[-1]))
        else:
            return node
    if not {"y", "m", "d"} <= set(fields):
        return node
    match = exp.Anonymous(
        this="REGEXP_MATCH",
        expressions=[s.copy(), exp.Literal.string(r"^\s*" + "".join(pattern) + r"\s*$")],
    )

    def field(name: str) -> exp.Expr:
        if name not in fields:
            return exp.Literal.number(0)
        subject = exp.Paren(this=match.copy())
        item = exp.Bracket(this=subject, expressions=[exp.Literal.number(fields.index(name))])
        return exp.Cast(this=item, to=exp.DataType.build("INT"))

    y, m, d = field("y"), field("m"), field("d")
    hms = [field("H"), field("M"), field("S")]
    leap = exp.condition(
        f"({y.sql('postgres')} % 4 = 0 AND {y.sql('postgres')} % 100 <> 0)"
        f" OR {y.sql('postgres')} % 400 = 0",
        dialect="postgres",
    )
    days = exp.condition(
        f"CASE WHEN {m.sql('postgres')} IN (4, 6, 9, 11) THEN 30 WHEN {m.sql('postgres')} = 2"
        f" THEN CASE WHEN {leap.sql('postgres')} THEN 29 ELSE 28 END ELSE 31 END",
        dialect="postgres",
    )
    fits = [
        exp.condition(f"{y.sql('postgres')} >= 1", dialect="postgres"),
        exp.Between(this=m.copy(), low=exp.Literal.number(1), high=exp.Literal.number(12)),
        *(
            exp.Between(this=x.copy(), low=exp.Literal.number(0), high=exp.Literal.number(top))
            for x, top in zip(hms, (23, 59, 59), strict=True)
        ),
    ]
    time = exp.Anonymous(this="MAKE_TIMESTAMP", expressions=[y, m, d, *hms])
    day_fits = exp.Between(this=d.copy(), low=exp.Literal.number(1), high=days)
    # WHENs in order: PostgreSQL folds an arm's result only when its test may hold
    return exp.Case(
        ifs=[
            exp.If(this=exp.Is(this=match.copy(), expression=exp.Null()), true=exp.Null()),
            exp.If(this=exp.Not(this=exp.Paren(this=exp.and_(*fits))), true=exp.Null()),
            exp.If(this=day_fits, true=time),
        ]
    )


def _epoch_ms(node: exp.Expr) -> exp.Expr:
    """sqlglot reads DuckDB's ``epoch_ms(x)`` as milliseconds to a timestamp, right for a
    number; of a date or timestamp DuckDB gives its milliseconds (a BIGINT). Without the
    operand's type only its form tells (a column goes as sqlglot writes it: for a
    timestamp column PostgreSQL then fails, loudly)."""
    if is_epoch_ms(node) and is_time_value(node.this):
        return _epoch_scaled(node.this, 3)
    if is_epoch_ms(node):  # a TIMESTAMP in DuckDB; to_timestamp is a TIMESTAMPTZ
        return _utc_wall_time(node.copy())
    return node


_WALL_TIME = "retl_wall_time"  # meta of the wrap _utc_wall_time writes


def _utc_wall_time(node: exp.Expr) -> exp.Expr:
    """``(node AT TIME ZONE 'UTC')``: a TIMESTAMPTZ as DuckDB's TIMESTAMP of its UTC time."""
    wrap = exp.Paren(this=exp.AtTimeZone(this=node, zone=exp.Literal.string("UTC")))
    wrap.meta[_WALL_TIME] = True
    return wrap


def _date_trunc(node: exp.Expr) -> exp.Expr:
    """``date_trunc`` of a DATE is a TIMESTAMP in DuckDB; PostgreSQL reads the DATE as a
    TIMESTAMPTZ (2024-04-01 00:00:00+00 in a payload): the DATE as a TIMESTAMP."""
    x = node.this
    if isinstance(x, exp.Cast | exp.TryCast) and x.to.is_type(exp.DataType.Type.DATE):
        _as_timestamp(node)
    return node


def _as_timestamp(trunc: exp.Expr) -> None:
    trunc.set("this", exp.Cast(this=trunc.this.copy(), to=exp.DataType.build("TIMESTAMP")))


def _make_date(node: exp.Expr) -> exp.Expr:
    """sqlglot writes DuckDB's ``make_date(y, m, d)`` as ``date_from_parts``, which
    PostgreSQL lacks; its ``make_date`` takes integers."""
    parts = [node.args.get(k) for k in ("year", "month", "day")]
    if any(p is None for p in parts):
        return node
    ints = [exp.Cast(this=p.copy(), to=exp.DataType.build("INT")) for p in parts if p]
    return exp.Anonymous(this="MAKE_DATE", expressions=ints)


_LEADING_OPTIONS = re.compile(r"\(\?([a-zA-Z]+)\)")


def _regexp_extract(node: exp.Expr) -> exp.Expr:
    pattern, group = node.expression, node.args.get("group")
    if node.args.get("parameters") is not None:
        return node
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        return node
    if group is None:
        index = 0
    elif isinstance(group, exp.Literal) and group.is_int:
        index = int(group.name)
    else:
        return node
    split = _options(pattern.this)
    if split is None:
        return node
    options, text = split
    matched = exp.Anonymous(
        this="REGEXP_MATCH",
        expressions=[node.this.copy(), exp.Literal.string(f"{options}({text})")],
    )
    # group n is element n + 1 of the array (PostgreSQL's arrays count from 1)
    found = exp.Bracket(
        this=exp.Paren(this=matched), expressions=[exp.Literal.number(index + 1)], offset=1
    )
    return null_if_null(node.this, exp.Coalesce(this=found, expressions=[exp.Literal.string("")]))


def _picked(node: exp.Expr) -> exp.Expr:
    """``first(x [ORDER BY k])`` and ``arg_max(x, y)`` / ``arg_min`` / ``max_by`` /
    ``min_by``, and ``any_value(x)`` (DuckDB aggregates PostgreSQL lacks, the last before
    16) as element 1 of an ``array_agg``: ``first`` takes the first row's ``x`` even when
    NULL; ``arg_max`` skips the rows whose ``x`` or ``y`` is NULL, as DuckDB's does, and
    ``any_value`` those whose ``x`` is. A FILTER around the call stays on the
    aggregate (its condition joined with the skip); over a window (OVER) only a plain
    ``first(x)`` is rewritten, since PostgreSQL has no ORDER BY inside a window's
    aggregate."""
    keys: list[exp.Expr] = []
    skip: exp.Expr | None = None
    if isinstance(node, exp.AnyValue) and isinstance(node.parent, exp.IgnoreNulls):
        return node  # the IGNORE NULLS around it is the unit rewritten
    picked = node.this if isinstance(node, exp.IgnoreNulls) else node
    if isinstance(picked, exp.AnyValue):
        # any_value (PostgreSQL 16+ only; sqlglot reads DuckDB's as IGNORE NULLS): the
        # first non-NULL x
        x = picked.this
        if x is None:
            return node
        skip = none_null(x)
    elif isinstance(node, exp.IgnoreNulls):
        return node
    elif isinstance(node, exp.First):
        x = node.this
        if isinstance(x, exp.Order):
            keys = [k.copy() for k in x.expressions]
            x = x.this
    else:  # ArgMax, ArgMin
        x, y = node.this, node.expression
        if x is None or y is None or node.args.get("count") is not None:
            return node  # arg_max(x, y, n), a list of the top n: as written
        keys = [exp.Ordered(this=y.copy(), desc=isinstance(node, exp.ArgMax), nulls_first=False)]
        skip = none_null(x, y)
    if x is None:
        return node
    inner: exp.Expr = x.copy()
    if keys:
        inner = exp.Order(this=inner, expressions=keys)
    aggregate: exp.Expr = exp.ArrayAgg(this=inner)
    unit: exp.Expr = node
    if isinstance(unit.parent, exp.Filter) and unit.arg_key == "this":
        unit = unit.parent
        where = unit.expression.this.copy()
        skip = where if skip is None else exp.and_(exp.Paren(this=where), skip)
    if skip is not None:
        aggregate = exp.Filter(this=aggregate, expression=exp.Where(this=skip))
    if isinstance(unit.parent, exp.Window) and unit.arg_key == "this":
        if keys:
            # PostgreSQL has no ORDER BY inside a window's aggregate: as written (it fails)
            return node
        unit = unit.parent  # first(x) OVER (...): the window's first row
        window = unit.copy()
        window.set("this", aggregate)
        aggregate = window
    first = exp.Bracket(
        this=exp.Paren(this=aggregate), expressions=[exp.Literal.number(1)], offset=1
    )
    if unit is node:
        return first
    unit.replace(first)
    return node


def _full_match(node: exp.Expr) -> exp.Expr:
    """``regexp_full_match(s, pattern)`` (PostgreSQL has none), a literal pattern: ``s ~
    '^(?:pattern)$'`` (leading ``(?i)`` options kept in front)."""
    pattern = node.expression
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        return node
    split = _options(pattern.this)
    if split is None:
        return node
    options, text = split
    anchored = exp.Literal.string(f"{options}^(?:{text})$")
    return exp.Paren(this=exp.RegexpLike(this=node.this.copy(), expression=anchored))


def _options(pattern: str) -> tuple[str, str] | None:
    """``pattern``'s leading ``(?i)`` and the rest; None for other leading options (RE2's
    m, s and U mean other things, or nothing, in PostgreSQL)."""
    leading = _LEADING_OPTIONS.match(pattern)
    if not leading:
        return "", pattern
    if set(leading.group(1)) - {"i"}:
        return None
    return leading.group(), pattern[leading.end() :]


def _split(node: exp.Expr) -> exp.Expr:
    """``string_split(s, sep)`` / ``str_split`` (sqlglot wrote ``split``, which PostgreSQL
    lacks) as ``string_to_array(s, sep)``, for a literal ``sep`` that is not empty (an empty
    one splits into characters in DuckDB, not there)."""
    sep = node.expression
    if not (isinstance(sep, exp.Literal) and sep.is_string and sep.this):
        return node
    split = exp.Anonymous(this="STRING_TO_ARRAY", expressions=[node.this.copy(), sep.copy()])
    # '' is [''] in DuckDB, an empty array there
    empty = exp.EQ(this=node.this.copy(), expression=exp.Literal.string(""))
    one = exp.Array(
        expressions=[exp.Cast(this=exp.Literal.string(""), to=exp.DataType.build("TEXT"))]
    )
    written = exp.Case(ifs=[exp.If(this=empty, true=one)], default=split)
    written.meta[_SPLIT] = True
    return written


_SPLIT = "retl_string_split"  # meta of the CASE _split writes: a list (_list_length)


def _list_contains(node: exp.Expr) -> exp.Expr:
    """``list_contains(l, x)`` of a NULL list is NULL in DuckDB; sqlglot's form
    (``COALESCE(x = ANY(l), FALSE)``) gave false."""
    return null_if_null(node.this, node.copy())


_LISTS = (exp.DataType.Type.ARRAY, exp.DataType.Type.LIST)


def _list_length(node: exp.Expr) -> exp.Expr:
    """The number of items of a list: ``array_length(l)`` was written ``array_length(l, 1)``,
    which is NULL for an empty array in PostgreSQL (DuckDB: 0); ``len(l)`` / ``length(l)``
    was written ``length(l)``, which PostgreSQL has for text only. Written ``CASE WHEN l IS
    NULL THEN NULL ELSE coalesce(array_length(l, 1), 0) END``; ``len`` only where the
    operand is a list by its form (a list literal, a cast to a list, ``list()``,
    ``string_split`` as written above), since a
    column's type is not known here (``length`` of an array column then fails, loudly)."""
    x = node.this
    split = bool(x.meta.get(_SPLIT)) or (
        isinstance(x, exp.Anonymous) and str(x.this).upper() == "STRING_TO_ARRAY"
    )
    cast = isinstance(x, exp.Cast | exp.TryCast) and x.to.this in _LISTS
    listed = isinstance(x, exp.Array | exp.ArrayAgg) or split or cast
    if isinstance(node, exp.Length) and not listed:
        return node
    return _counted(x)


def _counted(x: exp.Expr) -> exp.Expr:
    """The number of items of the list ``x`` as DuckDB counts them (0 when empty)."""
    length = exp.Anonymous(this="ARRAY_LENGTH", expressions=[x.copy(), exp.Literal.number(1)])
    return null_if_null(x, bigint(exp.Coalesce(this=length, expressions=[exp.Literal.number(0)])))


def _json_object(node: exp.Expr) -> exp.Expr:
    """A struct (``{'content_id': sku, 'quantity': 1}``, ``struct_pack(a := x)``) as
    ``json_build_object('content_id', sku, 'quantity', 1)``: PostgreSQL has no struct with
    named fields (sqlglot wrote ``STRUCT(...)``, which failed there). A list of them (``list(...
    ORDER BY ...)``, ``[...]``) is then a ``json[]``; the engine reads json and json[] as
    JSON text and the workbench turns it back into lists and structs (``DuckDBEngine.stage``).
    A struct with an unnamed field goes as written (and fails there)."""
    pairs: list[exp.Expr] = []
    for field in node.expressions:
        if isinstance(field, (exp.PropertyEQ, exp.Alias, exp.Slice)) and field.this is not None:
            key = field.this.name if not isinstance(field, exp.Alias) else field.alias
            value = field.expression if not isinstance(field, exp.Alias) else field.this
        else:
            return node
        if not key or value is None:
            return node
        pairs += [exp.Literal.string(key), value.copy()]
    if not pairs:
        return node
    return exp.Anonymous(this="JSON_BUILD_OBJECT", expressions=pairs)


def _group_all(node: exp.Expr) -> exp.Expr | None:
    """DuckDB's ``GROUP BY ALL``: by every output column without an aggregate of its own
    query (a constant too; an aggregate inside a subquery is not its query's). PostgreSQL 15
    has no such clause (sqlglot wrote it as it is, a syntax error there): the columns by
    their positions, or no GROUP BY when every column is an aggregate (one group, as in
    DuckDB)."""
    select = node.parent
    if not (isinstance(node, exp.Group) and node.args.get("all")) or not isinstance(
        select, exp.Select
    ):
        return node
    keys = [
        exp.Literal.number(i)
        for i, column in enumerate(select.expressions, 1)
        if not _aggregates(column)
    ]
    return exp.Group(expressions=keys) if keys else None


def _aggregates(column: exp.Expr) -> bool:
    """Whether ``column`` holds an aggregate of its own query (not of a subquery's)."""
    inner = (exp.Subquery, exp.Select)
    return any(
        isinstance(n, exp.AggFunc)
        for n in column.walk(prune=lambda n: isinstance(n, inner) and n is not column)
    )


def _json_built(node: exp.Expr) -> exp.Expr:
    """DuckDB's ``json_object('k', v, ...)`` and ``json_array(a, ...)`` as PostgreSQL's
    ``json_build_object`` and ``json_build_array`` (sqlglot wrote the SQL standard's
    ``JSON_OBJECT('k': v)``, which PostgreSQL 15 cannot read, and ``JSON_ARRAY``, which it
    does not have)."""
    if isinstance(node, exp.JSONObject):
        args: list[exp.Expr] = []
        for pair in node.expressions:
            if not isinstance(pair, exp.JSONKeyValue) or pair.expression is None:
                return node
            args += [pair.this.copy(), pair.expression.copy()]
        return exp.Anonymous(this="JSON_BUILD_OBJECT", expressions=args)
    return exp.Anonymous(this="JSON_BUILD_ARRAY", expressions=[a.copy() for a in node.expressions])


def _json_operand(node: exp.Expr) -> exp.Expr:
    """``s->'k'`` / ``s->>'k'`` (and ``json_extract``): DuckDB reads a text column as JSON,
    PostgreSQL's ``json_extract_path`` takes json only (a text column failed there). The
    operand cast to json, which a json column is already (a jsonb one is converted)."""
    x = node.this
    if x is None:
        return node
    if isinstance(x, exp.Cast) and x.to.is_type("json"):
        if not isinstance(x.this, exp.Array):
            return node
        x = x.this  # a list literal: PostgreSQL casts no array to json, to_json writes one
    new = node.copy()
    if isinstance(x, exp.Array):
        new.set("this", exp.Anonymous(this="TO_JSON", expressions=[x.copy()]))
    else:
        new.set("this", exp.Cast(this=x.copy(), to=exp.DataType.build("JSON")))
    return new


_ZONE_CODE = re.compile(r"%[zZ]")


def _strptime(node: exp.Expr) -> exp.Expr:
    fmt = node.args.get("format")
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        return node
    if _ZONE_CODE.search(fmt.this.replace("%%", "")):
        return node
    return exp.Paren(this=exp.AtTimeZone(this=node.copy(), zone=exp.Literal.string("UTC")))


_REWRITES: dict[type[exp.Expr], Callable[[exp.Expr], exp.Expr | None]] = {
    exp.Struct: _json_object,
    exp.Transform: pg_lists.list_transform,
    exp.ArrayFilter: pg_lists.list_filter,
    exp.AnyValue: _picked,
    exp.IgnoreNulls: _picked,
    exp.Glob: pg_lists.glob,
    exp.ArrayMin: pg_lists.array_extreme,
    exp.ArraySort: pg_lists.list_sort,
    exp.Bracket: pg_lists.negative_index,
    exp.JSONExtract: _json_operand,
    exp.JSONObject: _json_built,
    exp.Group: _group_all,
    exp.JSONArray: _json_built,
    exp.JSONExtractScalar: _json_operand,
    exp.DateDiff: pg_date_diff,
    exp.ArrayMax: pg_lists.array_extreme,
    exp.Round: _round,
    exp.Substring: _substring,
    exp.TimeToStr: _strftime,
    exp.StrToTime: _strptime,
    exp.Extract: _whole_seconds,
    exp.Anonymous: _anonymous,  # date_part('second', t), and _NAMED
    exp.UnixToTime: _epoch_ms,
    exp.DateTrunc: _date_trunc,
    exp.TimestampTrunc: _date_trunc,
    exp.DateFromParts: _make_date,
    exp.RegexpExtract: _regexp_extract,
    exp.RegexpFullMatch: _full_match,
    exp.Split: _split,
    exp.ArrayContains: _list_contains,
    exp.First: _picked,
    exp.ArgMax: _picked,
    exp.ArgMin: _picked,
    exp.ArraySize: _list_length,
    exp.Length: _list_length,
    **dict.fromkeys(
        (*_PARTS, exp.Second, exp.Dayname, exp.Monthname, exp.Contains, exp.EndsWith), _missing
    ),
}


def typed_meanings(tree: exp.Expr, dialect: str, table_types: TableTypes) -> exp.Expr:
    """What ``duckdb_meanings`` leaves for want of the operand's type, by the column types
    of PostgreSQL's catalog (``table_types``): ``epoch_ms`` of a date or timestamp column
    (its milliseconds, where sqlglot wrote milliseconds to a timestamp, which failed there)
    and ``len``/``length`` of a list column (its number of items; ``length`` takes text
    there). An interval divided by a number (``(ts - ts) / 2``) stays a division: sqlglot
    writes DuckDB's ``/`` as one of DOUBLE PRECISIONs (its ``1 / 2`` is 0.5), and PostgreSQL
    cannot cast an interval to one. DuckDB's ``//`` (sqlglot wrote PostgreSQL's ``div``, a
    NUMERIC: 2500.0 in a payload where DuckDB's ``5001 // 2`` is 2500) of integers is an
    integer: ``CAST(div(a, b) AS BIGINT)``; of a DOUBLE or DECIMAL it is DuckDB's division
    of DOUBLEs (``5.5 // 2`` is 2.75; ``div`` gave 2, or failed for a DOUBLE): ``/``. Where
    the types cannot be found, the query goes as it is. Changed in place."""
    for node, twin in typed_pairs(tree, _typed_candidates, dialect, table_types):
        if isinstance(node, exp.IntDiv):
            _int_div(node, twin)
            continue
        seen = twin.this
        kind = seen.type.this if seen is not None and seen.type is not None else None
        if isinstance(node, exp.UnixToTime) and kind in POINTS_IN_TIME:
            wrap = node.parent.parent if node.parent is not None else None
            at = wrap if wrap is not None and wrap.meta.get(_WALL_TIME) else node
            at.replace(_epoch_scaled(node.this, 3))
        elif isinstance(node, exp.DateTrunc | exp.TimestampTrunc):
            if kind == exp.DataType.Type.DATE:
                _as_timestamp(node)
        elif isinstance(node, exp.Length) and kind in _LISTS:
            node.replace(_counted(node.this))
        elif isinstance(node, exp.Div) and kind == exp.DataType.Type.INTERVAL:
            node.set("typed", True)  # PostgreSQL's own interval / number
    return tree


_T = exp.DataType.Type
# Integer types whose every value a BIGINT holds (PostgreSQL has no unsigned or HUGEINT).
_BIGINT_WIDE = {_T.TINYINT, _T.SMALLINT, _T.INT, _T.BIGINT, _T.UTINYINT, _T.USMALLINT, _T.UINT}
_FRACTIONAL = {_T.DOUBLE, _T.FLOAT, _T.DECIMAL}


def _int_div(node: exp.Expr, twin: exp.Expr) -> None:
    """DuckDB's ``a // b`` (``node``) by the type sqlglot gives it (``twin``)."""
    kind = twin.type.this if twin.type is not None else None
    if kind in _BIGINT_WIDE:
        node.replace(bigint(node.copy()))
    elif kind in _FRACTIONAL:
        node.replace(exp.Div(this=node.this.copy(), expression=node.expression.copy()))


def _typed_candidates(tree: exp.Expr) -> list[exp.Expr]:
    return [
        n
        for n in tree.find_all(
            exp.UnixToTime, exp.Length, exp.Div, exp.IntDiv, exp.DateTrunc, exp.TimestampTrunc
        )
        if not isinstance(n, exp.UnixToTime) or is_epoch_ms(n)
    ]

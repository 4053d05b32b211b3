"""DuckDB's (and PostgreSQL's) meaning of functions whose Spark SQL form, as sqlglot writes
it, gives other values: written for Spark with that meaning, or refused by name
(``SparkEngine.transpile``; the values are checked by tests/portable_exprs.py). Numbers
whose rewrite needs the operands' types are in ``spark_numbers.py``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from reverse_etl.engine import spark_lists
from reverse_etl.engine.date_diff import spark_date_diff
from reverse_etl.engine.portable import (
    bigint,
    is_epoch_ms,
    is_time_value,
    none_null,
    null_if_null,
    strftime_format,
)
from reverse_etl.engine.spark_json import json_as_duckdb
from reverse_etl.engine.stars import star_modifier
from reverse_etl.errors import EngineError


def duckdb_meanings(tree: exp.Expr) -> exp.Expr:
    """``tree`` (a DuckDB- or PostgreSQL-dialect statement) with the functions below written
    for Spark as DuckDB means them; raises EngineError for those Spark SQL cannot say."""
    _refuse_regexp_differences(tree)
    _refuse_times_of_day(tree)
    _refuse_star_replace(tree)
    _refuse_date_diff(tree)
    spark_lists.refuse_unordered_distinct(tree)
    _lists_as_written(tree)
    _picks_as_written(tree)
    return (
        tree.transform(_weekday_as_written)
        .transform(_log_as_written)
        .transform(_names_as_written)
        .transform(_week_as_written)
        .transform(_ends_as_written)
        .transform(_times_as_written)
        .transform(_strftime_as_written)
        .transform(_named_as_written)
        .transform(spark_lists.lists_as_written)
        .transform(_json_as_text)
        .transform(json_as_duckdb)
    )


# The dialects whose meaning of the functions below was checked against Spark's (a MySQL
# model's weekday() or log() means something else again): others go as sqlglot writes them.
CHECKED_DIALECTS = frozenset({"duckdb", "postgres"})

# The day of the week, as DuckDB and PostgreSQL number it (Sunday 0 ... Saturday 6, or ISO:
# Monday 1 ... Sunday 7): the part names of extract / date_part, and DuckDB's functions.
_DOW_PARTS = frozenset({"dow", "dayofweek", "weekday"})
_ISODOW_PARTS = frozenset({"isodow"})


def _weekday_as_written(node: exp.Expr) -> exp.Expr:
    """A day-of-week number as the model's dialect gives it. sqlglot writes DuckDB's
    ``dayofweek(d)`` (Sunday 0) as Spark's ``DAYOFWEEK(d)`` (Sunday 1), ``extract(dow ...)``
    as Spark's (Sunday 1 too), ``weekday(d)`` (Sunday 0) as Spark's ``WEEKDAY`` (Monday 0),
    and ``isodow`` through the Sunday-0 formula over Spark's Sunday-1 function: every one a
    day off, silently. Here each is Spark's ``DAYOFWEEK(d) - 1`` or ``WEEKDAY(d) + 1``."""
    day: exp.Expr | None = None
    part: str | None = None
    if isinstance(node, exp.DayOfWeek):
        day, part = node.this, "dow"
    elif isinstance(node, exp.DayOfWeekIso):
        day, part = node.this, "isodow"
    elif isinstance(node, exp.Extract) and isinstance(node.this, exp.Var | exp.Literal):
        day, part = node.expression, node.this.name.lower()
    elif isinstance(node, exp.Anonymous) and str(node.this).lower() in _DOW_PARTS:
        day, part = (node.expressions[0] if len(node.expressions) == 1 else None), "dow"
    elif isinstance(node, exp.Anonymous) and str(node.this).lower() == "date_part":
        args = node.expressions
        if len(args) == 2 and isinstance(args[0], exp.Literal) and args[0].is_string:
            day, part = args[1], args[0].name.lower()
    if day is None or part is None:
        return node
    if part in _DOW_PARTS:
        spark = exp.Anonymous(this="DAYOFWEEK", expressions=[day.copy()])
        return exp.Paren(this=exp.Sub(this=spark, expression=exp.Literal.number(1)))
    if part in _ISODOW_PARTS:
        spark = exp.Anonymous(this="WEEKDAY", expressions=[day.copy()])
        return exp.Paren(this=exp.Add(this=spark, expression=exp.Literal.number(1)))
    return node


def _log_as_written(node: exp.Expr) -> exp.Expr:
    """``log(x)`` is the logarithm to base 10 in DuckDB and PostgreSQL, the natural one in
    Spark (sqlglot writes it unchanged): written ``LOG10(x)``, as is ``log10(x)`` (sqlglot
    wrote ``LOG(10, x)``, which Spark computes as a quotient: 2.9999999999999996 for
    ``log10(1000)``, where DuckDB gives 3)."""
    if not isinstance(node, exp.Log):
        return node
    if node.expression is None:
        x = node.this
    elif isinstance(node.this, exp.Literal) and node.this.name == "10":
        x = node.expression
    else:
        return node
    return exp.Anonymous(this="LOG10", expressions=[x.copy()])


def _week_as_written(node: exp.Expr) -> exp.Expr:
    """DuckDB's ``week(d)`` is the ISO week; Spark has no ``WEEK`` function (sqlglot writes
    it so, and it failed): ``WEEKOFYEAR(d)``, Spark's ISO week."""
    if isinstance(node, exp.Week) and node.args.get("mode") is None:
        return exp.Anonymous(this="WEEKOFYEAR", expressions=[node.this.copy()])
    return node


def _names_as_written(node: exp.Expr) -> exp.Expr:
    """DuckDB's ``dayname(d)`` and ``monthname(d)`` are the whole English names ('Sunday',
    'March'); Spark's functions of those names give three letters ('Sun', 'Mar'): written
    ``DATE_FORMAT(d, 'EEEE')`` and ``DATE_FORMAT(d, 'MMMM')``."""
    if isinstance(node, exp.Dayname | exp.Monthname):
        pattern = "EEEE" if isinstance(node, exp.Dayname) else "MMMM"
        return exp.Anonymous(
            this="DATE_FORMAT", expressions=[node.this.copy(), exp.Literal.string(pattern)]
        )
    return node


# DuckDB's strftime codes that Spark's date_format writes the same way (English names).
SPARK_FORMAT = {
    "%Y": "yyyy",
    "%y": "yy",
    "%m": "MM",
    "%d": "dd",
    "%H": "HH",
    "%I": "hh",
    "%M": "mm",
    "%S": "ss",
    "%f": "SSSSSS",
    "%p": "a",
    "%j": "DDD",
    "%b": "MMM",
    "%a": "EEE",
    "%B": "MMMM",
    "%A": "EEEE",
    "%-d": "d",
    "%-m": "M",
    "%-H": "H",
    "%-I": "h",
    "%-M": "m",
    "%-S": "s",
    "%-j": "D",
}


def _strftime_as_written(node: exp.Expr) -> exp.Expr:
    """``strftime(t, format)`` with a literal format: sqlglot leaves its literal text bare,
    and Spark reads letters as patterns ('order-%Y' fails, a ``T`` fails). Written with each
    run of literal text in one pair of quotes; a format with a code Spark has no counterpart
    for (``%U``, ``%u``, ``%V``, ``%z``, ...) or a lone ``%`` goes as sqlglot writes it."""
    fmt = node.args.get("format") if isinstance(node, exp.TimeToStr) else None
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        return node
    pattern = strftime_format(fmt.this, SPARK_FORMAT, _spark_literal)
    if pattern is None:
        return node
    return exp.Anonymous(
        this="DATE_FORMAT", expressions=[node.this.copy(), exp.Literal.string(pattern)]
    )


def _spark_literal(text: str) -> str:
    """Literal text in a Spark datetime pattern: quoted, a quote doubled."""
    return "'" + text.replace("'", "''") + "'"


def _times_as_written(node: exp.Expr) -> exp.Expr:
    """Seconds as DuckDB counts them. ``epoch(t)`` is a DOUBLE with the fraction in DuckDB
    (1710497472.5), Spark's ``unix_timestamp`` whole seconds: written ``UNIX_MICROS(CAST(t
    AS TIMESTAMP)) / 1000000``. ``to_timestamp(x)`` keeps the fraction of ``x`` in DuckDB,
    sqlglot's ``FROM_UNIXTIME`` drops it: ``TIMESTAMP_SECONDS(x)``. ``extract(second from
    t)`` and ``date_part('second', t)`` are whole seconds in DuckDB, with the fraction in
    Spark: ``SECOND(t)``."""
    if isinstance(node, exp.TimeToUnix):
        return _epoch_seconds(node.this)
    if isinstance(node, exp.UnixToTime):
        scale = node.args.get("scale")
        if scale is None:
            return exp.Anonymous(this="TIMESTAMP_SECONDS", expressions=[node.this.copy()])
        if is_epoch_ms(node) and is_time_value(node.this):
            # sqlglot reads epoch_ms(x) as milliseconds to a timestamp; of a date or
            # timestamp DuckDB gives its milliseconds. Here by the operand's form; a column
            # by its type, in spark_numbers.py.
            return epoch_millis(node.this)
        return node
    of, part = _date_part(node)
    if of is None:
        return node
    if part == "epoch":
        return _epoch_seconds(of)
    if part == "second":
        return exp.Anonymous(this="SECOND", expressions=[of.copy()])
    return node


def _date_part(node: exp.Expr) -> tuple[exp.Expr | None, str]:
    """The operand and part of ``extract(part from t)`` or ``date_part('part', t)``."""
    if isinstance(node, exp.Extract) and isinstance(node.this, exp.Var | exp.Literal):
        return node.expression, node.this.name.lower()
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "date_part":
        args = node.expressions
        if len(args) == 2 and isinstance(args[0], exp.Literal) and args[0].is_string:
            return args[1], args[0].name.lower()
    return None, ""


def list_size(x: exp.Expr) -> exp.Expr:
    """The number of items of the list ``x``, NULL for a NULL list: Spark's ``size()`` of a
    NULL is -1 unless it runs in ANSI mode."""
    return null_if_null(x, bigint(exp.Anonymous(this="SIZE", expressions=[x.copy()])))


def epoch_millis(t: exp.Expr) -> exp.Expr:
    """DuckDB's ``epoch_ms`` of the date or timestamp ``t``: its microseconds divided as
    integers (toward zero, as DuckDB: -0.5 ms is 0 ms)."""
    return exp.Paren(this=exp.IntDiv(this=_micros(t), expression=exp.Literal.number(1000)))


def _micros(t: exp.Expr) -> exp.Expr:
    as_timestamp = exp.Cast(this=t.copy(), to=exp.DataType.build("TIMESTAMP"))
    return exp.Anonymous(this="UNIX_MICROS", expressions=[as_timestamp])


def _epoch_seconds(t: exp.Expr) -> exp.Expr:
    """DuckDB's ``epoch(t)``: seconds with their fraction, a DOUBLE."""
    return exp.Paren(this=exp.Div(this=_micros(t), expression=exp.Literal.number(1_000_000)))


def _iso_year(d: exp.Expr) -> exp.Expr:
    """The ISO year of ``d``: the year of its week's Thursday (Spark's WEEKDAY: Monday 0)."""
    day = exp.Cast(this=d.copy(), to=exp.DataType.build("DATE"))
    back = exp.Sub(
        this=exp.Literal.number(3), expression=exp.Anonymous(this="WEEKDAY", expressions=[day])
    )
    thursday = exp.Anonymous(this="DATE_ADD", expressions=[day.copy(), back])
    return exp.Anonymous(this="YEAR", expressions=[thursday])


def _second_fraction(t: exp.Expr, scale: int) -> exp.Expr:
    """Seconds of the minute, fraction included (Spark's ``extract``), in 10^-scale s."""
    seconds = exp.Extract(this=exp.Var(this="SECOND"), expression=t.copy())
    scaled = exp.Mul(this=seconds, expression=exp.Literal.number(10**scale))
    return bigint(exp.Floor(this=scaled))


def _replaced(x: exp.Expr, old: str, new: str) -> exp.Expr:
    return exp.Anonymous(
        this="REPLACE", expressions=[x, exp.Literal.string(old), exp.Literal.string(new)]
    )


def _url_encoded(x: exp.Expr) -> exp.Expr:
    """DuckDB's url_encode (RFC 3986: ``%20`` for a space, ``*`` encoded, ``~`` not) from
    Spark's (Java's form encoding: ``+``, ``*`` kept, ``%7E``). A ``+`` of the input is
    ``%2B`` in both, so every ``+`` of Spark's text is a space; ``%7E`` can only be a ``~``
    (a ``%`` of the input is ``%25``)."""
    spark = exp.Anonymous(this="URL_ENCODE", expressions=[x.copy()])
    return _replaced(_replaced(_replaced(spark, "+", "%20"), "*", "%2A"), "%7E", "~")


# DuckDB functions sqlglot leaves by name and Spark has none of, in Spark's words; ``x`` is
# the one argument.
_NAMED: dict[str, Callable[[exp.Expr], exp.Expr]] = {
    "isoyear": lambda x: bigint(_iso_year(x)),
    "yearweek": lambda x: bigint(
        exp.Add(
            this=exp.Mul(this=_iso_year(x), expression=exp.Literal.number(100)),
            expression=exp.Anonymous(this="WEEKOFYEAR", expressions=[x.copy()]),
        )
    ),
    "strlen": lambda x: bigint(exp.Anonymous(this="OCTET_LENGTH", expressions=[x.copy()])),
    "epoch_us": _micros,
    "epoch_ns": lambda x: exp.Mul(this=_micros(x), expression=exp.Literal.number(1000)),
    "millisecond": lambda x: _second_fraction(x, 3),
    "microsecond": lambda x: _second_fraction(x, 6),
    "url_encode": _url_encoded,
    # Spark's decodes '+' as a space (form encoding), DuckDB's keeps it
    "url_decode": lambda x: exp.Anonymous(
        this="URL_DECODE", expressions=[_replaced(x.copy(), "+", "%2B")]
    ),
}


def _named_as_written(node: exp.Expr) -> exp.Expr:
    """``isoyear``, ``yearweek`` (ISO year * 100 + ISO week), ``strlen`` (bytes),
    ``epoch_us``/``epoch_ns`` and ``millisecond``/``microsecond`` (of the minute, seconds
    included): DuckDB functions Spark lacks (sqlglot wrote them by name; they failed).
    ``url_encode``/``url_decode``: Spark's have the same names and form encoding's
    meaning (a space is ``+``), silently: written with DuckDB's. A map literal, ``MAP {'a':
    1}``: sqlglot wrote ``MAP STRUCT(1 AS a)``, which Spark cannot read (nor retl's check of
    the text it wrote): Spark's ``MAP('a', 1)``."""
    if isinstance(node, exp.ToMap):
        return _map_literal(node)
    if isinstance(node, exp.RegexpFullMatch):
        return _full_match(node)
    if isinstance(node, exp.ArraySize):
        return list_size(node.this)
    if isinstance(node, exp.Split):
        return _split_characters(node)
    if not isinstance(node, exp.Anonymous):
        return node
    name = str(node.this).lower()
    if name == "regexp_split_to_array" and len(node.expressions) == 2:
        # DuckDB's alias of string_split_regex: Spark's split (a Java regular expression)
        text, pattern = (e.copy() for e in node.expressions)
        return exp.RegexpSplit(this=text, expression=pattern)
    if len(node.expressions) != 1:
        return node
    rewrite = _NAMED.get(name)
    return node if rewrite is None else rewrite(node.expressions[0])


def _map_literal(node: exp.ToMap) -> exp.Expr:
    """DuckDB's ``MAP {k: v, ...}`` (a struct of key = value pairs in sqlglot's tree) as
    Spark's ``MAP(k, v, ...)``, its keys and values rewritten too; ``MAP {...}[k]``, which
    sqlglot reads as the map of ``{...}[k]``, as ``TRY_ELEMENT_AT(MAP(...), k)`` (a key, not
    a list's position from 1: NULL for a missing key, as in DuckDB). As it is (and refused
    by the check) in any other form."""
    inner, index = node.this, None
    if isinstance(inner, exp.Bracket) and isinstance(inner.this, exp.Struct):
        index, inner = inner, inner.this
    pairs = inner.expressions if isinstance(inner, exp.Struct) else None
    if pairs is None or not all(isinstance(p, exp.PropertyEQ) for p in pairs):
        return node

    def written(x: exp.Expr) -> exp.Expr:
        return x.copy().transform(_named_as_written)

    made = exp.VarMap(
        keys=exp.Array(expressions=[written(p.this) for p in pairs]),
        values=exp.Array(expressions=[written(p.expression) for p in pairs]),
    )
    if index is None:
        return made
    if len(index.expressions) != 1 or isinstance(index.expressions[0], exp.Slice):
        return node
    key = written(index.expressions[0])
    return exp.Anonymous(this="TRY_ELEMENT_AT", expressions=[made, key])


def _full_match(node: exp.Expr) -> exp.Expr:
    """``regexp_full_match(s, p)`` (Spark has none): ``s RLIKE '^(?:p)\\z'``. ``\\z``,
    not ``$``: Java's ``$`` also matches before a final line break, RE2's does not."""
    pattern = node.expression
    if isinstance(pattern, exp.Literal) and pattern.is_string:
        anchored: exp.Expr = exp.Literal.string(f"^(?:{pattern.this})\\z")
    else:
        anchored = exp.Concat(
            expressions=[
                exp.Literal.string("^(?:"),
                pattern.copy(),
                exp.Literal.string(")\\z"),
            ]
        )
    return exp.Paren(this=exp.RegexpLike(this=node.this.copy(), expression=anchored))


def _split_characters(node: exp.Expr) -> exp.Expr:
    """``string_split(s, '')`` splits into characters in DuckDB ('' gives ['']); Spark's
    ``split`` by an empty pattern adds a trailing ''. Written with ``regexp_extract_all``
    of each character. Other separators go as sqlglot writes them (a quoted pattern)."""
    sep = node.expression
    if not (isinstance(sep, exp.Literal) and sep.is_string and sep.this == ""):
        return node
    text = node.this
    chars = exp.Anonymous(
        this="REGEXP_EXTRACT_ALL",
        expressions=[text.copy(), exp.Literal.string("(?s)."), exp.Literal.number(0)],
    )
    empty = exp.EQ(this=text.copy(), expression=exp.Literal.string(""))
    one = exp.Array(expressions=[exp.Literal.string("")])
    return exp.Case(ifs=[exp.If(this=empty, true=one)], default=chars)


def _json_as_text(node: exp.Expr) -> exp.Expr:
    """``x::json``: Spark has no JSON type, and its JSON functions read text; sqlglot wrote
    ``to_json(x)``, which fails for a text (``'{"a": 1}'::json->>'a'`` failed). The text
    itself; a struct, list or map by its form (``{'a': 1}::json``) stays ``to_json``."""
    if isinstance(node, exp.Cast) and node.to.is_type("json") and node.this is not None:
        text: exp.Expr = node.this
        if isinstance(text, exp.Struct | exp.Array | exp.Map | exp.VarMap):
            return node
        return text.copy()
    return node


def _ends_as_written(node: exp.Expr) -> exp.Expr:
    """DuckDB's ``left(s, n)`` with a negative ``n`` is ``s`` less its last ``-n``
    characters (``right(s, n)``: less its first), where Spark's gives ''. Unless ``n`` is a
    literal of at least 0, written with ``SUBSTRING`` for a negative ``n``."""
    if not isinstance(node, exp.Left | exp.Right):
        return node
    n = node.expression
    if isinstance(n, exp.Literal) and n.is_int:
        return node
    text = node.this
    kept = exp.Greatest(
        this=exp.Add(this=exp.Length(this=text.copy()), expression=exp.Paren(this=n.copy())),
        expressions=[exp.Literal.number(0)],
    )
    if isinstance(node, exp.Left):
        shorter = exp.Substring(this=text.copy(), start=exp.Literal.number(1), length=kept)
    else:  # from character 1 - n
        after = exp.Sub(this=exp.Literal.number(1), expression=exp.Paren(this=n.copy()))
        shorter = exp.Substring(this=text.copy(), start=exp.Paren(this=after))
    negative = exp.LT(this=n.copy(), expression=exp.Literal.number(0))
    return exp.Case(ifs=[exp.If(this=negative, true=shorter)], default=node.copy())


def _refuse_date_diff(tree: exp.Expr) -> None:
    """Spark's ``datediff(unit, a, b)`` counts whole units from ``a`` to ``b``; DuckDB's and
    PostgreSQL's ``date_diff`` count the unit's boundaries crossed (31 January to 1 March:
    1 month in Spark, 2 in DuckDB; 23:00 to 01:00 the next day: 0 days, 1). Each part
    DuckDB counts is written as it counts (``date_diff.spark_date_diff``); another part
    (``decade``) is refused."""
    for node in list(tree.find_all(exp.DateDiff)):
        new = spark_date_diff(node)
        if new is node:
            raise EngineError(
                "date_diff counts otherwise in Spark: DuckDB counts the boundaries crossed "
                "(31 January to 1 March: 2 months), Spark whole units (1 month)",
                hint="count in a part retl writes for Spark (year, quarter, month, week, day, "
                "hour ... microsecond), or write the model in Spark SQL "
                "(config(dialect='spark')) and say which count you mean there",
            )
        node.replace(new)


_TIMES_OF_DAY = (exp.DataType.Type.TIME, exp.DataType.Type.TIMETZ)


def _refuse_star_replace(tree: exp.Expr) -> None:
    """``SELECT * REPLACE (...)`` (and ``RENAME``): Spark SQL has no such form (sqlglot
    wrote it as it is, a syntax error there). ``* EXCLUDE`` is Spark's ``* EXCEPT``."""
    word = star_modifier(tree, ("replace", "rename"))  # one stars_expanded could not write out
    if word is not None:
        raise EngineError(
            f"SELECT * {word} (...) has no Spark SQL form (sqlglot would write it as it is, "
            "a syntax error there)",
            hint="list the columns the model selects (SELECT * EXCLUDE (...) is Spark's * EXCEPT)",
        )


def _refuse_times_of_day(tree: exp.Expr) -> None:
    """Spark has no time-of-day type: sqlglot wrote DuckDB's ``TIME`` as a TIMESTAMP, so
    ``time '10:11:12'`` or ``x::time`` became today's date at that time, silently (a
    ``make_time`` or ``current_time`` fails there). Refused by name."""
    for node in tree.find_all(exp.Cast, exp.TryCast, exp.TimeFromParts, exp.CurrentTime):
        if isinstance(node, exp.Cast | exp.TryCast) and node.to.this not in _TIMES_OF_DAY:
            continue
        raise EngineError(
            f"{node.sql('duckdb')}: Spark has no TIME type (sqlglot would write a timestamp "
            "of today's date)",
            hint="keep the time of day as text, e.g. strftime(t, '%H:%M:%S'), or as a timestamp",
        )


def _refuse_regexp_differences(tree: exp.Expr) -> None:
    """``regexp_replace`` as DuckDB and PostgreSQL mean it that Spark SQL cannot say:
    without the ``'g'`` option they replace the first match only, where Spark's replaces
    every match; other options (``'i'``) sqlglot drops on the way. Refused by name."""
    for node in tree.find_all(exp.RegexpReplace):
        modifiers = node.args.get("modifiers")
        options = modifiers.name if isinstance(modifiers, exp.Literal) else ""
        if node.args.get("single_replace") and "g" not in options:
            raise EngineError(
                "regexp_replace without the 'g' option replaces the first match only, and "
                "Spark's replaces every match: the model would send other values from Spark",
                hint="add 'g' to replace every match (regexp_replace(s, pattern, "
                "replacement, 'g')), or write the model in Spark SQL",
            )
        if set(options) - {"g"}:
            raise EngineError(
                f"regexp_replace's options '{options}' have no Spark SQL form (Spark takes "
                "every match, and no options)",
                hint="write them inside the pattern instead, e.g. (?i) at its start for 'i'",
            )


# The lambdas' parameters: names no model's table or column takes (``s``, ``l`` and ``r``
# were a model's alias as often as not, and sqlglot's qualify() then failed on the whole
# query, which dropped every rewrite that needs the operands' types: spark_numbers).
_ITEM, _LEFT, _RIGHT = "__retl_item", "__retl_left", "__retl_right"


def _lists_as_written(tree: exp.Expr) -> None:
    """``list(x ORDER BY k)`` / ``array_agg(...)`` as DuckDB and PostgreSQL mean it. sqlglot
    writes Spark's ``COLLECT_LIST(x)``, which drops the ORDER BY (the list comes in whatever
    order the partitions give: a model's ``contents`` could change order, and so its row
    hash, from one sync to the next), drops NULL elements, and gives ``[]`` for no rows
    (DuckDB: NULL). Written: ``COLLECT_LIST`` of ``NAMED_STRUCT('k0', k, ..., 'v', x)``
    (NULL ``x`` kept), sorted by a comparator of the keys (ASC/DESC, NULLS FIRST/LAST as
    the model's dialect read them), each element's ``v`` taken back, NULL when empty. A
    ``FILTER`` or ``OVER`` stays on the aggregate. ``list(DISTINCT x)`` goes as written.
    Changed in place."""
    for node in list(tree.find_all(exp.ArrayAgg)):
        _collected(node, first_only=False)


def _collected(node: exp.Expr, *, first_only: bool) -> None:
    """``node`` (an ArrayAgg) as ``_lists_as_written`` says, or its first element's ``v``."""
    inner = node.this
    keys: list[exp.Ordered] = []
    if isinstance(inner, exp.Order):
        keys = [k for k in inner.expressions if isinstance(k, exp.Ordered)]
        if len(keys) != len(inner.expressions):
            return
        inner = inner.this
    if isinstance(inner, exp.Distinct) or inner is None:
        return
    fields: list[exp.Expr] = []
    for i, key in enumerate(keys):
        fields += [exp.Literal.string(f"k{i}"), key.this.copy()]
    fields += [exp.Literal.string("v"), inner.copy()]
    collect = exp.Anonymous(
        this="COLLECT_LIST",
        expressions=[exp.Anonymous(this="NAMED_STRUCT", expressions=fields)],
    )
    unit: exp.Expr = node
    if isinstance(unit.parent, exp.Filter) and unit.arg_key == "this":
        unit = unit.parent
    if isinstance(unit.parent, exp.Window) and unit.arg_key == "this":
        unit = unit.parent
    collected = _with_aggregate(unit, node, collect)
    ordered = collected.copy()
    if keys:
        ordered = exp.Anonymous(this="ARRAY_SORT", expressions=[ordered, _comparator(keys)])
    if first_only:  # first(x ORDER BY k): the first element's v
        first = exp.Anonymous(this="ELEMENT_AT", expressions=[ordered, exp.Literal.number(1)])
        values: exp.Expr = exp.Dot(this=first, expression=exp.to_identifier("v"))
    else:
        s_ = exp.to_identifier(_ITEM)
        lam = exp.Lambda(this=exp.column("v", table=_ITEM), expressions=[s_])
        values = exp.Anonymous(this="TRANSFORM", expressions=[ordered, lam])
    empty = exp.EQ(
        this=exp.Anonymous(this="SIZE", expressions=[collected.copy()]),
        expression=exp.Literal.number(0),
    )
    unit.replace(exp.Case(ifs=[exp.If(this=empty, true=exp.Null())], default=values))


def _picks_as_written(tree: exp.Expr) -> None:
    """``arg_max(x, y)`` / ``arg_min`` / ``max_by`` / ``min_by``: DuckDB's skip the rows
    whose ``x`` or ``y`` is NULL, Spark's ``MAX_BY`` gives a NULL ``x`` when its row wins:
    a FILTER skips them (joined with the call's own). ``first(x ORDER BY k)``, which Spark
    SQL cannot parse, is the first ``v`` of the sorted list ``_lists_as_written`` builds
    (NULL ``x`` included, as DuckDB's). Changed in place."""
    for node in list(tree.find_all(exp.ArgMax, exp.ArgMin)):
        x, y = node.this, node.expression
        if x is None or y is None or node.args.get("count") is not None:
            continue  # arg_max(x, y, n), a list of the top n: as written
        skip = none_null(x, y)
        parent = node.parent
        if isinstance(parent, exp.Filter) and node.arg_key == "this":
            where = parent.expression.this
            parent.expression.set("this", exp.and_(exp.Paren(this=where.copy()), skip))
        else:
            node.replace(exp.Filter(this=node.copy(), expression=exp.Where(this=skip)))
    for node in list(tree.find_all(exp.First)):
        order = node.this
        if not isinstance(order, exp.Order) or not all(
            isinstance(k, exp.Ordered) for k in order.expressions
        ):
            continue
        as_list = exp.ArrayAgg(this=order.copy())
        node.replace(as_list)
        _collected(as_list, first_only=True)


def _with_aggregate(unit: exp.Expr, node: exp.Expr, aggregate: exp.Expr) -> exp.Expr:
    """A copy of ``unit`` (``node``, or the FILTER / OVER around it) with ``aggregate`` in
    ``node``'s place."""
    if unit is node:
        return aggregate
    copy = unit.copy()
    target = copy.find(exp.ArrayAgg)
    assert target is not None
    target.replace(aggregate)
    return copy


def _comparator(keys: list[exp.Ordered]) -> exp.Expr:
    """``(left, right) -> -1 / 1 / 0`` (named ``_LEFT``, ``_RIGHT``) ordering two
    NAMED_STRUCTs by their keys ``k0``, ``k1``... as the ORDER BY says (a NULL key first or
    last, as the model's dialect reads it)."""
    ifs: list[exp.If] = []
    for i, key in enumerate(keys):
        for a, b, result in ((_LEFT, _RIGHT, -1), (_RIGHT, _LEFT, 1)):
            x, y = exp.column(f"k{i}", table=a), exp.column(f"k{i}", table=b)
            less = (
                exp.GT(this=x, expression=y)
                if key.args.get("desc")
                else exp.LT(this=x, expression=y)
            )
            first, last = (x, y) if key.args.get("nulls_first") else (y, x)
            nulls = exp.And(
                this=exp.Is(this=first.copy(), expression=exp.Null()),
                expression=exp.Not(this=exp.Is(this=last.copy(), expression=exp.Null())),
            )
            before = exp.Or(this=exp.Paren(this=nulls), expression=less)
            ifs.append(exp.If(this=before, true=exp.Literal.number(result)))
    body = exp.Case(ifs=ifs, default=exp.Literal.number(0))
    return exp.Lambda(this=body, expressions=[exp.to_identifier(_LEFT), exp.to_identifier(_RIGHT)])

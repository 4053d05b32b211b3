"""Numbers on Spark as DuckDB computes them: a fraction cast to an integer, division, and
``epoch_ms`` of a column, a date minus a date, the length of a list: the rewrites that need
the operands' types.

- **A fraction cast to an integer.** DuckDB (and PostgreSQL) round it: a DECIMAL half away
  from zero (``cast(2.5 as int)`` is 3, -2.5 gives -3), a DOUBLE or FLOAT half to even (2.5
  gives 2, 3.5 gives 4). Spark truncates both (2.5 gives 2, 1.9 gives 1). Each such cast's
  operand is rounded first, the way DuckDB would: ``CASE WHEN typeof(x) LIKE 'decimal%' THEN
  round(x) ELSE bround(x) END`` (Spark's ``round`` is half up, away from zero; ``bround``
  half even). Spark folds ``typeof`` while it plans the query: one branch is computed.
- **A JSON value cast to an integer**, ``cast(j->'k' as int)``: DuckDB reads a JSON number
  as a DOUBLE and rounds it half to even (2.5 gives 2, 1e2 gives 100), ``true`` as 1 and
  ``null`` as NULL; Spark's cast of its JSON text failed for a fraction (``json_integer``:
  no types needed, the text says).
- **``epoch_ms(x)``** is DuckDB's milliseconds to a timestamp for a number and the
  milliseconds of a date or timestamp ``x``; sqlglot writes the first (``timestamp_millis``),
  which fails in Spark for a timestamp. An ``x`` typed as a date or timestamp is written as
  its microseconds ``div 1000`` (``spark_meanings.epoch_millis``).
- **A date minus a date** is a number of days (a BIGINT) in DuckDB and PostgreSQL, an
  INTERVAL in Spark: written ``CAST(DATEDIFF(a, b) AS BIGINT)``.
- **The length of a list**, ``len(l)``: sqlglot writes ``length(l)``, which Spark has for
  text only: ``size(l)`` (NULL for a NULL list).
- **The text of a timestamp with time zone**, ``CAST(t AS VARCHAR)``, ``'x' || t`` and
  ``concat('x', t)``: DuckDB writes its
  offset (``2024-03-15 10:11:12.5+00``), Spark does not: Spark's text, then
  ``date_format(t, 'x')`` (``+00`` in the UTC session retl opens).
- **Division.** DuckDB's ``/`` of two numbers is a DOUBLE: ``1.0 / 3`` is
  0.3333333333333333, ``total / quantity`` of a DECIMAL total too. Spark divides DECIMALs as
  DECIMALs (``1.0 / 3`` is 0.333333). Both operands are cast to DOUBLE first. (DuckDB
  divides two FLOATs as FLOAT; Spark then divides their DOUBLEs.)
- **``round(x, n)`` of a DOUBLE, and its cast to ``DECIMAL(p, s)``.** DuckDB computes
  ``round(x * 10^n) / 10^n`` (``round(1.005::double, 2)`` is 1.0: 1.005 * 100 is
  100.49999999999999); Spark rounds ``x``'s decimal text half up (1.01). Written as DuckDB
  computes it, where ``x`` is typed a DOUBLE (``f * 1.5`` too; a fraction literal and its
  arithmetic with DECIMALs, ``typed.decimal_in_engines``, are DECIMALs).
- **``//`` of a fraction.** DuckDB's ``//`` divides whole numbers as integers and any other
  two numbers as ``/`` does (``2.5 // 2`` is 1.25, a DOUBLE); Spark's ``DIV`` truncates
  (1): where either operand is typed a DECIMAL, DOUBLE or FLOAT, both are cast to DOUBLE and
  divided.

- **The text of a DOUBLE or FLOAT** (a cast to text, ``||``, ``concat``) is refused, with
  the fix (a cast to DECIMAL first): Spark writes Java's ``Double.toString`` (1.0E-4), and
  no Spark SQL function gives a DOUBLE's exact digits. Only while a model's own SQL is
  checked (``model_alone``, ``SparkEngine.check_model``): retl's SQL around it makes text of
  a DOUBLE column on purpose (the row hash, computed and compared in Spark only). A DECIMAL
  in ``concat`` is cast to text first (sqlglot's ``COALESCE(d, '')`` is a DOUBLE there).

A model written in DuckDB's or PostgreSQL's dialect would otherwise send other values from
Spark, silently. Each rewrite needs the operands' types: a cast of a boolean or a text must
stay as it is (``round`` of either is an error), and so must a division of an interval.
sqlglot types the operands from the tables' columns (``table_types``: Spark's catalog). It
typed ``2.5`` as a DOUBLE where both engines read a DECIMAL (DuckDB's SQL is now typed as
DuckDB types it, ``sqlglot_fixes``; PostgreSQL's is not), which is why the kind of number of
a cast's operand is left to Spark's ``typeof``. Where the types cannot be found (a table
Spark cannot describe, a query sqlglot cannot qualify), the query goes as written, and so
do a cast to an integer, a division and a subtraction (maybe of two dates) of an operand
sqlglot cannot type (``list_first(l)``, ``m['k']``; ``first(x)``, ``arg_max``,
``list_max(l)`` are typed as the value they pick): each is said (``typed.untyped_notes``),
and ``retl plan`` and ``retl sync`` warn of it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlglot import exp

from reverse_etl.engine.portable import POINTS_IN_TIME, bigint, is_epoch_ms
from reverse_etl.engine.spark_meanings import epoch_millis, list_size
from reverse_etl.engine.typed import (
    TableTypes,
    decimal_in_engines,
    model_text,
    say_untyped,
    typed_pairs,
)
from reverse_etl.errors import EngineError

_FRACTIONAL = exp.DataType.REAL_TYPES  # DOUBLE, FLOAT, DECIMAL (and other dialects' kinds)
_NUMBERS = exp.DataType.NUMERIC_TYPES
_DATES = {exp.DataType.Type.DATE, exp.DataType.Type.DATE32}
_LISTS = {exp.DataType.Type.ARRAY, exp.DataType.Type.LIST}
_TEXTS = exp.DataType.TEXT_TYPES
_ZONED = {exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ}
_DOUBLES = {exp.DataType.Type.DOUBLE}  # (a FLOAT rounds in FLOAT arithmetic in DuckDB)
_DECIMALS = {exp.DataType.Type.DECIMAL}
_BINARY = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}  # their text: refused
# Set while a model is checked alone (``model_alone``): retl's own SQL around a model makes
# text of its DOUBLE columns on purpose (the row hash's, a key's: computed and compared in
# Spark alone), so the refusal of a DOUBLE made text is the model's, not the transpile's.
_MODEL_ALONE: ContextVar[bool] = ContextVar("retl_model_alone", default=False)
_DONE = "retl_json_integer"  # a cast json_integer wrote (sqlglot's meta: copied with it)


def numbers_as_duckdb(tree: exp.Expr, dialect: str, table_types: TableTypes) -> exp.Expr:
    """``tree`` (in ``dialect``, whose numbers behave as DuckDB's) with its fraction casts
    rounded and its divisions made DOUBLE, for Spark SQL (see the module docstring). Changed
    in place, and returned."""
    for cast in list(tree.find_all(exp.Cast)):
        if cast.to.this in exp.DataType.INTEGER_TYPES and _json_text(cast.this) is not None:
            cast.replace(json_integer(cast))  # j->'k': its JSON text says what it is, no type
    for node, seen in typed_pairs(tree, _candidates, dialect, table_types):
        if isinstance(node, exp.UnixToTime):
            if _is(seen.this, POINTS_IN_TIME):
                node.replace(epoch_millis(node.this))
        elif isinstance(node, exp.Length):
            if _is(seen.this, _LISTS) or isinstance(node.this, exp.Split | exp.RegexpSplit):
                # len(l) of a list: Spark's length() takes text only
                node.replace(list_size(node.this))
        elif isinstance(node, exp.Sub):
            if _is(seen.this, _DATES) and _is(seen.expression, _DATES):
                days = exp.Anonymous(
                    this="DATEDIFF", expressions=[node.this.copy(), node.expression.copy()]
                )
                node.replace(bigint(days))
            elif _maybe_dates(seen.this, seen.expression):
                say_untyped([node], dialect)  # maybe two dates: an INTERVAL on Spark
        elif isinstance(node, exp.DPipe | exp.Concat):
            _joined_texts(node, seen, dialect)
        elif isinstance(node, exp.Round):
            if _is(seen.this, _DOUBLES) and not decimal_in_engines(seen.this):
                node.replace(_double_rounded(node.this, _digits(node)))
        elif isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DECIMAL:
            literal = isinstance(node.this, exp.Literal)  # cast(1.005 as ...): a DECIMAL
            if _is(seen.this, _DOUBLES) and not literal and not decimal_in_engines(seen.this):
                scale = _scale(node.to)
                if scale:
                    node.set("this", _double_rounded(node.this, scale))
        elif isinstance(node, exp.Cast) and node.to.this in _TEXTS:
            if _MODEL_ALONE.get() and _is(seen.this, _BINARY) and not decimal_in_engines(seen.this):
                raise _binary_text_refused(node.this, dialect)
            if _is(seen.this, _ZONED):
                node.replace(_zoned_text(node))
        elif isinstance(node, exp.Cast):
            if _is(seen.this, _FRACTIONAL):
                node.set("this", rounded(node.this))
            elif _unknown(seen.this):  # first(d), list_max(l), m['k']: maybe a fraction
                say_untyped([node], dialect)
        elif isinstance(node, exp.IntDiv):
            if _is(seen.this, _NUMBERS) and _is(seen.expression, _NUMBERS) and _fraction(seen):
                # DuckDB's // of a fraction divides (a DOUBLE); Spark's DIV truncates
                divided = exp.Div(this=_double(node.this), expression=_double(node.expression))
                node.replace(divided)
        elif _is(seen.this, _NUMBERS) and _is(seen.expression, _NUMBERS):
            node.set("this", _double(node.this))
            node.set("expression", _double(node.expression))
        elif isinstance(node, exp.Div) and (_unknown(seen.this) or _unknown(seen.expression)):
            say_untyped([node], dialect)  # maybe a division of DECIMALs
    return tree


@dataclass(eq=False)
class DoubleTextRefused(EngineError):
    """A model makes text of a DOUBLE or FLOAT, which Spark writes otherwise than DuckDB.
    ``line``: the line of the model's SQL the operand starts on, where sqlglot kept it (a
    column's name), and ``subject`` the name written there (``retl validate`` locates it in
    the model's file)."""

    subject: str | None = None


@contextmanager
def model_alone() -> Iterator[None]:
    """While open, ``numbers_as_duckdb`` refuses a DOUBLE or FLOAT made text: the SQL it
    rewrites is a model's own (``SparkEngine.check_model``), not retl's around it."""
    token = _MODEL_ALONE.set(True)
    try:
        yield
    finally:
        _MODEL_ALONE.reset(token)


def _joined_texts(node: exp.Expr, seen: exp.Expr, dialect: str) -> None:
    """The operands of ``a || b`` or ``concat(...)`` made text as DuckDB makes them: a
    DOUBLE's refused, a zoned time's with its offset, and in ``concat`` a DECIMAL's cast
    to text (sqlglot writes ``COALESCE(d, '')``, which Spark makes a DOUBLE: 0.00 gave
    '0.0', 123456789.00 '1.23456789E8')."""
    for operand, twin in _operands(node, seen):
        if _MODEL_ALONE.get() and _is(twin, _BINARY) and not decimal_in_engines(twin):
            raise _binary_text_refused(operand, dialect)
        literal = isinstance(operand, exp.Literal) and decimal_in_engines(operand)
        if isinstance(node, exp.Concat) and (_is(twin, _DECIMALS) or literal):
            operand.replace(exp.Cast(this=operand.copy(), to=exp.DataType.build("VARCHAR")))
        elif _is(twin, _ZONED):  # its text, as a cast to text (below) writes it
            text = exp.Cast(this=operand.copy(), to=exp.DataType.build("VARCHAR"))
            operand.replace(_zoned_text(text))


def _binary_text_refused(operand: exp.Expr, dialect: str) -> DoubleTextRefused:
    """The refusal of the text of a DOUBLE or FLOAT ``operand`` (cast to text, ``||``,
    ``concat``): DuckDB writes the shortest digits that read back as the same number
    (0.0001, 123456789.0, 1e+20), Spark Java's ``Double.toString`` (1.0E-4, 1.23456789E8,
    1.0E20), which Java 17 does not always make the shortest (1e23 is 9.999999999999999E22);
    no Spark SQL function gives the exact digits of a DOUBLE (each goes through that text)."""
    line, subject = _written_at(operand)
    return DoubleTextRefused(
        f"{model_text(operand, dialect)} is a DOUBLE (or FLOAT) made text, which Spark writes "
        "otherwise than DuckDB (0.0001 is 1.0E-4 there, 123456789.0 is 1.23456789E8, 1e23 "
        "is 9.999999999999999E22): an event_id or a text property built so would differ; "
        "cast it to DECIMAL(p, s) first, cast(x as decimal(18, 2)) (retl rounds it as "
        "DuckDB does), or to BIGINT for a whole number",
        hint="or write the model in Spark SQL (config(dialect='spark'))",
        line=line,
        subject=subject,
    )


def _written_at(operand: exp.Expr) -> tuple[int | None, str | None]:
    """The line of the model's SQL ``operand`` starts on and the name written there: its
    first identifier's, as sqlglot's parser placed it (kept by the rewrites' copies); none
    for an operand without one (``1e20``)."""
    for node in operand.walk():
        line = node.meta.get("line") if isinstance(node, exp.Identifier) else None
        if isinstance(line, int):
            return line, node.name
    return None, None


def _operands(node: exp.Expr, seen: exp.Expr) -> list[tuple[exp.Expr, exp.Expr]]:
    """The operands of ``a || b`` or ``concat(...)`` with their typed twins."""
    if isinstance(node, exp.DPipe):
        return [(node.this, seen.this), (node.expression, seen.expression)]
    return list(zip(node.expressions, seen.expressions, strict=False))


def _double_rounded(x: exp.Expr, digits: int) -> exp.Expr:
    """DuckDB's ``round(x, digits)`` of a DOUBLE ``x``: ``x`` times 10^digits rounded half
    away from zero, divided back (for digits below 0: divided, rounded, times). Spark's
    rounds the decimal text of ``x`` (1.005 is 1.01 there, 1.0 in DuckDB, whose 1.005 * 100
    is 100.49999999999999)."""
    power = exp.Cast(this=exp.Literal.number(10 ** abs(digits)), to=exp.DataType.build("DOUBLE"))
    if digits > 0:
        whole = exp.Round(this=exp.Mul(this=exp.Paren(this=x.copy()), expression=power))
        return exp.Paren(this=exp.Div(this=whole, expression=power.copy()))
    whole = exp.Round(this=exp.Div(this=exp.Paren(this=x.copy()), expression=power))
    return exp.Paren(this=exp.Mul(this=whole, expression=power.copy()))


def _digits(node: exp.Expr) -> int:
    """The digits of ``round(x, n)``: a whole-number literal ``n`` (else 0: as written)."""
    n = node.args.get("decimals")
    negative = isinstance(n, exp.Neg)
    if isinstance(n, exp.Neg):
        n = n.this
    if not (isinstance(n, exp.Literal) and n.is_int) or abs(int(n.name)) > 22:
        return 0
    return -int(n.name) if negative else int(n.name)


def _scale(to: exp.DataType) -> int:
    """The scale of ``DECIMAL(p, s)`` (0 if not written as a whole number up to 22)."""
    params = to.expressions
    if len(params) != 2:
        return 0
    scale = params[1].this if isinstance(params[1], exp.DataTypeParam) else params[1]
    text = scale.name if isinstance(scale, exp.Expr) else str(scale)
    return int(text) if text.isdigit() and 0 < int(text) <= 22 else 0


def rounded(x: exp.Expr) -> exp.Expr:
    """``x`` rounded as DuckDB rounds it when cast to an integer (Spark SQL)."""
    decimal = exp.Like(
        this=exp.Anonymous(this="TYPEOF", expressions=[x.copy()]),
        expression=exp.Literal.string("decimal%"),
    )
    return exp.Case(
        ifs=[exp.If(this=decimal, true=exp.Round(this=x.copy()))],
        default=exp.Anonymous(this="BROUND", expressions=[x.copy()]),
    )


def json_integer(cast: exp.Cast) -> exp.Expr:
    """``CAST(j -> 'k' AS <integer>)`` as DuckDB computes it (Spark SQL): DuckDB reads a JSON
    number as a DOUBLE, rounded half to even (2.5 gives 2, 3.5 gives 4, 1e2 gives 100), a
    whole number exactly (9007199254740993 as a BIGINT), ``true`` as 1, ``false`` as 0 and
    ``null`` as NULL; Spark's cast of the value's JSON text failed for a fraction
    ("malformed"). The text's whole numbers are cast as they are, the other numbers through
    ``bround`` of their DOUBLE; a value out of the type's range fails on both (Spark's
    CAST_OVERFLOW), and so does a quoted text, a list or an object (DuckDB too, but for a
    quoted whole number, "2", which Spark refuses). A ``try_cast`` stays one: NULL for what
    either cannot cast (Spark's cast of a quoted text's JSON to a DOUBLE failed the model)."""
    text = _json_text(cast.this)
    assert text is not None
    to = cast.to
    safe = isinstance(cast, exp.TryCast)

    def as_type(x: exp.Expr, to: exp.DataType) -> exp.Cast:
        # (a TryCast without safe is written as a CAST in Spark SQL)
        return exp.TryCast(this=x, to=to, safe=True) if safe else exp.Cast(this=x, to=to)

    def typed(x: exp.Expr) -> exp.Expr:
        done = as_type(x, to.copy())
        done.meta[_DONE] = True  # not a candidate again (_candidates)
        return done

    def when(condition: exp.Expr, value: exp.Expr) -> exp.If:
        return exp.If(this=condition, true=value)

    def rlike(pattern: str) -> exp.Expr:
        return exp.RegexpLike(this=text.copy(), expression=exp.Literal.string(pattern))

    def equals(word: str) -> exp.Expr:
        return exp.EQ(this=text.copy(), expression=exp.Literal.string(word))

    double = as_type(text.copy(), exp.DataType.build("DOUBLE"))
    return exp.Case(
        ifs=[
            when(rlike("^-?[0-9]+$"), typed(text.copy())),
            when(equals("true"), typed(exp.Literal.number(1))),
            when(equals("false"), typed(exp.Literal.number(0))),
            when(equals("null"), typed(exp.Null())),
        ],
        default=typed(exp.Anonymous(this="BROUND", expressions=[double])),
    )


def _json_text(x: exp.Expr) -> exp.Expr | None:
    """The JSON text ``x`` is (``TO_JSON(VARIANT_GET(...))``: what ``spark_json`` writes
    for ``j -> 'k'``), else None."""
    while isinstance(x, exp.Paren):
        x = x.this
    if not (isinstance(x, exp.Anonymous) and str(x.this).upper() == "TO_JSON"):
        return None
    args = x.expressions
    inner = args[0] if len(args) == 1 else None
    if isinstance(inner, exp.Anonymous) and str(inner.this).upper() == "VARIANT_GET":
        return x
    return None


def _zoned_text(cast: exp.Cast) -> exp.Expr:
    """The text of a timestamp with time zone as DuckDB writes it: Spark's text of the
    time, then its offset (``2024-03-15 10:11:12.5+00``; Spark writes no offset)."""
    offset = exp.Anonymous(
        this="DATE_FORMAT", expressions=[cast.this.copy(), exp.Literal.string("x")]
    )
    return exp.func("CONCAT", cast.copy(), offset)


def _double(x: exp.Expr) -> exp.Expr:
    return exp.Cast(this=x, to=exp.DataType.build("DOUBLE"))


def _fraction(seen: exp.Expr) -> bool:
    return _is(seen.this, _FRACTIONAL) or _is(seen.expression, _FRACTIONAL)


def _maybe_dates(left: exp.Expr, right: exp.Expr) -> bool:
    """Whether ``left - right`` may be a date minus a date: one side not typed by sqlglot, the
    other not typed either or a date."""
    return (_unknown(left) and (_unknown(right) or _is(right, _DATES))) or (
        _is(left, _DATES) and _unknown(right)
    )


def _unknown(node: exp.Expr) -> bool:
    """Whether sqlglot could not type ``node`` (a function it does not know)."""
    return node.type is None or node.type.this == exp.DataType.Type.UNKNOWN


def _is(node: exp.Expr, kinds: Collection[object]) -> bool:
    return node.type is not None and node.type.this in kinds


def _candidates(tree: exp.Expr) -> list[exp.Expr]:
    """The casts to an integer type whose operand may be a fraction (not an integer
    literal), the divisions (``/`` and ``//``), subtractions, lengths and ``epoch_ms`` calls, in
    the order
    ``find_all`` gives (the same in a copy of the tree)."""
    return [
        n
        for n in tree.find_all(
            exp.Cast,
            exp.Div,
            exp.IntDiv,
            exp.UnixToTime,
            exp.Sub,
            exp.Length,
            exp.Round,
            exp.DPipe,
            exp.Concat,
        )
        if isinstance(n, exp.Div | exp.IntDiv | exp.Sub | exp.Length | exp.DPipe | exp.Concat)
        or (isinstance(n, exp.Round) and _digits(n) != 0)
        or (isinstance(n, exp.Cast) and n.to.this == exp.DataType.Type.DECIMAL and _scale(n.to))
        or is_epoch_ms(n)
        or (
            isinstance(n, exp.Cast)
            and n.to.this in exp.DataType.INTEGER_TYPES
            and not _integer_literal(n.this)
            and not n.meta.get(_DONE)
        )
        or (isinstance(n, exp.Cast) and n.to.this in _TEXTS)
    ]


def _integer_literal(node: exp.Expr) -> bool:
    if isinstance(node, exp.Neg):
        node = node.this
    return isinstance(node, exp.Literal) and node.is_int

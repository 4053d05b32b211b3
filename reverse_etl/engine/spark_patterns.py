"""Patterns and positions as DuckDB (and PostgreSQL) mean them, where Spark SQL, as sqlglot
writes it, reads the same text otherwise, silently (``SparkEngine.transpile``, before
``spark_meanings.duckdb_meanings``; the values are checked by tests/portable_exprs.py).

- **LIKE / ILIKE.** DuckDB's LIKE has no escape character unless ``ESCAPE`` names one: a
  ``\\`` is a backslash (``'a\\_b' LIKE 'a\\_b'`` is true, ``'a_b' LIKE 'a\\_b'`` false).
  Spark's escapes with ``\\`` by default, so it gave the other answer, or failed. Each
  backslash of the pattern is written doubled (a literal's text; ``replace()`` of another
  pattern). PostgreSQL's LIKE escapes with ``\\`` as Spark's does: its models go as written.
- **regexp_replace's replacement.** RE2 (DuckDB) and PostgreSQL name a group ``\\1`` (the
  whole match ``\\0``; PostgreSQL's ``\\&``), and a ``$`` is a dollar; Java (Spark) names it
  ``$1`` and reads ``\\1`` as the digit: ``regexp_replace('abc', '(b)', '\\1\\1', 'g')`` gave
  'a11c' for DuckDB's 'abbc'. A literal replacement is written in Java's words (a digit
  after a group escaped: ``\\10`` is group 1 then 0); another (a column) is refused by name,
  and so is a DuckDB replacement's escape RE2 does not know (``\\g``: it ends the text).
- **array_position / list_position** of an item not in the list: NULL in DuckDB, 0 in
  Spark: written ``NULLIF(ARRAY_POSITION(l, x), 0)``.
- **trim / ltrim / rtrim** without characters named take off Unicode's space separators
  in DuckDB (a no-break space too), the space only in Spark: written with ``regexp_replace``
  of ``\\p{Zs}`` at the ends (DuckDB models only: PostgreSQL's trims the space only).
- **chr(n)** past 255: Spark's is ``chr(n % 256)``; a literal written as the character, a
  column's code point decoded as UTF-32. Text functions: ``spark_text.py``.
- **Refused**: ``strftime`` with a code Spark's ``date_format`` has no counterpart for
  (sqlglot wrote it as it is: ``%x`` gave '%+00', ``%g`` '%60384'), and ``date_trunc`` to a
  part Spark does not truncate to (``decade``: NULL there).
"""

from __future__ import annotations

from sqlglot import exp

from reverse_etl.engine.portable import strftime_format
from reverse_etl.engine.spark_meanings import SPARK_FORMAT
from reverse_etl.engine.spark_text import text_as_duckdb
from reverse_etl.errors import EngineError

# The parts Spark's date_trunc / trunc know (as DuckDB names them, and their aliases).
_SPARK_TRUNC_PARTS = frozenset(
    {
        "year",
        "yyyy",
        "yy",
        "quarter",
        "month",
        "mon",
        "mm",
        "week",
        "day",
        "dd",
        "hour",
        "minute",
        "second",
        "millisecond",
        "microsecond",
    }
)


def patterns_as_duckdb(tree: exp.Expr, dialect: str) -> exp.Expr:
    """``tree`` (a DuckDB- or PostgreSQL-dialect statement) with the patterns above written
    for Spark as the model's dialect means them; raises EngineError for what cannot be."""
    _refuse_truncation_parts(tree)
    if dialect == "duckdb":
        _refuse_unknown_strftime(tree)
    for replace in list(tree.find_all(exp.RegexpReplace)):
        _replacement_as_java(replace, dialect)
    if dialect == "duckdb":
        for like in list(tree.find_all(exp.Like, exp.ILike)):
            _backslashes_as_written(like)
        tree = tree.transform(_spaces_trimmed).transform(text_as_duckdb)
    return tree.transform(_position_or_null)


# DuckDB's trim(s), ltrim(s), rtrim(s) take off Unicode's space separators (category Zs:
# the space, U+00A0 no-break space, U+3000 ideographic space ...), Spark's the space only.
_TRIMMED = {
    None: "^\\p{Zs}+|\\p{Zs}+\\z",
    "BOTH": "^\\p{Zs}+|\\p{Zs}+\\z",
    "LEADING": "^\\p{Zs}+",
    "TRAILING": "\\p{Zs}+\\z",
}


def _spaces_trimmed(node: exp.Expr) -> exp.Expr:
    """``trim(s)`` (no characters named) as DuckDB means it: Spark's ``regexp_replace`` of
    the space separators at the ends (a no-break space copied with an email stayed on Spark,
    and the email hashed otherwise)."""
    if not isinstance(node, exp.Trim) or node.args.get("expression") is not None:
        return node
    position = node.args.get("position")
    pattern = _TRIMMED.get(str(position).upper() if position else None)
    if pattern is None:
        return node
    return exp.Anonymous(
        this="REGEXP_REPLACE",
        expressions=[node.this.copy(), exp.Literal.string(pattern), exp.Literal.string("")],
    )


def _backslashes_as_written(node: exp.Expr) -> None:
    if isinstance(node.parent, exp.Escape):
        return  # its own escape character: as written
    pattern = node.expression
    if isinstance(pattern, exp.Any | exp.All):  # LIKE ANY ('a', 'b')
        items = pattern.this.expressions if isinstance(pattern.this, exp.Tuple) else []
        for item in items:
            item.replace(_doubled(item))
        return
    node.set("expression", _doubled(pattern))


def _doubled(pattern: exp.Expr) -> exp.Expr:
    """``pattern`` with each backslash doubled (Spark's LIKE reads ``\\\\`` as one)."""
    if isinstance(pattern, exp.Literal) and pattern.is_string:
        return exp.Literal.string(pattern.this.replace("\\", "\\\\"))
    if isinstance(pattern, exp.Null | exp.Literal):
        return pattern.copy()
    return exp.Anonymous(
        this="REPLACE",
        expressions=[pattern.copy(), exp.Literal.string("\\"), exp.Literal.string("\\\\")],
    )


def _replacement_as_java(node: exp.RegexpReplace, dialect: str) -> None:
    replacement = node.args.get("replacement")
    if replacement is None:
        return
    if not (isinstance(replacement, exp.Literal) and replacement.is_string):
        raise EngineError(
            f"regexp_replace's replacement {replacement.sql(dialect)} is not a quoted text: "
            "Spark reads a replacement's groups and dollars otherwise ($1, where "
            f"{'DuckDB' if dialect == 'duckdb' else 'PostgreSQL'} writes \\1), and retl "
            "can write only a quoted one in Spark's words",
            hint="write the replacement as a quoted text, or write the model in Spark SQL "
            "(config(dialect='spark'))",
        )
    node.set("replacement", exp.Literal.string(_java_replacement(replacement.this, dialect)))


def _java_replacement(text: str, dialect: str) -> str:
    """RE2's (or PostgreSQL's) replacement ``text`` in Java's words: ``\\N`` -> ``$N``, a
    ``$`` and a backslash of the text escaped, and a digit just after a group escaped too
    (Java reads ``$10`` as group 10 where the pattern has ten: RE2's ``\\10`` is group 1, then
    0). DuckDB (RE2) knows no other escape than ``\\N`` and ``\\\\``: another, or a last lone
    backslash, stops its replacement there ('x\\gy' gave 'x'), refused by name. PostgreSQL's
    groups are ``\\1`` to ``\\9`` and ``\\&``; another backslash is a backslash there."""
    out: list[str] = []
    after_group = False
    i = 0
    while i < len(text):
        ch = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        group = "0123456789" if dialect == "duckdb" else "123456789"
        if ch == "\\" and nxt and nxt in group:
            out.append(f"${nxt}")
            i += 2
            after_group = True
            continue
        if ch == "\\" and nxt == "&" and dialect == "postgres":
            out.append("$0")
            i += 2
            after_group = True
            continue
        if ch == "\\" and nxt == "\\":
            out.append("\\\\")  # a backslash in both
            i += 2
        elif ch == "\\" and dialect == "duckdb":
            escape = f"\\{nxt}" if nxt else "the backslash at its end"
            raise EngineError(
                f"regexp_replace's replacement '{text}': {escape} names no group in DuckDB "
                "(RE2 stops the replacement there, silently), and Spark would write it",
                hint="name a group as \\1 to \\9 (\\0 the whole match), and write a backslash "
                "as \\\\",
            )
        elif ch in {"\\", "$"}:  # PostgreSQL's other backslash: itself
            out.append("\\" + ch)
            i += 1
        elif ch in "0123456789" and after_group:
            out.append("\\" + ch)  # a digit, not part of the group's number
            i += 1
        else:
            out.append(ch)
            i += 1
        after_group = False
    return "".join(out)


def _position_or_null(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Chr) and len(node.expressions) == 1:
        # Spark's chr(n) is chr(n % 256): chr(12288) gave '\x00' for DuckDB's U+3000. A
        # literal's character is written as text; chr of a column goes as written.
        n = node.expressions[0]
        if isinstance(n, exp.Literal) and n.is_int and 255 < int(n.name) <= 0x10FFFF:
            return exp.Literal.string(chr(int(n.name)))
        if isinstance(n, exp.Literal):
            return node
        return _code_point(n)
    if isinstance(node, exp.ArrayPosition) or (
        isinstance(node, exp.Anonymous)
        and str(node.this).lower() in ("list_position", "list_indexof", "array_indexof")
        and len(node.expressions) == 2
    ):
        args = [node.this, node.expression] if isinstance(node, exp.ArrayPosition) else None
        if args is None:
            args = list(node.expressions)
        spark = exp.Anonymous(this="ARRAY_POSITION", expressions=[a.copy() for a in args])
        return exp.Nullif(this=spark, expression=exp.Literal.number(0))
    return node


def _code_point(n: exp.Expr) -> exp.Expr:
    """``chr(n)`` of a column as DuckDB's: the character of code point ``n``, decoded from
    its 4 bytes as UTF-32 (Spark 4), an error past U+10FFFF or below 0 as in DuckDB (and for
    a surrogate, which Spark's decoder gives as '?')."""
    code = exp.Anonymous(
        this="DECODE",
        expressions=[
            exp.Unhex(
                this=exp.Pad(
                    this=exp.Hex(this=n.copy()),
                    expression=exp.Literal.number(8),
                    fill_pattern=exp.Literal.string("0"),
                    is_left=True,
                )
            ),
            exp.Literal.string("UTF-32"),
        ],
    )
    surrogate = exp.Between(
        this=n.copy(), low=exp.Literal.number(0xD800), high=exp.Literal.number(0xDFFF)
    )
    refused = exp.Anonymous(
        this="RAISE_ERROR", expressions=[exp.Literal.string("chr(): a surrogate code point")]
    )
    return exp.Case(ifs=[exp.If(this=surrogate, true=refused)], default=code)


def _refuse_truncation_parts(tree: exp.Expr) -> None:
    for node in tree.find_all(exp.TimestampTrunc, exp.DateTrunc):
        unit = node.args.get("unit")
        name = unit.name.lower() if isinstance(unit, exp.Var | exp.Literal) else None
        if name is not None and name not in _SPARK_TRUNC_PARTS:
            raise EngineError(
                f"date_trunc('{name}', ...): Spark's date_trunc has no part '{name}' (it "
                "gives NULL there)",
                hint="truncate to a part Spark knows (year, quarter, month, week, day, hour, "
                "minute, second), e.g. the decade as make_date(year(d) // 10 * 10, 1, 1)",
            )


def _refuse_unknown_strftime(tree: exp.Expr) -> None:
    for node in tree.find_all(exp.TimeToStr):
        fmt = node.args.get("format")
        if not (isinstance(fmt, exp.Literal) and fmt.is_string):
            continue
        if strftime_format(fmt.this, SPARK_FORMAT, lambda t: t) is None:
            raise EngineError(
                f"strftime format '{fmt.this}' has a code Spark's date_format has no "
                "counterpart for (sqlglot would write it as it is, and Spark give other text)",
                hint="use the codes %Y %y %m %d %H %I %M %S %f %p %j %b %a %B %A (and %-d ...),"
                " or write the model in Spark SQL (config(dialect='spark'))",
            )

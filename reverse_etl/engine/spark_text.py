"""Text functions of a DuckDB model written for Spark as DuckDB computes them, where Spark's
of the same name, as sqlglot writes it, gives another value, silently
(``spark_patterns.patterns_as_duckdb``, DuckDB-dialect models only; measured in both
engines by tests/spark/test_spark_text.py).

- **substr(s, start, n)** with a negative ``n`` is the ``-n`` characters before ``start``
  in DuckDB (``substr('hello', 4, -2)`` is 'el'), '' in Spark; ``start`` 0 is the position
  before the first character in DuckDB (``substr('hello', 0, 2)`` is 'h'), the first in
  Spark ('he'). Written with Spark's ``SUBSTRING`` of the positions DuckDB takes; an ``n``
  or ``start`` that is a column, by a CASE on its value.
- **split_part(s, '', k)**: DuckDB splits into characters (the ``k``-th, from the end when
  negative: ``split_part('abc', '', 1)`` is 'a'), Spark gives the whole text. Written
  ``SUBSTRING(s, k, 1)`` for an empty separator (a column that may be empty, by a CASE);
  part 0 is '' in DuckDB and an error in Spark: '' too.
- **upper / lower** of letters whose case Spark (ICU's full case mapping) maps otherwise
  than DuckDB (a simple mapping, one character to one): Spark's ``upper('ß')`` is 'SS'
  (DuckDB: 'ẞ'), ``upper('ﬁ')`` 'FI' (DuckDB keeps it), ``lower('İ')`` 'i̇' (two
  characters; DuckDB 'i'), ``lower('ΑΣ')`` ends in a final sigma (U+03C2; DuckDB's
  U+03C3), and letters of Unicode 16 DuckDB does not map yet. A text holding one of them
  (``_UPPER_SPEC`` / ``_LOWER_SPEC``, measured over every code point against Spark 4's
  ICU) is mapped a character at a time, those letters as DuckDB maps them; any other text
  is Spark's ``upper(s)`` / ``lower(s)``.
"""

from __future__ import annotations

from sqlglot import exp

from reverse_etl.engine.portable import whole_number

# The letters Spark 4's upper/lower map otherwise than DuckDB 1.5's, measured over every
# code point: code points (hex; a range ``a-b``) DuckDB leaves as they are, and ``a>b``
# (``a-b>c``: a range onto one starting at ``c``) those DuckDB maps to another.
_UPPER_SPEC = (
    "0149 019b 01f0 0264 0390 03b0 0587 1c8a 1e96-1e9a 1f50 1f52 1f54 1f56 1f88-1f8f "
    "1f98-1f9f 1fa8-1faf 1fb2 1fb4 1fb6-1fb7 1fbc 1fc2 1fc4 1fc6-1fc7 1fcc 1fd2-1fd3 "
    "1fd6-1fd7 1fe2-1fe4 1fe6-1fe7 1ff2 1ff4 1ff6-1ff7 1ffc a7cd a7cf a7d3 a7d5 a7db "
    "fb00-fb06 fb13-fb17 10d70-10d85 16ebb-16ed3 "
    "00df>1e9e 1f80-1f87>1f88 1f90-1f97>1f98 1fa0-1fa7>1fa8 1fb3>1fbc 1fc3>1fcc 1ff3>1ffc"
)
_LOWER_SPEC = "1c89 a7cb-a7cc a7ce a7d2 a7d4 a7da a7dc 10d50-10d65 16ea0-16eb8 0130>0069 03a3>03c3"
_CHAR = "__retl_ch"  # the lambda's parameter: a name no model's column takes


def _pairs(spec: str) -> tuple[str, str]:
    """The letters ``spec`` names, and DuckDB's case of each (two texts of one length)."""
    src: list[str] = []
    dst: list[str] = []
    for item in spec.split():
        span, _, onto = item.partition(">")
        first, _, last = span.partition("-")
        a, b = int(first, 16), int(last or first, 16)
        to = int(onto, 16) if onto else a
        for i in range(b - a + 1):
            src.append(chr(a + i))
            dst.append(chr(to + i))
    return "".join(src), "".join(dst)


_UPPER = _pairs(_UPPER_SPEC)
_LOWER = _pairs(_LOWER_SPEC)


def text_as_duckdb(node: exp.Expr) -> exp.Expr:
    """The rewrites above, for ``tree.transform`` (which does not go into what a rewrite
    gives: its operands are rewritten here first, ``upper(lower(s))``)."""
    if isinstance(node, exp.Upper | exp.Lower | exp.Substring | exp.SplitPart):
        node = node.copy()
        for key, value in list(node.args.items()):
            if isinstance(value, exp.Expr):
                node.set(key, value.transform(text_as_duckdb))
    if isinstance(node, exp.Upper | exp.Lower) and node.this is not None:
        return _case_as_duckdb(node)
    if isinstance(node, exp.Substring) and node.args.get("length") is not None:
        return _substring(node)
    if isinstance(node, exp.SplitPart):
        return _split_part(node)
    return node


def _fn(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def _num(n: int) -> exp.Expr:
    return exp.Literal.number(n) if n >= 0 else exp.Neg(this=exp.Literal.number(-n))


def _case_as_duckdb(node: exp.Upper | exp.Lower) -> exp.Expr:
    src, dst = _UPPER if isinstance(node, exp.Upper) else _LOWER
    name = "UPPER" if isinstance(node, exp.Upper) else "LOWER"
    text = node.this
    ch = exp.column(_CHAR)
    each = exp.If(
        this=exp.GT(
            this=_fn("INSTR", exp.Literal.string(src), ch.copy()),
            expression=exp.Literal.number(0),
        ),
        true=_fn("TRANSLATE", ch.copy(), exp.Literal.string(src), exp.Literal.string(dst)),
        false=_fn(name, ch.copy()),
    )
    chars = _fn("REGEXP_EXTRACT_ALL", text.copy(), exp.Literal.string("(?s)."), _num(0))
    mapped = _fn(
        "ARRAY_JOIN",
        _fn("TRANSFORM", chars, exp.Lambda(this=each, expressions=[exp.to_identifier(_CHAR)])),
        exp.Literal.string(""),
    )
    holds = exp.RegexpLike(this=text.copy(), expression=exp.Literal.string(f"[{src}]"))
    return exp.Case(ifs=[exp.If(this=holds, true=mapped)], default=_fn(name, text.copy()))


def _literal_int(x: exp.Expr | None) -> int | None:
    """A literal whole number's value (``-2`` too), else None."""
    if isinstance(x, exp.Neg):
        n = whole_number(x.this)
        return None if n is None else -n
    if isinstance(x, exp.Paren):
        return _literal_int(x.this)
    return whole_number(x)


def _substring(node: exp.Substring) -> exp.Expr:
    """DuckDB's ``substr(s, start, n)`` (``SubstringStartEnd``): 0-based ``st`` is
    ``start - 1`` (``start`` > 0) or ``max(len + start, 0)`` (< 0); a negative ``n`` takes
    the characters from ``max(st + n, 0)`` to ``st`` (past the end: none), start 0 ``n - 1``
    characters from the first (a negative ``n`` there: none). Spark agrees elsewhere."""
    text, start, n = node.this, node.args.get("start"), node.args["length"]
    if text is None or start is None:
        return node
    start_v, n_v = _literal_int(start), _literal_int(n)
    if start_v is not None and start_v != 0 and n_v is not None and n_v >= 0:
        return node  # the same in both
    s = text.copy()

    def st() -> exp.Expr:
        if start_v is not None and start_v > 0:
            return _num(start_v - 1)
        from_end = exp.Greatest(
            this=exp.Add(
                this=_fn("CHAR_LENGTH", s.copy()), expression=exp.Paren(this=start.copy())
            ),
            expressions=[_num(0)],
        )
        if start_v is not None:  # < 0
            return from_end
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.GT(this=start.copy(), expression=_num(0)),
                    true=exp.Sub(this=start.copy(), expression=_num(1)),
                )
            ],
            default=from_end,
        )

    lo = exp.Greatest(
        this=exp.Add(this=st(), expression=exp.Paren(this=n.copy())), expressions=[_num(0)]
    )
    before = exp.Substring(
        this=s.copy(),
        start=exp.Add(this=lo, expression=_num(1)),
        length=exp.Sub(this=st(), expression=lo.copy()),
    )
    none = exp.Substring(this=s.copy(), start=_num(1), length=_num(0))  # '' (NULL of NULL)
    after_zero = exp.Substring(
        this=s.copy(),
        start=_num(1),
        length=exp.Greatest(this=exp.Sub(this=n.copy(), expression=_num(1)), expressions=[_num(0)]),
    )
    if start_v == 0:
        if n_v is not None:
            return none if n_v < 0 else exp.Substring(this=s, start=_num(1), length=_num(n_v - 1))
        return exp.Case(ifs=[exp.If(this=_negative(n), true=none)], default=after_zero)
    if start_v is not None and n_v is not None:  # both literal, n < 0
        return before
    plain = node.copy()
    plain.set("this", s.copy())
    if n_v is not None:  # a column start; n literal: < 0 (before) or >= 0 (as written)
        at_zero: exp.Expr = (
            none if n_v < 0 else exp.Substring(this=s, start=_num(1), length=_num(n_v - 1))
        )
        zero = exp.EQ(this=start.copy(), expression=_num(0))
        return exp.Case(ifs=[exp.If(this=zero, true=at_zero)], default=before if n_v < 0 else plain)
    ifs: list[exp.If] = []
    if start_v is None:
        zero = exp.EQ(this=start.copy(), expression=_num(0))
        zero_case = exp.Case(ifs=[exp.If(this=_negative(n), true=none)], default=after_zero)
        ifs.append(exp.If(this=zero, true=zero_case))
    ifs.append(exp.If(this=_negative(n), true=before))
    return exp.Case(ifs=ifs, default=plain)


def _negative(n: exp.Expr) -> exp.Expr:
    return exp.LT(this=n.copy(), expression=_num(0))


def _split_part(node: exp.SplitPart) -> exp.Expr:
    """``split_part(s, sep, k)`` as DuckDB: an empty ``sep`` splits into characters, and
    part 0 is ''. A literal separator other than '' and a literal part other than 0 go as
    written."""
    text, sep, k = node.this, node.args.get("delimiter"), node.args.get("part_index")
    if text is None or sep is None or k is None:
        return node
    k_v = _literal_int(k)
    sep_literal = isinstance(sep, exp.Literal) and sep.is_string
    if sep_literal and sep.this != "" and k_v is not None and k_v != 0:
        return node
    char = exp.Substring(this=text.copy(), start=k.copy(), length=_num(1))
    # '' where DuckDB gives '', NULL when any argument is NULL
    nulls = [x.copy() for x in (text, sep) if not isinstance(x, exp.Literal)]
    empty: exp.Expr = exp.Literal.string("")
    if nulls:
        is_null = exp.or_(*(exp.Is(this=x, expression=exp.Null()) for x in nulls))
        empty = exp.Case(ifs=[exp.If(this=is_null, true=exp.Null())], default=empty)
    if k_v == 0:
        return empty
    if sep_literal and k_v is not None:  # sep is ''
        return char
    ifs: list[exp.If] = []
    if k_v is None:
        ifs.append(exp.If(this=exp.EQ(this=k.copy(), expression=_num(0)), true=empty))
    if not sep_literal:
        is_empty = exp.EQ(this=sep.copy(), expression=exp.Literal.string(""))
        ifs.append(exp.If(this=is_empty, true=char))
    elif sep.this == "":
        return exp.Case(ifs=ifs, default=char)
    return exp.Case(ifs=ifs, default=node.copy())

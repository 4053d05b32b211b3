"""Spark's CHAR(n) values without their padding, as PostgreSQL's char(n) is read.

Spark pads a CHAR(n) value with spaces to n characters when it writes it (and again when
it reads it), so a column of a ``CHAR(5)`` table holding ``'ab'`` came back as ``'ab   '``
and went to the platform so: an event named ``'usd  '``, an event_id that matches no pixel
event, a content id of spaces. DuckDB has no padded type and PostgreSQL's char(n) is read
without its padding (``engine/postgres.py``): a model column that Spark declares as CHAR(n),
or as a list, struct or map holding one, is read with its trailing spaces removed. Spark marks
such a column (a table's column, through aliases and views) with the type it was declared
with; a value computed from one (``upper(c)``) is text and keeps the spaces Spark gave it.
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError

from reverse_etl.engine.spark_nested import ident, in_array, in_map, in_struct

# The field metadata where Spark keeps a column's declared CHAR/VARCHAR type.
CHAR_TYPE_KEY = "__CHAR_VARCHAR_TYPE_STRING"
_HAS_CHAR = re.compile(r"(?i)(?<![a-z_])char\s*\(")


def unpadded(df: Any) -> Any:
    """``df`` with its CHAR(n) columns (and CHAR(n) items, fields and map values) without
    their trailing spaces; ``df`` itself when it has none."""
    exprs: list[str] = []
    changed = False
    for f in df.schema.fields:
        name = ident(f.name)
        declared = (f.metadata or {}).get(CHAR_TYPE_KEY)
        trimmed = _trimmed(name, declared) if declared and _HAS_CHAR.search(declared) else None
        changed |= trimmed is not None
        exprs.append(f"{trimmed} AS {name}" if trimmed is not None else name)
    return df.selectExpr(*exprs) if changed else df


def _trimmed(sql: str, declared: str) -> str | None:
    try:
        dtype = exp.DataType.build(declared, dialect="spark")
    except (SqlglotError, ValueError):
        return None
    return _expr(sql, dtype, 0)


def _expr(sql: str, dtype: exp.DataType, depth: int) -> str | None:
    """Spark SQL giving ``sql`` (of type ``dtype``) without CHAR padding; None if ``dtype``
    holds no CHAR."""
    kind = dtype.this
    if kind == exp.DataType.Type.CHAR:
        return f"rtrim({sql})"
    var = f"__retl_c{depth}"
    if kind == exp.DataType.Type.ARRAY and dtype.expressions:
        return in_array(sql, var, _expr(var, _as_type(dtype.expressions[0]), depth + 1))
    if kind == exp.DataType.Type.MAP and len(dtype.expressions) == 2:
        key = _expr(f"{var}.key", _as_type(dtype.expressions[0]), depth + 1)
        value = _expr(f"{var}.value", _as_type(dtype.expressions[1]), depth + 1)
        return in_map(sql, var, key, value)
    if kind == exp.DataType.Type.STRUCT:
        fields: list[tuple[str, str | None]] = []
        for field in dtype.expressions:
            name = field.name
            ftype = field.args.get("kind")
            if not name or not isinstance(ftype, exp.DataType):
                return None  # a struct sqlglot cannot read field by field: as it is
            fields.append((name, _expr(f"{sql}.{ident(name)}", ftype, depth + 1)))
        return in_struct(sql, fields)
    return None


def _as_type(node: exp.Expr) -> exp.DataType:
    return node if isinstance(node, exp.DataType) else exp.DataType.build("string")

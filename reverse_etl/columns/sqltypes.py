"""Inferred types: sqlglot's DataType reduced to what the TikTok checks need, a display text in
DuckDB's spelling and a coarse :class:`TypeClass`, keeping list elements and struct fields."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.expressions.datatypes import DType


class TypeClass(str, enum.Enum):
    """Coarse type classes: what the TikTok checks care about."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"  # decimal and floating point
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    DATE = "date"
    TIME = "time"
    LIST = "list"
    STRUCT = "struct"
    JSON = "json"
    BINARY = "binary"
    NULL = "null"  # a bare NULL: no value, fits anything
    UNKNOWN = "unknown"  # sqlglot could not tell
    OTHER = "other"  # intervals, maps, unions …


@dataclass(frozen=True)
class SqlType:
    """An inferred type: display text (DuckDB spelling), class, and nested parts."""

    text: str
    cls: TypeClass
    element: SqlType | None = None  # LIST
    fields: tuple[tuple[str, SqlType], ...] = ()  # STRUCT, in order

    @property
    def parseable(self) -> str:
        """The type as SQL that sqlglot reads back (a schema built from inferred columns):
        ``text`` with struct field names quoted."""
        if self.cls is TypeClass.LIST and self.element is not None:
            return self.element.parseable + "[]"
        if self.cls is TypeClass.STRUCT:
            inner = ", ".join(
                '"' + n.replace('"', '""') + f'" {t.parseable}' for n, t in self.fields
            )
            return f"STRUCT({inner})"
        return self.text


UNKNOWN = SqlType("UNKNOWN", TypeClass.UNKNOWN)
NULL = SqlType("NULL", TypeClass.NULL)


_T = DType
_DISPLAY = {
    _T.TEXT: "VARCHAR",
    _T.VARCHAR: "VARCHAR",
    _T.INT: "INTEGER",
    _T.INT128: "HUGEINT",
    _T.UINT128: "UHUGEINT",
}
_TIMESTAMPS = {
    _T.TIMESTAMP,
    _T.TIMESTAMPTZ,
    _T.TIMESTAMPLTZ,
    _T.TIMESTAMPNTZ,
    _T.TIMESTAMP_S,
    _T.TIMESTAMP_MS,
    _T.TIMESTAMP_NS,
    _T.DATETIME,
    _T.DATETIME2,
    _T.DATETIME64,
    _T.SMALLDATETIME,
}
_SCALAR_CLASSES: list[tuple[set[DType], TypeClass]] = [
    ({*exp.DataType.TEXT_TYPES, _T.UUID, _T.ENUM}, TypeClass.STRING),
    # sqlglot counts BIT (a bit string: DuckDB's BIT, PostgreSQL's bit varying) as an
    # integer; it is no number to send (DOUBLE of BIT '1010' is 5e-323): bits, as bytes are.
    (set(exp.DataType.INTEGER_TYPES) - {_T.BIT}, TypeClass.INTEGER),
    (set(exp.DataType.REAL_TYPES), TypeClass.NUMBER),
    ({_T.BOOLEAN}, TypeClass.BOOLEAN),
    (_TIMESTAMPS, TypeClass.TIMESTAMP),
    ({_T.DATE, _T.DATE32}, TypeClass.DATE),
    ({_T.TIME, _T.TIMETZ}, TypeClass.TIME),
    ({_T.JSON, _T.JSONB}, TypeClass.JSON),
    ({_T.BINARY, _T.VARBINARY, _T.BLOB, _T.BIT}, TypeClass.BINARY),
    ({_T.NULL}, TypeClass.NULL),
    ({_T.UNKNOWN}, TypeClass.UNKNOWN),
]


def sql_type(dt: exp.DataType | None, dialect: str = "duckdb") -> SqlType:
    """sqlglot's DataType as a :class:`SqlType`."""
    if dt is None:
        return UNKNOWN
    if dt.this in (_T.ARRAY, _T.LIST):
        inner = dt.expressions[0] if dt.expressions else None
        element = sql_type(inner if isinstance(inner, exp.DataType) else None, dialect)
        return SqlType(element.text + "[]", TypeClass.LIST, element)
    if dt.this is _T.STRUCT:
        fields: list[tuple[str, SqlType]] = []
        for col in dt.expressions:
            kind = col.args.get("kind") if isinstance(col, exp.ColumnDef) else None
            ftype = sql_type(kind if isinstance(kind, exp.DataType) else None, dialect)
            fields.append((col.name, ftype))
        text = "STRUCT(" + ", ".join(f"{n} {t.text}" for n, t in fields) + ")"
        return SqlType(text, TypeClass.STRUCT, fields=tuple(fields))
    cls = next((c for types, c in _SCALAR_CLASSES if dt.this in types), TypeClass.OTHER)
    params = dt.expressions  # DECIMAL(10, 2), VARCHAR(20): parameters matter
    if not params:
        return SqlType(_scalar_text(dt.this, dialect), cls)
    if all(isinstance(p, exp.DataTypeParam) for p in params):
        text = f"{_scalar_text(dt.this, dialect)}({', '.join(p.name for p in params)})"
        return SqlType(text, cls)
    return SqlType(dt.sql(dialect), cls)


@functools.lru_cache(maxsize=256)
def _scalar_text(this: DType, dialect: str) -> str:
    # sqlglot's generator is slow next to everything else here: ask once per type.
    return _DISPLAY.get(this) or exp.DataType(this=this).sql(dialect)


@functools.lru_cache(maxsize=4096)  # the same few declared types, checked for every model
def parse_type(text: str, dialect: str = "duckdb") -> SqlType | None:
    """A declared type (``varchar``, ``decimal(10,2)``, ``struct(a int)[]``); None if sqlglot
    cannot read it."""
    try:
        built = exp.DataType.build(text, dialect=dialect)
    except (SqlglotError, ValueError):
        return None
    if not isinstance(built, exp.DataType):  # 'varchar); drop table x; --' builds a Block
        return None
    return sql_type(built, dialect)

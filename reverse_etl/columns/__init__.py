"""Static inference of a model's output columns with sqlglot: no engine, no I/O.

compiled SQL + the schemas of the tables it reads
  -> parse in the engine's dialect
  -> qualify: tables and columns resolved through CTEs, subqueries, joins and UNIONs;
     ``SELECT *``, ``* EXCLUDE`` and ``* REPLACE`` expanded from the schemas
  -> annotate_types
  -> one :class:`OutputColumn` per output column: the name the engine would give it, its type,
     the line its name is written on, and the values it can take when they are literals.

What could not be inferred (SQL sqlglot cannot read, tables without a schema, unknown columns)
comes back as :class:`InferenceIssue` records, never as an exception: a validator must say
what it could not check, and must not crash doing so.

``sqltypes`` holds the types, ``records`` the values in and out, ``infer`` the pipeline and
``trace`` what is followed through scopes by hand (names, lines, literal values).
"""

from reverse_etl.columns.infer import infer_columns, parse_sql, tables_read
from reverse_etl.columns.records import (
    InferenceIssue,
    InferenceResult,
    OutputColumn,
    TableRef,
    TableSchemas,
    UpstreamModel,
)
from reverse_etl.columns.sqltypes import NULL, UNKNOWN, SqlType, TypeClass, parse_type, sql_type

__all__ = [
    "NULL",
    "UNKNOWN",
    "InferenceIssue",
    "InferenceResult",
    "OutputColumn",
    "SqlType",
    "TableRef",
    "TableSchemas",
    "TypeClass",
    "UpstreamModel",
    "infer_columns",
    "parse_sql",
    "parse_type",
    "sql_type",
    "tables_read",
]

"""What inference takes and gives: table references, output columns, issues."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlglot import exp

from reverse_etl.columns.sqltypes import SqlType

# Stand-ins for "the engine's default catalog / schema": qualify() writes them into table
# references that name none, so every reference has three parts and one schema shape fits all.
DEFAULT_CATALOG = "__retl_default_catalog__"
DEFAULT_DB = "__retl_default_schema__"


@dataclass(frozen=True, order=True)
class TableRef:
    """A physical table a query reads. Parts are lower-cased (DuckDB names are
    case-insensitive); an empty ``catalog`` or ``db`` means the engine's default."""

    catalog: str
    db: str
    name: str

    @classmethod
    def of(cls, name: str, db: str | None = None, catalog: str | None = None) -> TableRef:
        return cls((catalog or "").lower(), (db or "").lower(), name.lower())

    def __str__(self) -> str:
        return ".".join(p for p in (self.catalog, self.db, self.name) if p)


@dataclass(frozen=True)
class OutputColumn:
    """One output column of a query."""

    name: str
    type: SqlType
    line: int | None  # 1-based line where the name is written, when known
    values: frozenset[str] | None = None  # every value it can take, when all are literals
    named: bool = True  # False: an expression without AS (its engine-made name is unstable)
    fields: tuple[OutputColumn, ...] = ()  # a STRUCT's fields, as columns of their own
    from_star: bool = False  # ``line`` is that of the ``*`` the column was expanded from
    model: str | None = None  # the upstream model whose SQL ``line`` is in (None: this SQL)
    # Built from list() / array_agg() / string_agg() without ORDER BY (here or upstream):
    # its items come in another order from run to run (parallel aggregation).
    unordered: bool = False
    # False: never NULL (a literal, a CASE whose every branch and ELSE is one ...); True when
    # it may be, or when that is not known.
    nullable: bool = True
    # The source columns its value reads (``table.column``, lower-cased), followed through
    # CTEs, subqueries and upstream models to the tables they read; None when that could not
    # be followed (a subquery in its expression, a lambda's variable, a column of no known
    # relation). The plan masks an event id that reads what a personal-data column reads.
    sources: frozenset[str] | None = None


ColumnSources = tuple[tuple[str, frozenset[str] | None], ...]
"""Each output column's ``sources``, by name; a STRUCT's fields by their dotted names too
(``user.email``: the encoder reads a payload object's struct field by field)."""


def column_sources(columns: Sequence[OutputColumn]) -> ColumnSources:
    """The ``sources`` of ``columns`` and of their STRUCT fields (``user.email``)."""
    out: list[tuple[str, frozenset[str] | None]] = []
    for col in columns:
        out.append((col.name, col.sources))
        out += [(f"{col.name}.{f.name}", f.sources) for f in col.fields]
    return tuple(out)


@dataclass(frozen=True)
class UpstreamModel:
    """A model the query reads by name (``ref()``): its inferred columns are the table's
    schema, and names, lines and values are followed into it."""

    name: str
    columns: tuple[OutputColumn, ...]

    def column(self, name: str) -> OutputColumn | None:
        """The first column called ``name`` (case-insensitive, as DuckDB resolves it)."""
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)


@dataclass(frozen=True)
class InferenceIssue:
    """Something that stopped part of the inference."""

    code: str  # parse_error | not_a_query | unknown_table | table_function | unknown_column |
    #            unresolved_column | bad_type | type_error | unsupported
    message: str
    line: int | None = None
    table: TableRef | None = None
    hint: str | None = None
    subject: str | None = None  # the name written on ``line`` (a column or table name)
    column: int | None = None  # 1-based column of ``subject`` on ``line`` (syntax errors)
    paths: tuple[str, ...] = ()  # the files a table_function reads, as written
    built: bool = False  # a table_function's path is built when the model runs
    # The query's output column whose expression reads the unknown column (of the outermost
    # SELECT only), for the column listing to say it too.
    output: str | None = None


@dataclass(frozen=True)
class InferenceResult:
    """The output columns, what went wrong, and whether the column list is complete."""

    columns: tuple[OutputColumn, ...]
    issues: tuple[InferenceIssue, ...] = ()
    complete: bool = True  # False: the list of output columns itself is unknown


TableSchemas = Mapping[TableRef, Sequence[tuple[str, str]]]
"""Columns (name, SQL type) of each table a query reads, in table order."""


def ref_of(table: exp.Table) -> TableRef:
    """The reference of a qualified table node, defaults blanked again."""
    catalog = "" if table.catalog == DEFAULT_CATALOG else table.catalog
    db = "" if table.db == DEFAULT_DB else table.db
    return TableRef.of(table.name, db, catalog)

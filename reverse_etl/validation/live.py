"""The types the engine gives a model's columns, checked where static inference could not.

``retl validate`` types a model's columns with sqlglot, without running anything. A column
it could not type (a function sqlglot does not know, ``union_value(...)``, a macro) is "not
checked" there. When a run has the model's relation in hand, its real column types are one
``DESCRIBE`` away: such a column is checked with the same rules (``validation/types.py``), so
a type the encoder cannot take is an error at the column with its fix, not the engine's
binder error about retl's own payload SQL.

A column a warehouse gives as JSON text (PostgreSQL's json and jsonb, Spark's JSON) is read by
the workbench as the type of its values (``json_columns.py``), found from the rows staged:
with the state in the warehouse, only the rows to send. So its check must not take what those
rows happened to hold (``row_free_types``): a list or a struct read from them is checked as
the JSON it is (a jsonb ``contents`` whose changed rows held only ``[]`` read as ``VARCHAR[]``,
and the sync stopped: "contents must be a list of structs"), and a column with no value in the
rows (none staged, or all NULL) is not checked: nothing of it is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from reverse_etl.columns import TypeClass, parse_type
from reverse_etl.destinations.base import ColumnRules
from reverse_etl.engine.base import JSON_TEXT, ColumnInfo
from reverse_etl.errors import Problem
from reverse_etl.validation.result import ColumnRow, DestinationValidation
from reverse_etl.validation.types import check_type

if TYPE_CHECKING:
    import pyarrow as pa

    from reverse_etl.engine.duckdb import DuckDBEngine

_NESTED = frozenset({TypeClass.LIST, TypeClass.STRUCT})


def untyped_parameters(
    validations: Iterable[DestinationValidation],
) -> dict[str, tuple[ColumnRow, ...]]:
    """Per destination, the columns sent as a parameter whose type validation could not tell."""
    found = {
        v.destination: tuple(
            r
            for r in v.columns
            if r.role == "parameter" and r.field and r.type_class == TypeClass.UNKNOWN.value
        )
        for v in validations
    }
    return {name: rows for name, rows in found.items() if rows}


def row_free_types(
    bench: DuckDBEngine,
    relation: str,
    warehouse: pa.Schema | None,
    checked: Iterable[ColumnRow],
) -> list[ColumnInfo]:
    """The types of ``relation``'s columns (the model's rows staged in the workbench ``bench``)
    to check, for the ``checked`` columns that ``warehouse`` (the model's schema where it runs;
    None: it runs on the workbench) gives as JSON text: a list or a struct is ``JSON``, and a
    column without a value in the rows is left out."""
    columns = bench.describe(f"SELECT * FROM {relation}")
    if warehouse is None:
        return columns
    from_json = {f.name.lower() for f in warehouse if f.metadata and JSON_TEXT in f.metadata}
    from_json &= {r.column.lower() for r in checked}
    out: list[ColumnInfo] = []
    valued: list[str] = []  # kept JSON by the workbench: does any row hold a value?
    for c in columns:
        typ = parse_type(c.type, "duckdb") if c.name.lower() in from_json else None
        if typ is not None and typ.cls in _NESTED:
            out.append(ColumnInfo(c.name, "JSON"))
            continue
        out.append(c)
        if typ is not None and typ.cls is TypeClass.JSON:
            valued.append(c.name)
    if not valued:
        return out
    counts = bench.rows(
        "SELECT "
        + ", ".join(
            f"count(*) FILTER (WHERE coalesce(json_type({_ident(n)}), 'NULL') <> 'NULL')"
            for n in valued
        )
        + f" FROM {relation}"
    )[0]
    empty = {n for n, k in zip(valued, counts, strict=True) if not k}
    return [c for c in out if c.name not in empty]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def live_type_problems(
    columns: Sequence[ColumnInfo],
    rows: Sequence[ColumnRow],
    rules: ColumnRules,
    dialect: str = "duckdb",
) -> list[Problem]:
    """The errors of sending ``rows`` (untyped parameter columns) with the types the engine
    gives them (``columns``, as ``Engine.describe`` returns them). Warnings are left out: the
    encoder takes those types, and validation said the type was not checked."""
    actual: Mapping[str, str] = {c.name.lower(): c.type for c in columns}
    by_path = {".".join(p.path): p for p in rules.catalog.params}
    problems: list[Problem] = []
    for row in rows:
        spec = by_path.get(row.field or "")
        text = actual.get(row.column.lower())
        typ = parse_type(text, dialect) if text is not None else None
        if spec is None or typ is None or text is None:
            continue
        typ = replace(typ, text=text)  # said as the engine spells it
        problems += [
            Problem(
                f"column {row.column}: {v.message} (its type when the model runs: validation "
                "could not infer it)",
                file=row.file,
                line=row.line,
                hint=v.hint,
            )
            for v in check_type(spec, typ, rules)
            if v.severity == "error"
        ]
    return problems

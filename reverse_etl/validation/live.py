"""The types the engine gives a model's columns, checked where static inference could not.

``retl validate`` types a model's columns with sqlglot, without running anything. A column
it could not type (a function sqlglot does not know, ``union_value(...)``, a macro) is "not
checked" there. When a run has the model's relation in hand, its real column types are one
``DESCRIBE`` away: such a column is checked with the same rules (``validation/types.py``), so
a type the encoder cannot take is an error at the column with its fix, not the engine's
binder error about retl's own payload SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from reverse_etl.columns import TypeClass, parse_type
from reverse_etl.destinations.base import ColumnRules
from reverse_etl.engine.base import ColumnInfo
from reverse_etl.errors import Problem
from reverse_etl.validation.result import ColumnRow, DestinationValidation
from reverse_etl.validation.types import check_type


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

"""JSON text from a warehouse, read back as the lists and structs it holds.

PostgreSQL has no struct with named fields: a DuckDB-dialect model's ``list({'content_id':
sku, 'quantity': qty} ORDER BY sku)`` runs there as an ``array_agg`` of ``json_build_object``
(``pg_meanings``), and a table may keep its line items as ``jsonb``. Those columns reach the
workbench as JSON text, marked ``JSON_TEXT`` by the engine. Sent as text, a ``contents`` would
be one JSON string, not a list. ``nest_json_columns`` turns each such column of a staged
table into the DuckDB type of its values, found from the values themselves
(``json_group_structure``): a list of structs, as the same model gives in DuckDB.

Each row's value must read the same whatever the other rows hold, since the row hash of a
local diff reads the column (as JSON): the structure's keys are sorted, so the order in
which rows arrive does not matter, and a number is kept as its JSON text (a JSON leaf), so
that one row's 2.5 does not turn every other row's 2 into 2.0 (nor a large id into a
DOUBLE). The encoders read a number from its text, as from a text column. Text and booleans
are read as such; a key or a list item whose values are of several kinds (text and numbers,
an object and a number) is kept JSON, so that each value is sent as the JSON it is
(``[1, 2.5, "x"]``, not ``["1", "2.5", "x"]``), but a field of a top-level list's objects
(a ``contents`` item's key: ``sorted_structure``) is read as text; one always null is read
as text. A column
whose values are not an object or a list at the top (numbers, or several kinds, or all
NULL) stays JSON, sent as it is written. A key that appears in one row only is a field of
every row's struct (NULL in the others): it changes every row's hash once, in a local diff.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from reverse_etl.errors import EngineError

if TYPE_CHECKING:
    from reverse_etl.engine.duckdb import DuckDBEngine

_AS_IS = ("VARCHAR", "BOOLEAN")  # every other leaf is a number: kept as its JSON text


def nest_json_columns(engine: DuckDBEngine, table: str, columns: Sequence[str]) -> None:
    """Each of ``columns`` (JSON text) of ``table`` as the type of its values, or JSON.

    The table is written again by one statement whose SQL holds the structures as quoted
    literals only: no type name made of the data's keys (warehouse data, maybe a web
    tracker's) is ever part of the SQL. An object with a key DuckDB cannot name as a struct
    field (empty, or two keys equal but for case) keeps its column JSON."""
    replaced = []
    for column in columns:
        col = _ident(column)
        try:
            structure = sorted_structure(values_structure(engine, table, col))
        except EngineError as exc:  # a text that is not JSON (its value already masked)
            raise EngineError(
                f"column {column!r} holds JSON text that does not read as JSON: {exc.message}",
                hint="make the model's column valid JSON, or cast it to text (::varchar) to "
                "send it as text",
            ) from None
        if structure is None or not _fields_ok(structure):
            replaced.append(f"CAST({col} AS JSON) AS {col}")
        else:
            text = _lit(json.dumps(structure, separators=(",", ":")))
            replaced.append(f"json_transform({col}, {text}) AS {col}")
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS "
        f"SELECT * REPLACE ({', '.join(replaced)}) FROM {table}"
    )


def _fields_ok(structure: Any) -> bool:
    """Whether every object's keys can be struct fields: not empty, apart without case."""
    if isinstance(structure, dict):
        keys = [k.lower() for k in structure]
        if "" in keys or len(set(keys)) != len(keys):
            return False
        return all(_fields_ok(v) for v in structure.values())
    if isinstance(structure, list):
        return all(_fields_ok(v) for v in structure)
    return True


# Distinct shapes merged here; beyond, DuckDB's own json_group_structure merges them.
MANY_SHAPES = 1000


def values_structure(engine: DuckDBEngine, table: str, col: str) -> Any:
    """The structure of the JSON values of column ``col`` (quoted) of ``table``, as
    ``json_group_structure`` gives it (None: no value). Each row's shape is found in
    parallel and only the distinct ones are merged: DuckDB's aggregate took 1.9 s for a
    million rows of three line items, this 0.7 s. Shapes with an empty object, or many
    shapes, are left to the aggregate."""
    shapes = engine.rows(
        f"SELECT DISTINCT json_structure({col}) FROM {table} WHERE {col} IS NOT NULL "
        f"LIMIT {MANY_SHAPES + 1}"
    )
    # A shape says JSON for an empty object ({}) as for a list of several kinds: which one,
    # only DuckDB's aggregate, reading the values, tells ({} and {"a": 1} merge to an object).
    if len(shapes) > MANY_SHAPES or any('"JSON"' in shape for (shape,) in shapes):
        found = engine.rows(f"SELECT json_group_structure(CAST({col} AS JSON)) FROM {table}")
        return None if found[0][0] is None else json.loads(found[0][0])
    merged: Any = None
    for (shape,) in shapes:
        merged = _merged(merged, json.loads(shape))
    return merged


_NUMBERS = ("UBIGINT", "BIGINT", "DOUBLE", "HUGEINT", "UHUGEINT")


def _merged(a: Any, b: Any) -> Any:
    """Two structures as one (``json_group_structure``'s rules, as far as
    ``sorted_structure`` tells them apart): keys united, a NULL taking the other's kind,
    numbers of any kind a number, anything else of two kinds JSON (neither holds JSON: see
    ``values_structure``)."""
    if a is None or a == "NULL":
        return b
    if b in ("NULL", a):
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merged(a.get(k, "NULL"), b.get(k, "NULL")) for k in {**a, **b}}
    if isinstance(a, list) and isinstance(b, list):
        return [_merged(a[0] if a else "NULL", b[0] if b else "NULL")]
    if a in _NUMBERS and b in _NUMBERS:
        return "DOUBLE"
    return "JSON"


def sorted_structure(structure: Any) -> Any:
    """``structure`` (as ``json_group_structure`` gives it; None: no value) with every object's keys
    sorted, numbers as JSON, a leaf of several kinds JSON (sent as the JSON it is) and one of
    nulls only text; None when the top is not an object or a list, but text or a boolean.

    Only a field of the objects of a top-level list (a ``contents`` item's key) of several
    kinds is read as text, as before: the encoders read a content's ID or price from a
    struct's text field, and would read a JSON string's quotes."""
    if structure is None or isinstance(structure, str):
        return structure if structure in _AS_IS else None
    if isinstance(structure, list) and structure and isinstance(structure[0], dict):
        item = structure[0]
        return [{k: _sorted(item[k], mixed="VARCHAR") for k in sorted(item)}]
    return _sorted(structure)


def _sorted(structure: Any, mixed: str = "JSON") -> Any:
    """``mixed``: the type of a leaf of several kinds (``json_group_structure``'s JSON)."""
    if isinstance(structure, dict):
        return {k: _sorted(structure[k]) for k in sorted(structure)}
    if isinstance(structure, list):
        return [_sorted(structure[0])] if structure else ["VARCHAR"]
    if structure == "NULL":  # only nulls: nothing to lose
        return "VARCHAR"
    if structure == "JSON":
        return mixed
    return structure if structure in _AS_IS else "JSON"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"

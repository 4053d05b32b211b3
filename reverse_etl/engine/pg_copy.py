"""A PostgreSQL query's rows read as CSV through ``COPY (query) TO STDOUT``, parsed into Arrow
by Arrow's own CSV reader, instead of a Python object per value through a cursor.

A first sync reads every row of the model (issue #17): through the cursor, psycopg made a
Python object of each value and pyarrow an Arrow array of those, about 5 CPU-seconds per
million bench rows in this process. Here the server streams the rows while Arrow parses them
in C++, and Python sees one call per row (libpq hands COPY data over a row at a time).

Only columns whose PostgreSQL text form Arrow parses back to exactly the value the cursor
gives take this path (``copy_plan``): text-like types (and every type read as its text),
booleans, integers, floats, dates, timestamps and ``numeric`` as decimal or float. Arrays of
text, integers or booleans come as JSON (``array_to_json``) and are parsed by Arrow's JSON
reader. json and jsonb come as their text, and an array of them as one JSON array
(``array_to_json``), marked ``JSON_TEXT`` for the workbench (``json_field``). A query with
any other column (an array of numbers with decimals, of dates...), or with two columns of
one name, is read through the cursor as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql as pgsql

from reverse_etl.engine.base import JSON_TEXT
from reverse_etl.engine.errors_text import redact_error
from reverse_etl.engine.native_memory import hold_mmap_threshold
from reverse_etl.errors import EngineError

_JSON_ARRAY = b"array"


def json_field(name: str, *, array: bool) -> pa.Field:
    """A json or jsonb column (``array``: an array of those), read as JSON text."""
    return pa.field(name, pa.string(), metadata={JSON_TEXT: _JSON_ARRAY if array else b"value"})


def _json_array(field: pa.Field) -> bool:
    return bool(field.metadata and field.metadata.get(JSON_TEXT) == _JSON_ARRAY)


def _scalar_ok(type_: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(type_)
        or pa.types.is_boolean(type_)
        or pa.types.is_integer(type_)
        or pa.types.is_floating(type_)
        or pa.types.is_date32(type_)
        or pa.types.is_timestamp(type_)
        or pa.types.is_decimal128(type_)  # Arrow's CSV reader has no decimal256
    )


def _list_ok(type_: pa.DataType) -> bool:
    """An array whose JSON form reads back exactly: text, integers, booleans (a float
    array's NaN would be the JSON string "NaN"; a decimal's digits would become a float)."""
    if not pa.types.is_list(type_):
        return False
    value = type_.value_type
    return bool(
        pa.types.is_string(value) or pa.types.is_integer(value) or pa.types.is_boolean(value)
    )


@dataclass(frozen=True)
class CopyPlan:
    """How to read a query's rows through COPY: the statement and the columns that come as
    JSON arrays."""

    statement: pgsql.Composed
    schema: pa.Schema
    json_columns: frozenset[int]


def copy_plan(
    query: str,
    schema: pa.Schema,
    *,
    as_text: frozenset[int] = frozenset(),
) -> CopyPlan | None:
    """The COPY of ``query`` (PostgreSQL SQL) whose result has ``schema``, or None when a
    column cannot be read that way (see the module's docstring).

    ``as_text``: columns written as ``::text`` (char(n), without its padding), or, for an
    array, ``::text[]`` (of char(n), uuid, interval...: its JSON is then a list of texts,
    where array_to_json wrote numbers for an oid[]). A date or
    timestamp Arrow cannot hold ('infinity', BC, year 10000 and after) comes as NULL."""
    names = schema.names
    if not names or len(set(names)) != len(names):
        return None
    json_columns = frozenset(i for i, f in enumerate(schema) if _list_ok(f.type))
    if any(not _scalar_ok(f.type) for i, f in enumerate(schema) if i not in json_columns):
        return None
    as_json = json_columns | {i for i, f in enumerate(schema) if _json_array(f)}
    inner: pgsql.Composable = pgsql.SQL(query)  # the transpiled model, as the cursor runs it
    forms = [_column(i, n, schema.field(i), as_json, as_text) for i, n in enumerate(names)]
    if any(form is not None for form in forms):
        columns = pgsql.SQL(", ").join(
            form if form is not None else pgsql.SQL("__q.{}").format(pgsql.Identifier(n))
            for form, n in zip(forms, names, strict=True)
        )
        inner = pgsql.SQL("SELECT {} FROM ({}) AS __q").format(columns, inner)
    statement = pgsql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(inner)
    return CopyPlan(statement, schema, json_columns)


# The dates and times Arrow's CSV reader takes: years 1 to 9999 (PostgreSQL writes a BC
# date with " BC", year 10000 with five digits, and 'infinity').
_TIME_RANGE = "CASE WHEN {c} >= '0001-01-01' AND {c} < '10000-01-01' THEN {c} END"


def _column(
    i: int, name: str, field: pa.Field, as_json: frozenset[int], as_text: frozenset[int]
) -> pgsql.Composable | None:
    """How COPY writes column ``i`` (None: as it is)."""
    column = pgsql.SQL("__q.{}").format(pgsql.Identifier(name))
    if i in as_json:
        cast = pgsql.SQL("::text[]") if i in as_text else pgsql.SQL("")
        return pgsql.SQL("array_to_json({}{})::text").format(column, cast)
    if i in as_text:
        return pgsql.SQL("{}::text").format(column)
    if pa.types.is_date32(field.type) or pa.types.is_timestamp(field.type):
        return pgsql.SQL(_TIME_RANGE).format(c=column)
    return None


def read_batches(cur: psycopg.Cursor[Any], plan: CopyPlan, rows: int) -> Iterator[pa.RecordBatch]:
    """The rows of ``plan``'s COPY, as record batches of ``plan.schema`` of ``rows`` rows
    each (the last one: what is left), as the cursor fetches them. A server error while
    reading raises ``psycopg.Error``; a value Arrow cannot read as its column's type raises
    ``EngineError`` naming the column, not the value.

    libpq hands COPY data over one row at a time: ``rows`` of them are joined into one block
    and parsed at once. Each block holds whole rows, however long one is (Arrow's streaming
    CSV reader fails on a row longer than its block)."""
    import pyarrow.csv as pacsv  # here: a sync that streams nothing does without

    # A block is a Python bytes object of a few MB: held at glibc's default threshold, they
    # are unmapped when freed rather than fragmenting the heap (as Spark's batches did:
    # engine/native_memory.py).
    hold_mmap_threshold()
    schema = plan.schema
    # Positional names: the CSV reader keys its types by name.
    names = [f"c{i}" for i in range(len(schema))]
    types = {
        n: pa.string() if i in plan.json_columns else f.type
        for i, (n, f) in enumerate(zip(names, schema, strict=True))
    }
    # A row of one NULL column is an empty line: a row, not a line to skip.
    parse = pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False)
    convert = pacsv.ConvertOptions(
        column_types=types,
        null_values=[""],  # COPY's NULL; an empty text is quoted, ""
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t"],
        false_values=["f"],
    )
    with cur.copy(plan.statement) as copy:
        read = copy.read
        while True:
            parts = []
            for _ in range(rows):
                row = read()
                if not row:
                    break
                parts.append(row)
            if not parts:
                return
            block = b"".join(parts)
            del parts
            try:
                table = pacsv.read_csv(
                    pa.py_buffer(block),
                    read_options=pacsv.ReadOptions(
                        column_names=names, block_size=len(block) + 1, use_threads=False
                    ),
                    parse_options=parse,
                    convert_options=convert,
                )
            except pa.ArrowInvalid as exc:
                raise _value_error(exc, schema) from None
            del block
            for batch in table.combine_chunks().to_batches():
                yield _typed(batch, plan)
            if table.num_rows < rows:
                return


def _typed(batch: pa.RecordBatch, plan: CopyPlan) -> pa.RecordBatch:
    columns = list(batch.columns)
    for i in plan.json_columns:
        columns[i] = _lists(columns[i], plan.schema.field(i))
    return pa.RecordBatch.from_arrays(columns, schema=plan.schema)


def _lists(text: pa.Array, field: pa.Field) -> pa.Array:
    """JSON arrays (text) as an Arrow list column: one NDJSON line per row, parsed at once."""
    import pyarrow.compute as pc  # 9 MB of imports: only where a stream has arrays
    import pyarrow.json as pajson

    if len(text) == 0:
        return pa.nulls(0, field.type)  # not pa.array: no pandas import (arrow_values.py)
    lines = pc.binary_join_element_wise('{"v":', pc.fill_null(text, "null"), "}\n", "")
    data = _joined(lines)
    try:
        table = pajson.read_json(
            pa.BufferReader(data),
            read_options=pajson.ReadOptions(
                use_threads=False, block_size=max(len(data) + 1, 1 << 16)
            ),
            parse_options=pajson.ParseOptions(
                explicit_schema=pa.schema([pa.field("v", field.type)]),
                unexpected_field_behavior="error",
            ),
        )
    except pa.ArrowInvalid:
        if pc.any(pc.starts_with(text, "[[")).as_py():
            raise nested_array(field) from None
        raise does_not_fit(field) from None
    return table.column("v").combine_chunks()


def _joined(lines: pa.Array) -> pa.Buffer:
    """The characters of a string array, back to back (its value buffer, from its first
    value to its last)."""
    array = lines.cast(pa.large_string())
    offsets = array.buffers()[1]
    first = int.from_bytes(offsets[8 * array.offset : 8 * array.offset + 8], "little")
    end = 8 * (array.offset + len(array))
    last = int.from_bytes(offsets[end : end + 8], "little")
    return array.buffers()[2].slice(first, last - first)


_COLUMN = re.compile(r"In CSV column #(\d+)")
_CAST_HINT = "cast the column to text (or another plain type) in the model"


def does_not_fit(field: pa.Field, detail: str = "") -> EngineError:
    """A value of ``field``'s column that its Arrow type cannot hold (``detail``: what the
    reader said, already redacted), whichever way the rows were read."""
    said = f": {detail}" if detail else ""
    return EngineError(
        f'column "{field.name}": a value does not fit {field.type}{said}', hint=_CAST_HINT
    )


def nested_array(field: pa.Field) -> EngineError:
    """A PostgreSQL array of two or more dimensions (``ARRAY[[1,2],[3,4]]``) in ``field``'s
    column, which retl reads as a list of one dimension only."""
    return EngineError(
        f'column "{field.name}": an array of two or more dimensions (ARRAY[[1, 2], [3, 4]]); '
        "retl reads arrays of one dimension (a list)",
        hint="flatten it in the model (ARRAY(SELECT unnest(x))), or cast it to text (x::text)",
    )


def _value_error(exc: pa.ArrowInvalid, schema: pa.Schema) -> EngineError:
    """Which column a value did not fit, without the value (it may be personal data)."""
    found = _COLUMN.search(str(exc))
    if found and int(found.group(1)) < len(schema):
        return does_not_fit(schema.field(int(found.group(1))))
    return EngineError(
        "a value does not fit its column's type: " + redact_error(str(exc).split(":")[0]).strip(),
        hint=_CAST_HINT,
    )

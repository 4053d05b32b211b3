"""A custom property (a column mapped to no platform parameter, sent as its own JSON) carries
no JSON ``null`` at any depth: both platforms refuse the whole event for one (TikTok "Field may
not be null", Meta "... is null; leave the field out instead"). A real ``retl sync`` of one
model to both emulators, read back from what they received.

- A list's NULL items, a struct's NULL fields, a map's NULL values and a union's NULL member
  are left out; so is a NaN or infinite float, which was sent as ``null``.
- A list, struct, map or union left empty by that is left out in turn (a list or map the model
  wrote empty is sent as it is, ``[]`` and ``{}``).
- A value with no NULL in it is sent as before, byte for byte (``own_json``'s SQL against
  DuckDB's own ``to_json``).
- A JSON column's nulls are left out the same way (test_json_property_nulls.py); one with no
  null is sent as before."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from reverse_etl.destinations.shared.sql import ident, own_json
from reverse_etl.sandbox import SandboxServer
from tests.test_number_fidelity import BASE, _reasons, _sync, server  # noqa: F401

# name: (SQL, what is sent)
NULLS = {
    "list": ("[1, NULL, 2]", [1, 2]),
    "list_nan": ("[1.5, 'nan'::DOUBLE, '-inf'::DOUBLE, 0.25]", [1.5, 0.25]),
    "struct": ("{'a': NULL::INT, 'b': 'x'}", {"b": "x"}),
    "map": ("MAP {'k': NULL::INT, 'j': 2}", {"j": 2}),
    "map_nan": ("MAP {'k': 'nan'::FLOAT, 'j': 2.5::FLOAT}", {"j": 2.5}),
    "list_of_structs": (
        "[{'a': NULL::INT, 'b': 1}, NULL, {'a': 3, 'b': NULL}]",
        [{"b": 1}, {"a": 3}],
    ),
    "lists_in_list": ("[[NULL, 1], [NULL]::INT[], [2]]", [[1], [2]]),
    "deep": (
        "{'x': [{'y': MAP {'z': [NULL, 'nan'::DOUBLE]}, 'n': 1}], 'w': NULL::VARCHAR, 'v': 'k'}",
        {"x": [{"n": 1}], "v": "k"},
    ),
    "array": ("[NULL, 7]::INT[2]", [7]),
    "empty_as_written": ("{'l': []::INT[], 'm': MAP {}::MAP(VARCHAR, INT), 'a': 1}", None),
}
# Left out: nothing is left in them.
EMPTIED = {
    "list_of_nulls": "[NULL, NULL]::INT[]",
    "struct_of_nulls": "{'a': NULL::INT, 'b': [NULL]::INT[]}",
    "map_of_nulls": "MAP {'k': NULL::INT}",
    "union_null": "union_value(a := NULL::INT)::UNION(a INT, b VARCHAR)",
    "nan_only": "['nan'::DOUBLE]",
}


def _model(columns: dict[str, str]) -> str:
    cols = ", ".join(
        f'{sql} AS "{obj}.{name}"'
        for name, sql in columns.items()
        for obj in ("properties", "custom_data")
    )
    return f"SELECT {BASE}, 'e-1' AS event_id, 'USD' AS currency, 1 AS value, {cols}"


def test_nulls_inside_a_custom_property_are_left_out(
    server: SandboxServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    columns = {name: sql for name, (sql, _) in NULLS.items()} | EMPTIED
    tiktok, meta, report = _sync(server, tmp_path, _model(columns))
    # Both received the event: a null at any depth got it refused.
    assert set(tiktok) == set(meta) == {"e-1"}
    expected = {name: sent for name, (_, sent) in NULLS.items()}
    expected["empty_as_written"] = {"l": [], "m": {}, "a": 1}
    for props in (tiktok["e-1"]["properties"], meta["e-1"]["custom_data"]):
        assert {k: props.get(k) for k in expected} == expected
        assert not set(EMPTIED) & set(props)
    assert _reasons(report, "invalid") == {"tiktok": {}, "meta": {}}


def test_a_json_column_with_no_null_is_sent_as_written(
    server: SandboxServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """JSON with no null is sent as its value (its nulls: test_json_property_nulls.py)."""
    model = _model({"j": "'{\"a\": 1}'::JSON"})
    tiktok, meta, _ = _sync(server, tmp_path, model)
    assert tiktok["e-1"]["properties"]["j"] == meta["e-1"]["custom_data"]["j"] == {"a": 1}


# Values with no NULL: sent as DuckDB's to_json writes them (as before the nulls were left
# out), byte for byte.
WHOLE = {
    "int": "42",
    "decimal": "12.30::DECIMAL(10,2)",
    "hugeint": "12345678901234567890::HUGEINT",
    "date": "DATE '2024-01-02'",
    "timestamp": "TIMESTAMP '2024-01-02 03:04:05.123456'",
    "blob": "'\\x00\\xFFab'::BLOB",
    "text": "'a\"é/\\n'",
    "json": '\'{"a":[1,2],"b":"null"}\'::JSON',
    "list": "[1, 2, 3]",
    "empty_list": "[]::INT[]",
    "decimals": "[1.25::DECIMAL(5,2)]",
    "struct": "{'a': 1, 'b': 'x', 'c\"q é': [1.5, 2.0], 'd': DATE '2020-01-01'}",
    "struct_of_lists_of_structs": (
        "{'xs': [{'p': 1.5::FLOAT, 'q': [DATE '2020-01-01']}, {'p': 2.0::FLOAT, "
        "'q': []::DATE[]}], 'ts': TIMESTAMP '2020-01-01 00:00:00', 'b': ['\\xAA'::BLOB]}"
    ),
    "map": "MAP {'k': 1, 'j': 2}",
    "empty_map": "MAP {}::MAP(VARCHAR, INT)",
    "map_of_structs": "MAP {1: {'a': 0.5::FLOAT}, 2: {'a': 3::FLOAT}}",
    "union": "union_value(a := 1::INT)::UNION(a INT, b VARCHAR)",
    "union_of_struct": "union_value(s := {'x': [1]})::UNION(s STRUCT(x INT[]), b VARCHAR)",
    "array_of_structs": "[{'a': 1}, {'a': 2}]::STRUCT(a INT)[2]",
    "lists": "[[1, 2], [], [3]]",
    "struct_of_json": "{'j': '{\"z\":1}'::JSON, 'k': ['[1]'::JSON]}",
    "nested": "{'n': {'m': {'o': 1, 't': TIME '01:02:03'}}}",
}


@pytest.mark.parametrize("value", WHOLE.values(), ids=WHOLE.keys())
def test_a_value_with_no_null_is_sent_as_to_json_writes_it(value: str) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT " + value + " AS v")
    t = con.sql("SELECT * FROM t").arrow().schema.field("v").type
    sent = con.sql(f"SELECT {own_json(ident('v'), t)} FROM t").fetchone()
    native = con.sql("SELECT to_json(v) FROM t").fetchone()
    assert sent == native


# A FLOAT is sent as its own digits (test_number_fidelity.py), not as to_json writes it.
FLOATS = {
    "0.1::FLOAT": "0.1",
    "[0.1::FLOAT, 2.5::FLOAT]": "[0.1,2.5]",
    "{'xs': [{'p': 1.5::FLOAT, 'q': 0.1::FLOAT}], 'b': 'x'}": '{"xs":[{"p":1.5,"q":0.1}],"b":"x"}',
    "MAP {1: {'a': 0.1::FLOAT}, 2: {'a': 3::FLOAT}}": '{"1":{"a":0.1},"2":{"a":3.0}}',
    "union_value(f := 0.1::FLOAT)::UNION(f FLOAT, b VARCHAR)": '{"f":0.1}',
}


@pytest.mark.parametrize(("value", "json"), FLOATS.items(), ids=range(len(FLOATS)))
def test_a_float_with_no_nan_is_sent_as_before(value: str, json: str) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT " + value + " AS v")
    t = con.sql("SELECT * FROM t").arrow().schema.field("v").type
    assert con.sql(f"SELECT {own_json(ident('v'), t)} FROM t").fetchone() == (json,)

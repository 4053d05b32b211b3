"""JSON text staged from a warehouse becomes the lists and structs it holds
(engine/json_columns.py): the type found by merging the distinct shapes is the one DuckDB's
own ``json_group_structure`` gives, as ``sorted_structure`` reads it."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pytest

from reverse_etl.engine import json_columns
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.engine.json_columns import sorted_structure, values_structure
from reverse_etl.engine.pg_copy import json_field
from reverse_etl.errors import EngineError


def _value(rng: random.Random, depth: int = 0) -> object:
    kinds = ["int", "neg", "float", "text", "bool", "null", "list", "object"]
    kind = rng.choice(kinds[: len(kinds) - depth])
    if kind == "int":
        return rng.randint(0, 10**6)
    if kind == "neg":
        return -rng.randint(1, 10**20)
    if kind == "float":
        return rng.random() * 100
    if kind == "text":
        return rng.choice(["a", "sku-1", ""])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [_value(rng, depth + 2) for _ in range(rng.randint(0, 3))]
    keys = ["content_id", "price", "quantity", "brand", "x"]
    return {k: _value(rng, depth + 2) for k in rng.sample(keys, rng.randint(0, 4))}


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("many", [1000, 2])
def test_the_merged_shapes_give_duckdbs_structure(
    seed: int, many: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_columns, "MANY_SHAPES", many)  # 2: DuckDB's own merge
    rng = random.Random(seed)
    top = rng.choice(["list", "object", "any"])
    values: list[object] = []
    for _ in range(rng.randint(1, 30)):
        v = _value(rng)
        if top == "list":
            v = [_value(rng, 2) for _ in range(rng.randint(0, 3))]
        elif top == "object":
            v = {"a": _value(rng, 2), "b": _value(rng, 2)} if rng.random() < 0.8 else {}
        values.append(v)
    texts = [json.dumps(v) if rng.random() < 0.9 else None for v in values]
    engine = DuckDBEngine()
    try:
        engine.execute("CREATE TEMP TABLE t (j VARCHAR)")
        for text in texts:
            engine.execute("INSERT INTO t VALUES (?)", [text])
        (found,) = engine.rows("SELECT json_group_structure(CAST(j AS JSON)) FROM t")[0]
        expected = sorted_structure(None if found is None else json.loads(found))
        assert sorted_structure(values_structure(engine, "t", '"j"')) == expected
    finally:
        engine.close()


def test_a_staged_json_column_is_the_lists_and_structs_it_holds() -> None:
    schema = pa.schema(
        [pa.field("id", pa.int64()), json_field("items", array=True), json_field("n", array=False)]
    )
    rows = pa.table(
        [
            pa.array([1, 2, 3]),
            pa.array(
                [
                    '[{"quantity" : 2, "content_id" : "b", "price" : 9.50}, '
                    '{"content_id" : 12345678901234567890, "price" : 3}]',
                    None,
                    "[]",
                ]
            ),
            pa.array(["1", "2.5", None]),
        ],
        schema=schema,
    )
    engine = DuckDBEngine()
    try:
        table = engine.stage(rows.to_reader())
        types = dict(engine.rows(f"SELECT column_name, column_type FROM (DESCRIBE {table})"))
        # keys sorted; a key of text and numbers is text; numbers stay their JSON text
        assert types["items"] == "STRUCT(content_id VARCHAR, price JSON, quantity JSON)[]"
        assert types["n"] == "JSON"  # no object or list at the top: as it is written
        got = engine.rows(f"SELECT to_json(items), n FROM {table} ORDER BY id")
        assert got == [
            (
                '[{"content_id":"b","price":9.5,"quantity":2},'
                '{"content_id":"12345678901234567890","price":3,"quantity":null}]',
                "1",
            ),
            (None, "2.5"),
            ("[]", None),
        ]
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("values", "sent"),
    [
        (['{"b":[1,2.50,"x"]}'], ['{"b":[1,2.5,"x"]}']),
        (['{"a":1}', '{"a":"x"}'], ['{"a":1}', '{"a":"x"}']),
        (['{"a":1}', '{"a":{"c":2}}', '{"a":[1]}'], ['{"a":1}', '{"a":{"c":2}}', '{"a":[1]}']),
        (['{"a":[true,1]}'], ['{"a":[true,1]}']),
        (['{"b":[[1,"x"],[2.5]]}'], ['{"b":[[1,"x"],[2.5]]}']),
        (['{"o":[{"a":1},{"a":"x","b":{}}]}'], ['{"o":[{"a":1,"b":null},{"a":"x","b":{}}]}']),
        (
            ['{"n":9007199254740993,"m":1e400,"k":[9007199254740993,1e400,"x"]}'],
            ['{"k":[9007199254740993,1e400,"x"],"m":1e400,"n":9007199254740993}'],
        ),
        # a contents item's key (a field of a top-level list's objects): text, as before
        (
            ['[{"content_id":7,"price":"2.5"}]', '[{"content_id":"a","price":3}]'],
            ['[{"content_id":"7","price":"2.5"}]', '[{"content_id":"a","price":"3"}]'],
        ),
    ],
)
def test_a_value_of_several_kinds_stays_the_json_it_is(values: list[str], sent: list[str]) -> None:
    """Numbers stay numbers (their digits kept) and texts texts where a key or a list holds
    both, rather than all becoming text."""
    rows = pa.table(
        [pa.array(range(len(values))), pa.array(values)],
        schema=pa.schema([pa.field("id", pa.int64()), json_field("c", array=False)]),
    )
    engine = DuckDBEngine()
    try:
        table = engine.stage(rows.to_reader())
        assert [t for (t,) in engine.rows(f"SELECT to_json(c) FROM {table} ORDER BY id")] == sent
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("key", "nested"),
    [
        ('a"b', True),
        ("c'd", True),
        ("e) VARCHAR, f INT); DROP TABLE x; --", True),
        ("order", True),
        ("", False),  # no struct field has an empty name
    ],
)
def test_keys_from_the_data_never_become_sql(key: str, nested: bool) -> None:
    """The keys are warehouse data (a web tracker's, maybe): whatever they hold, the value
    comes back whole, as a struct when DuckDB can name each field, else as JSON."""
    value = {key: 1, "z": "v"}
    rows = pa.table(
        [pa.array([json.dumps(value)])], schema=pa.schema([json_field("c", array=False)])
    )
    engine = DuckDBEngine()
    try:
        table = engine.stage(rows.to_reader())
        ((type_, text),) = engine.rows(f"SELECT typeof(c), to_json(c) FROM {table}")
        assert type_.startswith("STRUCT(") is nested
        assert json.loads(text) == value
    finally:
        engine.close()


def test_keys_equal_but_for_case_keep_the_column_json() -> None:
    rows = pa.table(
        [pa.array(['{"a": 1}', '{"A": 2}'])], schema=pa.schema([json_field("c", array=False)])
    )
    engine = DuckDBEngine()
    try:
        table = engine.stage(rows.to_reader())
        got = engine.rows(f"SELECT typeof(c), to_json(c) FROM {table} ORDER BY 2")
        assert got == [("JSON", '{"A":2}'), ("JSON", '{"a":1}')]
    finally:
        engine.close()


def test_json_text_that_is_not_json_names_its_column_not_its_value() -> None:
    """A column marked JSON text whose text does not read as JSON (a Spark model's
    ``s::json`` of such a text, which DuckDB refuses too): the error names the column and
    masks the value (it may be PII)."""
    rows = pa.table(
        [pa.array(['{"a": 1}', "ann@example.com, not json"])],
        schema=pa.schema([json_field("details", array=False)]),
    )
    engine = DuckDBEngine()
    try:
        with pytest.raises(EngineError) as info:
            engine.stage(rows.to_reader())
        assert "column 'details' holds JSON text that does not read as JSON" in info.value.message
        assert "ann@example.com" not in str(info.value) + str(info.value.hint)
    finally:
        engine.close()

"""A custom property of DuckDB type JSON carries no JSON ``null`` either: both platforms (and
both emulators) refuse the whole event for one, as for a typed column's NULL
(test_custom_property_nulls.py), and JSON follows the same rule.

- A top-level ``null`` is left out, as a NULL is.
- An array's ``null`` items and an object's ``null`` members are left out at any depth; an
  array or object left empty by that is left out in turn (one the model wrote empty, ``[]``
  or ``{}``, is sent as it is).
- A JSON leaf of a list, struct, map or union (as a warehouse's json or jsonb is read:
  json_columns.py) is cleaned the same way.
- Everything else is sent as before, byte for byte (``to_json``'s text): digits, key order,
  escapes, unicode; a string ``"null"`` is a string, not a null.

A real ``retl sync`` to both emulators, and ``own_json``'s SQL against DuckDB's own
``to_json`` (and a reference in Python) for the bytes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reverse_etl.destinations.shared.sql import ident, lit, own_json
from reverse_etl.sandbox import SandboxServer
from tests.test_custom_property_nulls import _model
from tests.test_number_fidelity import _reasons, _sync, server  # noqa: F401

# name: (SQL, what is sent)
NULLS = {
    "array": ("'[1, null, \"null\", 2.5]'::JSON", [1, "null", 2.5]),
    "object": (
        '\'{"a": null, "b": {"c": null}, "d": [null], "e": [], "f": {}, "g": "x"}\'::JSON',
        {"e": [], "f": {}, "g": "x"},
    ),
    "deep": ('\'[[[[null, 1]]], [[[null]]], {"k": [{"z": null}]}]\'::JSON', [[[[1]]]]),
    "string_null": ("'\"null\"'::JSON", "null"),
    "no_null": ('\'{"b": 1, "a": [true, false]}\'::JSON', {"b": 1, "a": [True, False]}),
    # JSON leaves of typed values (a warehouse's jsonb is read as such: json_columns.py)
    "struct_of_json": (
        "{'j': '{\"z\": null, \"y\": 1}'::JSON, 'v': 'null', 'n': 'null'::JSON}",
        {"j": {"y": 1}, "v": "null"},
    ),
    "list_of_json": ("['[null]'::JSON, '{\"a\": 1, \"b\": null}'::JSON, NULL]", [{"a": 1}]),
    "map_of_json": ("MAP {'x': '[null, 2]'::JSON, 'y': '{\"q\": null}'::JSON}", {"x": [2]}),
}
# Left out: nothing is left in them.
EMPTIED = {
    "top_null": "'null'::JSON",
    "array_of_nulls": "'[null, null]'::JSON",
    "emptied": '\'{"a": [null, {"b": null}], "c": null}\'::JSON',
    "struct_of_null_json": "{'j': '[null]'::JSON}",
    "union_of_null_json": "union_value(j := '{\"a\": null}'::JSON)::UNION(j JSON, b VARCHAR)",
}


def test_nulls_inside_a_json_property_are_left_out(
    server: SandboxServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    columns = {name: sql for name, (sql, _) in NULLS.items()} | EMPTIED
    tiktok, meta, report = _sync(server, tmp_path, _model(columns))
    # Both received the event: a null at any depth got it refused.
    assert set(tiktok) == set(meta) == {"e-1"}
    expected = {name: sent for name, (_, sent) in NULLS.items()}
    for props in (tiktok["e-1"]["properties"], meta["e-1"]["custom_data"]):
        assert {k: props.get(k) for k in expected} == expected
        assert not set(EMPTIED) & set(props)
    assert _reasons(report, "invalid") == {"tiktok": {}, "meta": {}}


def _sent(con: duckdb.DuckDBPyConnection, value: str) -> tuple[str | None, str | None]:
    """What ``own_json`` writes for the SQL ``value``, and what ``to_json`` writes."""
    con.execute("CREATE OR REPLACE TABLE t AS SELECT " + value + " AS v")
    t = con.sql("SELECT * FROM t").arrow().schema.field("v").type
    row = con.sql(f"SELECT {own_json(ident('v'), t)}, to_json(v) FROM t").fetchone()
    assert row is not None
    return row[0], row[1]


# JSON text with no null: sent as to_json writes it, byte for byte.
WHOLE = [
    ' { "b" : 1 , "a" : [ 2.50 , 1e400 , -0.0 , 1E5 ] } ',
    "[12345678901234567890123, 9007199254740993, 0.1e1, 3]",
    '{"e":"\\u00e9\\n\\/\\"\\\\","é":"ü 💡","k\\":":"y:"}',
    '["null", "a,null]", "{\\"n\\":null}", "nul", "nullable"]',
    '{"nullable": 1, "x": {"null": "null"}}',
    '[[], {}, [[]], {"a": {}}]',
    '"null"',
    "2.50",
    "true",
    '{"a": 1, "a": 2}',
]


@pytest.mark.parametrize("text", WHOLE, ids=range(len(WHOLE)))
def test_json_with_no_null_is_sent_as_to_json_writes_it(text: str) -> None:
    con = duckdb.connect()
    for value in (
        f"{lit(text)}::JSON",
        f"[{lit(text)}::JSON, '[]'::JSON]",
        f"{{'j': {lit(text)}::JSON, 's': 'x\"é', 'l': ['null', 'y']}}",
        f"MAP {{'k': {lit(text)}::JSON}}",
        f"union_value(j := {lit(text)}::JSON)::UNION(j JSON, b VARCHAR)",
    ):
        own, native = _sent(con, value)
        assert own == native


# JSON text with nulls: the exact text sent (what to_json writes, its nulls left out).
CLEANED = {
    ' { "b" : [ 1 , null , 2.50 ] , "k\\":" : null , "s" : "a,null]" } ': (
        '{"b":[1,2.5],"s":"a,null]"}'
    ),
    "[null, 1e400, 12345678901234567890123, null]": "[1e400,12345678901234567890123]",
    '{"a": [null, {"b": null}], "c": [], "d": {"e": {}}, "f": null}': '{"c":[],"d":{"e":{}}}',
    '[{"x": null}, [null, [null]], "\\u00e9", null]': '["é"]',
    '{"null": null, "n": "null"}': '{"n":"null"}',
    # nulls in objects only (JSON merge patch)
    '{"a": null, "b": {"c": null, "d": 2.50}, "e": 1e400, "k\\":": "\\u00e9"}': (
        '{"b":{"d":2.5},"e":1e400,"k\\":":"é"}'
    ),
    '{"a": 1, "a": 2, "b": null}': '{"a":1,"a":2}',
}


@pytest.mark.parametrize(("text", "sent"), CLEANED.items(), ids=range(len(CLEANED)))
def test_json_with_nulls_is_sent_without_them(text: str, sent: str) -> None:
    assert _sent(duckdb.connect(), f"{lit(text)}::JSON")[0] == sent


def test_text_is_not_json() -> None:
    """A VARCHAR column holding JSON's text is a string: its ``null`` is no null."""
    assert _sent(duckdb.connect(), "'[null]'")[0] == '"[null]"'


# --- against a reference ----------------------------------------------------------------


class _Object(list[tuple[str, Any]]):
    """A JSON object as its members in order (duplicates kept)."""


class _Left:
    """A value left out."""


LEFT = _Left()


def _read(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_Object, parse_float=Decimal)


def _without_nulls(v: Any) -> Any:
    if v is None:
        return LEFT
    if isinstance(v, _Object):
        kept = _Object((k, w) for k, w in ((k, _without_nulls(w)) for k, w in v) if w is not LEFT)
        return LEFT if v and not kept else kept
    if isinstance(v, list):
        items = [w for w in map(_without_nulls, v) if w is not LEFT]
        return LEFT if v and not items else items
    return v


_TEXT = st.text(st.sampled_from('ab"\\,:[]{} énull\n💡'), max_size=6)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.sampled_from([Decimal("2.50"), Decimal("1e400"), Decimal("-0.0"), Decimal("0.1")]),
    _TEXT,
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(_TEXT, inner, max_size=4).map(lambda d: _Object(d.items())),
    ),
    max_leaves=12,
)


def _dumps(v: Any, spaced: bool) -> str:
    comma, colon = (" , ", " : ") if spaced else (",", ":")
    if isinstance(v, _Object):
        return "{" + comma.join(json.dumps(k) + colon + _dumps(w, spaced) for k, w in v) + "}"
    if isinstance(v, list):
        return "[" + comma.join(_dumps(w, spaced) for w in v) + "]"
    return str(v) if isinstance(v, Decimal) else json.dumps(v)


@given(_VALUES, st.booleans())
def test_a_json_value_is_sent_without_its_nulls(value: Any, spaced: bool) -> None:
    """Any JSON (strings with brackets, quotes, commas and "null" in them; nulls at any depth;
    empty arrays and objects): what is sent reads as to_json's JSON with its nulls left out,
    and is to_json's text itself when there was none."""
    own, native = _sent(duckdb.connect(), f"{lit(_dumps(value, spaced))}::JSON")
    assert native is not None
    expected = _without_nulls(_read(native))
    assert (LEFT if own is None else _read(own)) == expected
    if expected == _read(native):
        assert own == native


def test_a_json_key_of_a_contents_item_is_sent_without_its_nulls() -> None:
    """TikTok's contents of structs: a key that is JSON (a warehouse's jsonb in a composite)
    is sent without its nulls; the JSON test is of the list column's type, once (a text key
    of a contents with no JSON in it keeps the plain SQL: tiktok/encode.py)."""
    from reverse_etl.destinations.tiktok.encode import _contents_json

    con = duckdb.connect()
    items = (
        "[{'content_id': 'sku-1', 'brand': 'Acme', "
        "'extra': '{\"a\": null, \"b\": [1, null]}'::JSON},"
        " {'content_id': 'sku-2', 'brand': 'null', 'extra': 'null'::JSON}]"
    )
    for sql, sent in [
        (
            items,
            [
                {"content_id": "sku-1", "brand": "Acme", "extra": {"b": [1]}},
                {"content_id": "sku-2", "brand": "null"},
            ],
        ),
        (
            "[{'content_id': 'sku-1', 'brand': '[null]'}]",  # text, not JSON: sent as it is
            [{"content_id": "sku-1", "brand": "[null]"}],
        ),
    ]:
        con.execute(f"CREATE OR REPLACE TABLE t AS SELECT {sql} AS c")
        t = con.sql("SELECT * FROM t").arrow().schema.field("c").type
        row = con.sql(f"SELECT {_contents_json('c', t)} FROM t").fetchone()
        assert row is not None and json.loads(row[0]) == sent

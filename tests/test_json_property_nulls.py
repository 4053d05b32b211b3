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
from hypothesis import given, settings
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


# --- the sentinels' way (json_nulls.py), piece by piece -----------------------------------

S = "\x01"  # the sentinel


def _sql(con: duckdb.DuckDBPyConnection, expr: str, text: str) -> str | None:
    """``expr`` (SQL of ``__x``) of the VARCHAR ``text``."""
    row = con.execute(f"SELECT {expr} FROM (SELECT $t::VARCHAR AS __x)", {"t": text}).fetchone()
    assert row is not None
    return row[0]


MARKED = {
    "null": S,
    '[null,"null",null]': f'[{S},"null",{S}]',
    '{"null":null,"a":"x null","b\\"":null}': f'{{"null":{S},"a":"x null","b\\"":{S}}}',
    '["a\\\\",null,"\\",null,\\"",1,null]': f'["a\\\\",{S},"\\",null,\\"",1,{S}]',
    '[Infinity,"n",-Infinity,null,NaN,true,false]': f'[Infinity,"n",-Infinity,{S},NaN,true,false]',
    '{"a":[],"b":{},"c":"é💡null","d":[null]}': f'{{"a":[],"b":{{}},"c":"é💡null","d":[{S}]}}',
}


@pytest.mark.parametrize(("text", "marked"), MARKED.items(), ids=range(len(MARKED)))
def test_each_null_outside_strings_is_marked(text: str, marked: str) -> None:
    from reverse_etl.destinations.shared.json_nulls import _marked

    assert _sql(duckdb.connect(), _marked("__x"), text) == marked


COLLAPSED = {  # text: after 1 pass, after 2 passes
    f'[{S},[{S}],{{"a":{S},"b":[{S},{S}]}}]': (
        f'[{S},{S},{{"a":{S},"b":{S}}}]',
        f"[{S},{S},{S}]",
    ),
    f'{{"k\\":[":{S},"x":[{S},1],"e":[],"f":{{}}}}': (
        f'{{"k\\":[":{S},"x":[{S},1],"e":[],"f":{{}}}}',
        f'{{"k\\":[":{S},"x":[{S},1],"e":[],"f":{{}}}}',
    ),
    f'[{{"a":{S},"b":"}}"}},["]",{S}],{{"c":{{"d":{S}}}}}]': (
        f'[{{"a":{S},"b":"}}"}},["]",{S}],{{"c":{S}}}]',
        f'[{{"a":{S},"b":"}}"}},["]",{S}],{S}]',
    ),
}


@pytest.mark.parametrize(("text", "passes"), COLLAPSED.items(), ids=range(len(COLLAPSED)))
def test_an_array_or_object_of_only_sentinels_is_one(text: str, passes: tuple[str, str]) -> None:
    """One level of nesting a pass; an array or object written empty, or holding anything
    but sentinels (a string with a bracket in it too), stays."""
    from reverse_etl.destinations.shared.json_nulls import _collapsed

    con = duckdb.connect()
    assert (_sql(con, _collapsed("__x", 1), text), _sql(con, _collapsed("__x", 2), text)) == passes


LEFT_OUT = {
    S: None,
    f"[{S},1,{S},{S},2,{S}]": "[1,2]",
    f'{{"a":{S},"b":1,"c":{S},"d":{{"e":{S},"f":[{S},"x"]}},"g":{S}}}': '{"b":1,"d":{"f":["x"]}}',
    f'{{"a\\",":{S},"b\\\\":"{{,\\"c\\":"}}': '{"b\\\\":"{,\\"c\\":"}',
    '[[],{},"null"]': '[[],{},"null"]',
}


@pytest.mark.parametrize(("text", "kept"), LEFT_OUT.items(), ids=range(len(LEFT_OUT)))
def test_sentinels_go_with_their_keys_and_commas(text: str, kept: str | None) -> None:
    from reverse_etl.destinations.shared.json_nulls import _left_out

    assert _sql(duckdb.connect(), _left_out("__x"), text) == kept


def test_only_nesting_past_the_passes_is_folded() -> None:
    """An array or object emptied deeper than ``_PASSES`` levels is left to the fold, over
    what the passes left; the same text either way."""
    from reverse_etl.destinations.shared.json_nulls import (
        _EMPTIED,
        _PASSES,
        _cleaned,
        _collapsed,
        _folded,
        _marked,
    )

    con = duckdb.connect()
    for depth in (_PASSES, _PASSES + 1, 3 * _PASSES):
        emptied = "[" * depth + "null" + "]" * depth
        for text in (emptied, f'{{"a":{emptied},"b":[1,null]}}', f"[{emptied},2]"):
            left = _sql(
                con, f"regexp_matches({_collapsed(_marked('__x'), _PASSES)}, '{_EMPTIED}')", text
            )
            assert left is (depth > _PASSES)
            assert _sql(con, _cleaned("__x"), text) == _sql(con, _folded("__x"), text)
    assert _sql(con, _cleaned("__x"), "[" * 30 + "null" + "]" * 30) is None


def test_nesting_deeper_than_the_passes_is_not_folded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A nesting of only nulls deeper than ``_PASSES`` (up to ``_PASSES + _DEEPER``) takes
    more linear passes, not the fold, whose concatenation is quadratic (a 128 kB array with
    one ``null`` 9 deep took 32 s a row): the fold is made to fail here unless past them."""
    from reverse_etl.destinations.shared import json_nulls

    monkeypatch.setattr(json_nulls, "_folded", lambda text: "error('folded')")
    con = duckdb.connect()
    items = ",".join(['"a,null]"', "1", "[]"] * 200)
    for depth in (9, 30, 64):  # past _PASSES, up to _PASSES + _DEEPER
        emptied = '{"k":' * (depth // 2) + "[" * (depth - depth // 2)
        emptied += "null" + "]" * (depth - depth // 2) + "}" * (depth // 2)
        for text, kept in (
            (f"[{items},{emptied},2]", f"[{items},2]"),
            (f'{{"a":{emptied},"b":[1,null,{emptied}]}}', '{"b":[1]}'),
            (emptied, None),
        ):
            assert _sql(con, json_nulls._cleaned("__x"), text) == kept
    assert json_nulls._PASSES + json_nulls._DEEPER == 64
    deepest = "[" * 65 + "null" + "]" * 65
    with pytest.raises(duckdb.Error, match="folded"):
        _sql(con, json_nulls._cleaned("__x"), deepest)


def test_large_values_are_sent_without_their_nulls() -> None:
    """A 20,000-item array and an object of 20,000 members (strings holding ``null``, nulls,
    arrays emptied): the exact text, to_json's with its nulls left out."""
    con = duckdb.connect()
    items = [
        ["null", '"null"', "[null]", "1e400", '"a\\",null"', '{"k":null}', "[[]]"][i % 7]
        for i in range(20_000)
    ]
    kept = [item for item in items if item not in ("null", "[null]", '{"k":null}')]
    members = [f'"k{i}":{item}' for i, item in enumerate(items)]
    kept_members = [f'"k{i}":{item}' for i, item in enumerate(items) if item in kept]
    for text, sent in (
        ("[" + ",".join(items) + "]", "[" + ",".join(kept) + "]"),
        ("{" + ",".join(members) + "}", "{" + ",".join(kept_members) + "}"),
        ("[" * 7 + ",".join(items) + "]" * 7, "[" * 7 + ",".join(kept) + "]" * 7),
    ):
        assert _sent(con, f"{lit(text)}::JSON")[0] == sent


_NESTED = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(_TEXT, inner, min_size=1, max_size=3).map(lambda d: _Object(d.items())),
    ),
    max_leaves=40,
)


@settings(deadline=None)  # a 40-leaf value takes its fold ~0.3 s on a loaded box
@given(st.one_of(_VALUES, _NESTED))
def test_the_sentinels_write_what_the_fold_writes(value: Any) -> None:
    """Byte for byte, on to_json's text (deep nesting of nulls too, past the passes)."""
    from reverse_etl.destinations.shared.json_nulls import _cleaned, _folded

    con = duckdb.connect()
    text = _sql(con, "to_json(__x::JSON)", _dumps(value, False))
    assert text is not None
    assert _sql(con, _cleaned("__x"), text) == _sql(con, _folded("__x"), text)

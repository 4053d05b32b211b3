"""A ``contents`` column of JSON (``CAST(... AS JSON)``, a warehouse's json or jsonb whose values
are no list of structs) is checked when the rows are read, on both platforms: a value that is
no list of objects makes its row invalid, and a list of objects is sent as the same items as a
list of structs would be (typed; renamed for Meta). Before, it went out as it was: TikTok got
``"contents": 7``, Meta items with TikTok's key names, and refused the whole request."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.destinations.shared.phones import register_phone_udf
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_META_PIXEL_ID, DEMO_PIXEL_CODE, SandboxServer
from tests.conftest import write_project
from tests.meta.helpers import encode as meta_encode
from tests.meta.helpers import select as meta_select
from tests.tiktok.test_encode import encode as tiktok_encode

NOW = int(time.time()) - 3600
NOT_OBJECTS = "contents is not a list of objects"
TOKEN_VAR = "CONTENTS_JSON_TOKEN"


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine()
    register_phone_udf(eng)
    yield eng
    eng.close()


def _struct(value: Any) -> str:
    """A Python value as a DuckDB literal (dicts as structs)."""
    if value is None:
        return "NULL"
    if isinstance(value, dict):
        return "{" + ", ".join(f"'{k}': {_struct(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_struct(v) for v in value) + "]"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _json(value: Any) -> str:
    """A Python value as a DuckDB JSON value."""
    return "CAST('" + json.dumps(value).replace("'", "''") + "' AS JSON)"


def tiktok_row(engine: DuckDBEngine, contents: str) -> dict[str, Any]:
    (row,) = tiktok_encode(
        engine,
        f"select 'AddToCart' as event, 'k' as event_id, {NOW} as event_time, "
        f"'a@x.com' as email, 'https://shop.example/' as page_url, {contents} as contents",
    )
    return row


def meta_row(engine: DuckDBEngine, contents: str) -> dict[str, Any]:
    (row,) = meta_encode(engine, meta_select(contents=contents))
    return row


ROW = {"tiktok": tiktok_row, "meta": meta_row}
PLATFORMS = sorted(ROW)


ABSENT = "(no contents key)"


def contents_of(platform: str, row: dict[str, Any]) -> Any:
    """The contents sent (ABSENT: no key; a JSON null is None)."""
    container = "properties" if platform == "tiktok" else "custom_data"
    return row["payload"].get(container, {}).get("contents", ABSENT)


# The same items as a list of structs and as JSON (each list's structs share their keys).
ITEMS = [
    [
        {"content_id": "a", "price": 9.5, "quantity": 2, "brand": "b"},
        {"content_id": "c", "price": 1.25, "quantity": 1, "brand": None},
    ],
    [{"content_id": 11, "price": 10, "quantity": 3, "content_name": "Hat"}],
    [{"content_id": 12.0, "price": 0.1, "quantity": 4.0}],
    [None, {"content_id": "a", "price": " 4.5 ", "quantity": "2"}, None],
    [{"content_id": "a", "price": "abc", "quantity": 2.5}],  # both left out, with warnings
    [{"content_id": "a", "color": "red", "extra": {"k": [1, 2]}}],  # keys of no platform
    [{"id": "x", "item_price": 2.5, "title": "Hat", "status": "s", "content_type": "product"}],
    [{"content_id": None, "id": "z", "price": None, "item_price": 3}],
    [{"content_id": "a", "quantity": None}],
    [{"content_id": None, "price": None}],  # an item of nothing: {}
    [],
    # Meta sends the first of id and content_id that holds a value (not NULL, not blank),
    # and judges that one
    [{"id": "  ", "content_id": "a"}],  # "a" sent: valid
    [{"id": "", "content_id": "a"}],
    [{"id": "x", "content_id": "  "}],  # "x" sent: valid
    [{"content_id": None, "id": " "}],  # none sent: no id, invalid
    [{"content_id": "\t", "brand": "\n ", "color": " "}],  # blank text left out, as NULL
    # past BIGINT (a HUGEINT twin): no integer, left out with a warning (not -2**63)
    [{"content_id": "a", "quantity": -9223372036854775809}],
    [{"content_id": "a", "quantity": 9223372036854775808}],
    [{"content_id": "a", "quantity": -9223372036854775808}],  # BIGINT's least: sent
]


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("items", ITEMS, ids=[str(i) for i in range(len(ITEMS))])
def test_json_items_are_sent_as_the_same_structs_are(
    engine: DuckDBEngine, platform: str, items: list[Any]
) -> None:
    """Same payload (byte for byte), same warnings, same errors as the list of structs."""
    as_structs = ROW[platform](engine, _struct(items) if items else "[]::STRUCT(a INT)[]")
    as_json = ROW[platform](engine, _json(items))
    assert as_json == as_structs


def test_json_items_are_typed_and_renamed(engine: DuckDBEngine) -> None:
    items = _json(
        [
            {"quantity": 2, "content_id": 7, "price": "9.50", "brand": "b", "color": "red"},
            {"content_id": "s", "id": "t", "title": "Hat", "price": "abc", "quantity": 2.5},
        ]
    )
    tiktok = tiktok_row(engine, items)
    assert contents_of("tiktok", tiktok) == [
        {"quantity": 2, "content_id": "7", "price": 9.5, "brand": "b", "color": "red"},
        {"content_id": "s", "id": "t", "title": "Hat"},
    ]
    meta = meta_row(engine, items)
    assert contents_of("meta", meta) == [
        {"quantity": 2, "id": "7", "item_price": 9.5, "brand": "b"},
        {"id": "s", "title": "Hat"},
    ]
    for platform, row in (("tiktok", tiktok), ("meta", meta)):
        assert row["errors"] is None, platform
        assert "a contents item's price is not a number (left out)" in row["warnings"]
        assert "a contents item's quantity is not an integer (left out)" in row["warnings"]


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(
    "value",
    [7, 2.5, "text", True, {"content_id": "a"}, [1], [{"content_id": "a"}, 2], [[{}]], ["a"]],
)
def test_a_json_value_that_is_no_list_of_objects_makes_its_row_invalid(
    engine: DuckDBEngine, platform: str, value: Any
) -> None:
    row = ROW[platform](engine, _json(value))
    assert row["errors"] == NOT_OBJECTS


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("contents", ["CAST(NULL AS JSON)", _json(None), _json([]), _json([None])])
def test_null_and_empty_json_are_left_out(
    engine: DuckDBEngine, platform: str, contents: str
) -> None:
    row = ROW[platform](engine, contents)
    assert row["errors"] is None
    assert contents_of(platform, row) == ABSENT


def test_a_meta_json_item_without_an_id_is_invalid(engine: DuckDBEngine) -> None:
    for items in ([{"price": 2}], [{"content_id": "a"}, {"content_id": " ", "price": 2}]):
        row = meta_row(engine, _json(items))
        assert row["errors"] == "a contents item has no id (content_id): Meta rejects it"
    assert meta_row(engine, _json([{"id": "a"}, {"content_id": 0}]))["errors"] is None


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_json_id_past_a_double_is_sent_as_written(engine: DuckDBEngine, platform: str) -> None:
    """1e400 read as a DOUBLE is infinite, no ID: Meta's check passed it and ``[{}]`` went out.
    An ID is text: it is sent as the model wrote it."""
    row = ROW[platform](engine, 'CAST(\'[{"content_id": 1e400, "price": 2}]\' AS JSON)')
    assert row["errors"] is None
    key = "id" if platform == "meta" else "content_id"
    price = "item_price" if platform == "meta" else "price"
    assert contents_of(platform, row) == [{key: "1e400", price: 2}]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_varchar_contents_is_not_read_as_json(engine: DuckDBEngine, platform: str) -> None:
    """Validate refuses VARCHAR contents; the encoder still sends its text as it did, and
    text that is no JSON does not fail the encode (the JSON checks are for JSON only)."""
    for text in ('[{"content_id": "a"}]', "{not json", "7"):
        row = ROW[platform](engine, "'" + text + "'")
        assert row["errors"] is None
        assert contents_of(platform, row) == text


# --- a real sync, both platforms ---------------------------------------------------------

VALUES = {
    "o1": [{"content_id": "a", "price": 9.5, "quantity": 2, "brand": "b"}],
    "o2": 7,
    "o3": {"content_id": "a"},
    "o4": [{"content_id": 12, "price": "abc", "quantity": 2.5, "color": "red"}],
    "o5": [1, 2],
    "o6": None,
    "o7": "text",
}


def _project(root: Path, base_url: str) -> Path:
    rows = " union all ".join(
        f"select '{key}' as event_id, {_json(value)} as contents" for key, value in VALUES.items()
    )
    token = f"\"{{{{ env_var('{TOKEN_VAR}') }}}}\""
    return write_project(
        root,
        {
            "retl_project.yml": "name: p\nwarehouse:\n  type: duckdb\n",
            "models/events.sql": (
                f"select 'Purchase' as event, event_id, {NOW} as event_time, "
                "'a@example.com' as email, 'Mozilla/5.0' as user_agent, "
                "'https://shop.example/' as page_url, 10.5 as value, 'USD' as currency, "
                f"contents from ({rows}) as t"
            ),
            "destinations.yml": f"""
            destinations:
              tiktok:
                type: tiktok_events
                model: events
                auth_method: access_token
                access_token: {token}
                event_source_id: {DEMO_PIXEL_CODE}
                api_base_url: {base_url}
                skip_invalid_record: true
              meta:
                type: meta_conversions
                model: events
                pixel_id: "{DEMO_META_PIXEL_ID}"
                access_token: {token}
                action_source: website
                api_base_url: {base_url}
                skip_invalid_record: true
            """,
        },
    )


def test_a_sync_sends_json_contents_as_lists_and_skips_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reverse_etl.sandbox import DEMO_TOKEN

    monkeypatch.setenv(TOKEN_VAR, DEMO_TOKEN)
    with SandboxServer() as server:
        root = _project(tmp_path / "p", server.base_url)
        with Project.load(root) as project:
            project.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
            report = project.sync()
        doc = report.to_dict()
        tiktok = {e["data"]["event_id"]: e["data"] for e in server.events()}
        meta = {e["data"]["event_id"]: e["data"] for e in server.meta.events()}
    assert report.ok, doc
    for dest in doc["destinations"]:
        assert dest["events"] == {"sent": 3, "rejected": 0, "failed": 0, "not_attempted": 0}
        assert dest["rows"]["skipped_invalid"] == 4
        assert dest["invalid_reasons"] == [{"reason": NOT_OBJECTS, "rows": 4}]
    assert set(tiktok) == set(meta) == {"o1", "o4", "o6"}
    assert tiktok["o1"]["properties"]["contents"] == VALUES["o1"]
    assert tiktok["o4"]["properties"]["contents"] == [{"content_id": "12", "color": "red"}]
    assert "contents" not in tiktok["o6"]["properties"]
    assert meta["o1"]["custom_data"]["contents"] == [
        {"id": "a", "item_price": 9.5, "quantity": 2, "brand": "b"}
    ]
    assert meta["o4"]["custom_data"]["contents"] == [{"id": "12"}]
    assert "contents" not in meta["o6"]["custom_data"]


# --- what the check judges is what is sent: a sync ---------------------------------------

EDGE_VALUES = {
    # Meta: the id sent is the first of id and content_id that holds one (not blank)
    "e1": '[{"id": "  ", "content_id": "\\t"}]',  # none: invalid
    "e5": '[{"id": "  ", "content_id": "a"}]',  # "a" sent: valid (the "  " was judged)
    "e2": '[{"id": "x", "content_id": "  "}]',  # "x" sent: valid (it was marked invalid)
    "e3": '[{"content_id": 1e400}]',  # the id as written (Meta got [{}])
    "e4": '[{"content_id": "a", "quantity": -9223372036854775809}]',  # no integer: left out
}


def _edge_project(root: Path, base_url: str) -> Path:
    root = _project(root, base_url)
    rows = " union all ".join(
        f"select '{key}' as event_id, CAST('{value}' AS JSON) as contents"
        for key, value in EDGE_VALUES.items()
    )
    model = root / "models" / "events.sql"
    text = model.read_text(encoding="utf-8")
    model.write_text(text[: text.index(" from (")] + f" from ({rows}) as t", encoding="utf-8")
    return root


def test_a_sync_sends_the_id_it_checked_and_no_clamped_quantity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reverse_etl.sandbox import DEMO_TOKEN

    monkeypatch.setenv(TOKEN_VAR, DEMO_TOKEN)
    with SandboxServer() as server:
        root = _edge_project(tmp_path / "p", server.base_url)
        with Project.load(root) as project:
            project.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
            report = project.sync()
        doc = report.to_dict()
        tiktok = {e["data"]["event_id"]: e["data"] for e in server.events()}
        meta = {e["data"]["event_id"]: e["data"] for e in server.meta.events()}
    assert report.ok, doc
    results = {d["destination"]: d for d in doc["destinations"]}
    quantity = {"reason": "a contents item's quantity is not an integer (left out)", "rows": 1}
    for result in results.values():
        assert result["events"]["rejected"] == 0
        assert quantity in result["warning_reasons"]
    assert results["meta"]["invalid_reasons"] == [
        {"reason": "a contents item has no id (content_id): Meta rejects it", "rows": 1}
    ]
    assert results["tiktok"]["invalid_reasons"] == []
    assert set(meta) == {"e2", "e3", "e4", "e5"}
    assert meta["e5"]["custom_data"]["contents"] == [{"id": "a"}]
    assert meta["e2"]["custom_data"]["contents"] == [{"id": "x"}]
    assert meta["e3"]["custom_data"]["contents"] == [{"id": "1e400"}]
    assert meta["e4"]["custom_data"]["contents"] == [{"id": "a"}]
    assert set(tiktok) == set(EDGE_VALUES)
    assert tiktok["e3"]["properties"]["contents"] == [{"content_id": "1e400"}]
    assert tiktok["e4"]["properties"]["contents"] == [{"content_id": "a"}]


@pytest.mark.parametrize("blank", ["", "  ", "\t", "\n\u00a0"])
def test_a_struct_items_json_string_of_whitespace_is_left_out(
    engine: DuckDBEngine, blank: str
) -> None:
    """TikTok: a contents struct's key of type JSON holding a string of only whitespace is
    left out, as the same value of a JSON contents is (it was sent as "  ": its JSON's text,
    quotes and all, was what the blank test read); a VARCHAR key beside it too."""
    key = "'" + json.dumps(blank).replace("'", "''") + "'"
    as_struct = tiktok_row(
        engine,
        f"[{{'content_id': 'a', 'brand': CAST({key} AS JSON), 'size': {_struct(blank)}, "
        "'color': CAST('\"red\"' AS JSON)}]",
    )
    as_json = tiktok_row(
        engine, _json([{"content_id": "a", "brand": blank, "size": blank, "color": "red"}])
    )
    assert contents_of("tiktok", as_struct) == [{"content_id": "a", "color": "red"}]
    assert as_struct == as_json

"""A contents column whose items are not objects (a warehouse's jsonb ``["sku-1"]``, which the
workbench reads as ``VARCHAR[]``: validate's check of a JSON column lets it through since the
rows, not the column, decide its type) makes its row invalid on both platforms, with the
reason; it was sent as a list of strings, which the platform refuses. An empty or NULL list
is no item: the row is sent (as such a list of structs is)."""

from __future__ import annotations

import time

from reverse_etl.engine.duckdb import DuckDBEngine
from tests.meta.helpers import NOW, select
from tests.meta.helpers import encode as meta_encode
from tests.tiktok.test_encode import encode as tiktok_encode

ROWS = "VALUES ('items', ['sku-1', NULL]), ('empty', []), ('nulls', [NULL]), ('none', NULL)"


def test_a_list_of_text_as_contents_is_no_list_of_objects_for_tiktok() -> None:
    now = int(time.time()) - 3600
    engine = DuckDBEngine()
    try:
        sql = (
            f"SELECT t.event_id, 'Purchase' AS event, {now} AS event_time, "
            "'a@example.com' AS email, CAST(t.c AS VARCHAR[]) AS contents "
            f"FROM ({ROWS}) AS t(event_id, c)"
        )
        rows = {r["key"]: r for r in tiktok_encode(engine, sql)}
    finally:
        engine.close()
    assert rows["items"]["errors"] == "contents is not a list of objects"
    for key in ("empty", "nulls", "none"):
        assert rows[key]["errors"] is None, rows[key]


def test_a_list_of_text_as_contents_is_no_list_of_objects_for_meta() -> None:
    engine = DuckDBEngine()
    try:
        sql = (
            f"SELECT * FROM ({ROWS}) AS t(event_id, contents_raw), ({select(event_id=None)})"
        ).replace(
            "SELECT *",
            "SELECT * EXCLUDE (contents_raw), CAST(contents_raw AS VARCHAR[]) AS contents",
        )
        rows = {r["key"]: r for r in meta_encode(engine, sql)}
    finally:
        engine.close()
    assert rows["items"]["errors"] == "contents is not a list of objects"
    for key in ("empty", "nulls", "none"):
        assert rows[key]["errors"] is None, rows[key]
    assert NOW  # the helpers' clock: the rows' event_time is an hour before it


JSON_ROWS = (
    "VALUES ('objects', [json_object('content_id', 'sku-1', 'quantity', 1)]), "
    "('texts', [to_json('sku-1')]), ('empty', CAST([] AS JSON[]))"
)


def test_a_json_list_of_objects_as_contents_is_sent_on_both_platforms() -> None:
    """A JSON[] (list(json_object(...)) in a model) reads as a list of text in Arrow too: its
    items are objects, sent as such (it was made invalid as 'not a list of objects')."""
    now = int(time.time()) - 3600
    engine = DuckDBEngine()
    try:
        sql = (
            f"SELECT t.event_id, 'Purchase' AS event, {now} AS event_time, "
            f"'a@example.com' AS email, t.c AS contents FROM ({JSON_ROWS}) AS t(event_id, c)"
        )
        tiktok = {r["key"]: r for r in tiktok_encode(engine, sql)}
        meta_sql = (
            f"SELECT * EXCLUDE (c), c AS contents FROM ({JSON_ROWS}) AS t(event_id, c), "
            f"({select(event_id=None)})"
        )
        meta = {r["key"]: r for r in meta_encode(engine, meta_sql)}
    finally:
        engine.close()
    for rows in (tiktok, meta):
        assert rows["objects"]["errors"] is None, rows["objects"]
        assert rows["empty"]["errors"] is None, rows["empty"]
        assert rows["texts"]["errors"] == "contents is not a list of objects"
    item = {"content_id": "sku-1", "quantity": 1}
    assert tiktok["objects"]["payload"]["properties"]["contents"] == [item]
    assert meta["objects"]["payload"]["custom_data"]["contents"] == [item]

"""A top-level text parameter (an ID or a text) fed by a column of DuckDB type JSON (a
warehouse's json or jsonb, a DuckDB JSON column) is sent the value the JSON holds, on both
platforms (``shared/json_scalars.py``): a string its text (``'"q"'::JSON`` was sent as
``"\\"q\\""``), a number its text as an ID is written (``12.0`` is "12"), ``null`` and a blank
string left out as NULL is; an array or an object makes the row invalid. Allowed values,
Meta's ip check and hashing judge the text held, not the JSON's quotes. Through the real
encoders, in a real DuckDB."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from reverse_etl.destinations.shared.phones import register_phone_udf
from reverse_etl.engine.duckdb import DuckDBEngine
from tests.meta.helpers import encode as meta_encode
from tests.meta.helpers import select as meta_select
from tests.tiktok.test_encode import encode as tiktok_encode

NOW = int(time.time()) - 3600
TIKTOK_BASE = {
    "event": "'AddToCart'",
    "event_id": "'k'",
    "event_time": str(NOW),
    "email": "'a@x.com'",
    "page_url": "'https://shop.example/'",
}


def _json(text: str) -> str:
    return "CAST('" + text.replace("'", "''") + "' AS JSON)"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine()
    register_phone_udf(eng)
    yield eng
    eng.close()


def tiktok(engine: DuckDBEngine, **cols: str) -> Any:
    values = {**TIKTOK_BASE, **cols}
    select = "select " + ", ".join(f'{v} as "{k}"' for k, v in values.items())
    (row,) = tiktok_encode(engine, select, model_pk=("key",) if "key" in cols else None)
    return row


def meta(engine: DuckDBEngine, **cols: str) -> Any:
    (row,) = meta_encode(engine, meta_select(**cols), model_key=("key",) if "key" in cols else None)
    return row


def _at(payload: dict[str, Any], path: str) -> Any:
    value: Any = payload
    for part in path.split("."):
        if isinstance(value, list):
            value = value[0]
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


# parameter column -> where TikTok sends it
TIKTOK_TEXT = {
    "event_id": "event_id",
    "order_id": "properties.order_id",
    "content_id": "properties.contents.content_id",
    "content_name": "properties.contents.content_name",
    "description": "properties.description",
    "search_string": "properties.search_string",
}
META_TEXT = {
    "event_id": "event_id",
    "order_id": "custom_data.order_id",
    "content_category": "custom_data.content_category",
    "status": "custom_data.status",
    "search_string": "custom_data.search_string",
    "fbc": "user_data.fbc",
    "user_agent": "user_data.client_user_agent",
}
# JSON -> the text sent (None: left out)
HELD = [('"q"', "q"), ('" q "', " q "), ("7", "7"), ("12.0", "12"), ("null", None), ('"  "', None)]


@pytest.mark.parametrize("column", sorted(TIKTOK_TEXT))
@pytest.mark.parametrize(("value", "sent"), HELD, ids=[v for v, _ in HELD])
def test_tiktok_sends_the_text_a_json_column_holds(
    engine: DuckDBEngine, column: str, value: str, sent: str | None
) -> None:
    key = {"key": "'k1'"} if column == "event_id" else {}
    row = tiktok(engine, **{column: _json(value)}, **key)
    assert row["errors"] is None
    assert _at(row["payload"], TIKTOK_TEXT[column]) == sent


@pytest.mark.parametrize("column", sorted(META_TEXT))
@pytest.mark.parametrize(("value", "sent"), HELD, ids=[v for v, _ in HELD])
def test_meta_sends_the_text_a_json_column_holds(
    engine: DuckDBEngine, column: str, value: str, sent: str | None
) -> None:
    key = {"key": "'k1'"} if column == "event_id" else {}
    row = meta(engine, **{column: _json(value)}, **key)
    if column == "user_agent" and sent is None:  # a website event needs one
        assert "user_agent is missing" in row["errors"]
        return
    assert row["errors"] is None
    assert _at(row["payload"], META_TEXT[column]) == sent


def test_allowed_values_are_judged_on_the_text_held(engine: DuckDBEngine) -> None:
    row = tiktok(engine, currency=_json('"USD"'), value="5", content_type=_json('"product"'))
    assert row["errors"] is None
    props = row["payload"]["properties"]
    assert (props["currency"], props["content_type"]) == ("USD", "product")
    row = meta(engine, currency=_json('"usd"'), delivery_category=_json('"curbside"'))
    assert row["errors"] is None
    data = row["payload"]["custom_data"]
    assert (data["currency"], data["delivery_category"]) == ("USD", "curbside")
    assert "not accepted" in meta(engine, delivery_category=_json('"x"'))["errors"]


def test_the_event_name_is_the_text_held(engine: DuckDBEngine) -> None:
    row = tiktok(engine, event=_json('"AddToCart"'))
    assert (row["errors"], row["payload"]["event"]) == (None, "AddToCart")
    row = meta(engine, event=_json('"Purchase"'))
    assert (row["errors"], row["payload"]["event_name"]) == (None, "Purchase")
    assert "event is missing" in meta(engine, event=_json("null"))["errors"]


def test_metas_ip_is_the_address_held(engine: DuckDBEngine) -> None:
    row = meta(engine, ip=_json('"203.0.113.7"'))
    assert (row["errors"], row["payload"]["user_data"]["client_ip_address"]) == (
        None,
        "203.0.113.7",
    )


def test_hashed_parameters_hash_the_text_held(engine: DuckDBEngine) -> None:
    row = meta(engine, external_id=_json('"u-1"'), email=_json('"A@x.com"'))
    assert row["errors"] is None
    user = row["payload"]["user_data"]
    assert (user["external_id"], user["em"]) == (_sha("u-1"), _sha("a@x.com"))
    row = tiktok(engine, external_id=_json('"u-1"'), email=_json('"A@x.com"'))
    assert row["errors"] is None
    user = row["payload"]["user"]
    assert (user["external_id"], user["email"]) == (_sha("u-1"), _sha("a@x.com"))


@pytest.mark.parametrize("value", ['["q"]', '{"a": 1}'])
def test_a_json_array_or_object_is_no_text_value(engine: DuckDBEngine, value: str) -> None:
    row = tiktok(engine, order_id=_json(value))
    assert row["errors"] == "order_id is a JSON array or object, not a text value"
    row = meta(engine, order_id=_json(value))
    assert row["errors"] == "order_id is a JSON array or object, not a text value"


def test_the_key_stays_the_columns_text(engine: DuckDBEngine) -> None:
    row = tiktok(engine, event_id=_json('"e-1"'))
    assert (row["key"], row["payload"]["event_id"]) == ('"e-1"', "e-1")
    row = meta(engine, event_id=_json('"e-1"'))
    assert (row["key"], row["payload"]["event_id"]) == ('"e-1"', "e-1")

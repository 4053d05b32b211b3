"""TikTok's contents items have text keys (content_name, content_type, content_category, brand,
status: strings in the API, as content_id is). A number, a boolean or a date given to one, in a
JSON contents (``{"brand": 7}``) or a list of structs (a BIGINT field), went out as its own JSON
(``"brand": 7``), where TikTok takes a string: it is sent as text (``"7"``), as Meta's encoder
sends its text keys. Other keys (not TikTok's) are still sent as their own JSON."""

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
from reverse_etl.sandbox import DEMO_PIXEL_CODE, SandboxServer
from tests.conftest import write_project
from tests.tiktok.test_encode import encode as tiktok_encode

NOW = int(time.time()) - 3600
TOKEN_VAR = "CONTENTS_TEXT_KEYS_TOKEN"
ITEM = {
    "content_id": 7,
    "content_name": 8,
    "content_type": 9,
    "content_category": 1.5,
    "brand": True,
    "status": 3,
    "price": 2,
    "quantity": 1,
    "color": 4,  # no TikTok key: sent as it is (a list of structs may not have it: validate)
}
SENT = {
    "content_id": "7",
    "content_name": "8",
    "content_type": "9",
    "content_category": "1.5",
    "brand": "true",
    "status": "3",
    "price": 2.0,
    "quantity": 1,
}
JSON_ITEMS = "CAST('" + json.dumps([ITEM]) + "' AS JSON)"
STRUCT_ITEMS = (
    "[{'content_id': 7, 'content_name': 8, 'content_type': 9, 'content_category': 1.5::DOUBLE, "
    "'brand': true, 'status': 3, 'price': 2, 'quantity': 1}]"
)


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine()
    register_phone_udf(eng)
    yield eng
    eng.close()


def _contents(engine: DuckDBEngine, contents: str) -> Any:
    (row,) = tiktok_encode(
        engine,
        f"select 'AddToCart' as event, 'k' as event_id, {NOW} as event_time, "
        f"'a@x.com' as email, 'https://shop.example/' as page_url, {contents} as contents",
    )
    assert row["errors"] is None
    return row["payload"]["properties"]["contents"]


def test_text_keys_are_sent_as_text(engine: DuckDBEngine) -> None:
    assert _contents(engine, JSON_ITEMS) == [{**SENT, "color": 4}]
    assert _contents(engine, STRUCT_ITEMS) == [SENT]


def test_a_json_leaf_of_a_struct_is_sent_as_its_text(engine: DuckDBEngine) -> None:
    """A struct's field of JSON (a warehouse's): a number's text, a string's without quotes."""
    contents = (
        "[{'content_id': 'a', 'content_name': CAST('8' AS JSON), "
        """'brand': CAST('"b"' AS JSON), 'status': CAST('"  "' AS JSON)}]"""
    )
    assert _contents(engine, contents) == [{"content_id": "a", "content_name": "8", "brand": "b"}]


def test_a_date_and_a_nested_value_are_sent_as_text(engine: DuckDBEngine) -> None:
    contents = (
        "[{'content_id': 'a', 'content_name': DATE '2024-05-01', 'brand': {'x': 1, 'y': NULL}, "
        "'status': 'NaN'::DOUBLE}]"
    )
    assert _contents(engine, contents) == [
        {"content_id": "a", "content_name": "2024-05-01", "brand": '{"x":1}'}
    ]


def test_a_sync_sends_text_keys_as_strings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end: what the sandbox received is a JSON string for each TikTok text key."""
    from reverse_etl.sandbox import DEMO_TOKEN

    monkeypatch.setenv(TOKEN_VAR, DEMO_TOKEN)
    with SandboxServer() as server:
        token = f"\"{{{{ env_var('{TOKEN_VAR}') }}}}\""
        root = write_project(
            tmp_path / "p",
            {
                "retl_project.yml": "name: p\nwarehouse:\n  type: duckdb\n",
                "models/events.sql": (
                    f"select 'Purchase' as event, event_id, {NOW} as event_time, "
                    "'a@example.com' as email, 'https://shop.example/' as page_url, "
                    "10.5 as value, 'USD' as currency, contents from ("
                    f"select 'j' as event_id, {JSON_ITEMS} as contents) as t"
                ),
                "models/structs.sql": (
                    f"select 'Purchase' as event, 's' as event_id, {NOW} as event_time, "
                    "'a@example.com' as email, 'https://shop.example/' as page_url, "
                    f"10.5 as value, 'USD' as currency, {STRUCT_ITEMS} as contents"
                ),
                "destinations.yml": f"""
                destinations:
                  json_contents:
                    type: tiktok_events
                    model: events
                    auth_method: access_token
                    access_token: {token}
                    event_source_id: {DEMO_PIXEL_CODE}
                    api_base_url: {server.base_url}
                  struct_contents:
                    type: tiktok_events
                    model: structs
                    auth_method: access_token
                    access_token: {token}
                    event_source_id: {DEMO_PIXEL_CODE}
                    api_base_url: {server.base_url}
                """,
            },
        )
        with Project.load(root) as project:
            project.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
            report = project.sync()
        received = {e["data"]["event_id"]: e["data"] for e in server.events()}
    assert report.ok, report.to_dict()
    assert received["j"]["properties"]["contents"] == [{**SENT, "color": 4}]
    assert received["s"]["properties"]["contents"] == [SENT]


def test_a_decimal_is_sent_as_its_own_digits(engine: DuckDBEngine) -> None:
    """A DECIMAL given to a text key (a warehouse's NUMERIC category code) is its text, as a
    top-level text property's is: not a DOUBLE's text ('12345678901.0', '1e+17' rounded)."""
    values = {
        "content_name": ("12345678901::DECIMAL(12,0)", "12345678901"),
        "content_type": ("99999999999999999.99::DECIMAL(19,2)", "99999999999999999.99"),
        "content_category": ("1001.00::DECIMAL(12,2)", "1001.00"),
        "brand": ("12345678.1234567891::DECIMAL(38,10)", "12345678.1234567891"),
        "status": ("123456789012345678901::DECIMAL(38,0)", "123456789012345678901"),
    }
    fields = ", ".join(f"'{k}': {v}" for k, (v, _) in values.items())
    sent = {"content_id": "a", **{k: text for k, (_, text) in values.items()}}
    assert _contents(engine, f"[{{'content_id': 'a', {fields}}}]") == [sent]
    # beside a key of JSON (a warehouse struct's json field), too
    with_json = f"[{{'content_id': 'a', {fields}, 'description': CAST('\"d\"' AS JSON)}}]"
    assert _contents(engine, with_json) == [{**sent, "description": "d"}]
    assert _contents(engine, "[{'content_id': 'a', 'brand': NULL::DECIMAL(10,2)}]") == [
        {"content_id": "a"}
    ]

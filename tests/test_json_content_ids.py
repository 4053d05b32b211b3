"""A ``content_ids`` column of JSON (a DuckDB ``'["a", "b"]'::JSON``, a warehouse's json or
jsonb array) is sent as the IDs it holds, on both platforms: an array's scalar items as text
(numbers as their text, whole floats without '.0', as the ID rules write them), null and blank
items left out as a list's are, a scalar as a list of one; an object, or an array holding an
object or an array, makes its row invalid. Before, validate refused the column, and the
encoder sent ONE item holding the JSON text (``["[\\"a\\", \\"b\\"]"]``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reverse_etl.columns import parse_type
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
NOT_IDS = "content_ids is not a list of IDs"
TOKEN_VAR = "JSON_CONTENT_IDS_TOKEN"
ABSENT = "(no content_ids)"


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine()
    register_phone_udf(eng)
    yield eng
    eng.close()


def _json(text: str) -> str:
    return "CAST('" + text.replace("'", "''") + "' AS JSON)"


def tiktok_row(engine: DuckDBEngine, ids: str) -> tuple[Any, Any]:
    (row,) = tiktok_encode(
        engine,
        f"select 'AddToCart' as event, 'k' as event_id, {NOW} as event_time, "
        f"'a@x.com' as email, 'https://shop.example/' as page_url, {ids} as content_ids",
    )
    payload: dict[str, Any] = row["payload"]  # type: ignore[assignment]
    return row["errors"], payload.get("properties", {}).get("content_ids", ABSENT)


def meta_row(engine: DuckDBEngine, ids: str) -> tuple[Any, Any]:
    (row,) = meta_encode(engine, meta_select(content_ids=ids))
    return row["errors"], row["payload"]["custom_data"].get("content_ids", ABSENT)


ROW = {"tiktok": tiktok_row, "meta": meta_row}
PLATFORMS = sorted(ROW)

CASES = [
    ('["a", "b"]', ["a", "b"]),
    (
        '["a", 7, 12.0, 1e3, 2.5, 123456789012345678901234, 1e400]',
        ["a", "7", "12", "1000", "2.5", "123456789012345678901234", "1e400"],
    ),
    ('[null, "a", "  ", ""]', ["a"]),
    ('"x"', ["x"]),
    ("7", ["7"]),
    ("null", ABSENT),
    ("[]", ABSENT),
    ('[null, " "]', ABSENT),
    ('"  "', ABSENT),
]


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(("value", "sent"), CASES, ids=[c[0] for c in CASES])
def test_json_content_ids_are_sent_as_the_ids_they_hold(
    engine: DuckDBEngine, platform: str, value: str, sent: Any
) -> None:
    assert ROW[platform](engine, _json(value)) == (None, sent)


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("value", ['{"a": 1}', '[{"id": "a"}]', '["a", ["b"]]', "[[]]"])
def test_json_content_ids_holding_an_object_or_array_are_invalid(
    engine: DuckDBEngine, platform: str, value: str
) -> None:
    errors, _ = ROW[platform](engine, _json(value))
    assert errors == NOT_IDS


@pytest.mark.parametrize("platform", PLATFORMS)
def test_varchar_content_ids_are_one_id_as_before(engine: DuckDBEngine, platform: str) -> None:
    """Text that looks like JSON is one ID (the JSON reading is for JSON only)."""
    assert ROW[platform](engine, "'[\"a\"]'") == (None, ['["a"]'])


def test_validate_says_a_json_content_ids_is_checked_when_the_rows_are_read() -> None:
    from reverse_etl.destinations.meta.catalog import CATALOG as META
    from reverse_etl.destinations.meta.rules import MetaRules
    from reverse_etl.destinations.tiktok.catalog import CATALOG as TIKTOK
    from reverse_etl.destinations.tiktok.rules import TikTokRules
    from reverse_etl.validation.types import check_type

    json = parse_type("json")
    assert json is not None
    for catalog, rules in ((TIKTOK, TikTokRules("WEB")), (META, MetaRules("website"))):
        spec = catalog.lookup("content_ids")
        assert spec is not None
        (verdict,) = check_type(spec, json, rules)
        assert verdict.severity == "warning"
        assert "sent as the IDs it holds" in verdict.message
        assert NOT_IDS in verdict.message


def test_a_sync_sends_json_content_ids_as_lists_of_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reverse_etl.sandbox import DEMO_TOKEN

    values = {
        "i1": '["a", 7, 12.0, null, " "]',
        "i2": '{"a": 1}',
        "i3": '"x"',
        "i4": '[["a"]]',
        "i5": "null",
    }
    rows = " union all ".join(
        f"select '{key}' as event_id, {_json(value)} as content_ids"
        for key, value in values.items()
    )
    monkeypatch.setenv(TOKEN_VAR, DEMO_TOKEN)
    token = f"\"{{{{ env_var('{TOKEN_VAR}') }}}}\""
    with SandboxServer() as server:
        root = write_project(
            tmp_path / "p",
            {
                "retl_project.yml": "name: p\nwarehouse:\n  type: duckdb\n",
                "models/events.sql": (
                    f"select 'Purchase' as event, event_id, {NOW} as event_time, "
                    "'a@example.com' as email, 'Mozilla/5.0' as user_agent, "
                    "'https://shop.example/' as page_url, 10.5 as value, 'USD' as currency, "
                    f"content_ids from ({rows}) as t"
                ),
                "destinations.yml": f"""
                destinations:
                  tiktok:
                    type: tiktok_events
                    model: events
                    auth_method: access_token
                    access_token: {token}
                    event_source_id: {DEMO_PIXEL_CODE}
                    api_base_url: {server.base_url}
                    skip_invalid_record: true
                  meta:
                    type: meta_conversions
                    model: events
                    pixel_id: "{DEMO_META_PIXEL_ID}"
                    access_token: {token}
                    action_source: website
                    api_base_url: {server.base_url}
                    skip_invalid_record: true
                """,
            },
        )
        with Project.load(root) as project:
            project.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
            report = project.sync()
        doc = report.to_dict()
        tiktok = {e["data"]["event_id"]: e["data"]["properties"] for e in server.events()}
        meta = {e["data"]["event_id"]: e["data"]["custom_data"] for e in server.meta.events()}
    assert report.ok, doc
    for dest in doc["destinations"]:
        assert dest["events"] == {"sent": 3, "rejected": 0, "failed": 0, "not_attempted": 0}
        assert dest["invalid_reasons"] == [{"reason": NOT_IDS, "rows": 2}]
    for sent in (tiktok, meta):
        assert set(sent) == {"i1", "i3", "i5"}
        assert sent["i1"]["content_ids"] == ["a", "7", "12"]
        assert sent["i3"]["content_ids"] == ["x"]
        assert "content_ids" not in sent["i5"]

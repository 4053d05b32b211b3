"""An ID parameter other than the key and event_id (``lead_id``, ``order_id``, ``app_id`` ...)
of a float type past the whole numbers it holds exactly makes its row invalid, as a float key
does (tests/test_float_ids.py): a TikTok lead ID is 19 digits, and 7000000000000000001 as a
DOUBLE was sent as lead_id "7000000000000000000", another lead's, without a word. Below the
limit the ID is sent exactly. Real syncs to the emulator."""

from __future__ import annotations

from pathlib import Path

from reverse_etl.sandbox import SandboxServer
from tests.test_blank_values import NOW, _sync, server  # noqa: F401


def _reason(column: str) -> str:
    return (
        f"{column} is a DOUBLE of 2^53 (9007199254740992) or more, whose digits may be rounded "
        "(9007199254740993 becomes 9007199254740992), so it may not be the warehouse's ID and "
        "may be another row's: keep it BIGINT, DECIMAL or text in the model and the warehouse "
        "(a CAST of the DOUBLE cannot restore its digits)"
    )


def test_a_double_lead_id_past_2_53_is_an_invalid_row(
    server: SandboxServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    model = (
        f"SELECT 'Stage' AS event, {NOW} AS event_time, 'a@example.com' AS email, v.event_id, "
        "CAST(v.n AS DOUBLE) AS lead_id, CAST(v.o AS DOUBLE) AS order_id "
        "FROM (VALUES ('exact', 123456, 42), ('lead', 7000000000000000001, 42), "
        "('order', 123456, 12345678901234567890)) AS v(event_id, n, o)"
    )
    tiktok, _, report = _sync(server, tmp_path, model, tiktok_source="CRM", meta=None)
    assert set(tiktok) == {"exact"}
    assert tiktok["exact"]["lead"] == {"lead_id": "123456"}
    assert tiktok["exact"]["properties"] == {"order_id": "42"}
    (plan,) = report.plans
    assert dict(plan.invalid_reasons) == {_reason("lead_id"): 1, _reason("order_id"): 1}


def test_double_product_ids_past_2_53_in_lists_make_the_row_invalid(
    server: SandboxServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    model = (
        f"SELECT 'Purchase' AS event, {NOW} AS event_time, 'a@example.com' AS email, "
        "'https://shop.example/done' AS page_url, v.event_id, "
        "[CAST(v.n AS DOUBLE), 5::DOUBLE] AS content_ids, "
        "[{'content_id': CAST(v.c AS DOUBLE), 'quantity': 1}] AS contents "
        "FROM (VALUES ('exact', 123456, 77), ('ids', 7000000000000000001, 77), "
        "('item', 123456, 7000000000000000001)) AS v(event_id, n, c)"
    )
    tiktok, _, report = _sync(server, tmp_path, model, tiktok_source="WEB", meta=None)
    assert set(tiktok) == {"exact"}
    assert tiktok["exact"]["properties"] == {
        "content_ids": ["123456", "5"],
        "contents": [{"content_id": "77", "quantity": 1}],
    }
    (plan,) = report.plans
    assert dict(plan.invalid_reasons) == {
        _reason("an item of content_ids"): 1,
        _reason("a contents item's content_id"): 1,
    }

"""A Meta ID parameter other than the key and event_id (``lead_id``, ``order_id``, an item of
``content_ids``, a ``contents`` item's id) of a float type past the whole numbers it holds
exactly makes its row invalid, as a float key does (tests/test_float_ids.py) and as TikTok's
do (tests/tiktok/test_float_param_ids.py): 7000000000000000001 as a DOUBLE lead_id was sent
as "7000000000000000000", another lead's, without a word. Below the limit the ID is sent
exactly. Real syncs to the emulator."""

from __future__ import annotations

from pathlib import Path

from reverse_etl.sandbox import SandboxServer
from tests.test_blank_values import NOW, _sync, server  # noqa: F401

BIG = 7000000000000000001  # a DOUBLE holds 7000000000000000000


def _reason(what: str, name: str = "DOUBLE", bits: int = 53) -> str:
    limit = 2**bits
    return (
        f"{what} is a {name} of 2^{bits} ({limit}) or more, whose digits may be rounded "
        f"({limit + 1} becomes {limit}), so it may not be the warehouse's ID and may be "
        f"another row's: keep it BIGINT, DECIMAL or text in the model and the warehouse "
        f"(a CAST of the {name} cannot restore its digits)"
    )


def test_double_ids_past_2_53_make_their_row_invalid(
    server: SandboxServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    model = (
        f"SELECT 'Lead' AS event, {NOW} AS event_time, 'a@example.com' AS email, v.event_id, "
        "CAST(v.lead AS DOUBLE) AS lead_id, CAST(v.o AS DOUBLE) AS order_id "
        f"FROM (VALUES ('exact', 123456, 42), ('lead', {BIG}, 42), ('order', 123456, {BIG})) "
        "AS v(event_id, lead, o)"
    )
    _, meta, report = _sync(server, tmp_path, model, tiktok_source=None, meta="system_generated")
    assert set(meta) == {"exact"}
    assert meta["exact"]["user_data"]["lead_id"] == "123456"
    assert meta["exact"]["custom_data"] == {"order_id": "42"}
    (plan,) = report.plans
    assert dict(plan.invalid_reasons) == {
        _reason("lead_id"): 1,
        _reason("order_id"): 1,
    }


def test_float_product_ids_past_their_limit_in_lists_make_the_row_invalid(
    server: SandboxServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    model = (
        f"SELECT 'Purchase' AS event, {NOW} AS event_time, 'a@example.com' AS email, "
        "10 AS value, 'EUR' AS currency, v.event_id, "
        "[CAST(v.n AS DOUBLE), 5::DOUBLE] AS content_ids, "
        "[{'id': CAST(v.c AS FLOAT), 'quantity': 1}] AS contents "
        f"FROM (VALUES ('exact', 123456, 77), ('ids', {BIG}, 77), ('item', 123456, 16777217)) "
        "AS v(event_id, n, c)"
    )
    _, meta, report = _sync(server, tmp_path, model, tiktok_source=None, meta="system_generated")
    assert set(meta) == {"exact"}
    custom = meta["exact"]["custom_data"]
    assert custom["content_ids"] == ["123456", "5"]
    assert custom["contents"] == [{"id": "77", "quantity": 1}]
    (plan,) = report.plans
    assert dict(plan.invalid_reasons) == {
        _reason("an item of content_ids"): 1,
        _reason("a contents item's id", "FLOAT", 24): 1,
    }

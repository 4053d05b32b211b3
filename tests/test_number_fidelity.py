"""Numbers and ID lists are sent as the model wrote them, to TikTok and to Meta alike: a real
``retl sync`` of one model to both emulators, read back from what they received.

- A FLOAT (REAL, a Parquet float32, a PostgreSQL ``real``) goes out as the shortest decimal
  that reads back as the same float32: ``0.1::FLOAT`` was sent as 0.10000000149011612 (the
  float32 widened to a double), as a value, a contents item's price, a custom property (in a
  struct or a list too) and as an ID's text.
- An integer parameter beyond BIGINT is no integer to send, whatever its type: a UBIGINT
  above 2**63 - 1 was sent as it is, where a DECIMAL(38,0) of it made the row invalid.
- Meta's currency of a NaN or infinity (a DOUBLE, or text 'NaN') was sent as "NAN": the row
  is invalid, as it is for TikTok (whose currency list has no NAN).
- Blank items of a content_ids list are left out, as NULL ones are (``['a', '', '  ']`` was
  sent with its two blank items)."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reverse_etl.destinations.catalog import ColumnIssue
from reverse_etl.destinations.meta.catalog import CATALOG as META_CATALOG
from reverse_etl.destinations.meta.rules import MetaRules
from reverse_etl.pipeline.report import SyncReport
from reverse_etl.project import Project
from reverse_etl.sandbox import (
    DEMO_META_PIXEL_ID,
    DEMO_META_TOKEN,
    DEMO_PIXEL_CODE,
    DEMO_TOKEN,
    SandboxServer,
)

NOW = int(time.time()) - 3600
# Every row carries what both platforms need besides the columns under test.
BASE = (
    f"'Purchase' AS event, {NOW} AS event_time, 'a@example.com' AS email, "
    "'https://shop.example/done' AS page_url, 'Mozilla/5.0' AS user_agent"
)


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as srv:
        yield srv


def _project(root: Path, base_url: str, model: str) -> Path:
    (root / "models").mkdir(parents=True)
    if not (root / "retl_project.yml").exists():
        (root / "retl_project.yml").write_text("name: numbers\n", encoding="utf-8")
    (root / "models" / "ev.sql").write_text(model, encoding="utf-8")
    (root / "destinations.yml").write_text(
        textwrap.dedent(
            f"""\
            destinations:
              tiktok:
                type: tiktok_events
                model: ev
                access_token: {DEMO_TOKEN}
                event_source_id: {DEMO_PIXEL_CODE}
                api_base_url: {base_url}
                skip_invalid_record: true
              meta:
                type: meta_conversions
                model: ev
                pixel_id: "{DEMO_META_PIXEL_ID}"
                access_token: {DEMO_META_TOKEN}
                action_source: website
                api_base_url: {base_url}
                skip_invalid_record: true
            """
        ),
        encoding="utf-8",
    )
    return root


def _sync(
    server: SandboxServer, root: Path, model: str
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], SyncReport]:
    """Sync ``model`` to both emulators: the events each received, by event_id, and the run's
    report."""
    with Project.load(_project(root, server.base_url, model)) as project:
        report = project.sync()
    assert report.error is None, report.error
    tiktok = {e["data"]["event_id"]: e["data"] for e in server.events()}
    meta = {e["data"]["event_id"]: e["data"] for e in server.meta.events()}
    return tiktok, meta, report


def _reasons(report: SyncReport, kind: str) -> dict[str, dict[str, int]]:
    """Each destination's invalid (``kind`` "invalid") or warning reasons, with their rows."""
    return {p.name: dict(getattr(p, f"{kind}_reasons")) for p in report.plans}


# --- FLOAT ----------------------------------------------------------------------------------


def test_a_float32_is_sent_as_the_model_wrote_it(server: SandboxServer, tmp_path: Path) -> None:
    model = (
        f"SELECT {BASE}, 'e-1' AS event_id, 'USD' AS currency, 0.1::FLOAT AS value, "
        "1e6::FLOAT AS order_id, [0.1::FLOAT, 1e6::FLOAT] AS content_ids, "
        "[{'content_id': 0.7::FLOAT, 'price': 19.99::FLOAT, 'quantity': 2}] AS contents, "
        '0.1::FLOAT AS "properties.ratio", 0.1::FLOAT AS "custom_data.ratio", '
        "{'a': 0.3::FLOAT, 'b': [0.2::FLOAT, -1.5e-3::FLOAT]} AS \"custom_data.nested\", "
        "MAP {'k': 2.5e-8::FLOAT} AS \"properties.nested\""
    )
    tiktok, meta, report = _sync(server, tmp_path, model)
    t, m = tiktok["e-1"]["properties"], meta["e-1"]["custom_data"]
    for props in (t, m):
        assert props["value"] == 0.1
        # a whole FLOAT below 2^24 is its digits (past it an ID is invalid: test_float_ids.py)
        assert props["order_id"] == "1000000"
        assert props["content_ids"] == ["0.1", "1000000"]
        assert props["ratio"] == 0.1
    assert t["contents"] == [{"content_id": "0.7", "price": 19.99, "quantity": 2}]
    assert m["contents"] == [{"id": "0.7", "item_price": 19.99, "quantity": 2}]
    assert t["nested"] == {"k": 2.5e-8}
    assert m["nested"] == {"a": 0.3, "b": [0.2, -1.5e-3]}
    assert _reasons(report, "invalid") == {"tiktok": {}, "meta": {}}


def test_a_float32_id_is_its_own_text(server: SandboxServer, tmp_path: Path) -> None:
    """The event id of a FLOAT column: the float's text, its digits when it is whole. From
    2^24 on a FLOAT's whole numbers are rounded (1e11 holds 99999997952): such an ID makes
    its row invalid (test_float_ids.py)."""
    model = (
        f"SELECT {BASE}, [0.1, 1e7, 16777215, 1e11][i + 1]::FLOAT AS event_id, 'USD' AS currency,"
        " 1 AS value FROM range(4) t(i)"
    )
    tiktok, meta, report = _sync(server, tmp_path, model)
    assert set(tiktok) == set(meta) == {"0.1", "10000000", "16777215"}
    from tests.test_float_ids import FLOAT_REASON

    assert _reasons(report, "invalid") == {"tiktok": {FLOAT_REASON: 1}, "meta": {FLOAT_REASON: 1}}


def test_a_parquet_float32_is_sent_as_written(server: SandboxServer, tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    prices = pa.array([0.1, 16.7], type=pa.float32())
    pq.write_table(pa.table({"i": [1, 2], "price": prices}), root / "data" / "prices.parquet")
    (root / "retl_project.yml").write_text(
        textwrap.dedent(
            """\
            name: numbers
            sources:
              - name: files
                tables:
                  - name: prices
                    config: {external_location: data/prices.parquet}
                    columns: [{name: i, data_type: bigint}, {name: price, data_type: float}]
            """
        ),
        encoding="utf-8",
    )
    model = (
        f"SELECT {BASE}, 'e-' || i AS event_id, 'USD' AS currency, price AS value "
        "FROM {{ source('files', 'prices') }}"
    )
    tiktok, meta, _ = _sync(server, root, model)
    for events in (tiktok, meta):
        values = {
            k: (e.get("properties") or e.get("custom_data"))["value"] for k, e in events.items()
        }
        assert values == {"e-1": 0.1, "e-2": 16.7}


def test_a_float32_row_found_unchanged_the_second_time(
    server: SandboxServer, tmp_path: Path
) -> None:
    """The diff hashes the model's columns, not the payload: a second run sends nothing."""
    model = f"SELECT {BASE}, 'e-1' AS event_id, 'USD' AS currency, 0.1::FLOAT AS value"
    _sync(server, tmp_path, model)
    with Project.load(tmp_path) as project:
        plans = project.plan()
    assert [(p.rows_changed, p.rows_unchanged) for p in plans] == [(0, 1), (0, 1)]


# --- integers beyond BIGINT -----------------------------------------------------------------

BIG = {
    "ubigint": "18446744073709551615::UBIGINT",
    "ubigint-min": "9223372036854775808::UBIGINT",
    "hugeint": "9223372036854775808::HUGEINT",
    "uhugeint": "340282366920938463463374607431768211455::UHUGEINT",
    "decimal": "9223372036854775808::DECIMAL(38,0)",
}


@pytest.mark.parametrize("value", BIG.values(), ids=BIG.keys())
def test_num_items_beyond_bigint_is_an_invalid_row(
    value: str, server: SandboxServer, tmp_path: Path
) -> None:
    model = (
        f"SELECT {BASE}, 'e-' || i AS event_id, 'USD' AS currency, 1 AS value, "
        f"CASE WHEN i = 0 THEN 2 ELSE {value} END AS num_items FROM range(2) t(i)"
    )
    tiktok, meta, report = _sync(server, tmp_path, model)
    assert _reasons(report, "invalid") == {
        "tiktok": {"num_items is not an integer": 1},
        "meta": {"num_items is not an integer": 1},
    }
    assert tiktok["e-0"]["properties"]["num_items"] == 2
    assert meta["e-0"]["custom_data"]["num_items"] == 2
    assert "e-1" not in tiktok and "e-1" not in meta


def test_the_largest_bigint_is_still_an_integer(server: SandboxServer, tmp_path: Path) -> None:
    model = (
        f"SELECT {BASE}, 'e-1' AS event_id, 'USD' AS currency, 1 AS value, "
        "9223372036854775807::UBIGINT AS num_items"
    )
    tiktok, meta, _ = _sync(server, tmp_path, model)
    assert tiktok["e-1"]["properties"]["num_items"] == 2**63 - 1
    assert meta["e-1"]["custom_data"]["num_items"] == 2**63 - 1


@pytest.mark.parametrize("value", BIG.values(), ids=BIG.keys())
def test_a_contents_quantity_beyond_bigint_is_left_out_with_a_warning(
    value: str, server: SandboxServer, tmp_path: Path
) -> None:
    model = (
        f"SELECT {BASE}, 'e-1' AS event_id, 'USD' AS currency, 1 AS value, "
        f"[{{'content_id': 'sku-1', 'price': 2, 'quantity': {value}}}] AS contents"
    )
    tiktok, meta, report = _sync(server, tmp_path, model)
    assert tiktok["e-1"]["properties"]["contents"] == [{"content_id": "sku-1", "price": 2.0}]
    assert meta["e-1"]["custom_data"]["contents"] == [{"id": "sku-1", "item_price": 2.0}]
    warning = "a contents item's quantity is not an integer (left out)"
    warnings = _reasons(report, "warning")
    assert warnings["tiktok"].get(warning) == warnings["meta"].get(warning) == 1


def _json_items(items: list[dict[str, Any]]) -> str:
    return "CAST('" + json.dumps(items).replace("'", "''") + "' AS JSON)"


@pytest.mark.parametrize("text", ["2.5", "0x10", "2.50"])
def test_a_json_contents_quantity_of_text_that_is_no_whole_number_is_left_out(
    text: str, server: SandboxServer, tmp_path: Path
) -> None:
    """TRY_CAST(text AS BIGINT) rounded '2.5' to 3 and read '0x10' as 16: sent as quantity.
    (A struct's VARCHAR quantity is refused by validate: a JSON contents' text reaches it.)"""
    items = _json_items([{"content_id": "sku-1", "price": 2, "quantity": text}])
    model = f"SELECT {BASE}, 'e-1' AS event_id, 'USD' AS currency, 1 AS value, {items} AS contents"
    tiktok, meta, report = _sync(server, tmp_path, model)
    assert tiktok["e-1"]["properties"]["contents"] == [{"content_id": "sku-1", "price": 2.0}]
    assert meta["e-1"]["custom_data"]["contents"] == [{"id": "sku-1", "item_price": 2.0}]
    warning = "a contents item's quantity is not an integer (left out)"
    warnings = _reasons(report, "warning")
    assert warnings["tiktok"].get(warning) == warnings["meta"].get(warning) == 1


def test_a_json_contents_quantity_of_whole_text_is_sent_exactly(
    server: SandboxServer, tmp_path: Path
) -> None:
    texts = [" 7 ", "3.0", "1e3", "9007199254740993"]
    items = _json_items(
        [{"content_id": f"sku-{i}", "price": 2, "quantity": q} for i, q in enumerate(texts)]
    )
    model = f"SELECT {BASE}, 'e-1' AS event_id, 'USD' AS currency, 1 AS value, {items} AS contents"
    tiktok, meta, _ = _sync(server, tmp_path, model)
    quantities = [7, 3, 1000, 9007199254740993]
    assert [c["quantity"] for c in tiktok["e-1"]["properties"]["contents"]] == quantities
    assert [c["quantity"] for c in meta["e-1"]["custom_data"]["contents"]] == quantities


# --- Meta's currency ------------------------------------------------------------------------

# Not literals: static validation reads a literal's value (and says so before any sync).
CURRENCIES = {
    "double-nan": "CAST(repeat('nan', 1) AS DOUBLE)",
    "double-inf": "CAST(repeat('inf', 1) AS DOUBLE)",
    "text-nan": "repeat('NaN', 1)",
    "text-inf": "repeat(' inf ', 1)",
}


@pytest.mark.parametrize("value", CURRENCIES.values(), ids=CURRENCIES.keys())
def test_a_nan_currency_is_an_invalid_row_on_both_platforms(
    value: str, server: SandboxServer, tmp_path: Path
) -> None:
    model = f"SELECT {BASE}, 'e-1' AS event_id, 1 AS value, {value} AS currency"
    tiktok, meta, report = _sync(server, tmp_path, model)
    assert tiktok == meta == {}  # TikTok's was invalid already; Meta's was sent as "NAN"
    invalid = _reasons(report, "invalid")
    text = "inf" if "inf" in value else ("NaN" if "NaN" in value else "nan")
    assert invalid["meta"] == {
        f"currency '{text}' is a NaN or infinite number, not an ISO 4217 code": 1
    }
    (tiktok_reason,) = invalid["tiktok"]
    assert "currency" in tiktok_reason and "is not accepted by TikTok" in tiktok_reason


def test_validate_reads_a_nan_currency_as_no_code() -> None:
    currency = META_CATALOG.lookup("currency")
    assert currency is not None
    issues: list[ColumnIssue] = MetaRules("website").value_issues(currency, ["nan", "INF", "EUR"])
    assert [(i.message, i.severity) for i in issues] == [
        ("currency 'INF' is a NaN or infinite number, not an ISO 4217 code", "error"),
        ("currency 'nan' is a NaN or infinite number, not an ISO 4217 code", "error"),
    ]


# --- content_ids ----------------------------------------------------------------------------


def test_blank_content_ids_are_left_out(server: SandboxServer, tmp_path: Path) -> None:
    model = (
        f"SELECT {BASE}, 'e-' || i AS event_id, 'USD' AS currency, 1 AS value, "
        "CASE WHEN i = 0 THEN ['a', '', '  ', NULL, chr(9) || chr(12288), ' b '] "
        "ELSE ['', ' ', NULL] END AS content_ids FROM range(2) t(i)"
    )
    tiktok, meta, report = _sync(server, tmp_path, model)
    assert tiktok["e-0"]["properties"]["content_ids"] == ["a", " b "]
    assert meta["e-0"]["custom_data"]["content_ids"] == ["a", " b "]
    assert "content_ids" not in tiktok["e-1"]["properties"]  # none left: left out, as []
    assert "content_ids" not in meta["e-1"]["custom_data"]
    assert _reasons(report, "invalid") == {"tiktok": {}, "meta": {}}


def test_a_blank_content_id_is_no_list_of_one(server: SandboxServer, tmp_path: Path) -> None:
    """Meta's content_id column is content_ids, a list of one: a blank one is left out."""
    model = (
        f"SELECT {BASE}, 'e-' || i AS event_id, 'USD' AS currency, 1 AS value, "
        "CASE WHEN i = 0 THEN 'sku-1' ELSE repeat(' ', 2) END AS content_ids "
        "FROM range(2) t(i)"
    )
    tiktok, meta, _ = _sync(server, tmp_path, model)
    assert tiktok["e-0"]["properties"]["content_ids"] == ["sku-1"]
    assert meta["e-0"]["custom_data"]["content_ids"] == ["sku-1"]
    assert "content_ids" not in tiktok["e-1"]["properties"]
    assert "content_ids" not in meta["e-1"]["custom_data"]

"""How text values are delivered, on both platforms (the encoders' SQL in a real DuckDB):

- a number, an integer or a boolean written as text is trimmed of every whitespace ``blank``
  takes (``shared/sql.py`` ``strip``), not of DuckDB's trim()'s only: ``'5' || chr(133)``,
  ``chr(28) || '5'`` or ``'5' || chr(8232)`` was "not a number", ``' true '`` "not a boolean";
- so is a time written as text (``' 2024-06-01 '``, ``'2024-06-01' || chr(9)`` were "not a
  time": the row invalid);
- a blank event_id beside a key (``'\\t\\n'``) is blank, as ``'  '`` is (sent without one,
  with a warning), not a control character that makes the row invalid;

A column of DuckDB type JSON given to a text parameter is refused before anything is read
(``validation/types.py``), its fix the text it holds, not a CAST that keeps the quotes."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from reverse_etl.destinations.shared.phones import register_phone_udf
from reverse_etl.engine.duckdb import DuckDBEngine
from tests.meta.helpers import NOW as META_NOW
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


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine()
    register_phone_udf(eng)
    yield eng
    eng.close()


def tiktok(engine: DuckDBEngine, model_pk: tuple[str, ...] | None = None, **cols: str) -> Any:
    values = {**TIKTOK_BASE, **cols}
    select = "select " + ", ".join(f'{v} as "{k}"' for k, v in values.items())
    (row,) = tiktok_encode(engine, select, model_pk=model_pk)
    return row


def meta(engine: DuckDBEngine, model_key: tuple[str, ...] | None = None, **cols: str) -> Any:
    (row,) = meta_encode(engine, meta_select(**cols), model_key=model_key)
    return row


def _props(row: Any) -> dict[str, Any]:
    return dict(row["payload"].get("properties", {}))


def _custom(row: Any) -> dict[str, Any]:
    return dict(row["payload"].get("custom_data", {}))


# --- numbers and booleans written as text -------------------------------------------------
PADDED = {
    "space": "' {} '",
    "tab-newline": "chr(9) || '{}' || chr(10)",
    "crlf": "'{}' || chr(13) || chr(10)",
    "separator": "chr(28) || '{}'",
    "nel": "'{}' || chr(133)",
    "line-separator": "'{}' || chr(8232)",
    "nbsp": "chr(160) || '{}' || chr(12288)",
}


@pytest.mark.parametrize("pad", sorted(PADDED))
def test_numbers_as_text_are_trimmed_of_every_whitespace(engine: DuckDBEngine, pad: str) -> None:
    five, two = PADDED[pad].format("5"), PADDED[pad].format("2")
    row = tiktok(engine, value=five, currency="'USD'", num_items=two, predicted_ltv=five)
    assert row["errors"] is None
    assert {k: _props(row)[k] for k in ("value", "num_items", "predicted_ltv")} == {
        "value": 5.0,
        "num_items": 2,
        "predicted_ltv": 5.0,
    }
    row = meta(engine, value=five, num_items=two, predicted_ltv=five)
    assert row["errors"] is None
    assert {k: _custom(row)[k] for k in ("value", "num_items", "predicted_ltv")} == {
        "value": 5.0,
        "num_items": 2,
        "predicted_ltv": 5.0,
    }


@pytest.mark.parametrize("pad", sorted(PADDED))
def test_contents_numbers_as_text_are_trimmed_of_every_whitespace(
    engine: DuckDBEngine, pad: str
) -> None:
    five, two = PADDED[pad].format("5"), PADDED[pad].format("2")
    contents = f"[{{'content_id': 'a', 'price': {five}, 'quantity': {two}}}]"
    row = tiktok(engine, contents=contents)
    assert (row["errors"], row["warnings"]) == (None, None)
    assert _props(row)["contents"] == [{"content_id": "a", "price": 5.0, "quantity": 2}]
    row = meta(engine, contents=contents)
    assert (row["errors"], row["warnings"]) == (None, None)
    assert _custom(row)["contents"] == [{"id": "a", "item_price": 5.0, "quantity": 2}]


@pytest.mark.parametrize("pad", sorted(PADDED))
def test_booleans_as_text_are_trimmed_of_every_whitespace(engine: DuckDBEngine, pad: str) -> None:
    true = PADDED[pad].format("true")
    row = tiktok(engine, limited_data_use=true)
    assert (row["errors"], row["payload"].get("limited_data_use")) == (None, True)
    row = meta(engine, opt_out=true)
    assert (row["errors"], row["payload"].get("opt_out")) == (None, True)


@pytest.mark.parametrize("pad", sorted(PADDED))
def test_times_as_text_are_trimmed_of_every_whitespace(engine: DuckDBEngine, pad: str) -> None:
    for encode, now in ((tiktok, NOW), (meta, META_NOW - 3600)):
        padded = PADDED[pad].format(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)))
        row = encode(engine, event_time=padded)
        assert (row["errors"], row["payload"]["event_time"]) == (None, now)


@pytest.mark.parametrize("text", ["'5 5'", "'abc'", "chr(0) || '5'"])
def test_a_number_with_more_than_whitespace_is_still_not_a_number(
    engine: DuckDBEngine, text: str
) -> None:
    row = tiktok(engine, value=text, currency="'USD'")
    assert row["errors"] == "value is not a number"
    assert "value is not a number" in meta(engine, value=text)["errors"]


# --- a blank event_id, whatever whitespace it holds ----------------------------------------
EMPTY_EVENT_ID = "event_id is empty: the platform cannot deduplicate this event"
BLANK_IDS = {"spaces": "'  '", "tab-newline": "chr(9) || chr(10)", "crlf": "chr(13) || chr(10)"}


@pytest.mark.parametrize("blank", sorted(BLANK_IDS))
def test_a_blank_event_id_beside_a_key_warns_and_is_left_out(
    engine: DuckDBEngine, blank: str
) -> None:
    value = BLANK_IDS[blank]
    row = tiktok(engine, model_pk=("order_id",), order_id="'o-1'", event_id=value)
    assert (row["errors"], row["warnings"]) == (None, EMPTY_EVENT_ID)
    assert "event_id" not in row["payload"]
    row = meta(engine, model_key=("order_id",), order_id="'o-1'", event_id=value)
    assert (row["errors"], row["warnings"]) == (None, EMPTY_EVENT_ID)
    assert "event_id" not in row["payload"]


@pytest.mark.parametrize("blank", sorted(BLANK_IDS))
def test_a_blank_key_is_blank_not_a_control_character(engine: DuckDBEngine, blank: str) -> None:
    value = BLANK_IDS[blank]
    assert tiktok(engine, event_id=value)["errors"] == "primary key is blank, NaN or infinite"
    assert meta(engine, event_id=value)["errors"] == "primary key is blank, NaN or infinite"


def test_an_event_id_with_a_line_break_in_it_is_still_invalid(engine: DuckDBEngine) -> None:
    value = "'a' || chr(10) || 'b'"
    reason = "event_id holds a control character (NUL, a line break, ...)"
    row = tiktok(engine, model_pk=("order_id",), order_id="'o-1'", event_id=value)
    assert row["errors"] == reason
    row = meta(engine, model_key=("order_id",), order_id="'o-1'", event_id=value)
    assert row["errors"] == reason


# --- a JSON column given to a text parameter -----------------------------------------------
def test_a_json_text_parameters_fix_reads_the_text_it_holds() -> None:
    """The fix said CAST(... AS VARCHAR), which keeps a JSON string's quotes ('"q"')."""
    from reverse_etl.columns import parse_type
    from reverse_etl.destinations.meta.catalog import CATALOG as META
    from reverse_etl.destinations.meta.rules import MetaRules
    from reverse_etl.destinations.tiktok.catalog import CATALOG as TIKTOK
    from reverse_etl.destinations.tiktok.rules import TikTokRules
    from reverse_etl.validation.types import check_type

    json = parse_type("json")
    assert json is not None
    for catalog, rules in ((TIKTOK, TikTokRules("WEB")), (META, MetaRules("website"))):
        for name in ("order_id", "currency", "email"):
            spec = catalog.lookup(name)
            assert spec is not None
            (verdict,) = check_type(spec, json, rules)
            assert verdict.severity == "error"
            assert verdict.hint is not None
            assert "json_extract_string(..., '$')" in verdict.hint
            assert "->>" in verdict.hint
        (verdict,) = check_type(catalog.lookup("value"), json, rules)  # a number: as before
        assert verdict.hint is not None and "DECIMAL" in verdict.hint


def test_a_numeric_zip_is_told_to_keep_its_leading_zeros() -> None:
    """A ZIP kept as a number has lost its leading zeros (02134 is 2134): validate's fix was
    ``CAST(... AS VARCHAR)``, which sends "2134" and matches nobody."""
    from reverse_etl.columns import parse_type
    from reverse_etl.destinations.meta.catalog import CATALOG as META
    from reverse_etl.destinations.meta.rules import MetaRules
    from reverse_etl.validation.types import check_type

    spec = META.lookup("zip_code")
    assert spec is not None
    for name in ("integer", "bigint", "decimal(5, 0)"):
        typ = parse_type(name)
        assert typ is not None
        (verdict,) = check_type(spec, typ, MetaRules("website"))
        assert verdict.severity == "error"
        assert (
            verdict.hint is not None
            and "lpad(CAST(" in verdict.hint
            and ", 5, '0')" in verdict.hint
        )
    text = parse_type("varchar")
    assert text is not None and check_type(spec, text, MetaRules("website")) == []
    city = META.lookup("city")
    integer = parse_type("integer")
    assert city is not None and integer is not None
    (verdict,) = check_type(city, integer, MetaRules("website"))
    assert verdict.hint is not None and "lpad" not in verdict.hint


def test_a_zip_kept_as_a_fractional_number_is_padded_from_its_whole_digits() -> None:
    """validate's ZIP fix, run on a ZIP kept as a DOUBLE or a DECIMAL with a scale, gives the
    ZIP: ``lpad(CAST(... AS VARCHAR), 5, '0')`` padded and cut '2134.0' to '2134.', which
    matches nobody (Meta hashes it as it is)."""
    import duckdb

    from reverse_etl.columns import parse_type
    from reverse_etl.destinations.meta.catalog import CATALOG as META
    from reverse_etl.destinations.meta.rules import MetaRules
    from reverse_etl.validation.types import check_type

    spec = META.lookup("zip_code")
    assert spec is not None
    for name, value in (
        ("double", "2134.0::DOUBLE"),
        ("real", "2134.0::REAL"),
        ("decimal(9, 2)", "2134::DECIMAL(9, 2)"),
        ("integer", "2134::INTEGER"),
        ("decimal(5, 0)", "2134::DECIMAL(5, 0)"),
    ):
        typ = parse_type(name)
        assert typ is not None
        (verdict,) = check_type(spec, typ, MetaRules("website"))
        assert verdict.hint is not None
        (fix,) = re.findall(r"lpad\(.*?, 5, '0'\)", verdict.hint)
        (zip_code,) = duckdb.sql("SELECT " + fix.replace("...", value)).fetchone() or ()
        assert zip_code == "02134", name


# --- a time zone's name in one text time does not move the times after it ---------------
@pytest.mark.parametrize("platform", ["tiktok", "meta"])
def test_a_zone_name_does_not_move_the_text_times_after_it(
    engine: DuckDBEngine, platform: str
) -> None:
    """DuckDB 1.5.5's cast of a text naming a time zone ('... Europe/Paris') left that zone
    in the cast's state: the texts after it in the same vector (2,048 rows) that name none
    were read in it, hours off, and sent without an error (2,037 of 5,000 rows here)."""
    now = NOW if platform == "tiktok" else META_NOW - 3600
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
    zones = ["Europe/Paris", "America/New_York", "CET", "UTC"]
    texts = (
        f"CASE WHEN i % 997 = 10 THEN '{when} ' || {zones!r}[1 + (i // 997) % 4] "
        f"WHEN i % 5 = 1 THEN '{when}+02:00' ELSE '{when}' END"
    )
    if platform == "tiktok":
        select = (
            "select 'AddToCart' as event, 'k' || i as event_id, "
            f"{texts} as event_time, 'a@x.com' as email, 'https://shop.example/' as page_url "
            "from range(5000) r(i)"
        )
        rows = tiktok_encode(engine, select)
    else:
        rows = meta_encode(
            engine, meta_select(event_id="'k' || i", event_time=texts) + " FROM range(5000) r(i)"
        )
    truth = {
        text: engine.rows(f"select epoch(TRY_CAST('{text}' AS TIMESTAMPTZ))::BIGINT")[0][0]
        for text in [f"{when} {z}" for z in zones] + [f"{when}+02:00", when]
    }
    assert truth[when] == now and truth[f"{when}+02:00"] == now - 7200

    def expected(i: int) -> int:
        if i % 997 == 10:
            return int(truth[f"{when} {zones[(i // 997) % 4]}"])
        return int(truth[f"{when}+02:00" if i % 5 == 1 else when])

    sent = {int(r["payload"]["event_id"][1:]): r["payload"]["event_time"] for r in rows}
    assert sent == {i: expected(i) for i in range(5000)}

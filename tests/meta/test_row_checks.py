"""The rules Meta enforces, caught per row before sending, each with its reason."""

from __future__ import annotations

import pytest

from reverse_etl.engine.duckdb import DuckDBEngine

from .helpers import DAY, HOUR, NOW, at, encode, one, select


def errors(
    engine: DuckDBEngine, settings: dict[str, object] | None = None, **cols: str | None
) -> list[str]:
    found = one(engine, settings, **cols)["errors"]
    return [] if found is None else found.split("; ")


def test_a_valid_row_has_no_reason(engine: DuckDBEngine) -> None:
    row = one(engine, email="'a@b.io'")
    assert (row["errors"], row["warnings"]) == (None, None)


@pytest.mark.parametrize(
    ("column", "reason"),
    [
        ("page_url", "page_url is missing: Meta needs event_source_url on website events"),
        ("user_agent", "user_agent is missing: Meta needs client_user_agent on website events"),
    ],
)
def test_website_needs_url_and_user_agent(engine: DuckDBEngine, column: str, reason: str) -> None:
    assert errors(engine, **{column: "'  '"}) == [reason]
    assert errors(engine, **{column: "CAST(NULL AS VARCHAR)"}) == [reason]
    # A row whose own action_source is not website needs neither.
    assert errors(engine, action_source="'physical_store'", **{column: "NULL"}) == []


def test_website_rows_of_a_model_without_those_columns(engine: DuckDBEngine) -> None:
    # The destination is not website (so the model may lack them); a website row still needs them.
    got = errors(
        engine, {"action_source": "app"}, page_url=None, user_agent=None, action_source="'website'"
    )
    assert got == [
        "page_url is missing: Meta needs event_source_url on website events",
        "user_agent is missing: Meta needs client_user_agent on website events",
    ]


def test_event_time_window(engine: DuckDBEngine) -> None:
    assert errors(engine, event_time=at(NOW - 7 * DAY + 60)) == []
    assert errors(engine, event_time=at(NOW - 7 * DAY - 60)) == [
        "event_time 2023-11-07T22:12:20Z is older than Meta takes (7 days)"
    ]
    # physical_store events may be 62 days old.
    store = {"action_source": "physical_store"}
    assert errors(engine, store, event_time=at(NOW - 30 * DAY)) == []
    assert errors(engine, store, event_time=at(NOW - 63 * DAY)) == [
        "event_time 2023-09-12T22:13:20Z is older than Meta takes (62 days (physical_store))"
    ]
    assert errors(engine, event_time=at(NOW + 240)) == []  # clock skew allowed
    assert errors(engine, event_time=at(NOW + HOUR)) == [
        "event_time 2023-11-14T23:13:20Z is in the future, which Meta refuses (more than "
        "5 minutes ahead): check the column's time zone and the warehouse's clock"
    ]


def test_an_event_time_in_the_future_names_the_likely_fix(engine: DuckDBEngine) -> None:
    # A TIMESTAMP (no zone) is read as UTC: local time east of UTC lands in the future. The
    # reason quotes the time and says how to give the zone.
    local = "TIMESTAMP '2023-11-15 01:13:20'"  # 23:13:20 in UTC+2, read as 01:13:20 UTC
    assert errors(engine, event_time=local) == [
        "event_time 2023-11-15T01:13:20Z is in the future, which Meta refuses (more than "
        "5 minutes ahead): a TIMESTAMP is read as UTC, so if the column holds local time make it a "
        "TIMESTAMPTZ in the model (or the time in UTC)"
    ]
    assert errors(engine, event_time=str(NOW + HOUR)) == [
        "event_time 2023-11-14T23:13:20Z is in the future, which Meta refuses (more than "
        "5 minutes ahead): check the column's time zone and the warehouse's clock"
    ]


def test_event_time_must_be_a_time(engine: DuckDBEngine) -> None:
    assert errors(engine, event_time="'yesterday'") == ["event_time is missing or not a time"]
    # Said once, as milliseconds: not also "in the future" (which they are).
    assert errors(engine, event_time=str(NOW * 1000)) == [
        "event_time looks like milliseconds: send Unix seconds"
    ]


def test_purchase_needs_value_and_currency(engine: DuckDBEngine) -> None:
    assert errors(engine, value="CAST(NULL AS DOUBLE)") == [
        "Purchase needs value (Meta rejects it)"
    ]
    assert errors(engine, currency=None) == ["Purchase needs currency (Meta rejects it)"]
    assert errors(engine, event="'Lead'", value=None, currency=None) == []


def test_at_least_one_customer_information_parameter(engine: DuckDBEngine) -> None:
    got = errors(
        engine, {"action_source": "system_generated"}, ip=None, user_agent=None, page_url=None
    )
    assert got == [
        "no customer information: Meta needs at least one user_data parameter "
        "(email, phone, external_id, fbc, fbp, ip, user_agent …)"
    ]
    # A value with no normal form does not count.
    assert (
        len(
            errors(
                engine,
                {"action_source": "system_generated"},
                ip=None,
                user_agent=None,
                gender="'x'",
            )
        )
        == 1
    )


def test_basics(engine: DuckDBEngine) -> None:
    assert errors(engine, event="' '") == ["event is missing"]
    assert errors(engine, event_id="CAST(NULL AS VARCHAR)") == ["primary key is null"]
    assert errors(engine, action_source="'web'") == [
        "action_source 'web' is not one of Meta's action sources"
    ]
    assert errors(engine, currency="'dollars'") == [
        "currency 'dollars' is not a three-letter ISO 4217 code"
    ]
    assert errors(engine, content_type="'item'") == ["content_type 'item' is not accepted by Meta"]
    assert errors(engine, value="'abc'") == [
        "Purchase needs value (Meta rejects it)",
        "value is not a number",
    ]
    assert errors(engine, phone="'12'") == [
        "phone is not a valid phone number "
        "(write it with its country code, or set default_phone_region)"
    ]


def test_a_currency_outside_iso_4217_is_sent_with_a_warning(engine: DuckDBEngine) -> None:
    row = one(engine, currency="' rmb '")
    assert row["errors"] is None
    assert row["warnings"] == (
        "currency 'rmb' is not an ISO 4217 code (sent, upper-cased, but Meta may refuse it or not "
        "convert the value: write the ISO code, e.g. CNY for RMB)"
    )
    assert row["payload"]["custom_data"]["currency"] == "RMB"
    assert one(engine, currency="'cny'")["warnings"] is None
    # the errors say the rest, once
    assert one(engine, currency="'nan'")["warnings"] is None


def test_lower_case_currency_is_sent_upper_case(engine: DuckDBEngine) -> None:
    row = one(engine, currency="' eur '")
    assert row["errors"] is None
    assert row["payload"]["custom_data"]["currency"] == "EUR"


def test_misspelt_standard_event_warns(engine: DuckDBEngine) -> None:
    rows = encode(
        engine,
        f"SELECT b.*, 'e' || i AS event_id, n AS event FROM ({select(event=None, event_id=None)}) "
        "AS b, (VALUES (1, 'purchase'), (2, 'add_to_cart'), (3, 'Purchase'), (4, 'MyEvent')) "
        "AS v(i, n)",
    )
    assert [r["warnings"] for r in rows] == [
        "event 'purchase' is sent as a custom event: did you mean 'Purchase'?",
        "event 'add_to_cart' is sent as a custom event: did you mean 'AddToCart'?",
        None,
        None,
    ]


@pytest.mark.parametrize("blank", ["''", "'  '", "'\t\n'", "'\u00a0'"])
@pytest.mark.parametrize(
    ("column", "reasons"),
    [
        ("value", ["Purchase needs value (Meta rejects it)"]),
        ("predicted_ltv", []),
        ("num_items", []),
        ("opt_out", []),
        ("event_time", ["event_time is missing or not a time"]),
    ],
)
def test_a_blank_text_number_boolean_or_time_is_a_null_one(
    engine: DuckDBEngine, blank: str, column: str, reasons: list[str]
) -> None:
    """Written as text, a blank one is none: left out when optional, missing when required,
    as a NULL one (it was 'not a number', 'not an integer', 'not a boolean': invalid)."""
    null = one(engine, **{column: "CAST(NULL AS VARCHAR)"})
    row = one(engine, **{column: blank})
    assert errors(engine, **{column: "CAST(NULL AS VARCHAR)"}) == reasons
    assert errors(engine, **{column: blank}) == reasons
    assert row["payload"] == null["payload"]
    assert row["warnings"] == null["warnings"]


def test_rows_that_say_their_own_source_need_only_what_it_needs(engine: DuckDBEngine) -> None:
    # A website destination whose model has no page_url nor user_agent column, and says each
    # row's action_source: the store's rows are sent, the website's invalid with the reason.
    sql = (
        "SELECT * FROM (VALUES ('s-1', 'physical_store'), ('w-1', 'website')) AS t(event_id, "
        f"action_source), ({select(page_url=None, user_agent=None, event_id=None)})"
    )
    rows = {r["key"]: r for r in encode(engine, sql)}
    assert rows["s-1"]["errors"] is None
    assert rows["s-1"]["payload"]["action_source"] == "physical_store"
    assert rows["w-1"]["errors"] == (
        "page_url is missing: Meta needs event_source_url on website events; "
        "user_agent is missing: Meta needs client_user_agent on website events"
    )

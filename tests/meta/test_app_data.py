"""App events (action_source app): app_data's advertiser_tracking_enabled,
application_tracking_enabled and extinfo (16 device values), as Meta documents them."""

from __future__ import annotations

from typing import Any

from reverse_etl.destinations.shared.sql import lit
from reverse_etl.engine.duckdb import DuckDBEngine

from .helpers import encode, plan_for, select

APP = {"action_source": "app"}
EXTINFO = (
    "['i2', 'com.example.app', '1.0', '1.0 long', '17.4.1', 'iPhone15,2', 'en_US', 'PDT', "
    "'', '1179', '2556', '3', '6', '128', '64', 'America/Los_Angeles']"
)
COLUMNS: dict[str, str | None] = {
    "page_url": None,
    "user_agent": None,
    "madid": "'38400000-8cf0-11bd-b23e-10b96e40000d'",
    "advertiser_tracking_enabled": "true",
    "application_tracking_enabled": "false",
    "extinfo": EXTINFO,
}


def _one(engine: DuckDBEngine, **columns: str | None) -> dict[str, Any]:
    (row,) = encode(engine, select(**{**COLUMNS, **columns}), **APP)
    return row


def _errors(engine: DuckDBEngine, **columns: str | None) -> list[str]:
    found = _one(engine, **columns)["errors"]
    return [] if found is None else found.split("; ")


def test_app_data_is_sent_under_app_data_never_hashed(engine: DuckDBEngine) -> None:
    row = _one(engine)
    assert row["errors"] is None
    payload = row["payload"]
    assert payload["action_source"] == "app"
    assert payload["app_data"] == {
        "advertiser_tracking_enabled": True,
        "application_tracking_enabled": False,
        "extinfo": [
            "i2", "com.example.app", "1.0", "1.0 long", "17.4.1", "iPhone15,2", "en_US",
            "PDT", "", "1179", "2556", "3", "6", "128", "64", "America/Los_Angeles",
        ],
    }  # fmt: skip
    assert payload["user_data"]["madid"] == "38400000-8cf0-11bd-b23e-10b96e40000d"
    assert "custom_data" not in payload or "extinfo" not in payload["custom_data"]


def test_a_null_extinfo_item_keeps_its_place(engine: DuckDBEngine) -> None:
    info = EXTINFO.replace("'PDT'", "NULL")
    extinfo = _one(engine, extinfo=info)["payload"]["app_data"]["extinfo"]
    assert len(extinfo) == 16 and extinfo[7] == "" and extinfo[15] == "America/Los_Angeles"


def test_an_app_destination_without_app_data_columns_is_refused_with_the_fix(
    engine: DuckDBEngine,
) -> None:
    sql = select(**{**COLUMNS, "extinfo": None, "advertiser_tracking_enabled": None})
    plan, problems = plan_for(engine, sql, **APP)
    assert plan is None
    texts = [p.render() for p in problems]
    for name in ("advertiser_tracking_enabled", "extinfo"):
        assert any(
            f"has no '{name}' column (app events need it)" in t and f"AS {name}`" in t
            for t in texts
        ), texts


def test_app_rows_missing_app_data_are_invalid(engine: DuckDBEngine) -> None:
    assert _errors(engine, advertiser_tracking_enabled="CAST(NULL AS BOOLEAN)") == [
        "advertiser_tracking_enabled is missing: Meta needs "
        "app_data.advertiser_tracking_enabled on app events"
    ]
    assert _errors(engine, extinfo="CAST(NULL AS VARCHAR[])") == [
        "extinfo is missing: Meta needs app_data.extinfo on app events"
    ]


def test_extinfo_must_hold_16_values_with_version_and_os(engine: DuckDBEngine) -> None:
    assert _errors(engine, extinfo="['i2', 'com.example.app']") == [
        "extinfo has 2 values: Meta needs exactly 16, in order (empty text for one unknown)"
    ]
    assert _errors(engine, extinfo=EXTINFO.replace("'i2'", "'ios'")) == [
        "extinfo's version (its first value) 'ios' is not a2 (Android) or i2 (iOS)"
    ]
    assert _errors(engine, extinfo=EXTINFO.replace("'17.4.1'", "''")) == [
        "extinfo has no OS version (its fifth value): Meta requires it"
    ]
    assert _errors(engine, extinfo="'i2,com.example.app'") == [
        "extinfo is not a list (Meta needs an array of 16 values)"
    ]


def test_a_website_row_of_a_per_row_model_needs_no_app_data(engine: DuckDBEngine) -> None:
    sql = select(action_source="'website'")
    (row,) = encode(engine, sql, **APP)
    assert row["errors"] is None and "app_data" not in row["payload"]


def _json(items: str) -> str:
    return f"CAST({lit(items)} AS JSON)"


JSON_EXTINFO = (
    '["a2", "com.example.app", "1.0", "1.0 long", "14", "Pixel 8", "en_US", "CET", null, '
    '1080, 2400, 2.75, 8, "", "64", "Europe/Paris"]'
)


def test_a_json_extinfo_is_sent_as_the_array_it_holds(engine: DuckDBEngine) -> None:
    # A PostgreSQL json/jsonb column reaches the encoder as JSON: its array is extinfo, every
    # item in its place (null and "" as ""), numbers as their text.
    row = _one(engine, extinfo=_json(JSON_EXTINFO))
    assert row["errors"] is None
    assert row["payload"]["app_data"]["extinfo"] == [
        "a2", "com.example.app", "1.0", "1.0 long", "14", "Pixel 8", "en_US", "CET", "",
        "1080", "2400", "2.75", "8", "", "64", "Europe/Paris",
    ]  # fmt: skip


def test_a_json_extinfo_is_judged_as_a_list(engine: DuckDBEngine) -> None:
    assert _errors(engine, extinfo=_json('["i2", "com.example.app"]')) == [
        "extinfo has 2 values: Meta needs exactly 16, in order (empty text for one unknown)"
    ]
    assert _errors(engine, extinfo=_json(JSON_EXTINFO.replace('"a2"', '"android"'))) == [
        "extinfo's version (its first value) 'android' is not a2 (Android) or i2 (iOS)"
    ]
    assert _errors(engine, extinfo=_json(JSON_EXTINFO.replace('"14"', "null"))) == [
        "extinfo has no OS version (its fifth value): Meta requires it"
    ]
    for not_a_list in ('{"version": "a2"}', '"a2"', "null"):
        assert _errors(engine, extinfo=_json(not_a_list)) == [
            "extinfo is not a list (Meta needs an array of 16 values)"
        ], not_a_list
    nested = JSON_EXTINFO.replace('"Pixel 8"', '{"model": "Pixel 8"}')
    assert _errors(engine, extinfo=_json(nested)) == [
        "extinfo holds an object or a list: Meta needs text values"
    ]


def test_validate_says_a_json_extinfo_is_sent_as_the_array_it_holds() -> None:
    """A JSON extinfo is sent positionally (every item in its place, a null one as ''), and a
    scalar is no list: validate said it went as a set of IDs ('an array's items, or one
    value'), with the content_ids error ('extinfo is not a list of IDs') it never gets."""
    from reverse_etl.columns import parse_type
    from reverse_etl.destinations.meta.catalog import CATALOG
    from reverse_etl.destinations.meta.rules import MetaRules
    from reverse_etl.validation.types import check_type

    spec, json = CATALOG.lookup("extinfo"), parse_type("json")
    assert spec is not None and json is not None
    (verdict,) = check_type(spec, json, MetaRules("app"))
    assert verdict.severity == "warning"
    assert "every item in its place" in verdict.message
    assert "IDs" not in verdict.message and "one value" not in verdict.message

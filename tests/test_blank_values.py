"""A blank value (empty text, or only whitespace: ``''``, ``'  '``, ``'\\t\\n'``) is sent as a
NULL one is, to TikTok and to Meta alike: left out when the parameter is optional, missing when
it is required. Real ``retl sync`` runs to both emulators, read back from what they received.

- A blank text or ID parameter (``lead_id``, ``madid``, ``anon_id``, ``ttclid``, ``order_id``,
  ``referrer``, ``user_agent`` ...) was sent as ``""`` or ``"  "``; one with a fixed list of
  values (``currency``, ``content_type``) made the row invalid ("'' is not accepted").
- A user_data of blank identifiers only is no customer information, as one of NULLs is.
- A blank item of an ENUM ``content_ids`` was sent (the blank filter read text types only);
  a contents item's blank ``content_id`` was sent, and Meta's check of a contents id took
  ``'\\t'`` for an id (DuckDB's ``trim`` removes spaces only)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reverse_etl.destinations.catalog import Hashing, Kind
from reverse_etl.destinations.meta.catalog import CATALOG as META
from reverse_etl.destinations.meta.catalog import PARAMS as META_PARAMS
from reverse_etl.destinations.tiktok.catalog import CATALOG as TIKTOK
from reverse_etl.destinations.tiktok.catalog import PARAMS as TIKTOK_PARAMS
from reverse_etl.pipeline.report import SyncReport
from reverse_etl.project import Project
from reverse_etl.sandbox import (
    DEMO_CRM_SET_ID,
    DEMO_META_PIXEL_ID,
    DEMO_META_TOKEN,
    DEMO_PIXEL_CODE,
    DEMO_TIKTOK_APP_ID,
    DEMO_TOKEN,
    SandboxServer,
)

NOW = int(time.time()) - 3600
# What every row carries besides the column under test (a column the test replaces is left
# out of it). The app_id and lead_id are the ones APP and CRM events need.
BASE = {
    "event": "'Purchase'",
    "event_time": str(NOW),
    "email": "'a@example.com'",
    "page_url": "'https://shop.example/done'",
    "user_agent": "'Mozilla/5.0'",
    "currency": "'USD'",
    "value": "1",
}
SOURCE_IDS = {"WEB": DEMO_PIXEL_CODE, "APP": DEMO_TIKTOK_APP_ID, "CRM": DEMO_CRM_SET_ID}
NEEDS = {"APP": {"app_id": "'1234567890'"}, "CRM": {"lead_id": "'7000000000000000001'"}}
# The rows of each case: a NULL one, and the blank ones that must be sent as it is.
BLANKS = {"b-null": None, "b-empty": "", "b-space": "  ", "b-tab": "\t\n"}


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as srv:
        yield srv


def _destinations(base_url: str, tiktok_source: str | None, meta: str | None) -> str:
    out = "destinations:\n"
    if tiktok_source is not None:
        out += f"""\
  tiktok:
    type: tiktok_events
    model: ev
    access_token: {DEMO_TOKEN}
    event_source_id: "{SOURCE_IDS[tiktok_source]}"
    event_data_source: {tiktok_source}
    api_base_url: {base_url}
    skip_invalid_record: true
"""
    if meta is not None:
        out += f"""\
  meta:
    type: meta_conversions
    model: ev
    pixel_id: "{DEMO_META_PIXEL_ID}"
    access_token: {DEMO_META_TOKEN}
    action_source: {meta}
    api_base_url: {base_url}
    skip_invalid_record: true
"""
    return out


def _sync(
    server: SandboxServer,
    root: Path,
    model: str,
    *,
    tiktok_source: str | None = "WEB",
    meta: str | None = "website",
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], SyncReport]:
    """Sync ``model`` to the emulators: the events each received, by event_id, and the
    run's report."""
    (root / "models").mkdir(parents=True)
    (root / "retl_project.yml").write_text("name: blanks\n", encoding="utf-8")
    (root / "models" / "ev.sql").write_text(model, encoding="utf-8")
    text = _destinations(server.base_url, tiktok_source, meta)
    (root / "destinations.yml").write_text(text, encoding="utf-8")
    with Project.load(root) as project:
        report = project.sync()
    assert report.error is None, report.error
    tiktok = {e["data"].get("event_id"): e["data"] for e in server.events()}
    meta_events = {e["data"].get("event_id"): e["data"] for e in server.meta.events()}
    return tiktok, meta_events, report


def _sql(v: str | None) -> str:
    return "NULL" if v is None else "'" + v.replace("'", "''") + "'"


def _model(column: str, rows: dict[str, str | None], base: dict[str, str]) -> str:
    """One row per event id, ``column`` of its value (from a VALUES list, so that validate,
    which reads literals, lets the sync run)."""
    values = ", ".join(f"({_sql(k)}, {_sql(v)})" for k, v in rows.items())
    cols = ", ".join(f'{v} AS "{k}"' for k, v in base.items() if k != column)
    return f'SELECT {cols}, v.event_id, v.x AS "{column}" FROM (VALUES {values}) AS v(event_id, x)'


def _text_columns() -> list[str]:
    """Every column name that is a text or ID parameter sent as it is, on either platform
    (the event's name, time and id, Meta's action_source, TikTok's app_id and Meta's fbc and
    fbp have tests of their own: a blank one was missing, or left out, already)."""
    names = {
        spec.name
        for params in (TIKTOK_PARAMS, META_PARAMS)
        for spec in params
        if spec.kind in (Kind.ID, Kind.STRING) and spec.hashing is Hashing.NONE
    }
    return sorted(
        names - {"event", "event_time", "event_id", "action_source", "app_id", "fbc", "fbp"}
    )


def _without_event_id(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "event_id"}


@pytest.mark.parametrize("column", _text_columns())
def test_a_blank_value_is_sent_as_a_null_one(
    column: str, server: SandboxServer, tmp_path: Path
) -> None:
    tiktok_spec, meta_spec = TIKTOK.lookup(column), META.lookup(column)
    source = None
    if tiktok_spec is not None:
        source = "WEB" if "WEB" in tiktok_spec.sources else sorted(tiktok_spec.sources)[0]
    base = {**BASE, **NEEDS.get(source or "", {})}
    model = _model(column, BLANKS, base)
    tiktok, meta, report = _sync(
        server,
        tmp_path,
        model,
        tiktok_source=source,
        meta="website" if meta_spec is not None else None,
    )
    for name, events in (("tiktok", tiktok), ("meta", meta)):
        if (tiktok_spec if name == "tiktok" else meta_spec) is None:
            continue
        sent = {k: _without_event_id(e) for k, e in events.items()}
        # every blank row sent as the NULL one, or, with it, not sent at all
        assert set(sent) in (set(), set(BLANKS)), (name, set(sent))
        for key, event in sent.items():
            assert event == sent["b-null"], (name, key, event)
        for kind in ("invalid", "warning"):
            reasons = {p.name: dict(getattr(p, f"{kind}_reasons")) for p in report.plans}
            # each reason is every row's: the NULL one's, and each blank one's
            assert all(n == len(BLANKS) for n in reasons[name].values()), (name, reasons)


@pytest.mark.parametrize("column", ["lead_id", "madid", "anon_id", "subscription_id"])
def test_blank_identifiers_alone_are_no_customer_information(
    column: str, server: SandboxServer, tmp_path: Path
) -> None:
    # no e-mail, no user agent: the column under test is the row's only identifier
    base = {"event": "'Lead'", "event_time": str(NOW)}
    rows = {**BLANKS, "b-filled": "123456"}
    _, meta, report = _sync(
        server, tmp_path, _model(column, rows, base), tiktok_source=None, meta="system_generated"
    )
    assert set(meta) == {"b-filled"}
    assert meta["b-filled"]["user_data"] == {column: "123456"}
    (plan,) = report.plans
    (reason,) = dict(plan.invalid_reasons)
    assert reason.startswith("no customer information")
    assert dict(plan.invalid_reasons)[reason] == len(BLANKS)


def test_blank_items_of_an_enum_content_ids_are_left_out(
    server: SandboxServer, tmp_path: Path
) -> None:
    model = (
        "SELECT 'Purchase' AS event, " + str(NOW) + " AS event_time, 'a@example.com' AS email, "
        "'https://shop.example/done' AS page_url, 'Mozilla/5.0' AS user_agent, 'USD' AS currency,"
        " 1 AS value, 'e-' || i AS event_id, "
        "[['a', '', '  ', '\t'], ['\t', '\n']][i + 1]::ENUM('a', '', '  ', '\t', '\n')[] "
        "AS content_ids FROM range(2) t(i)"
    )
    tiktok, meta, _ = _sync(server, tmp_path, model)
    for events, props in ((tiktok, "properties"), (meta, "custom_data")):
        assert events["e-0"][props]["content_ids"] == ["a"]
        assert "content_ids" not in events["e-1"][props]


def test_a_blank_enum_content_id_is_left_out(server: SandboxServer, tmp_path: Path) -> None:
    model = (
        "SELECT 'Purchase' AS event, " + str(NOW) + " AS event_time, 'a@example.com' AS email, "
        "'https://shop.example/done' AS page_url, 'Mozilla/5.0' AS user_agent, 'USD' AS currency,"
        " 1 AS value, 'e-' || i AS event_id, "
        "['a', '\t'][i + 1]::ENUM('a', '\t') AS content_ids FROM range(2) t(i)"
    )
    tiktok, meta, _ = _sync(server, tmp_path, model)
    for events, props in ((tiktok, "properties"), (meta, "custom_data")):
        assert events["e-0"][props]["content_ids"] == ["a"]
        assert "content_ids" not in events["e-1"][props]


@pytest.mark.parametrize("blank", ["", "  ", "\t", "\n\u00a0"])
def test_a_contents_item_with_a_blank_id(blank: str, server: SandboxServer, tmp_path: Path) -> None:
    """TikTok: the blank content_id is left out of the item, as a NULL one. Meta: the item
    has no id, and the row is invalid (it was sent with ``"id": "\\t"``)."""
    model = (
        f"SELECT 'Purchase' AS event, {NOW} AS event_time, 'a@example.com' AS email, "
        "'https://shop.example/done' AS page_url, 'Mozilla/5.0' AS user_agent, "
        "'USD' AS currency, 1 AS value, 'e-1' AS event_id, "
        f"[{{'content_id': {_sql(blank)}, 'price': 2.5}}] AS contents"
    )
    tiktok, meta, report = _sync(server, tmp_path, model)
    assert tiktok["e-1"]["properties"]["contents"] == [{"price": 2.5}]
    assert meta == {}
    reasons = {p.name: dict(p.invalid_reasons) for p in report.plans}
    assert reasons["meta"] == {"a contents item has no id (content_id): Meta rejects it": 1}


@pytest.mark.parametrize("blank", ["\t", " \n ", "\r"])
def test_a_json_contents_id_of_whitespace_is_none(
    blank: str, server: SandboxServer, tmp_path: Path
) -> None:
    b = _sql(blank)
    model = (
        f"SELECT 'Purchase' AS event, {NOW} AS event_time, 'a@example.com' AS email, "
        "'https://shop.example/done' AS page_url, 'Mozilla/5.0' AS user_agent, "
        "'USD' AS currency, 1 AS value, 'e-1' AS event_id, "
        f"json_array(json_object('content_id', {b}, 'price', 2.5)) AS contents"
    )
    tiktok, meta, report = _sync(server, tmp_path, model)
    assert tiktok["e-1"]["properties"]["contents"] == [{"price": 2.5}]
    assert meta == {}
    reasons = {p.name: dict(p.invalid_reasons) for p in report.plans}
    assert reasons["meta"] == {"a contents item has no id (content_id): Meta rejects it": 1}


def test_a_blank_event_id_beside_a_key_is_sent_as_none(
    server: SandboxServer, tmp_path: Path
) -> None:
    """The row warns that it goes without an event id (as a NULL one): it was sent with
    ``"event_id": "  "``, which the platforms would deduplicate on."""
    # not '\t\n': an event id with a line break is an invalid row (control_character_checks)
    blanks = [None, "", "  ", "\u00a0"]
    rows = ", ".join(f"({i}, {_sql(v)})" for i, v in enumerate(blanks))
    base = ", ".join(f'{v} AS "{k}"' for k, v in BASE.items())
    model = (
        "{{ config(primary_key='order_id') }} "
        f"SELECT {base}, 'o-' || v.i AS order_id, v.x AS event_id "
        f"FROM (VALUES {rows}) AS v(i, x)"
    )
    _sync(server, tmp_path, model)
    for events in (server.events(), server.meta.events()):
        sent = {e["data"].get("properties", e["data"].get("custom_data"))["order_id"]: e["data"]
                for e in events}  # fmt: skip
        assert set(sent) == {f"o-{i}" for i in range(len(blanks))}
        assert not [e for e in sent.values() if "event_id" in e]


def test_a_blank_att_status_beside_an_idfa_warns_as_a_null_one(
    server: SandboxServer, tmp_path: Path
) -> None:
    """A blank att_status is left out as a NULL one is: the row goes without one, and says
    so (the warning read ``IS NULL``: a blank one was left out without a word)."""
    base = {
        "event": "'Purchase'",
        "event_time": str(NOW),
        "email": "'a@example.com'",
        "app_id": "'1234567890'",
        "idfa": "'6D92078A-8246-4BA4-AE5B-76104861E7DC'",
    }
    model = _model("att_status", BLANKS, base)
    tiktok, _, report = _sync(server, tmp_path, model, tiktok_source="APP", meta=None)
    assert set(tiktok) == set(BLANKS)
    assert [e for e in tiktok.values() if "att_status" in e["user"]] == []
    (plan,) = report.plans
    assert dict(plan.warning_reasons) == {
        "idfa without att_status (TikTok cannot tell whether tracking was allowed)": len(BLANKS)
    }


def test_a_blank_literal_of_a_fixed_vocabulary_passes_validate(
    server: SandboxServer, tmp_path: Path
) -> None:
    """validate reads a model's literals: a blank one of currency, content_type,
    delivery_category or action_source was "not accepted" (an error), and the whole sync
    stopped there, though the sync sends it as a NULL one: left out."""
    model = (
        "SELECT CASE WHEN i = 0 THEN 'Purchase' ELSE 'AddToCart' END AS event, "
        f"{NOW} AS event_time, 'a@example.com' AS email, "
        "'https://shop.example/done' AS page_url, 'Mozilla/5.0' AS user_agent, 1 AS value, "
        "'e-' || i AS event_id, "
        "CASE WHEN i = 0 THEN 'USD' WHEN i = 1 THEN '' ELSE '  ' END AS currency, "
        "CASE WHEN i = 0 THEN 'product' ELSE '\t' END AS content_type, "
        "CASE WHEN i = 0 THEN 'curbside' ELSE ' ' END AS delivery_category, "
        "CASE WHEN i = 0 THEN 'website' ELSE '' END AS action_source "
        "FROM range(3) AS t(i)"
    )
    tiktok, meta, report = _sync(server, tmp_path, model)
    for events, props in ((tiktok, "properties"), (meta, "custom_data")):
        assert set(events) == {"e-0", "e-1", "e-2"}
        assert events["e-0"][props]["currency"] == "USD"
        assert events["e-0"][props]["content_type"] == "product"
        for key in ("e-1", "e-2"):
            sent = events[key].get(props, {})
            assert not {"currency", "content_type", "delivery_category"} & set(sent), sent
    assert {e["action_source"] for e in meta.values()} == {"website"}
    assert {p.name: dict(p.invalid_reasons) for p in report.plans} == {"tiktok": {}, "meta": {}}


def test_a_blank_enum_key_is_no_key(server: SandboxServer, tmp_path: Path) -> None:
    """An ENUM event_id that is the key and blank is no key, as a VARCHAR one is (the key
    check read text types only): it was sent without an event id (left out as blank), with
    neither an error nor a warning."""
    model = (
        "SELECT 'Purchase' AS event, " + str(NOW) + " AS event_time, 'a@example.com' AS email, "
        "'https://shop.example/done' AS page_url, 'Mozilla/5.0' AS user_agent, 'USD' AS currency,"
        " 1 AS value, ['e-1', '  ', ''][i + 1]::ENUM('e-1', '  ', '') AS event_id "
        "FROM range(3) t(i)"
    )
    tiktok, meta, report = _sync(server, tmp_path, model)
    assert set(tiktok) == set(meta) == {"e-1"}
    reasons = {p.name: dict(p.invalid_reasons) for p in report.plans}
    assert reasons == {n: {"primary key is blank, NaN or infinite": 2} for n in ("tiktok", "meta")}


@pytest.mark.parametrize("kind", ["varchar", "enum", "json"])
def test_a_blank_custom_property_is_left_out_as_a_null_one(
    kind: str, server: SandboxServer, tmp_path: Path
) -> None:
    """A custom property (TikTok's ``properties.<name>``, Meta's ``custom_data.<name>``) of
    blank text is left out as a NULL one is, as a standard text parameter's (it was sent as
    ``""``, ``"  "``, ``"\\t\\n"``); so is a JSON column's string of whitespace. Text with
    something in it is sent as the model has it, spaces and all. No warning, as for a
    standard parameter."""
    rows = {**BLANKS, "b-kept": " x "}
    values = ", ".join(f"({_sql(k)}, {_sql(v)})" for k, v in rows.items())
    labels = ", ".join(_sql(v) for v in rows.values() if v is not None)
    x = {"varchar": "v.x", "enum": f"v.x::ENUM({labels})", "json": "to_json(v.x)"}[kind]
    base = ", ".join(f'{v} AS "{k}"' for k, v in BASE.items())
    model = (
        f'SELECT {base}, v.event_id, {x} AS "properties.note", {x} AS "custom_data.note" '
        f"FROM (VALUES {values}) AS v(event_id, x)"
    )
    tiktok, meta, report = _sync(server, tmp_path, model)
    for events, props in ((tiktok, "properties"), (meta, "custom_data")):
        assert set(events) == set(rows)
        assert events["b-kept"][props]["note"] == " x "
        null = _without_event_id(events["b-null"])
        assert "note" not in null[props]
        for key in BLANKS:
            assert _without_event_id(events[key]) == null, (props, key, events[key])
    for kind in ("invalid", "warning"):
        reasons = {p.name: dict(getattr(p, f"{kind}_reasons")) for p in report.plans}
        assert reasons == {"tiktok": {}, "meta": {}}, reasons

"""The encoder, the client and the sandbox's Meta emulator agree: what retl sends, the emulator
(which checks hashes, the time window and the action_source rules) accepts."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from pydantic import SecretStr

from reverse_etl.delivery.batching import build_body
from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.destinations.base import Target
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.sandbox import SandboxServer

from .helpers import PIXEL, destination

POLICY = RetryPolicy(base_delay=0.0, max_delay=0.0, request_deadline=10.0)
ROWS = """
SELECT 'e-' || i AS event_id, ev AS event, now() - INTERVAL 1 HOUR AS event_time,
       'https://shop.example/p/' || i AS page_url, 'Mozilla/5.0' AS user_agent,
       '203.0.113.' || i AS ip, ' Buyer' || i || '@Example.com ' AS email,
       '(213) 373-425' || i AS phone, 'Jean-Luc' AS first_name, 'California' AS state,
       '94025-1234' AS zip_code, 'US' AS country, 'Female' AS gender,
       DATE '1990-02-03' AS date_of_birth, 10.0 * i AS value, 'usd' AS currency,
       [{'content_id': 'sku-' || i, 'price': 10.0, 'quantity': i}] AS contents
FROM (VALUES (1, 'Purchase'), (2, 'AddToCart'), (3, 'loyalty_signup')) AS v(i, ev)
"""


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


def payloads(engine: DuckDBEngine, **settings: object) -> list[bytes]:
    dest = destination(**settings)
    plan, problems = dest.encode_plan(engine.schema(ROWS), f"({ROWS}) AS t", None)
    assert plan is not None, problems
    plan = dest.prepare(engine, plan)
    rows = engine.rows(f"SELECT __payload, __errors FROM ({plan.sql}) ORDER BY __key")
    assert [e for _, e in rows] == [None, None, None]
    return [p.encode() for p, _ in rows]


@pytest.mark.parametrize("ldu", [False, True])
def test_the_emulator_accepts_what_retl_encodes(
    engine: DuckDBEngine, sandbox: SandboxServer, ldu: bool
) -> None:
    settings = {"default_phone_region": "US", "limited_data_use": ldu, "test_event_code": "T1"}
    events = payloads(engine, **settings)
    dest = destination(**settings)
    with dest.open(dest.target(sandbox), POLICY) as session:
        outcome = session.send(build_body(session.envelope, events))
    assert (outcome.kind, outcome.message) == ("ok", "3 events received"), outcome
    kept = sandbox.meta.events()
    assert [r["data"] for r in kept] == [orjson.loads(e) for e in events]
    assert {(r["pixel_id"], r["test_event_code"]) for r in kept} == {(PIXEL, "T1")}


def test_check_and_an_unknown_pixel(engine: DuckDBEngine, sandbox: SandboxServer) -> None:
    dest = destination()
    assert dest.check(sandbox, POLICY).ok
    stranger = destination(pixel_id="999000999")  # never added to the emulator
    target = Target(sandbox.base_url, SecretStr(dest.target(sandbox).token.get_secret_value()))
    with stranger.open(target, POLICY) as session:
        outcome = session.send(
            build_body(session.envelope, payloads(engine, default_phone_region="US")[:1])
        )
    assert (outcome.kind, outcome.field) == ("config", "pixel_id")


def test_a_business_use_case_rate_limit_is_retried(
    engine: DuckDBEngine, sandbox: SandboxServer
) -> None:
    # The emulator answers 80004 as Meta does, with is_transient false: still a rate limit.
    dest = destination(default_phone_region="US")
    sandbox.meta.faults.script(("throttle", 80004))
    with dest.open(dest.target(sandbox), POLICY) as session:
        body = build_body(session.envelope, payloads(engine, default_phone_region="US"))
        throttled = session.send(body)
        assert (throttled.kind, throttled.code, throttled.throttled) == ("transient", 80004, True)
        assert session.send(body).kind == "ok"


def test_a_poisoned_event_is_invalid(engine: DuckDBEngine, sandbox: SandboxServer) -> None:
    dest = destination(default_phone_region="US")
    sandbox.meta.faults.poison("e-2")
    with dest.open(dest.target(sandbox), POLICY) as session:
        outcome = session.send(
            build_body(session.envelope, payloads(engine, default_phone_region="US"))
        )
    assert outcome.kind == "invalid" and outcome.code == 100
    assert outcome.message.startswith("data[1]: ")  # Meta's error_user_msg, naming the event
    assert outcome.request_id  # the fbtrace_id


# Each row's contents: a list of structs, and the same as JSON.
CATEGORIES = {
    "e-1": "[{'content_id': 'a', 'delivery_category': 'curbside'}]",
    "e-2": "[{'content_id': 'a', 'delivery_category': 'drone'}]",
    "e-3": "[{'content_id': 'a', 'delivery_category': NULL}]",
    "e-4": "[{'content_id': 'a', 'delivery_category': 'in_store'}, "
    "{'content_id': 'b', 'delivery_category': 'Curbside'}]",
}
CATEGORIES_JSON = {
    "e-1": '[{"id": "a", "delivery_category": "curbside"}]',
    "e-2": '[{"id": "a", "delivery_category": "drone"}]',
    "e-3": '[{"id": "a", "delivery_category": null}, {"id": "b"}]',
    "e-4": '[{"id": "a", "delivery_category": "in_store"}, {"id": "b", "delivery_category": 3}]',
}


@pytest.mark.parametrize("items", [CATEGORIES, CATEGORIES_JSON], ids=["structs", "json"])
def test_a_contents_delivery_category_meta_refuses_is_an_invalid_row(
    engine: DuckDBEngine, sandbox: SandboxServer, items: dict[str, str]
) -> None:
    """A contents item's delivery_category outside in_store, curbside and home_delivery
    (reference §4; the top-level one was checked already): Meta refuses the whole request for
    it, which the send found only by splitting batches once sending had begun. The row is
    invalid with its reason; the emulator takes the others, and refuses the ones."""
    cast = "::JSON" if items is CATEGORIES_JSON else ""
    contents = " ".join(f"WHEN '{k}' THEN '{v}'{cast}" for k, v in items.items())
    if not cast:
        contents = " ".join(f"WHEN '{k}' THEN {v}" for k, v in items.items())
    rows_sql = f"""
    SELECT *, CASE event_id {contents} END AS contents FROM (
      SELECT 'e-' || i AS event_id, 'AddToCart' AS event, now() - INTERVAL 1 HOUR AS event_time,
             'https://shop.example/p' AS page_url, 'Mozilla/5.0' AS user_agent, 'a@b.io' AS email
      FROM range(1, 5) AS r(i))
    """
    dest = destination()
    plan, problems = dest.encode_plan(engine.schema(rows_sql), f"({rows_sql}) AS t", None)
    assert plan is not None, problems
    rows = engine.rows(f"SELECT __key, __payload, __errors FROM ({plan.sql}) ORDER BY __key")
    reason = (
        "a contents item's delivery_category is not in_store, curbside or home_delivery: "
        "Meta rejects it"
    )
    assert [(k, e) for k, _, e in rows] == [
        ("e-1", None),
        ("e-2", reason),
        ("e-3", None),
        ("e-4", reason),
    ]
    with dest.open(dest.target(sandbox), POLICY) as session:
        good = [p.encode() for _, p, e in rows if e is None]
        assert session.send(build_body(session.envelope, good)).kind == "ok"
        for _, p, e in rows:
            if e is not None:
                refused = session.send(build_body(session.envelope, [p.encode()]))
                assert (refused.kind, refused.code) == ("invalid", 100)
                assert "delivery_category" in refused.message


@pytest.mark.parametrize("flag", ["advertiser_tracking_enabled", "application_tracking_enabled"])
def test_an_app_row_whose_tracking_flag_is_blank_text_is_invalid(
    engine: DuckDBEngine, sandbox: SandboxServer, flag: str
) -> None:
    """A tracking flag written as blank text (a CSV's empty cell, '  ') is left out, as a NULL
    one is (docs/meta.md: missing when required): the app row was sent without it, and Meta
    refuses the whole request for an app event without one."""
    extinfo = (
        "['a2', 'com.example', '1.0', '1.0', '14', '', '', '', '', '', '', '', '', '', '', '']"
    )
    flags = {"advertiser_tracking_enabled": "'true'", "application_tracking_enabled": "'false'"}
    rows_sql = (
        "SELECT 'e-' || i AS event_id, 'Purchase' AS event, now() - INTERVAL 1 HOUR AS "
        "event_time, 'a@b.io' AS email, 10.0 AS value, 'USD' AS currency, "
        f"{extinfo} AS extinfo, "
        + ", ".join(
            f"CASE WHEN i = 2 THEN '  ' ELSE {v} END AS {k}" if k == flag else f"{v} AS {k}"
            for k, v in flags.items()
        )
        + " FROM range(1, 3) AS r(i)"
    )
    dest = destination(action_source="app")
    plan, problems = dest.encode_plan(engine.schema(rows_sql), f"({rows_sql}) AS t", None)
    assert plan is not None, problems
    rows = engine.rows(f"SELECT __key, __payload, __errors FROM ({plan.sql}) ORDER BY __key")
    assert [(k, e) for k, _, e in rows] == [
        ("e-1", None),
        ("e-2", f"{flag} is missing: Meta needs app_data.{flag} on app events"),
    ]
    with dest.open(dest.target(sandbox), POLICY) as session:
        sent = session.send(build_body(session.envelope, [rows[0][1].encode()]))
        assert sent.kind == "ok", sent
        refused = session.send(build_body(session.envelope, [rows[1][1].encode()]))
        assert (refused.kind, refused.code) == ("invalid", 100)
        assert flag in refused.message

"""The SQL encoder: payload shape per source, NULL handling, types, hashing, row checks."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from reverse_etl.destinations.shared import e164
from reverse_etl.destinations.shared import phones as plan_module
from reverse_etl.destinations.shared.phones import build_phone_table
from reverse_etl.destinations.shared.rows import key_columns_for
from reverse_etl.destinations.tiktok.encode import (
    EncodeSpec,
    build_encode_sql,
    distinct_phones_sql,
    phone_map_sql,
)
from reverse_etl.destinations.tiktok.mapping import key_only_columns, map_columns
from reverse_etl.engine.duckdb import DuckDBEngine

from .test_pii import EMAIL_VECTOR, EXTERNAL_VECTOR, PHONE_VECTOR


def encode(
    engine: DuckDBEngine,
    select: str,
    source: str = "WEB",
    *,
    region: str | None = None,
    ldu: bool = False,
    model_pk: tuple[str, ...] | None = None,
    phone_map: str | None = None,
    drop_from_map: str | None = None,
    parallel: bool = False,
) -> list[dict[str, object]]:
    schema = engine.schema(select)
    keys = key_columns_for(schema.names, None, model_pk)
    assert keys is not None
    mapping = map_columns(schema.names, source, ignore=key_only_columns(keys[0]))
    assert not [i for i in mapping.issues if i.severity == "error"], mapping.issues
    spec = EncodeSpec(
        "m", source, keys[0], keys[1], limited_data_use=ldu, default_phone_region=region
    )
    relation = f"({select}) AS t"
    if phone_map is not None:
        if parallel:  # the plan's way: distinct phones parsed in Python, across processes
            distinct = distinct_phones_sql(relation, schema, mapping)
            assert distinct is not None
            build_phone_table(engine, distinct, region, phone_map)
        else:  # the distinct phones through the UDF, in SQL
            create = phone_map_sql(relation, schema, mapping, spec, phone_map)
            assert create is not None
            engine.execute(create)
        if drop_from_map is not None:  # as if the model returned other rows the second time
            engine.execute(f"DELETE FROM {phone_map} WHERE raw = ?", [drop_from_map])
        spec = replace(spec, phone_table=phone_map)
    sql = build_encode_sql(relation, schema, mapping, spec)
    rows = engine.rows(
        f"SELECT __key, __payload, __hash, __errors, __warnings, __event_id FROM ({sql}) "
        "ORDER BY __key"
    )
    out = []
    for k, p, h, e, w, event_id in rows:
        payload = orjson.loads(p)
        # __event_id (the delivery log's) is always the event id the payload carries
        assert event_id == payload.get("event_id"), (event_id, payload)
        out.append({"key": k, "payload": payload, "hash": h, "errors": e, "warnings": w})
    return out


NOW = int(time.time()) - 3600


def test_web_event_nests_hashes_and_leaves_out_nulls(engine: DuckDBEngine) -> None:
    (row,) = encode(
        engine,
        f"""select 'Purchase' as event, 'o-1' as event_id, to_timestamp({NOW}) as event_time,
           ' ALICE_abc@gmail.com ' as email, '(+1)2133734253' as phone,
           'user_123' as external_id, '1.2.3.4' as ip, null::varchar as ttclid,
           42.5::decimal(10,2) as value, 'USD' as currency, 1001 as order_id,
           'https://x.example/p' as url, null::varchar as referrer,
           'gold' as "properties.tier" """,
    )
    assert row["errors"] is None
    assert row["payload"] == {
        "event": "Purchase",
        "event_id": "o-1",
        "event_time": NOW,
        "user": {
            "email": EMAIL_VECTOR,
            "phone": PHONE_VECTOR,
            "external_id": EXTERNAL_VECTOR,
            "ip": "1.2.3.4",
        },
        "properties": {"value": 42.5, "currency": "USD", "order_id": "1001", "tier": "gold"},
        "page": {"url": "https://x.example/p"},
    }


@pytest.mark.parametrize("pad", [" ", "\t", "\n", "\u00a0"])
def test_ip_and_cookie_values_are_sent_trimmed_user_agent_as_it_is(
    engine: DuckDBEngine, pad: str
) -> None:
    """An address or a cookie value padded by its carrier (a CSV, a CHAR(n) column) is sent
    without the padding, which is never part of it (it was sent as it was, and matched no
    one); user_agent is free text, sent as it is; a value of only whitespace is left out."""
    (row,) = encode(
        engine,
        f"""select 'Purchase' as event, 'o-1' as event_id, to_timestamp({NOW}) as event_time,
           '{pad}1.2.3.4{pad}' as ip, '{pad}E.C.P.x{pad}' as ttclid,
           '{pad}ttp-1{pad}' as ttp, ' Mozilla/5.0 ' as user_agent""",
    )
    assert row["errors"] is None
    assert row["payload"]["user"] == {
        "ip": "1.2.3.4",
        "ttclid": "E.C.P.x",
        "ttp": "ttp-1",
        "user_agent": " Mozilla/5.0 ",
    }
    (blank,) = encode(
        engine,
        f"""select 'Purchase' as event, 'o-1' as event_id, to_timestamp({NOW}) as event_time,
           '{pad}' as ttp, '1.2.3.4' as ip""",
    )
    assert blank["payload"]["user"] == {"ip": "1.2.3.4"}


def test_empty_objects_are_left_out_and_limited_data_use_added(engine: DuckDBEngine) -> None:
    (row,) = encode(
        engine,
        f"select 'ViewContent' as event, 'e' as event_id, {NOW} as event_time, "
        "null::varchar as email",
        ldu=True,
    )
    assert row["payload"] == {
        "event": "ViewContent",
        "event_id": "e",
        "event_time": NOW,
        "limited_data_use": True,
    }


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("timestamp '2026-01-01 00:00:00'", 1767225600),
        ("timestamptz '2026-01-01 00:00:00+01'", 1767222000),
        ("date '2026-01-01'", 1767225600),
        ("1767225600", 1767225600),
        ("1767225600::double", 1767225600),
        # fractions of a second are dropped, never rounded up (epoch()'s DOUBLE, cast, was)
        ("timestamp '2026-01-01 00:00:00.6'", 1767225600),
        ("timestamp_ms '2026-01-01 00:00:00.999'", 1767225600),
        ("timestamp_ns '2026-01-01 00:00:00.9999999'", 1767225600),
        ("timestamptz '2026-01-01 00:00:00.7+01'", 1767222000),
        ("1767225600.6::double", 1767225600),
        ("1767225600.6::decimal(12, 1)", 1767225600),
    ],
)
def test_event_time_is_utc_seconds_whatever_the_machine_zone(
    engine: DuckDBEngine, expr: str, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        (row,) = encode(engine, f"select 'Lead' as event, 'k' as event_id, {expr} as event_time")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert row["payload"]["event_time"] == expected
    assert os.environ.get("TZ") is None


def test_derived_event_id_is_stable_and_key_based(engine: DuckDBEngine) -> None:
    sql = f"select 'Lead' as event, {NOW} as event_time, 7 as lead_no"
    first = encode(engine, sql, model_pk=("lead_no",))
    second = encode(engine, sql.replace(str(NOW), str(NOW - 60)), model_pk=("lead_no",))
    a, b = first[0]["payload"], second[0]["payload"]
    assert isinstance(a, dict) and isinstance(b, dict)
    assert a["event_id"] == b["event_id"]
    assert str(a["event_id"]).startswith("retl-") and len(str(a["event_id"])) == 37
    assert first[0]["key"] == "7"


def test_lists_contents_and_id_lists(engine: DuckDBEngine) -> None:
    (row,) = encode(
        engine,
        f"""select 'AddToCart' as event, 'k' as event_id, {NOW} as event_time,
           ['A@x.com', null, ' '] as email,
           [{{'content_id': 11, 'price': 2.5, 'quantity': 3, 'brand': null}}] as contents,
           [1, 2] as content_ids""",
    )
    payload = row["payload"]
    assert isinstance(payload, dict)
    assert payload["user"] == {"email": [hashlib.sha256(b"a@x.com").hexdigest()]}
    assert payload["properties"] == {
        "contents": [{"content_id": "11", "price": 2.5, "quantity": 3}],
        "content_ids": ["1", "2"],
    }


def test_a_fixed_size_array_is_sent_as_the_list_it_holds(engine: DuckDBEngine) -> None:
    """VARCHAR[2], INTEGER[2] (Arrow's fixed_size_list) passed validate, then an e-mail
    failed the encode (trim(VARCHAR[2])) and content_ids went out as ["[s1, s2]"]."""
    columns = {
        "email": "['A@x.com', ' b@y.org']",
        "phone": "['+1 213 373 4253', NULL]",
        "external_id": "[' u1', 'u2']",
        "content_ids": "[1, 2]",
        "contents": "[{'content_id': 's1', 'price': 2.5}]",
        '"properties.s"': "[1.5, CAST('inf' AS DOUBLE)]",
    }
    fixed = {"email": "VARCHAR[2]", "phone": "VARCHAR[2]", "external_id": "VARCHAR[2]"}
    fixed |= {"content_ids": "INTEGER[2]", '"properties.s"': "DOUBLE[2]"}
    fixed |= {"contents": "STRUCT(content_id VARCHAR, price DOUBLE)[1]"}
    head = f"SELECT 'Purchase' AS event, 'e' AS event_id, {NOW} AS event_time, "
    as_lists = head + ", ".join(f"{v} AS {k}" for k, v in columns.items())
    as_arrays = head + ", ".join(f"CAST({v} AS {fixed[k]}) AS {k}" for k, v in columns.items())
    (listed,) = encode(engine, as_lists, region="US")
    (arrayed,) = encode(engine, as_arrays, region="US")
    assert arrayed == listed
    assert arrayed["payload"]["user"]["email"] == [
        hashlib.sha256(b"a@x.com").hexdigest(),
        hashlib.sha256(b"b@y.org").hexdigest(),
    ]
    assert arrayed["payload"]["properties"]["content_ids"] == ["1", "2"]
    assert arrayed["payload"]["properties"]["s"] == [1.5]


_ITEM = "STRUCT(content_id INTEGER, price DOUBLE, quantity INTEGER)"


@pytest.mark.parametrize(
    ("contents", "ids", "expected"),
    [
        (f"[]::{_ITEM}[]", "[]::INTEGER[]", None),
        (f"[null, null]::{_ITEM}[]", "[null]::INTEGER[]", None),
        (f"null::{_ITEM}[]", "null::INTEGER[]", None),
        (
            f"[null, {{'content_id': 5, 'price': 1.0, 'quantity': 1}}, null]::{_ITEM}[]",
            "[null, 3, null]",
            {"contents": [{"content_id": "5", "price": 1.0, "quantity": 1}], "content_ids": ["3"]},
        ),
    ],
)
def test_empty_and_null_lists_are_left_out(
    engine: DuckDBEngine, contents: str, ids: str, expected: dict[str, object] | None
) -> None:
    """An empty list, a list of NULLs and a NULL list send no key; NULL elements are
    skipped (json_objects, one pass over each list)."""
    (row,) = encode(
        engine,
        f"""select 'AddToCart' as event, 'k' as event_id, {NOW} as event_time,
           'a@x.com' as email, {contents} as contents, {ids} as content_ids""",
    )
    payload = row["payload"]
    assert isinstance(payload, dict)
    assert payload.get("properties") == expected


@pytest.mark.parametrize(
    ("event_id", "expected"),
    [
        ("'say \"hi\" \\ bye'", 'say "hi" \\ bye'),
        ("'caf\u00e9-1'", "caf\u00e9-1"),
        ("1234567890123", "1234567890123"),
        ("12.50::DECIMAL(6,2)", "12.50"),
    ],
)
def test_the_event_id_column_is_the_payloads_event_id(
    engine: DuckDBEngine, event_id: str, expected: str
) -> None:
    """``__event_id`` (what the delivery log keeps) is the event id sent, unescaped: the
    helper compares it with the payload's for every row of every test."""
    (row,) = encode(engine, f"select 'Lead' as event, {event_id} as event_id, {NOW} as event_time")
    assert row["payload"]["event_id"] == expected  # type: ignore[index]


def test_app_and_crm_payloads(engine: DuckDBEngine) -> None:
    (app,) = encode(
        engine,
        f"""select 'InstallApp' as event, 'i' as event_id, {NOW} as event_time,
           343200656 as app_id, 'Demo' as app_name, 'AUTHORIZED' as att_status,
           'cb' as callback""",
        "APP",
    )
    assert app["payload"]["app"] == {"app_id": "343200656", "app_name": "Demo"}
    assert app["payload"]["ad"] == {"callback": "cb"}
    assert app["payload"]["user"] == {"att_status": "AUTHORIZED"}
    (crm,) = encode(
        engine,
        f"""select 'Qualified' as event, 'c' as event_id, {NOW} as event_time,
           7123 as lead_id, 'Salesforce' as lead_event_source""",
        "CRM",
    )
    assert crm["payload"]["lead"] == {"lead_id": "7123", "lead_event_source": "Salesforce"}


@pytest.mark.parametrize(
    ("source", "select", "reason"),
    [
        (
            "WEB",
            "select null::varchar as event, 'k' as event_id, {now} as event_time",
            "event is missing",
        ),
        (
            "WEB",
            "select 'Lead' as event, 'k' as event_id, null::bigint as event_time",
            "event_time is missing or not a time",
        ),
        (
            "WEB",
            "select 'Lead' as event, 'k' as event_id, {future} as event_time",
            "event_time is in the future",
        ),
        (
            "WEB",
            "select 'Lead' as event, 'k' as event_id, {now}000 as event_time",
            "event_time looks like milliseconds",
        ),
        (
            "OFFLINE",
            "select 'Qualified' as event, 'k' as event_id, {now} as event_time",
            "is not a standard event",
        ),
        (
            "OFFLINE",
            "select ' Lead ' as event, 'k' as event_id, {now} as event_time",
            "event ' Lead ' is not a standard event (OFFLINE takes standard events only): the "
            "spaces around it keep it out: write trim(event) in the model",
        ),
        (
            "WEB",
            "select 'Lead' as event, 'k' as event_id, {now} as event_time, 'XXX' as currency",
            "currency 'XXX' is not accepted",
        ),
        (
            "WEB",
            "select 'Lead' as event, 'k' as event_id, {now} as event_time, '555' as phone",
            "phone is not a valid phone number",
        ),
        (
            "WEB",
            "select 'Lead' as event, 'k' as event_id, {now} as event_time, 'abc' as value",
            "value is not a number",
        ),
        (
            "APP",
            "select 'Login' as event, 'k' as event_id, {now} as event_time, "
            "null::varchar as app_id",
            "app_id is required",
        ),
        (
            "WEB",
            "select 'Lead' as event, null::varchar as event_id, {now} as event_time",
            "primary key is null",
        ),
    ],
)
def test_invalid_rows_say_why(engine: DuckDBEngine, source: str, select: str, reason: str) -> None:
    (row,) = encode(engine, select.format(now=NOW, future=NOW + 86400), source)
    assert row["errors"] is not None and reason in str(row["errors"])


def test_a_code_in_the_wrong_case_says_how_to_write_it(engine: DuckDBEngine) -> None:
    """'usd' (or 'cad', which is in TikTok's list as CAD) read only "not accepted by TikTok",
    as a currency TikTok does not know would: the reason names the fix, the column's
    case; a code in no case of the list keeps the plain reason."""
    select = (
        "select 'Purchase' as event, 'k' || i as event_id, {now} as event_time, "
        "['usd', 'XXX'][i] as currency, ['product', 'Product'][i] as content_type "
        "from range(1, 3) t(i)"
    )
    upper, unknown = encode(engine, select.format(now=NOW))
    assert upper["errors"] == (
        "currency 'usd' is not accepted by TikTok "
        "(TikTok takes it upper-case: write upper(currency) in the model)"
    )
    assert unknown["errors"] == (
        "currency 'XXX' is not accepted by TikTok; content_type 'Product' is not accepted by "
        "TikTok (TikTok takes it lower-case: write lower(content_type) in the model)"
    )


def test_a_code_with_spaces_around_it_says_to_trim_it(engine: DuckDBEngine) -> None:
    """' USD ' read only "currency ' USD ' is not accepted by TikTok", as if USD were not in
    its list: the reason says to trim it (and to change its case when that is needed too). A
    tab is not what trim() removes: no hint that would not fix it."""
    select = (
        "select 'Purchase' as event, 'k' || i as event_id, {now} as event_time, "
        "[' USD ', ' usd', 'USD', E'USD\\t'][i] as currency, "
        "['product', ' Product ', ' product', 'product'][i] as content_type "
        "from range(1, 5) t(i)"
    )
    spaced, both, content, tab = encode(engine, select.format(now=NOW))
    assert spaced["errors"] == (
        "currency ' USD ' is not accepted by TikTok "
        "(TikTok takes it without the spaces around it: write trim(currency) in the model)"
    )
    assert both["errors"] == (
        "currency ' usd' is not accepted by TikTok (TikTok takes it upper-case, without the "
        "spaces around it: write trim(upper(currency)) in the model); content_type ' Product ' "
        "is not accepted by TikTok (TikTok takes it lower-case, without the spaces around it: "
        "write trim(lower(content_type)) in the model)"
    )
    assert content["errors"] == (
        "content_type ' product' is not accepted by TikTok "
        "(TikTok takes it without the spaces around it: write trim(content_type) in the model)"
    )
    assert tab["errors"] == "currency 'USD\t' is not accepted by TikTok"


def test_milliseconds_are_said_once(engine: DuckDBEngine) -> None:
    """Milliseconds are in the future too: the row said both, the first of them noise."""
    select = f"select 'Lead' as event, 'k' as event_id, {NOW}000 as event_time"
    (row,) = encode(engine, select)
    assert row["errors"] == "event_time looks like milliseconds: send Unix seconds"


def test_old_events_warn_but_stay_valid(engine: DuckDBEngine) -> None:
    (row,) = encode(engine, "select 'Lead' as event, 'k' as event_id, 1000000000 as event_time")
    assert row["errors"] is None
    assert "more than 7 days old" in str(row["warnings"])


def test_hash_changes_with_the_payload(engine: DuckDBEngine) -> None:
    a = encode(engine, f"select 'Lead' as event, 'k' as event_id, {NOW} as event_time")
    b = encode(engine, f"select 'Lead' as event, 'k' as event_id, {NOW + 1} as event_time")
    assert a[0]["hash"] != b[0]["hash"]


def test_struct_columns_named_after_objects_map_field_by_field(engine: DuckDBEngine) -> None:
    from reverse_etl.config.destinations import DestinationConfig
    from reverse_etl.destinations.tiktok.config import TikTokConfig
    from reverse_etl.destinations.tiktok.destination import TikTokDestination

    select = (
        f"select 'Lead' as event, 'k' as event_id, {NOW} as event_time, "
        "{'email': 'a@x.com', 'ip': '1.2.3.4'} as \"user\", "
        "{'value': 3, 'my_field': 'x'} as properties"
    )
    settings = TikTokConfig.model_validate(
        {"type": "tiktok_events", "model": "m", "event_source_id": "P"}
    )
    dest = TikTokDestination(
        DestinationConfig("d", "tiktok_events", "m", settings, Path("d.yml"), 1)
    )
    plan, problems = dest.encode_plan(engine.schema(select), f"({select}) AS t", None)
    assert plan is not None
    assert [p.message for p in problems] == [  # a warning only
        "no page_url column: TikTok expects page.url on WEB events"
    ]
    (payload,) = engine.rows(f"SELECT __payload FROM ({plan.sql})")
    assert orjson.loads(payload[0]) == {
        "event": "Lead",
        "event_id": "k",
        "event_time": NOW,
        "user": {"email": hashlib.sha256(b"a@x.com").hexdigest(), "ip": "1.2.3.4"},
        "properties": {"value": 3, "my_field": "x"},
    }


PHONES_SELECT = f"""
    select 'Purchase' as event, 'o-' || i as event_id, to_timestamp({NOW}) as event_time,
           p as phone
    from (values
        (1, '(212) 555-0101'), (2, ' (212) 555-0101 '), (3, null), (4, ''), (5, 'not a phone'),
        (6, '{PHONE_VECTOR.upper()}'), (7, '0044 20 7946 0958'), (8, '5550100'),
        (9, '+44 20 7946 0958'), (10, '(212) 555-0101')
    ) v(i, p)
"""


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("drop", [None, "(212) 555-0101", "not a phone"])
def test_the_phone_table_gives_the_same_rows_as_hashing_per_row(
    engine: DuckDBEngine, drop: str | None, parallel: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Distinct phones parsed once into a table, then joined: same payloads, hashes and
    reasons as the per-row path, also for a phone the table lacks (looked up row by row)."""
    per_row = encode(engine, PHONES_SELECT, region="US")
    assert sum(r["errors"] is not None for r in per_row) == 2  # 'not a phone', '5550100'
    monkeypatch.setattr(e164, "PARALLEL_MIN", 2)  # helper processes even for a few phones
    monkeypatch.setattr(plan_module, "PHONE_CHUNK", 3)  # several rounds of parsing
    mapped = encode(
        engine,
        PHONES_SELECT,
        region="US",
        phone_map="__phones_t",
        drop_from_map=drop,
        parallel=parallel,
    )
    assert mapped == per_row
    distinct = engine.rows("SELECT count(*), count(DISTINCT raw) FROM __phones_t")[0]
    assert distinct[0] == distinct[1]  # one row per number: the join never duplicates a row


def test_nan_and_infinity_never_reach_a_payload(engine: DuckDBEngine) -> None:
    """DuckDB reads 'nan' and 'inf' as DOUBLE and writes them as NaN and Infinity, which are
    no JSON: one such value made the whole request unreadable (the batch split down to the
    row, after sending had started). A parameter's is an invalid row; a custom property's and
    a content's other field are left out."""
    rows = encode(
        engine,
        "SELECT 'Purchase' AS event, 'e-' || i AS event_id, "
        f"{NOW} AS event_time, CASE WHEN i = 0 THEN 'nan' ELSE 'Infinity' END AS value, "
        "'USD' AS currency, CAST('-inf' AS DOUBLE) AS \"properties.score\", "
        "[CAST('nan' AS DOUBLE), 1.5] AS \"properties.scores\", "
        "[{'content_id': 'a', 'price': 'nan', 'weight': CAST('inf' AS FLOAT)}] AS contents "
        "FROM range(2) t(i)",
    )
    assert len(rows) == 2
    for row in rows:  # encode() read every payload with orjson: each is JSON
        assert row["errors"] == "value is not a number"
        props = row["payload"]["properties"]
        assert "score" not in props and props["scores"] == [1.5]
        assert props["contents"] == [{"content_id": "a"}]


def test_nan_and_infinity_at_any_depth_of_a_custom_property_are_left_out(
    engine: DuckDBEngine,
) -> None:
    """Only a top-level float and a flat list of floats were guarded: a NaN or infinity in a
    STRUCT, a MAP, a nested list or a UNION reached the payload as
    ``NaN``/``Infinity`` and the plan failed with a JSONDecodeError (a fuzz run). The text
    'NaN' stays text. Left out, not sent as null (which both platforms refuse): a list, map,
    struct or union left empty is left out in turn (test_custom_property_nulls.py)."""
    nan, inf = "CAST('NaN' AS DOUBLE)", "CAST('inf' AS DOUBLE)"
    (row,) = encode(
        engine,
        f"SELECT 'Purchase' AS event, 'e' AS event_id, {NOW} AS event_time, "
        f"{{'a': {nan}, 'b': 'NaN', 'c': [1.5, CAST('-inf' AS FLOAT)]}} AS \"properties.s\", "
        f'[[{inf}], NULL, [2.5]] AS "properties.l", '
        f"MAP {{'k': -{inf}, 'j': 2.5}} AS \"properties.m\", "
        f"[{{'x': {nan}}}, NULL] AS \"properties.ls\", "
        f'CAST(NULL AS STRUCT(x DOUBLE)) AS "properties.n", '
        f"[CAST(union_value(f := {nan}) AS UNION(f DOUBLE, s VARCHAR)), "
        "union_value(s := 'NaN')] AS \"properties.u\", "
        f"[{{'content_id': 'a', 'weight': [{nan}]}}] AS contents",
    )
    props = row["payload"]["properties"]
    assert props["s"] == {"b": "NaN", "c": [1.5]}
    assert props["l"] == [[2.5]]
    assert props["m"] == {"j": 2.5}
    assert "ls" not in props and "n" not in props
    assert props["u"] == [{"s": "NaN"}]
    assert props["contents"] == [{"content_id": "a"}]


def test_an_empty_event_id_beside_a_primary_key_is_a_warning(engine: DuckDBEngine) -> None:
    """The event goes without an event id: TikTok cannot deduplicate it. (The event id as
    the key: a NULL key is an error already.)"""
    rows = encode(
        engine,
        "SELECT 'Purchase' AS event, 'o-' || i AS order_id, 'a@x.io' AS email, "
        f"{NOW} AS event_time, [NULL, ' ', 'e-2'][i + 1] AS event_id FROM range(3) t(i)",
        model_pk=("order_id",),
    )
    empty = "event_id is empty: the platform cannot deduplicate this event"
    assert [r["warnings"] for r in rows] == [empty, empty, None]
    assert "event_id" not in rows[0]["payload"] and rows[2]["payload"]["event_id"] == "e-2"
    (alone,) = encode(
        engine,
        f"SELECT 'Purchase' AS event, 'e' AS event_id, {NOW} AS event_time, 'a@x.io' AS email",
    )
    assert alone["warnings"] is None


def test_an_enum_key_is_checked_as_a_text_one(engine: DuckDBEngine) -> None:
    """An ENUM event_id (the key) of a blank label, or of one with a control character,
    went out as is: the blank and control-character checks read plain text columns only."""
    engine.execute("CREATE TYPE key_label AS ENUM ('', ' ', 'e-2', 'tab\tx')")
    rows = encode(
        engine,
        f"SELECT 'Purchase' AS event, {NOW} AS event_time, "
        "CAST(['', ' ', 'e-2', 'tab' || chr(9) || 'x'][i + 1] AS key_label) AS event_id "
        "FROM range(4) t(i)",
    )
    reasons = {r["key"]: r["errors"] or "" for r in rows}
    assert "primary key is blank" in reasons[""] and "primary key is blank" in reasons[" "]
    assert reasons["e-2"] == ""
    assert "event_id holds a control character" in reasons["tab\tx"]


def test_a_blank_or_nan_event_id_as_the_key_is_an_invalid_row(engine: DuckDBEngine) -> None:
    """A blank or non-finite event_id as the primary key went out with an empty event id (or
    none) and no word: TikTok could not deduplicate it. Invalid, as a NULL key is; beside
    another key, a NaN event_id (sent as none) warns as a blank one does."""
    rows = encode(
        engine,
        "SELECT 'Purchase' AS event, "
        f"{NOW} AS event_time, ['', ' ' || chr(9), 'e-2', NULL][i + 1] AS event_id "
        "FROM range(4) t(i)",
    )
    reasons = {r["key"]: r["errors"] for r in rows}
    assert reasons["e-2"] is None and reasons[None] == "primary key is null"
    assert reasons[""] == "primary key is blank, NaN or infinite"
    assert reasons[" \t"] is not None and "primary key is blank" in reasons[" \t"]
    floats = encode(
        engine,
        "SELECT 'Purchase' AS event, "
        f"{NOW} AS event_time, [CAST('nan' AS DOUBLE), -CAST('inf' AS DOUBLE), 7.0][i + 1] "
        "AS event_id FROM range(3) t(i)",
    )
    # (a NaN's text here is NULL too; the diff's key, CAST AS VARCHAR, is 'nan')
    blank = ["primary key is blank, NaN or infinite" in (r["errors"] or "") for r in floats]
    assert sorted(blank) == [False, True, True]
    assert [r["payload"].get("event_id") for r in floats if r["errors"] is None] == ["7"]
    beside = encode(
        engine,
        "SELECT 'Purchase' AS event, 'o-' || i AS order_id, 'a@x.io' AS email, "
        f"{NOW} AS event_time, [CAST('nan' AS DOUBLE), 1.0][i + 1] AS event_id "
        "FROM range(2) t(i)",
        model_pk=("order_id",),
    )
    empty = "event_id is empty: the platform cannot deduplicate this event"
    assert [r["warnings"] for r in beside] == [empty, None]
    # In a key of several columns one blank part is no error: the other parts tell the rows
    # apart (such rows were sent before, and still are).
    parts = encode(
        engine,
        "SELECT 'Purchase' AS event, o AS order_id, l AS line, 'e-' || i AS event_id, "
        f"{NOW} AS event_time FROM (VALUES (1, '1', ''), (2, '2', ' '), (3, '', '1')) t(i, o, l)",
        model_pk=("order_id", "line"),
    )
    assert [r["errors"] for r in parts] == [None, None, None]


def test_a_json_primary_key_is_read_as_its_text(engine: DuckDBEngine) -> None:
    """A JSON key column failed the whole encode ("Malformed JSON at byte 0": the blank-key
    check compared the JSON value with ''); a JSON string of spaces is its text, quotes
    included: a key."""
    rows = encode(
        engine,
        "SELECT 'Purchase' AS event, 'e-' || i AS event_id, "
        f"{NOW} AS event_time, CAST(['{{\"a\": 1}}', '7', '\"  \"', NULL][i + 1] AS JSON) AS pk "
        "FROM range(4) t(i)",
        model_pk=("pk",),
    )
    reasons = {r["payload"].get("event_id"): r["errors"] for r in rows}
    assert reasons["e-0"] is None and reasons["e-1"] is None
    assert reasons["e-3"] == "primary key is null"
    assert reasons["e-2"] is None


def test_what_the_api_refuses_is_caught_before_sending(engine: DuckDBEngine) -> None:
    """Values that passed the row checks and were refused by the API (found only by
    splitting batches once sending had begun), and a float ID that failed the whole encode."""
    # a custom property one level deep only: properties.meta.value went out as
    # properties.value, beside TikTok's own value
    mapping = map_columns(["event", "event_time", "value", "properties.meta.value"], "WEB")
    (issue,) = [i for i in mapping.issues if i.severity == "error"]
    assert issue.column == "properties.meta.value" and "not a TikTok parameter" in issue.message
    # a scalar content_ids that is NULL was sent as [null]; a NaN order_id failed the encode
    rows = encode(
        engine,
        "SELECT 'Purchase' AS event, 'e-' || i AS event_id, "
        f"{NOW} AS event_time, [NULL, 'sku-1'][i + 1] AS content_ids, "
        "[CAST('nan' AS DOUBLE), 1e30, 7.0][i + 1] AS order_id FROM range(3) t(i)",
    )
    props = [r["payload"].get("properties", {}) for r in rows]
    assert [p.get("content_ids") for p in props] == [None, ["sku-1"], None]
    assert [p.get("order_id") for p in props] == [None, str(int(1e30)), "7"]
    # an empty app_id (APP) is as missing as a NULL one
    (app,) = encode(
        engine,
        f"SELECT 'Purchase' AS event, 'e' AS event_id, {NOW} AS event_time, '' AS app_id",
        "APP",
    )
    assert "app_id is required for APP events" in (app["errors"] or "")


@pytest.mark.parametrize("blank", ["'\t\n '", "'\r'", "'\u00a0'"])
def test_an_event_or_required_id_of_whitespace_is_missing(engine: DuckDBEngine, blank: str) -> None:
    """trim() took spaces only: an event named '\t\n ' was sent, and so was such an app_id."""
    (row,) = encode(engine, f"SELECT {blank} AS event, 'e' AS event_id, {NOW} AS event_time")
    assert "event is missing" in (row["errors"] or "")
    (app,) = encode(
        engine,
        f"SELECT 'Purchase' AS event, 'e' AS event_id, {NOW} AS event_time, {blank} AS app_id",
        "APP",
    )
    assert "app_id is required for APP events" in (app["errors"] or "")


@pytest.mark.parametrize("nan", ["'NaN'::DOUBLE", "'-inf'::DOUBLE", "'NaN'::FLOAT"])
@pytest.mark.parametrize(
    ("source", "column", "obj"), [("APP", "app_id", "app"), ("CRM", "lead_id", "lead")]
)
def test_a_nan_required_id_is_missing(
    engine: DuckDBEngine, nan: str, source: str, column: str, obj: str
) -> None:
    """A NaN or infinite float is no ID (left out of the payload): a required one is missing,
    as a NULL one is (the check read its text, 'nan', and the row went without the ID)."""
    (row,) = encode(
        engine,
        f"SELECT 'Purchase' AS event, 'e' AS event_id, {NOW} AS event_time, {nan} AS {column}",
        source,
    )
    assert obj not in row["payload"]
    assert f"{column} is required for {source} events" in (row["errors"] or "")


@pytest.mark.parametrize("event", ["NULL", "''", "'  '", "'\t\n'", "'\u00a0'"])
def test_a_blank_offline_event_is_missing_only(engine: DuckDBEngine, event: str) -> None:
    """One reason, as for NULL: a blank name was also 'not a standard event'."""
    (row,) = encode(
        engine,
        f"SELECT CAST({event} AS VARCHAR) AS event, 'e' AS event_id, {NOW} AS event_time",
        "OFFLINE",
    )
    assert row["errors"] == "event is missing"


@pytest.mark.parametrize("blank", ["''", "'  '", "'\t\n'", "'\u00a0'"])
@pytest.mark.parametrize(
    ("source", "column", "reasons"),
    [
        ("WEB", "value", None),
        ("WEB", "predicted_ltv", None),
        ("WEB", "num_items", None),
        ("WEB", "limited_data_use", None),
        ("APP", "is_retargeting", None),
        ("APP", "attributed", None),
        ("WEB", "event_time", "event_time is missing or not a time"),
    ],
)
def test_a_blank_text_number_boolean_or_time_is_a_null_one(
    engine: DuckDBEngine, blank: str, source: str, column: str, reasons: str | None
) -> None:
    """Written as text, a blank one is none: left out when optional, missing when required,
    as a NULL one (it was 'not a number', 'not an integer', 'not a boolean': invalid)."""

    def row(value: str) -> dict[str, object]:
        cols = {"event": "'Purchase'", "event_id": "'e'", "event_time": str(NOW)}
        cols |= {"app_id": "'1234567890'"} if source == "APP" else {}
        cols[column] = value
        (out,) = encode(
            engine, "SELECT " + ", ".join(f"{v} AS {k}" for k, v in cols.items()), source
        )
        return out

    null, blanked = row("CAST(NULL AS VARCHAR)"), row(blank)
    assert null["errors"] == blanked["errors"] == reasons
    assert blanked["payload"] == null["payload"]
    assert blanked["warnings"] == null["warnings"]


def test_a_contents_number_that_does_not_parse_is_a_warning(engine: DuckDBEngine) -> None:
    (row,) = encode(
        engine,
        f"SELECT 'Purchase' AS event, 'e' AS event_id, {NOW} AS event_time, "
        "[{'content_id': 'a', 'price': 'abc', 'quantity': 2.5}] AS contents",
    )
    assert row["errors"] is None
    assert "a contents item's price is not a number (left out)" in row["warnings"]
    assert "a contents item's quantity is not an integer (left out)" in row["warnings"]
    assert row["payload"]["properties"]["contents"] == [{"content_id": "a"}]


def test_a_whole_number_beyond_64_bits_is_an_invalid_row_not_a_failed_statement(
    engine: DuckDBEngine,
) -> None:
    """CAST(1e19 AS BIGINT) failed the whole encode (a fuzz run): every row, valid ones too,
    stayed unsent, and the message blamed the model."""
    rows = encode(
        engine,
        "SELECT 'Purchase' AS event, 'e-' || i AS event_id, "
        f"{NOW} AS event_time, [1e19, 3.0][i + 1] AS num_items, "
        "[CAST(99999999999999999999 AS DECIMAL(38, 0)), 2][i + 1] AS order_id "
        "FROM range(2) t(i)",
    )
    assert "num_items is not an integer" in (rows[0]["errors"] or "")
    assert rows[1]["errors"] is None
    assert rows[1]["payload"]["properties"]["num_items"] == 3


@pytest.mark.parametrize(
    "column", ["__retl_text_0", "__RETL_EMAIL_OK_0", "__retl_hashed_phone_0", "__text_0"]
)
def test_a_model_column_named_like_an_encoder_helper_is_not_read_for_it(
    engine: DuckDBEngine, column: str
) -> None:
    """The encoder adds helper columns under its SELECT (an e-mail's trimmed text, whether
    it is well formed, a phone's hash); a model column of the same name was read instead:
    another column's value was hashed and sent as the e-mail, silently."""
    rows = encode(
        engine,
        f"SELECT 'Purchase' AS event, 'e' AS event_id, {NOW} AS event_time, "
        f"'a@b.co' AS email, '+12125550101' AS phone, 'zzz' AS \"{column}\"",
        region="US",
        model_pk=(column,),
    )
    (row,) = rows
    user = row["payload"]["user"]  # type: ignore[index]
    assert user["email"] == hashlib.sha256(b"a@b.co").hexdigest()
    assert user["phone"] == hashlib.sha256(b"+12125550101").hexdigest()
    assert not row["errors"] and not row["warnings"]


def test_a_null_limited_data_use_takes_the_destination_setting(engine: DuckDBEngine) -> None:
    """``limited_data_use: true`` on the destination with a model column of its own: a row
    whose column is NULL (or blank text) said nothing, so it keeps the destination's true; it
    was sent without the field (TikTok's default: false), lifting Limited Data Use for it."""
    select = (
        f"select 'ViewContent' as event, 'e' || i as event_id, {NOW} as event_time, "
        "[null, 'false', 'true', '', 'no'][i + 1] as limited_data_use from range(5) t(i)"
    )
    sent = [r["payload"].get("limited_data_use") for r in encode(engine, select, ldu=True)]
    assert sent == [True, False, True, True, False]
    # without the setting, a row that says nothing sends nothing (TikTok's default)
    sent = [r["payload"].get("limited_data_use") for r in encode(engine, select)]
    assert sent == [None, False, True, None, False]
    # and never to OFFLINE, whatever the setting
    offline = select.split(", [null", maxsplit=1)[0] + " from range(5) t(i)"
    rows = encode(engine, offline, "OFFLINE", ldu=True)
    assert all("limited_data_use" not in r["payload"] for r in rows)

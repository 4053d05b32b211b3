"""The encode SQL in a real DuckDB: the exact event, LDU, action_source, keys and the plan."""

from __future__ import annotations

import hashlib

import orjson
import phonenumbers
import pytest

from reverse_etl.destinations.base import ColumnRules
from reverse_etl.destinations.meta.match import MATCH_KEYS
from reverse_etl.destinations.meta.rules import MetaRules
from reverse_etl.engine.duckdb import DuckDBEngine

from .helpers import HOUR, NOW, at, destination, encode, one, plan_for, select, sha


def test_a_full_row_becomes_exactly_this_event(engine: DuckDBEngine) -> None:
    row = one(
        engine,
        email="' John.Doe@Example.COM '",
        phone="'+1 (213) 373-4253'",
        first_name="'John'",
        fbp="'fb.1.1558571054389.1098115397'",
        content_ids="['sku-1', 'sku-2']",
        contents="[{'content_id': 1001, 'price': 21.25, 'quantity': 2}]",
        order_id="1001.0",
        num_items="2",
        **{"custom_data.coupon": "'SPRING'"},
    )
    assert (row["errors"], row["warnings"]) == (None, None)
    # the match keys it carries (match.py): no flag, the phone has its +country code
    carried = {"email", "phone", "first_name", "ip", "user_agent", "fbp"}
    assert row["match"] == sum(1 << i for i, p in enumerate(MATCH_KEYS) if p.name in carried)
    assert row["payload"] == {
        "event_name": "Purchase",
        "event_id": "e-1",
        "event_time": NOW - HOUR,
        "event_source_url": "https://shop.example/checkout",
        "action_source": "website",
        "user_data": {
            "client_user_agent": "Mozilla/5.0",
            "client_ip_address": "203.0.113.7",
            "em": sha("john.doe@example.com"),
            "ph": sha("12133734253"),
            "fn": sha("john"),
            "fbp": "fb.1.1558571054389.1098115397",
        },
        "custom_data": {
            "value": 42.5,
            "currency": "USD",
            "content_ids": ["sku-1", "sku-2"],
            "contents": [{"id": "1001", "item_price": 21.25, "quantity": 2}],
            "order_id": "1001",
            "num_items": 2,
            "coupon": "SPRING",
        },
    }


def test_payload_text_and_hash(engine: DuckDBEngine) -> None:
    plan, _ = plan_for(engine, select(ip=None, value=None, currency=None, event="'Lead'"))
    assert plan is not None
    ((payload, digest, change),) = engine.rows(
        f"SELECT __payload, __hash, __change_in FROM ({plan.sql})"
    )
    assert payload == (
        '{"event_name":"Lead","event_id":"e-1","event_time":1699996400,'
        '"event_source_url":"https://shop.example/checkout","action_source":"website",'
        '"user_data":{"client_user_agent":"Mozilla/5.0"}}'
    )
    assert digest == hashlib.md5(payload.encode()).hexdigest()
    assert change == "new"


def test_nulls_and_empty_objects_are_left_out(engine: DuckDBEngine) -> None:
    row = one(engine, email="CAST(NULL AS VARCHAR)", order_id="CAST(NULL AS VARCHAR)")
    assert "em" not in row["payload"]["user_data"]
    assert "order_id" not in row["payload"]["custom_data"]
    lead = one(engine, event="'Lead'", value=None, currency=None)
    assert "custom_data" not in lead["payload"]


def test_limited_data_use(engine: DuckDBEngine) -> None:
    ldu = one(engine, {"limited_data_use": True})["payload"]
    assert ldu["data_processing_options"] == ["LDU"]
    assert ldu["data_processing_options_country"] == 0
    assert ldu["data_processing_options_state"] == 0
    plain = one(engine)["payload"]
    assert not {k for k in plain if k.startswith("data_processing")}


def test_action_source_from_the_setting_or_the_row(engine: DuckDBEngine) -> None:
    app = {
        "advertiser_tracking_enabled": "true",
        "application_tracking_enabled": "true",
        "extinfo": "['i2', '', '', '', '17.4', '', '', '', '', '', '', '', '', '', '', '']",
    }
    assert one(engine, {"action_source": "app"}, **app)["payload"]["action_source"] == "app"
    rows = encode(
        engine,
        f"SELECT b.*, 'ev-' || i AS event_id, s AS action_source FROM ({select(event_id=None)}) "
        "AS b, (VALUES (1, 'physical_store'), (2, NULL), (3, ' ')) AS v(i, s)",
    )
    assert [r["payload"]["action_source"] for r in rows] == [
        "physical_store",
        "website",
        "website",
    ]


def test_event_id_derived_from_the_key_as_for_tiktok(engine: DuckDBEngine) -> None:
    rows = encode(
        engine, f"SELECT 7 AS order_key, {select(event_id=None)[7:]}", model_key=("order_key",)
    )
    (row,) = rows
    assert row["key"] == "7"
    expected = "retl-" + hashlib.sha256(b"m:7").hexdigest()[:32]
    assert row["payload"]["event_id"] == expected
    assert "order_key" not in orjson.dumps(row["payload"]).decode()  # a key, not a parameter


def test_prekeyed_rows_keep_the_diffs_key_hash_and_change(engine: DuckDBEngine) -> None:
    sql = (
        "SELECT *, 'k-9' AS __row_key, '3:abc' AS __row_hash, 'changed' AS __change "
        f"FROM ({select()})"
    )
    (row,) = encode(engine, sql, prekeyed=True)
    assert (row["key"], row["hash"], row["change"]) == ("k-9", "3:abc", "changed")
    assert "__row" not in orjson.dumps(row["payload"]).decode()


def test_phone_table_gives_the_same_events_as_the_per_row_parser(engine: DuckDBEngine) -> None:
    sql = (
        f"SELECT b.*, 'e-' || i AS event_id, p AS phone FROM ({select(event_id=None)}) AS b, "
        "(VALUES (1, '+1 213 373 4253'), (2, '(213) 373-4254'), (3, NULL), (4, 'nope')) "
        "AS v(i, p)"
    )
    settings = {"default_phone_region": "US"}
    per_row = encode(engine, sql, **settings)
    dest = destination(**settings)
    plan, _ = dest.encode_plan(engine.schema(sql), f"({sql}) AS t", None, now=NOW)
    assert plan is not None
    prepared = dest.prepare(engine, plan)
    assert len(prepared.tables) == 1 and prepared.tables[0].startswith("__retl_meta_phones_")
    assert engine.rows(f"SELECT count(*) FROM {prepared.tables[0]}") == [(3,)]
    tabled = encode(engine, sql, prepare=True, **settings)
    assert [r["payload"] for r in tabled] == [r["payload"] for r in per_row]
    assert [r["errors"] for r in tabled] == [r["errors"] for r in per_row]
    assert per_row[0]["payload"]["user_data"]["ph"] == sha("12133734253")
    assert per_row[1]["payload"]["user_data"]["ph"] == sha("12133734254")
    assert "phone is not a valid phone number" in per_row[3]["errors"]


def test_content_id_and_meta_content_keys(engine: DuckDBEngine) -> None:
    row = one(engine, content_id="42")
    assert row["payload"]["custom_data"]["content_ids"] == ["42"]
    meta_keys = one(
        engine,
        contents="[{'id': 'a', 'item_price': 1.5, 'title': 'Hat', 'status': 'x', "
        "'content_type': 'product'}]",
    )
    assert meta_keys["payload"]["custom_data"]["contents"] == [
        {"id": "a", "item_price": 1.5, "title": "Hat"}  # TikTok-only keys left out
    ]


def test_a_fixed_size_array_is_sent_as_the_list_it_holds(engine: DuckDBEngine) -> None:
    """An e-mail VARCHAR[2] went out as ONE hash of the text "[a@b.com, c@d.com]"."""
    columns = {
        "email": ("['A@x.com', ' b@y.org']", "VARCHAR[2]"),
        "phone": ("['+1 213 373 4253', NULL]", "VARCHAR[2]"),
        "external_id": ("[' u1', 'u2']", "VARCHAR[2]"),
        "content_ids": ("[1, 2]", "INTEGER[2]"),
        "contents": (
            "[{'content_id': 's1', 'price': 2.5}]",
            "STRUCT(content_id VARCHAR, price DOUBLE)[1]",
        ),
        "custom_data.s": ("[1.5, CAST('inf' AS DOUBLE)]", "DOUBLE[2]"),
    }
    listed = one(engine, {"default_phone_region": "US"}, **{k: v for k, (v, _) in columns.items()})
    arrayed = one(
        engine,
        {"default_phone_region": "US"},
        **{k: f"CAST({v} AS {t})" for k, (v, t) in columns.items()},
    )
    assert arrayed == listed
    user = arrayed["payload"]["user_data"]
    assert user["em"] == [sha("a@x.com"), sha("b@y.org")]
    assert user["external_id"] == [sha("u1"), sha("u2")] and user["ph"] == [sha("12133734253")]
    assert arrayed["payload"]["custom_data"]["content_ids"] == ["1", "2"]
    assert arrayed["payload"]["custom_data"]["s"] == [1.5]


_ITEM = "STRUCT(content_id VARCHAR, price DOUBLE, quantity INTEGER)"


@pytest.mark.parametrize(
    ("contents", "ids", "expected"),
    [
        (f"[]::{_ITEM}[]", "[]::VARCHAR[]", {}),
        (f"[null, null]::{_ITEM}[]", "[null]::VARCHAR[]", {}),
        (f"null::{_ITEM}[]", "null::VARCHAR[]", {}),
        (
            f"[null, {{'content_id': 'a', 'price': 1.5, 'quantity': 2}}]::{_ITEM}[]",
            "[null, 'b']",
            {"contents": [{"id": "a", "item_price": 1.5, "quantity": 2}], "content_ids": ["b"]},
        ),
    ],
)
def test_empty_and_null_lists_are_left_out(
    engine: DuckDBEngine, contents: str, ids: str, expected: dict[str, object]
) -> None:
    """An empty list, a list of NULLs and a NULL list send no key; NULL elements are
    skipped (json_objects, one pass over each list)."""
    row = one(engine, contents=contents, content_ids=ids)
    custom = row["payload"].get("custom_data", {})
    assert {k: v for k, v in custom.items() if k in ("contents", "content_ids")} == expected


def test_structs_named_user_data_and_custom_data(engine: DuckDBEngine) -> None:
    row = one(
        engine,
        ip=None,
        user_agent=None,
        user_data="{'em': 'A@B.io', 'client_user_agent': 'UA'}",
        custom_data="{'tier': 'gold'}",
    )
    assert row["payload"]["user_data"] == {"em": sha("a@b.io"), "client_user_agent": "UA"}
    assert row["payload"]["custom_data"]["tier"] == "gold"


def test_plan_problems_are_located_with_did_you_mean(engine: DuckDBEngine) -> None:
    plan, problems = plan_for(engine, select(emial="'a@b.io'", page_url=None))
    assert plan is None
    texts = {p.message: p for p in problems}
    typo = texts["column emial: 'emial' is not a Meta parameter"]
    assert typo.hint == "did you mean 'email'?"
    assert typo.key == "destinations.meta.model" and typo.line == 2
    missing = texts["model 'm' has no 'page_url' column (website events need it)"]
    assert missing.key == "destinations.meta.model"
    # Not a website destination: page_url is not required.
    plan, problems = plan_for(engine, select(page_url=None), action_source="email")
    assert plan is not None and not [p for p in problems if p.severity == "error"]


def test_plan_needs_a_key_and_event(engine: DuckDBEngine) -> None:
    plan, problems = plan_for(engine, select(event_id=None, event=None))
    assert plan is None
    keys = {p.key: p.message for p in problems}
    assert keys["destinations.meta.primary_key"] == (
        "model 'm' has no event_id column and no primary key"
    )
    assert "model 'm' has no 'event' column" in problems[0].message


def test_unknown_contents_keys_warn_and_mask_and_description(engine: DuckDBEngine) -> None:
    plan, problems = plan_for(
        engine,
        select(contents="[{'content_id': 'a', 'colour': 'red'}]", email="'a@b.io'"),
        primary_key="email",
    )
    assert plan is not None
    (warning,) = [p for p in problems if "colour" in p.message]
    assert warning.severity == "warning"
    assert plan.mask_keys  # the key is an e-mail: reports show it hashed
    assert plan.mapping["phonenumbers"] == phonenumbers.__version__
    assert plan.mapping["source"] == "website"
    assert plan.mapping["columns"]["email"] == {
        "path": "user_data.em",
        "kind": "string",
        "hashing": "trim, lower-case, SHA-256",
    }


def test_rules_satisfy_the_contract() -> None:
    rules = destination(action_source="website").rules()
    assert isinstance(rules, ColumnRules) and isinstance(rules, MetaRules)
    assert [p.name for p in rules.required()] == ["event", "event_time", "page_url", "user_agent"]
    assert [p.name for p in MetaRules("app").required()] == [
        "event",
        "event_time",
        "advertiser_tracking_enabled",
        "application_tracking_enabled",
        "extinfo",
    ]


def test_time_types(engine: DuckDBEngine) -> None:
    seconds = one(engine, event_time=str(NOW - 60))["payload"]["event_time"]
    naive = one(engine, event_time=f"CAST({at(NOW - 60)} AT TIME ZONE 'UTC' AS TIMESTAMP)")
    assert seconds == naive["payload"]["event_time"] == NOW - 60
    # fractions of a second are dropped, never rounded up (epoch()'s DOUBLE, cast, was)
    for fraction in ("TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP_NS"):
        late = f"CAST({at(NOW - 60)} AS {fraction}) + INTERVAL 999 MILLISECOND"
        assert one(engine, event_time=late)["payload"]["event_time"] == NOW - 60, fraction


def test_the_event_id_column_is_the_payloads_event_id_unescaped(engine: DuckDBEngine) -> None:
    """``__event_id`` (what the delivery log keeps) is the event id sent, as its text: the
    helper compares it with the payload's for every row; derived ids too."""
    assert one(engine, event_id="'say \"hi\" \\ bye'")["payload"]["event_id"] == 'say "hi" \\ bye'
    derived = one(engine, {"model_key": ("ip",)}, event_id=None)["payload"]["event_id"]
    assert derived.startswith("retl-") and len(derived) == 37


def test_contents_read_back_from_json_text_encode_as_a_list_of_structs(
    engine: DuckDBEngine,
) -> None:
    """A PostgreSQL warehouse's contents arrive as JSON text, which the workbench turns into
    a list of structs whose numbers are JSON (engine/json_columns.py): Meta gets the same
    contents as from DuckDB's own list."""
    import pyarrow as pa

    from reverse_etl.engine.pg_copy import json_field

    text = '[{"content_id" : 1001, "price" : 21.25, "quantity" : 2}, {"content_id" : "b"}]'
    staged = engine.stage(
        pa.table([pa.array([text])], schema=pa.schema([json_field("c", array=False)])).to_reader()
    )
    from_json = one(engine, contents=f"(SELECT c FROM {staged})")
    from_duckdb = one(
        engine,
        contents="[{'content_id': '1001', 'price': 21.25, 'quantity': 2}, "
        "{'content_id': 'b', 'price': NULL, 'quantity': NULL}]",
    )
    expected = [{"id": "1001", "item_price": 21.25, "quantity": 2}, {"id": "b"}]
    assert from_json["payload"]["custom_data"]["contents"] == expected
    assert from_duckdb["payload"]["custom_data"]["contents"] == expected
    assert (from_json["errors"], from_json["warnings"]) == (None, None)


def test_nan_and_infinity_never_reach_a_payload(engine: DuckDBEngine) -> None:
    """See tests/tiktok/test_encode.py: the same for Meta's custom_data."""
    row = one(
        engine,
        value="'nan'",
        **{"custom_data.score": "CAST('inf' AS DOUBLE)"},
        contents="[{'content_id': 'a', 'item_price': 'Infinity'}]",
    )
    assert "value is not a number" in row["errors"]
    assert row["payload"]["custom_data"].get("score") is None
    assert row["payload"]["custom_data"]["contents"] == [{"id": "a"}]


def test_nan_and_infinity_at_any_depth_of_custom_data_are_left_out(engine: DuckDBEngine) -> None:
    """See tests/tiktok/test_encode.py: a NaN in a struct, map, nested list of
    custom_data failed the plan with a JSONDecodeError. Left out, not sent as null (which Meta
    refuses); a map left empty is left out in turn (test_custom_property_nulls.py)."""
    nan = "CAST('NaN' AS DOUBLE)"
    row = one(
        engine,
        **{
            "custom_data.s": f"{{'a': {nan}, 'b': 'NaN'}}",
            "custom_data.m": "MAP {'k': -CAST('inf' AS DOUBLE)}",
            "custom_data.l": f"[[{nan}, 1.5]]",
        },
    )
    custom = row["payload"]["custom_data"]
    assert custom["s"] == {"b": "NaN"} and "m" not in custom
    assert custom["l"] == [[1.5]]


def test_an_empty_event_id_beside_a_primary_key_is_a_warning(engine: DuckDBEngine) -> None:
    rows = encode(
        engine,
        select(event_id="[NULL, '', 'e-2'][i + 1]", order_id="'o-' || i") + " FROM range(3) t(i)",
        model_key=("order_id",),
    )
    empty = "event_id is empty: the platform cannot deduplicate this event"
    assert [empty in (r["warnings"] or "") for r in rows] == [True, True, False]


def test_a_blank_or_nan_event_id_as_the_key_is_an_invalid_row(engine: DuckDBEngine) -> None:
    """See tests/tiktok/test_encode.py: sent with an empty event id, or none, and no word."""
    for event_id in ("''", "'  '", "CAST('nan' AS DOUBLE)", "CAST('inf' AS DOUBLE)"):
        row = one(engine, event_id=event_id)
        assert "primary key is blank, NaN or infinite" in (row["errors"] or ""), event_id
    assert one(engine)["errors"] is None
    rows = encode(
        engine,
        select(event_id="[CAST('nan' AS DOUBLE), 1.0][i + 1]", order_id="'o-' || i")
        + " FROM range(2) t(i)",
        model_key=("order_id",),
    )
    empty = "event_id is empty: the platform cannot deduplicate this event"
    assert [empty in (r["warnings"] or "") for r in rows] == [True, False]


def test_what_the_api_refuses_in_never_hashed_fields_and_contents_is_an_invalid_row(
    engine: DuckDBEngine,
) -> None:
    """A hashed fbc, fbp, IP or user agent, and a contents item without an id: Meta refuses
    the event (as the sandbox does, reference §6), which the send found only by splitting
    batches once sending had begun."""
    hashed = "'" + "ab" * 32 + "'"
    for column in ("fbc", "fbp", "ip", "user_agent"):
        row = one(engine, **{column: hashed})
        assert f"{column} looks like a SHA-256 hash" in (row["errors"] or ""), column
    for contents, bad in (
        ("[{'price': 2.5, 'quantity': 2}]", True),
        ("[{'content_id': NULL, 'quantity': 2}, {'content_id': 'a', 'quantity': 1}]", True),
        ("[{'content_id': ' ', 'quantity': 2}]", True),
        ("[{'content_id': 'a', 'quantity': 2}]", False),
    ):
        row = one(engine, contents=contents)
        assert ("contents item has no id" in (row["errors"] or "")) is bad, contents
    assert one(engine)["errors"] is None


def test_app_ids_anon_id_and_madid_go_out_unhashed(engine: DuckDBEngine) -> None:
    madid = "'38400000-8cf0-11bd-b23e-10b96e40000d'"
    row = one(engine, anon_id="'install-9'", madid=madid)
    assert row["errors"] is None
    user = row["payload"]["user_data"]
    assert user["anon_id"] == "install-9" and user["madid"] == madid.strip("'")


def test_a_custom_property_is_one_level_deep(engine: DuckDBEngine) -> None:
    """custom_data.a.value went out as custom_data.value, beside Meta's own value."""
    plan, problems = plan_for(engine, select(**{"custom_data.a.value": "'x'"}))
    assert plan is None
    assert any("custom_data.a.value" in p.render() for p in problems if p.severity == "error")


def test_a_contents_number_that_does_not_parse_is_a_warning(engine: DuckDBEngine) -> None:
    row = one(engine, contents="[{'content_id': 'a', 'price': 'abc', 'quantity': 2.5}]")
    assert "a contents item's price is not a number (left out)" in row["warnings"]
    assert "a contents item's quantity is not an integer (left out)" in row["warnings"]
    assert row["payload"]["custom_data"]["contents"] == [{"id": "a"}]

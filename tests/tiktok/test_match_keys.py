"""Payload fixes that affect matching (issue 13): IDFA/GAID case, content columns folded into
contents, contents[].status, the per-row warnings about fields a source does not carry, and
match-key coverage (plan, sync, min_match_coverage)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from reverse_etl.destinations.shared.pii import normalise_gaid, normalise_idfa
from reverse_etl.destinations.tiktok.catalog import MATCH_KEYS, failure_bit
from reverse_etl.destinations.tiktok.mapping import map_columns
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.errors import InvalidRowsError
from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_PIXEL_CODE, SandboxServer
from tests.conftest import MakeProject

from .test_encode import encode

NOW = int(time.time()) - 3600
SECRET = "tok-match-keys-9b1e"

# (column value, what TikTok gets): raw IDFAs upper-case, hashed ones lower-case hex; GAIDs
# trimmed and lower-case either way (bububa track.go, Segment's app-events formatter).
IDFA_HASH = hashlib.sha256(b"1D5A0C2E-0000-4000-8000-000000000101").hexdigest()
IDFA_VECTORS = [
    (" 1d5a0c2e-0000-4000-8000-000000000101 ", "1D5A0C2E-0000-4000-8000-000000000101"),
    ("1D5A0C2E-0000-4000-8000-000000000103", "1D5A0C2E-0000-4000-8000-000000000103"),
    (IDFA_HASH.upper(), IDFA_HASH),
    ("   ", None),
]
GAID_VECTORS = [
    (" 38400000-8CF0-11BD-B23E-10B96E40000D ", "38400000-8cf0-11bd-b23e-10b96e40000d"),
    (IDFA_HASH.upper(), IDFA_HASH),
    ("", None),
]


def _app_rows(column: str, values: list[str]) -> str:
    rows = ", ".join(f"({i}, '{v}')" for i, v in enumerate(values))
    return (
        f"select 'InstallApp' as event, 'e' || i as event_id, {NOW} as event_time, "
        f"'343200656' as app_id, 'AUTHORIZED' as att_status, v as {column} "
        f"from (values {rows}) t(i, v)"
    )


@pytest.mark.parametrize(
    ("column", "vectors", "mirror"),
    [("idfa", IDFA_VECTORS, normalise_idfa), ("gaid", GAID_VECTORS, normalise_gaid)],
)
def test_advertising_ids_are_sent_in_tiktoks_case(
    engine: DuckDBEngine, column: str, vectors: list[tuple[str, str | None]], mirror: object
) -> None:
    rows = encode(engine, _app_rows(column, [raw for raw, _ in vectors]), "APP")
    sent = [row["payload"]["user"].get(column) for row in rows]
    assert sent == [expected for _, expected in vectors]
    assert [mirror(raw) for raw, _ in vectors] == sent  # type: ignore[operator]
    assert all(row["errors"] is None for row in rows)


def test_content_columns_become_the_single_contents_item(engine: DuckDBEngine) -> None:
    rows = encode(
        engine,
        f"""select 'ViewContent' as event, 'e' || i as event_id, {NOW} as event_time,
                   'https://shop.example/p' as page_url, 'USD' as currency,
                   id as content_id, name as content_name, cat as content_category
            from (values (1, 1077218, 'Socks', 'apparel'), (2, 1077219, 'Hat', null),
                         (3, null, null, null)) t(i, id, name, cat)""",
    )
    properties = [row["payload"]["properties"] for row in rows]
    assert properties == [
        {
            "currency": "USD",
            "contents": [
                {"content_id": "1077218", "content_name": "Socks", "content_category": "apparel"}
            ],
        },
        {"currency": "USD", "contents": [{"content_id": "1077219", "content_name": "Hat"}]},
        {"currency": "USD"},  # nothing to fold: no empty item
    ]


def test_contents_items_carry_status_and_a_content_column_beside_contents_is_refused(
    engine: DuckDBEngine,
) -> None:
    (row,) = encode(
        engine,
        f"""select 'Purchase' as event, 'o-1' as event_id, {NOW} as event_time,
                   'https://shop.example/done' as page_url,
                   [{{'content_id': 'sku-1', 'quantity': 2, 'status': 'shipped'}}] as contents""",
    )
    assert row["payload"]["properties"]["contents"] == [
        {"content_id": "sku-1", "quantity": 2, "status": "shipped"}
    ]
    mapping = map_columns(["event", "event_time", "contents", "content_id"], "WEB")
    (issue,) = [i for i in mapping.issues if i.severity == "error"]
    assert (issue.column, issue.rule) == ("content_id", "contents-key")
    assert issue.hint is not None and "did you mean the 'content_id' key" in issue.hint


@pytest.mark.parametrize(
    ("source", "select", "warning"),
    [
        (
            "WEB",
            "'purchase' as event, null::varchar as page_url",
            "event 'purchase' is sent as a custom event: did you mean 'Purchase'?; page_url is "
            "missing (TikTok expects page.url on WEB events)",
        ),
        (
            "WEB",
            "'add_to_cart' as event, 'https://x.example/' as page_url",
            "event 'add_to_cart' is sent as a custom event: did you mean 'AddToCart'?",
        ),
        (
            "WEB",
            "'complete payment' as event, 'https://x.example/' as page_url",
            "event 'complete payment' is sent as a custom event: did you mean 'Purchase'?",
        ),
        ("WEB", "'LoyaltyBonus' as event, 'https://x.example/' as page_url", None),
        ("WEB", "'Pageview' as event, 'https://x.example/' as page_url", None),
        (
            "WEB",
            "' Purchase ' as event, 'https://x.example/' as page_url",
            "event ' Purchase ' is sent as a custom event: the spaces around it keep it from "
            "being 'Purchase': write trim(event) in the model",
        ),
        (
            "WEB",
            "'Registration' as event, 'https://x.example/' as page_url",
            "event 'Registration' is a reserved name TikTok reports as "
            "'CompleteRegistration': write 'CompleteRegistration'",
        ),
        (
            "APP",
            "'ClickForm' as event, '343200656' as app_id",
            "event 'ClickForm' is a reserved name TikTok reports as 'Lead': write 'Lead'",
        ),
        ("APP", "'Registration' as event, '343200656' as app_id", None),  # an app event
        (
            "OFFLINE",
            "'PageView' as event",
            "event 'PageView' is not an OFFLINE standard event (TikTok may not count it)",
        ),
        (
            "APP",
            "'LaunchAPP' as event, '343200656' as app_id, 'ABC' as idfa, "
            "null::varchar as att_status",
            "idfa without att_status (TikTok cannot tell whether tracking was allowed)",
        ),
        (
            "APP",
            "'LaunchAPP' as event, '343200656' as app_id, null::varchar as idfa, "
            "null::varchar as att_status",
            None,
        ),
        (
            "OFFLINE",
            "'Purchase' as event, 'alice.example.com' as email, '+12133734253' as phone",
            "email is not an e-mail address (sent, but matches no one)",
        ),
        ("OFFLINE", "'Purchase' as event, ' Alice@Example.COM ' as email", None),
    ],
)
def test_row_warnings(engine: DuckDBEngine, source: str, select: str, warning: str | None) -> None:
    who = "" if "as email" in select else ", 'a@x.io' as email"  # one identifies the person
    (row,) = encode(engine, f"select 'k' as event_id, {NOW} as event_time, {select}{who}", source)
    assert row["errors"] is None
    assert row["warnings"] == warning


def test_a_parameter_the_source_does_not_read_is_not_sent(engine: DuckDBEngine) -> None:
    """ttclid and ttp are web-only, ip and user_agent web and app, external_id web and crm
    (the reference's §11, which overrides the connectors that send them for OFFLINE): they
    were sent to OFFLINE and CRM anyway, where TikTok ignores them at best (and the emulator
    refuses a limited_data_use). Now left out, with the not-for-source warning at the
    column; the match keys are the source's own (MatchKey.sources, from the catalog)."""
    cols = ["ttclid", "ttp", "ip", "user_agent", "external_id", "limited_data_use", "page_url"]
    mapping = map_columns(["event", "event_time", "email", *cols], "OFFLINE")
    assert sorted(m.column for m in mapping.columns) == ["email", "event", "event_time"]
    warned = {i.column: i for i in mapping.issues}
    assert sorted(warned) == sorted(cols)
    assert warned["ttclid"].message.endswith("(TikTok reads it on WEB only): not sent")
    assert {k.name for k in MATCH_KEYS if "OFFLINE" in k.sources} == {"email", "phone"}
    assert {k.name for k in MATCH_KEYS if "CRM" in k.sources} == {
        "email",
        "phone",
        "external_id",
        "lead_id",
    }
    assert all(k.strong_for <= k.sources for k in MATCH_KEYS)
    (row,) = encode(
        engine,
        f"""select 'Purchase' as event, 'k' as event_id, {NOW} as event_time, 'a@x.io' as email,
                   'E.C.P.x' as ttclid, 'ttp1' as ttp, '1.2.3.4' as ip, 'Mozilla' as user_agent,
                   'u-1' as external_id, true as limited_data_use""",
        "OFFLINE",
    )
    assert row["errors"] is None
    payload = row["payload"]
    assert isinstance(payload, dict)
    assert sorted(payload["user"]) == ["email"]
    assert "limited_data_use" not in payload


UNMATCHED = (
    "nothing identifies the person (no usable {}): TikTok cannot match the event to anyone (sent)"
)
WEB_KEYS = "email, phone, external_id, ttclid, ttp, ip with user_agent"


# Only the keys the source reads (catalog.PARAMS' sources; the reference's §11): a ttclid,
# an external_id or ip with user_agent is not sent on OFFLINE, so it identifies no one there.
APP_KEYS = "email, phone, ip with user_agent, idfa, gaid"
OFFLINE_KEYS, CRM_KEYS = "email, phone", "email, phone, external_id, lead_id"


@pytest.mark.parametrize(
    ("source", "select", "keys"),
    [
        ("WEB", "'https://x.example/' as page_url", WEB_KEYS),  # no identifier column
        ("WEB", "'https://x.example/' as page_url, ' ' as email, null as phone", WEB_KEYS),
        ("WEB", "'https://x.example/' as page_url, '1.2.3.4' as ip", WEB_KEYS),  # no user agent
        ("WEB", "'https://x.example/' as page_url, 'not-an-address' as email", WEB_KEYS),
        ("OFFLINE", "'x' as order_id", OFFLINE_KEYS),
        ("OFFLINE", "'E.C.P.x' as ttclid", OFFLINE_KEYS),
        ("OFFLINE", "'u-1' as external_id", OFFLINE_KEYS),
        ("OFFLINE", "'1.2.3.4' as ip, 'Mozilla' as user_agent", OFFLINE_KEYS),
        ("APP", "'343200656' as app_id, '1.2.3.4' as ip, 'Mozilla' as user_agent", None),
        ("CRM", "'l-1' as lead_id, 'E.C.P.x' as ttclid", None),
        ("APP", "'343200656' as app_id, '00000000-0000-0000-0000-000000000000' as gaid", APP_KEYS),
        ("CRM", "'l-1' as order_id", CRM_KEYS),
        ("CRM", "'l-1' as lead_id", None),
        ("WEB", "'https://x.example/' as page_url, 'E.C.P.x' as ttclid", None),
        ("WEB", "'https://x.example/' as page_url, '1.2.3.4' as ip, 'Mozilla' as user_agent", None),
        ("APP", "'343200656' as app_id, 'AUTHORIZED' as att_status, 'ABC-1' as idfa", None),
        ("OFFLINE", "'+12133734253' as phone", None),
    ],
)
def test_a_row_that_identifies_no_one_warns(
    engine: DuckDBEngine, source: str, select: str, keys: str | None
) -> None:
    """A row with no identifier at all was sent (a WEB one with no user object) without a
    word: TikTok cannot match it. Its reference leaves open whether TikTok rejects it (§2.6:
    UNCONFIRMED for offline; §11 is silent), so it is sent with a warning, which the summary
    counts. The keys are the source's match keys: an all-zero GAID, an ip without its user
    agent or a malformed e-mail identify no one; a CRM event's lead_id does."""
    (row,) = encode(
        engine,
        f"select 'k' as event_id, {NOW} as event_time, 'Purchase' as event, {select}",
        source,
    )
    assert row["errors"] is None
    unmatched = [r for r in (row["warnings"] or "").split("; ") if r.startswith("nothing")]
    assert unmatched == ([] if keys is None else [UNMATCHED.format(keys)])


def _bits(names: set[str]) -> int:
    keys = sum(k.bit for k in MATCH_KEYS if k.name in names)
    return keys + sum(failure_bit(n) for n in ("email", "phone") if f"bad {n}" in names)


def test_match_bits_per_row(engine: DuckDBEngine) -> None:
    rows = engine.rows(
        "SELECT __key, __match FROM ("
        + _encode_sql(
            engine,
            f"""select 'Purchase' as event, 'e' || i as event_id, {NOW} as event_time,
                       'https://shop.example/' as page_url, email, phone, ip, ua as user_agent,
                       ttclid
                from (values
                    (1, 'a@x.com', null, null, null, null),
                    (2, 'not-an-address', '+12133734253', '1.2.3.4', 'Mozilla', null),
                    (3, null, 'not a phone', '1.2.3.4', null, 'E.C.P.x'),
                    (4, ' ', '', null, 'Mozilla', '')
                ) t(i, email, phone, ip, ua, ttclid)""",
        )
        + ") ORDER BY __key"
    )
    assert dict(rows) == {
        "e1": _bits({"email"}),
        "e2": _bits({"phone", "ip_user_agent", "bad email"}),
        "e3": _bits({"ttclid", "bad phone"}),
        "e4": 0,
    }


def _encode_sql(engine: DuckDBEngine, select: str, source: str = "WEB") -> str:
    from reverse_etl.destinations.tiktok.encode import EncodeSpec, build_encode_sql

    schema = engine.schema(select)
    mapping = map_columns(schema.names, source)
    spec = EncodeSpec("m", source, ("event_id",), False)
    return build_encode_sql(f"({select}) AS t", schema, mapping, spec)


# --- plan and sync --------------------------------------------------------------------------
COVERAGE_MODEL = f"""
select 'Purchase' as event, 'o-' || i as event_id, {NOW} as event_time,
       'https://shop.example/done' as page_url,
       case when i <= 4 then 'buyer' || i || '@example.com'
            when i = 5 then 'buyer5-at-example.com' end as email,
       case when i in (2, 6) then '+1213373425' || i end as phone,
       case when i = 7 then 'E.C.P.click' || i end as ttclid,
       case when i >= 8 then '10.0.0.' || i end as ip,
       case when i >= 8 then 'Mozilla/5.0' end as user_agent
from range(1, 11) t(i)
"""


@pytest.fixture
def sandbox_token() -> str:
    """The token the ``server`` fixture (tests/conftest.py) accepts here."""
    return SECRET


def _project(tmp_path: Path, make_project: MakeProject, base_url: str, extra: str = "") -> Path:
    return make_project(
        tmp_path,
        {
            "models/events.sql": COVERAGE_MODEL,
            "destinations.yml": f"""
                destinations:
                  tiktok_web:
                    type: tiktok_events
                    model: events
                    auth_method: access_token
                    access_token: "{{{{ env_var('TIKTOK_ACCESS_TOKEN') }}}}"
                    event_source_id: {DEMO_PIXEL_CODE}
                    api_base_url: {base_url}
                    {extra}
            """,
        },
    )


# Ten rows: e-mail on 1-4 (5 is malformed), phone on 2 and 6, ttclid on 7, ip+user_agent on
# 8-10. Strong keys (email, phone, external_id, ttclid) on 1, 2, 3, 4, 6, 7: 60%.
EXPECTED_COVERAGE = {
    "rows_to_send": 10,
    "coverage": 0.6,
    "strong_keys": ["email", "phone", "external_id", "ttclid"],
    "min_match_coverage": None,
    "below_minimum": False,
    "keys": {
        "email": {"rows": 4, "share": 0.4},
        "phone": {"rows": 2, "share": 0.2},
        "external_id": {"rows": 0, "share": 0.0},
        "ttclid": {"rows": 1, "share": 0.1},
        "ttp": {"rows": 0, "share": 0.0},
        "ip_user_agent": {"rows": 3, "share": 0.3},
    },
    "normalisation_failures": {"email": 1, "phone": 0},
}


def test_plan_and_sync_report_match_coverage(
    tmp_path: Path,
    make_project: MakeProject,
    server: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    with Project.load(_project(tmp_path, make_project, server.base_url)) as project:
        (plan,) = project.plan()
        assert plan.match_keys is not None
        assert plan.to_dict()["match_keys"] == EXPECTED_COVERAGE
        assert plan.match_keys.summary().startswith(
            "match coverage 60% (6 of 10 rows to send carry email, phone, external_id or "
            "ttclid); email 40%, phone 20%, external_id 0%, ttclid 10%, ttp 0%, "
            "ip+user_agent 30%; 1 malformed e-mail(s)"
        )
        report = project.sync()
    assert report.ok and server.stats.events_accepted == 10
    (result,) = report.to_dict()["destinations"]
    assert result["match_keys"] == EXPECTED_COVERAGE
    # row 5 (a malformed e-mail alone) identifies no one: counted in the summary
    assert result["warning_reasons"] == [
        {"reason": "email is not an e-mail address (sent, but matches no one)", "rows": 1},
        {"reason": UNMATCHED.format(WEB_KEYS), "rows": 1},
    ]


def test_min_match_coverage_stops_the_run_before_anything_is_sent(
    tmp_path: Path,
    make_project: MakeProject,
    server: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    project_dir = _project(tmp_path, make_project, server.base_url, "min_match_coverage: 0.75")
    with Project.load(project_dir) as project, pytest.raises(InvalidRowsError) as caught:
        project.sync()
    message = caught.value.message
    assert message == (
        "destination 'tiktok_web': match coverage 60% (6 of 10 rows to send carry email, "
        "phone, external_id or ttclid) is below min_match_coverage 0.75 (75%): nothing was sent"
    )
    assert caught.value.key == "destinations.tiktok_web.min_match_coverage"
    assert server.stats.requests_by_endpoint() == {} and server.stats.events_accepted == 0
    report = sorted((tmp_path / ".retl" / "runs").glob("*.json"))[-1].read_text()
    assert "below min_match_coverage 0.75" in report  # the run report says why, for CI


def test_a_filled_value_is_told_as_blank_tells_it(engine: DuckDBEngine) -> None:
    """A match key's value is filled when it is not blank (shared/sql.py ``blank``): the same
    results as the whitespace regex alone, which ran on every row's ip, user agent, ttclid …
    (``blank`` skips it for text that starts with printable ASCII, nearly every one)."""
    from reverse_etl.destinations.shared.sql import blank
    from reverse_etl.destinations.tiktok.match import _filled

    assert _filled("v") == f"NOT {blank('v')}"  # the prefiltered test, not the regex alone
    values = [None, "", " ", "\t\n", "\u00a0", "\u3000 ", "a", " a", "\u00a0x", "é", "\x7f"]
    ((filled,),) = engine.rows(
        f"SELECT list_transform(?::VARCHAR[], v -> coalesce({_filled('v')}, false))", [values]
    )
    assert filled == [v is not None and v.strip() != "" for v in values]

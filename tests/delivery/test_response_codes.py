"""TikTok's response codes as its SDK defines them (tiktok_code.py), driven through the emulator:
throttling never ends a run, token codes ask to re-authorise, and a request TikTok refuses for
its top-level fields is one configuration error after one request, not a bisection of rows."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from pydantic import SecretStr
from scripted_http import ScriptedServer

from reverse_etl.delivery import Batch, DeliveryResult, RetryPolicy, batch_events
from reverse_etl.delivery import deliver as deliver_batches
from reverse_etl.destinations.tiktok.client import AUTH_HINT, TikTokClient, classify
from reverse_etl.destinations.tiktok.envelope import EnvelopeSpec
from reverse_etl.destinations.tiktok.responses import blamed_field, failed_events
from reverse_etl.errors import AuthError, RequestFieldError
from reverse_etl.project import Project
from reverse_etl.sandbox import (
    DEMO_ADVERTISER_ID,
    DEMO_PIXEL_CODE,
    DEMO_TOKEN,
    SandboxServer,
    SandboxWorld,
)

POLICY = RetryPolicy(max_attempts=8, base_delay=0.0, max_delay=0.0)
SECRET = "tok-SECRET-codes-3b9e17"
TRACK = "/open_api/v1.3/event/track/"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    world = SandboxWorld.demo()
    world.add_token(SECRET, [DEMO_ADVERTISER_ID])
    with SandboxServer(world) as srv:
        yield srv


def batches(n: int, size: int) -> list[Batch]:
    keys = [f"row-{i}" for i in range(n)]
    payloads = [
        orjson.dumps({"event": "Lead", "event_time": 1_700_000_000 + i, "event_id": k})
        for i, k in enumerate(keys)
    ]
    return list(batch_events([(keys, keys, payloads)], max_events=size))


def deliver(
    srv: SandboxServer,
    work: list[Batch],
    *,
    source_id: str = DEMO_PIXEL_CODE,
    threads: int = 4,
    policy: RetryPolicy = POLICY,
) -> tuple[DeliveryResult, list[str], list[str]]:
    acked: list[str] = []
    rejected: list[str] = []
    with TikTokClient(srv.base_url, SecretStr(DEMO_TOKEN), pool_size=threads) as client:
        result = deliver_batches(
            work,
            client.track,
            envelope=EnvelopeSpec("web", source_id).prefix(),
            thread_count=threads,
            policy=policy,
            on_ack=lambda b: acked.extend(b.key_list()),
            on_rejected=lambda b, m: rejected.extend(b.key_list()),
            sleep=lambda s: None,
            rng=random.Random(0),
            probe_first=True,
            auth_hint=AUTH_HINT,  # what the TikTok session hands the runner
        )
    return result, acked, rejected


# -- classification --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (40100, "transient"),
        (40132, "transient"),  # REQUEST_FREQUENCY_LIMITED
        (61000, "transient"),  # TOO_MANY_REQUESTS
        (60001, "transient"),  # MAINTENANCE
        (50000, "transient"),
        (50002, "transient"),  # SYS_TIMEOUT
        (51000, "transient"),
        (51234, "transient"),
        (52999, "transient"),
        (40102, "auth"),  # ACCESS_TOKEN_EXPIRE
        (40104, "auth"),  # EMPTY_ACCESS_TOKEN
        (40105, "auth"),  # INVALID_ACCESS_TOKEN
        (40063, "config"),  # INVALID_PARTNER_NAME
        (40001, "terminal"),
        (53000, "terminal"),
    ],
)
def test_codes_are_classified_as_tiktoks_sdk_defines_them(code: int, kind: str) -> None:
    assert classify(200, {"code": code, "message": "m"}).kind == kind


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("Invalid value for event_source_id: not a valid string.", "event_source_id"),
        ("event_source: Missing data for required field", "event_source"),
        ("Invalid value for event_source: must be one of web, app, offline, crm.", "event_source"),
        ("test_event_code: Not a valid string", "test_event_code"),
        ("Invalid pixel_code: does not exist", "event_source_id"),
        ("Invalid value for event_set_id", "event_source_id"),
        ("data.3.event_id: Not a valid string", None),
        ("Batch.0.properties.contents.0.content_id: Not a valid string", None),
        ("data: Too many events (1001); at most 1000 per request", None),
    ],
)
@pytest.mark.parametrize("code", [40002, 40000])
def test_a_40002_naming_a_top_level_field_is_a_settings_error(
    message: str, field: str | None, code: int
) -> None:
    """40000 is the SDK's INVALID_PARAMS, 40002 its PARAM_ERROR (tiktok_code.py): one fault,
    the request's parameters. A 40000 stopped the destination (an unknown code), so one bad
    event cost the whole sync even with skip_invalid_record; it is read as 40002 is."""
    assert blamed_field(message) == field
    outcome = classify(200, {"code": code, "message": message})
    assert (outcome.kind, outcome.field) == (("config", field) if field else ("invalid", None))


def test_the_failed_events_of_a_20001_are_read_from_the_plausible_shapes() -> None:
    body = b'{"data":[{"event_id":"a"},{"event_id":"b"},{"event_id":"c"}]}'
    shapes = [
        [2, 0],
        {"failed_events": [{"index": 2, "code": 40002, "message": "bad"}, {"index": 0}]},
        {"errors": [{"event_id": "c", "error_code": 50002}, {"event_id": "a"}]},
        {"failures": [{"event_index": 0}, {"idx": 2, "msg": "bad"}]},
    ]
    for data in shapes:
        failures = failed_events(data, "partial", body)
        assert failures is not None and [f.index for f in failures] == [0, 2], data
    transient = failed_events(shapes[2], "partial", body)
    assert transient is not None and transient[1].kind == "transient"
    # Not saying which events failed (or saying it in a way that cannot be placed): bisect.
    for data in (None, {}, {"failed_events": []}, [{"event_id": "zz"}], [1, 1], ["x"], [-1]):
        assert failed_events(data, "partial", body) is None, data


# -- through the emulator --------------------------------------------------------------------


def test_throttling_maintenance_and_internal_errors_never_end_the_run(
    sandbox: SandboxServer,
) -> None:
    codes = (40100, 40132, 61000, 60001, 50000, 50002, 51003, 52001)
    sandbox.faults.script(*(("code", c) for c in codes))
    result, acked, rejected = deliver(sandbox, batches(600, 100))

    assert result.terminal_error is None and result.complete
    assert result.retries == len(codes)
    assert sorted(acked) == sorted(f"row-{i}" for i in range(600)) and rejected == []
    assert sandbox.stats.events_accepted == 600
    assert all(sandbox.stats.rejected_by_code()[c] == 1 for c in codes)


def test_slow_down_answers_do_not_use_up_the_retry_attempts(sandbox: SandboxServer) -> None:
    two_attempts = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0)
    sandbox.faults.script(*[("code", c) for c in (40100, 40132, 61000, 60001)] * 2)
    result, acked, _ = deliver(sandbox, batches(100, 100), policy=two_attempts)
    assert result.complete and result.retries == 8 and len(acked) == 100

    # A system error does count: two in a row use up two attempts.
    sandbox.faults.script(("code", 50000), ("code", 50000))
    result, acked, _ = deliver(sandbox, batches(100, 100), policy=two_attempts)
    assert result.stop_reason == "retries exhausted" and acked == []


@pytest.mark.parametrize("code", [40102, 40104, 40105])
def test_an_expired_empty_or_invalid_token_asks_to_reauthorise(
    sandbox: SandboxServer, code: int
) -> None:
    sandbox.faults.script(("code", code))
    result, acked, _ = deliver(sandbox, batches(300, 100))

    assert isinstance(result.terminal_error, AuthError)
    assert result.terminal_error.code == code
    assert "re-authorise" in str(result.terminal_error)
    assert acked == [] and sandbox.stats.track_requests == 1


def test_the_emulator_answers_40104_without_a_token(sandbox: SandboxServer) -> None:
    body = {"event_source": "web", "event_source_id": DEMO_PIXEL_CODE, "data": [{"event": "x"}]}
    for headers in ({}, {"Access-Token": ""}):
        answer = httpx.post(sandbox.base_url + TRACK, json=body, headers=headers).json()
        assert answer["code"] == 40104
        assert classify(200, answer).kind == "auth"
    answer = httpx.post(sandbox.base_url + TRACK, json=body, headers={"Access-Token": "nope"})
    assert answer.json()["code"] == 40105


@pytest.mark.parametrize("source_id", ["CNOSUCHPIXEL", "7000000000000000002"])
def test_a_wrong_event_source_is_one_settings_error_after_one_request(
    sandbox: SandboxServer, source_id: str
) -> None:
    result, acked, rejected = deliver(sandbox, batches(3000, 1000), source_id=source_id)

    error = result.terminal_error
    assert isinstance(error, RequestFieldError) and error.field == "event_source_id"
    assert error.code == 40002
    assert sandbox.stats.track_requests == 1  # no bisection, no parallel copies
    assert acked == rejected == [] and result.bisections == 0
    assert result.stop_reason == "config"


def project(root: Path, base_url: str, extra: str = "") -> Path:
    (root / "models").mkdir(parents=True)
    (root / "models" / "events.sql").write_text(
        "select 'Lead' as event, 'lead-' || i as event_id, 1700000000 + i as event_time "
        "from range(30) t(i)\n"
    )
    (root / "destinations.yml").write_text(
        "destinations:\n"
        "  leads:\n"
        "    type: tiktok_events\n"
        "    model: events\n"
        "    auth_method: access_token\n"
        "    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"\n"
        f"    api_base_url: {base_url}\n"
        "    thread_count: 4\n"
        "    skip_invalid_record: true\n" + extra
    )
    return root


def test_sync_names_the_destinations_key_for_a_wrong_pixel(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    root = project(tmp_path, sandbox.base_url, "    event_source_id: CWRONGPIXEL\n")
    with Project.load(root) as p:
        report = p.sync()
    (result,) = report.results
    assert not report.ok and result.rejected == 0 and result.rejected_rows == []
    assert result.error is not None
    # the key's line (10), not the destination's (2), named as the project spells it
    assert result.error.startswith("destinations.yml:10 destinations.leads.event_source_id:")
    assert "pixel code" in result.error and "event_source_id" in result.error
    assert sandbox.stats.track_requests == 1 and sandbox.stats.events_accepted == 0


@pytest.mark.parametrize(("extra", "sent"), [("", None), ("    partner_name: Acme\n", "Acme")])
def test_partner_name_is_sent_only_when_configured(
    server: ScriptedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    extra: str,
    sent: str | None,
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    root = project(tmp_path, server.base_url, "    event_source_id: CPIXEL\n" + extra)
    with Project.load(root) as p:
        assert p.sync().ok
    (seen,) = server.seen
    assert orjson.loads(seen.body).get("partner_name") == sent


def test_an_unregistered_partner_name_names_its_key(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scripted_http import Reply

    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    server.script(Reply(body={"code": 40063, "message": "Invalid partner name.", "data": None}))
    extra = "    event_source_id: CPIXEL\n    partner_name: Acme\n"
    with Project.load(project(tmp_path, server.base_url, extra)) as p:
        (result,) = p.sync().results
    assert result.error is not None and "destinations.leads.partner_name" in result.error
    assert len(server.seen) == 1

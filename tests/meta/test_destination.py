"""MetaDestination end to end on loopback: target, session envelope, bisection, check."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from reverse_etl.delivery.batching import Batch, build_body
from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.delivery.runner import deliver
from reverse_etl.destinations.base import Target
from reverse_etl.destinations.meta.destination import MetaDestination
from reverse_etl.destinations.meta.match import MATCH_KEYS
from reverse_etl.errors import RequestFieldError
from tests.delivery.scripted_http import Reply, ScriptedServer

from .helpers import PIXEL, destination

POLICY = RetryPolicy(base_delay=0.0, max_delay=0.0, request_deadline=5.0)
SECRET = "EAAB-env-SECRET-token-77aa"


def env_destination(monkeypatch: pytest.MonkeyPatch, **settings: Any) -> MetaDestination:
    from reverse_etl.config.env import LazySecret, Location

    monkeypatch.setenv("META_TEST_TOKEN", SECRET)
    where = Location(Path(__file__), 1, "destinations.meta.access_token", secret=True)
    token = LazySecret("{{ env_var('META_TEST_TOKEN') }}", where)
    return destination(access_token=token, **settings)


@dataclass
class FakeMetaEmulator:
    pixels: list[str] = field(default_factory=list)

    def add_pixel(self, pixel_id: str) -> None:
        self.pixels.append(pixel_id)


@dataclass
class FakeSandbox:
    base_url: str = "http://127.0.0.1:9"
    meta: FakeMetaEmulator = field(default_factory=FakeMetaEmulator)


def test_capabilities_and_scope() -> None:
    dest = destination(action_source="physical_store")
    caps = MetaDestination.capabilities
    assert (caps.platform, caps.max_events_per_request, caps.dedup_window_seconds) == (
        "Meta",
        1000,
        48 * 3600,
    )
    assert (dest.type_name, dest.event_source, dest.state_scope()) == (
        "meta_conversions",
        "physical_store",
        f"meta:{PIXEL}",
    )
    # Meta reports match coverage as TikTok does: a count per key, the strong rows, the flag
    sums = dest.coverage_sql()
    assert len(sums) == len(MATCH_KEYS) + 2 and caps.match_coverage
    cov = dest.coverage(10, [0] * len(sums))
    assert (cov.rows, cov.coverage, cov.warnings) == (10, 0.0, ())


def test_target_reads_the_token_now_or_uses_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETL_ALLOWED_HOSTS", "proxy.example")  # a proxy its runner allows
    dest = env_destination(monkeypatch, api_base_url="https://proxy.example/")
    target = dest.target(None)
    assert target.base_url == "https://proxy.example"
    assert target.token.get_secret_value() == SECRET and not target.sandbox
    sandbox = FakeSandbox()
    boxed = dest.target(sandbox)  # type: ignore[arg-type]
    assert (boxed.base_url, boxed.sandbox) == (sandbox.base_url, True)
    assert boxed.token.get_secret_value() == "sandbox-token"
    assert sandbox.meta.pixels == [PIXEL]  # the emulator now serves this pixel


@pytest.mark.parametrize(
    ("code", "envelope"),
    [
        (None, b'{"partner_agent":"retl","data":['),
        ('T"1', b'{"test_event_code":"T\\"1","partner_agent":"retl","data":['),
    ],
)
def test_session_envelope(server: ScriptedServer, code: str | None, envelope: bytes) -> None:
    dest = destination(test_event_code=code)
    target = Target(server.base_url, SecretStr("tok-1234"))
    with dest.open(target, POLICY) as session:
        assert session.envelope == envelope
        assert (session.source.label, session.source.id) == ("website", PIXEL)
        assert "Conversions API" in session.auth_hint
        body = build_body(session.envelope, [b'{"event_name":"Lead"}'])
    assert orjson.loads(body)["data"] == [{"event_name": "Lead"}]


def test_a_rejected_batch_is_bisected_to_the_bad_event(server: ScriptedServer) -> None:
    bad = {
        "error": {
            "code": 100,
            "message": "Invalid parameter",
            "fbtrace_id": "T",
            "error_user_msg": "event_time is too old",
        }
    }
    ok = {"events_received": 1, "fbtrace_id": "T"}
    server.script(Reply(400, bad), Reply(200, ok), Reply(400, bad))
    dest = destination()
    acked: list[str] = []
    rejected: list[tuple[str, str]] = []
    with dest.open(Target(server.base_url, SecretStr("tok-1234")), POLICY) as session:
        result = deliver(
            [Batch(("k1", "k2"), ("h1", "h2"), (b'{"n":1}', b'{"n":2}'))],
            session.send,
            envelope=session.envelope,
            thread_count=1,
            policy=POLICY,
            on_ack=lambda b: acked.extend(b.key_list()),
            on_rejected=lambda b, m: rejected.extend((k, m) for k in b.key_list()),
            auth_hint=session.auth_hint,
        )
    assert (result.events_sent, result.events_rejected, result.bisections) == (1, 1, 1)
    assert acked == ["k1"]
    assert rejected == [("k2", "event_time is too old (code 100) [request_id T]")]
    assert all(s.headers["authorization"] == "Bearer tok-1234" for s in server.seen)


def test_explain_names_the_pixel_id_key() -> None:
    dest = destination()
    from reverse_etl.destinations.meta.session import MetaSession

    session = MetaSession(dest, None, None, b"")  # type: ignore[arg-type]
    problem = session.explain(RequestFieldError("Object with ID does not exist", field="pixel_id"))
    assert problem is not None
    assert problem.key == "destinations.meta.pixel_id"
    assert problem.message.startswith("Meta refused the destination's settings, not a row")
    assert "dataset (pixel) ID" in (problem.hint or "")


def test_check_reads_the_pixel(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = env_destination(monkeypatch, api_base_url=server.base_url)
    server.script(Reply(200, {"id": PIXEL, "name": "Shop"}))
    ok = dest.check(None, POLICY)
    assert ok.ok and [i.check for i in ok.items] == ["token", "pixel"]
    server.script(Reply(400, {"error": {"code": 190, "message": "Error validating access token"}}))
    refused = dest.check(None, POLICY)
    token, pixel = refused.items
    assert (token.status, token.key, token.code) == (
        "failed",
        "destinations.meta.access_token",
        190,
    )
    assert "Events Manager" in (token.hint or "") and pixel.status == "skipped"
    assert all(SECRET not in i.message for i in refused.items)

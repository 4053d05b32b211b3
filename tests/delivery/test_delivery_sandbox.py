"""End to end over loopback: runner + TikTokClient + the sandbox emulator, with faults."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator

import orjson
import pytest
from pydantic import SecretStr

from reverse_etl.delivery import (
    Batch,
    DeliveryResult,
    RetryPolicy,
    batch_events,
    deliver,
)
from reverse_etl.destinations.tiktok.client import TikTokClient
from reverse_etl.destinations.tiktok.envelope import EnvelopeSpec
from reverse_etl.errors import AuthError, TerminalDestinationError
from reverse_etl.sandbox import (
    DEMO_ADVERTISER_ID,
    DEMO_CRM_SET_ID,
    DEMO_PIXEL_CODE,
    DEMO_TOKEN,
    SandboxServer,
    SandboxWorld,
)

POLICY = RetryPolicy(max_attempts=8, base_delay=0.0, max_delay=0.0)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxWorld.demo()) as srv:
        yield srv


def events(
    n: int, bad: frozenset[int] = frozenset()
) -> Iterator[tuple[list[str], list[str], list[bytes]]]:
    """Arrow-like column chunks of uneven size; ``bad`` rows get a numeric event_id (40002)."""
    i = 0
    sizes = [137, 1, 999, 64]
    while i < n:
        size = min(sizes[i % len(sizes)], n - i)
        keys = [f"row-{j}" for j in range(i, i + size)]
        payloads = [
            orjson.dumps(
                {
                    "event": "Purchase",
                    "event_time": 1_700_000_000 + j,
                    "event_id": j if j in bad else f"row-{j}",
                    "properties": {"currency": "USD", "value": 9.5},
                }
            )
            for j in range(i, i + size)
        ]
        yield keys, [f"h{j}" for j in range(i, i + size)], payloads
        i += size


def run(
    srv: SandboxServer,
    batches: Iterator[Batch],
    *,
    threads: int = 4,
    token: str = DEMO_TOKEN,
    timeout: float = 60.0,  # a bound, never reached on loopback: no test races it
    envelope: EnvelopeSpec | None = None,
) -> tuple[DeliveryResult, list[str], list[tuple[str, str]]]:
    acked: list[str] = []
    rejected: list[tuple[str, str]] = []
    spec = envelope or EnvelopeSpec("web", DEMO_PIXEL_CODE)
    with TikTokClient(srv.base_url, SecretStr(token), pool_size=threads, timeout=timeout) as client:
        result = deliver(
            batches,
            client.track,
            envelope=spec.prefix(),
            thread_count=threads,
            policy=POLICY,
            on_ack=lambda b: acked.extend(b.keys),
            on_rejected=lambda b, m: rejected.append((b.keys[0], m)),
            sleep=lambda s: None,
            rng=random.Random(0),
        )
    return result, acked, rejected


def accepted_ids(srv: SandboxServer) -> Counter[str]:
    return Counter(str(e["data"]["event_id"]) for e in srv.events(test=False))


def wait_until_idle(srv: SandboxServer) -> None:
    # A request the client gave up on may still be inside the server; let it land.
    assert srv.stats.wait_idle(timeout=60)


def test_every_event_is_accepted_exactly_once_despite_faults(sandbox: SandboxServer) -> None:
    threads = 4
    sandbox.faults.configure(latency_seconds=0.002)  # let requests overlap at the server
    sandbox.faults.script(
        ("code", 40100),
        ("http", 503, 1),
        ("drop",),
        ("code", 50002),
        ("http", 502),
        ("drop",),
        ("code", 40100),
    )
    result, acked, rejected = run(sandbox, batch_events(events(5000), max_events=250))
    wait_until_idle(sandbox)

    assert result.terminal_error is None and result.complete
    assert result.events_sent == 5000 and result.retries == 7
    assert Counter(acked) == Counter(f"row-{j}" for j in range(5000))
    assert rejected == []
    assert accepted_ids(sandbox) == Counter(f"row-{j}" for j in range(5000))
    assert sandbox.stats.events_accepted == 5000
    assert sandbox.stats.max_batch_size == 250
    assert 1 <= sandbox.stats.max_in_flight <= threads


def test_a_retry_after_a_client_timeout_is_deduplicated_by_the_server(
    sandbox: SandboxServer,
) -> None:
    # The server still processes the request the client stopped waiting for; the retry
    # carries the same event_ids, so TikTok (here: the sandbox) drops it as a duplicate.
    # The sandbox holds the three requests until a fourth (a retry) arrives: the client has
    # then certainly timed out, however loaded the machine is.
    sandbox.faults.hold()

    def release_once_retried() -> None:
        sandbox.faults.wait_held(4, timeout=60)
        sandbox.faults.release()

    releaser = threading.Thread(target=release_once_retried)
    releaser.start()
    result, acked, _ = run(sandbox, batch_events(events(300), max_events=100), timeout=1.0)
    releaser.join()
    wait_until_idle(sandbox)

    assert result.events_sent == 300 and result.retries >= 1
    assert sorted(acked) == sorted(f"row-{j}" for j in range(300))
    assert accepted_ids(sandbox) == Counter(f"row-{j}" for j in range(300))
    # At least one held batch; each batch whose retry also landed counts once more.
    deduplicated = sandbox.stats.events_deduplicated
    assert deduplicated >= 100 and deduplicated % 100 == 0


@pytest.mark.parametrize("threads", [1, 3, 8])
def test_the_server_never_sees_more_than_thread_count_requests(
    sandbox: SandboxServer, threads: int
) -> None:
    sandbox.faults.configure(latency_seconds=0.003)
    result, _, _ = run(sandbox, batch_events(events(2000), max_events=50), threads=threads)
    assert result.events_sent == 2000
    assert sandbox.stats.max_in_flight <= threads


def test_bad_events_are_isolated_by_bisection(sandbox: SandboxServer) -> None:
    bad = frozenset({17, 640, 641, 1999})
    result, acked, rejected = run(sandbox, batch_events(events(2000, bad), max_events=1000))

    assert sorted(key for key, _ in rejected) == sorted(f"row-{j}" for j in bad)
    assert all("event_id" in message and "40002" in message for _, message in rejected)
    good = Counter(f"row-{j}" for j in range(2000) if j not in bad)
    assert Counter(acked) == good
    assert accepted_ids(sandbox) == good
    assert result.events_rejected == 4 and result.requests < 100


def test_a_revoked_token_stops_the_run(sandbox: SandboxServer) -> None:
    pulled = 0

    def source() -> Iterator[Batch]:
        nonlocal pulled
        for batch in batch_events(events(5000), max_events=100):
            pulled += 1
            yield batch

    result, acked, _ = run(sandbox, source(), threads=2, token="not-the-token")

    assert isinstance(result.terminal_error, AuthError)
    assert result.terminal_error.code == 40105
    assert "not-the-token" not in str(result.terminal_error)
    assert acked == [] and sandbox.stats.events_accepted == 0
    assert pulled <= 2 and sandbox.stats.track_requests <= 2


def test_a_wrong_pixel_code_is_reported_instead_of_bisected_to_the_end(
    sandbox: SandboxServer,
) -> None:
    result, acked, rejected = run(
        sandbox,
        batch_events(events(3000), max_events=1000),
        envelope=EnvelopeSpec("web", "CNOSUCHPIXEL"),
    )
    assert isinstance(result.terminal_error, TerminalDestinationError)
    assert result.terminal_error.code == 40002
    assert "event_source_id" in str(result.terminal_error)
    assert acked == [] and len(rejected) < 40
    assert sandbox.stats.track_requests < 120


def test_test_event_code_reaches_the_test_tab(sandbox: SandboxServer) -> None:
    spec = EnvelopeSpec("web", DEMO_PIXEL_CODE, "TEST123")
    result, _, _ = run(sandbox, batch_events(events(10)), envelope=spec)
    assert result.events_sent == 10
    assert sandbox.stats.test_events == 10 and sandbox.stats.live_events == 0


def test_client_calls_match_the_emulator(sandbox: SandboxServer) -> None:
    with TikTokClient(sandbox.base_url, SecretStr(DEMO_TOKEN)) as client:
        pixels = client.call(
            "GET", "/open_api/v1.3/pixel/list/", params={"advertiser_id": DEMO_ADVERTISER_ID}
        )
        assert [p["pixel_code"] for p in pixels["pixels"]] == [DEMO_PIXEL_CODE]
        sets = client.call(
            "GET",
            "/open_api/v1.3/crm/list/",
            params={"advertiser_id": DEMO_ADVERTISER_ID, "event_set_ids": [DEMO_CRM_SET_ID]},
        )
        assert [s["event_set_id"] for s in sets["crm_event_sets"]] == [DEMO_CRM_SET_ID]
        created = client.call(
            "POST",
            "/open_api/v1.3/pixel/create/",
            json={"advertiser_id": DEMO_ADVERTISER_ID, "pixel_name": "retl test"},
        )
        assert created["pixel_code"]
    with TikTokClient(sandbox.base_url, SecretStr("wrong")) as client, pytest.raises(AuthError):
        client.call("GET", "/open_api/v1.3/pixel/list/", params={"advertiser_id": "1"})


def test_the_client_is_safe_to_share_between_threads(sandbox: SandboxServer) -> None:
    body = EnvelopeSpec("web", DEMO_PIXEL_CODE).prefix()
    errors: list[BaseException] = []
    with TikTokClient(sandbox.base_url, SecretStr(DEMO_TOKEN), pool_size=4) as client:

        def worker(k: int) -> None:
            try:
                for n in range(10):
                    event = {"event": "Lead", "event_time": 1_700_000_000, "event_id": f"{k}-{n}"}
                    assert client.track(body + orjson.dumps(event) + b"]}").ok
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    assert errors == []
    assert sandbox.stats.events_accepted == 40

"""20001 (PARTIAL_OK) end to end: the emulator accepts part of a request, retl acknowledges
exactly that part and retries, rejects or bisects the rest, so nothing is lost or committed
that TikTok did not take."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
from pydantic import SecretStr

from reverse_etl.delivery import (
    Batch,
    DeliveryResult,
    RetryPolicy,
    SendOutcome,
    batch_events,
    deliver,
)
from reverse_etl.delivery.outcome import EventFailure
from reverse_etl.destinations.tiktok.client import TikTokClient
from reverse_etl.destinations.tiktok.envelope import EnvelopeSpec
from reverse_etl.project import Project
from reverse_etl.sandbox import (
    DEMO_ADVERTISER_ID,
    DEMO_PIXEL_CODE,
    DEMO_TOKEN,
    SandboxServer,
    SandboxWorld,
    parse_fault,
)

POLICY = RetryPolicy(max_attempts=4, base_delay=0.0, max_delay=0.0)
SECRET = "tok-SECRET-partial-7d0c4e"
NOW = int(time.time()) - 3600


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    world = SandboxWorld.demo()
    world.add_token(SECRET, [DEMO_ADVERTISER_ID])
    with SandboxServer(world) as srv:
        yield srv


def one_batch(n: int) -> list[Batch]:
    keys = [f"row-{i}" for i in range(n)]
    payloads = [
        orjson.dumps({"event": "Purchase", "event_time": 1_700_000_000 + i, "event_id": k})
        for i, k in enumerate(keys)
    ]
    return list(batch_events([(keys, [f"h{i}" for i in range(n)], payloads)]))


def send(
    srv: SandboxServer, batches: list[Batch], *, stop_on_invalid: bool = False
) -> tuple[DeliveryResult, list[str], list[tuple[str, str]]]:
    acked: list[str] = []
    rejected: list[tuple[str, str]] = []
    with TikTokClient(srv.base_url, SecretStr(DEMO_TOKEN), pool_size=2) as client:
        result = deliver(
            batches,
            client.track,
            envelope=EnvelopeSpec("web", DEMO_PIXEL_CODE).prefix(),
            thread_count=2,
            policy=POLICY,
            on_ack=lambda b: acked.extend(b.key_list()),
            on_rejected=lambda b, m: rejected.extend((k, m) for k in b.key_list()),
            sleep=lambda s: None,
            rng=random.Random(0),
            stop_on_invalid=stop_on_invalid,
        )
    return result, acked, rejected


def accepted(srv: SandboxServer) -> Counter[str]:
    return Counter(str(e["data"]["event_id"]) for e in srv.events(test=False))


def test_failed_events_are_rejected_with_tiktoks_reason_and_only_the_rest_acknowledged(
    sandbox: SandboxServer,
) -> None:
    sandbox.faults.script(("partial", [2, 7], 40002, "Invalid value for currency"))
    result, acked, rejected = send(sandbox, one_batch(10))

    good = [f"row-{i}" for i in range(10) if i not in (2, 7)]
    assert sorted(acked) == sorted(good)  # not the two TikTok did not take
    assert accepted(sandbox) == Counter(good)
    assert [key for key, _ in rejected] == ["row-2", "row-7"]
    for key, message in rejected:
        assert "Invalid value for currency" in message and "code 40002" in message
        assert f"data.{key[4:]}" in message  # TikTok's own per-event reason
    assert result.events_sent == 8 and result.events_rejected == 2
    assert result.requests == 1 and result.bisections == 0


def test_transiently_failed_events_are_sent_again_alone(sandbox: SandboxServer) -> None:
    sandbox.faults.script(("partial", [3, 4], 50002))
    result, acked, rejected = send(sandbox, one_batch(10))

    everything = Counter(f"row-{i}" for i in range(10))
    assert Counter(acked) == everything and rejected == []
    assert accepted(sandbox) == everything  # each event accepted exactly once
    assert sandbox.stats.events_deduplicated == 0  # the retry carried only the two
    assert result.requests == 2 and result.retries == 1 and result.complete


def test_events_a_partial_answer_rate_limits_do_not_use_up_the_attempts(
    sandbox: SandboxServer,
) -> None:
    """A 20001 that fails events with a rate-limit code (40100) asks only to slow down, as a
    40100 for the whole request does: their retry does not count against max_attempts (it
    did, so with attempts used up the events failed and the run stopped)."""
    sandbox.faults.script(("partial", [3, 4], 40100), ("partial", [1], 40132))
    acked: list[str] = []
    with TikTokClient(sandbox.base_url, SecretStr(DEMO_TOKEN), pool_size=1) as client:
        result = deliver(
            one_batch(10),
            client.track,
            envelope=EnvelopeSpec("web", DEMO_PIXEL_CODE).prefix(),
            thread_count=1,
            policy=RetryPolicy(max_attempts=1, base_delay=0.0, max_delay=0.0),
            on_ack=lambda b: acked.extend(b.key_list()),
            on_rejected=lambda b, m: None,
            sleep=lambda s: None,
            rng=random.Random(0),
        )
    everything = Counter(f"row-{i}" for i in range(10))
    assert Counter(acked) == everything and accepted(sandbox) == everything
    assert (result.requests, result.retries, result.events_failed) == (3, 2, 0)
    assert result.complete


def test_a_partial_answer_of_other_transient_codes_uses_up_the_attempts(
    sandbox: SandboxServer,
) -> None:
    sandbox.faults.script(("partial", [3, 4], 40100), ("partial", [0], 50002))
    acked: list[str] = []
    with TikTokClient(sandbox.base_url, SecretStr(DEMO_TOKEN), pool_size=1) as client:
        result = deliver(
            one_batch(10),
            client.track,
            envelope=EnvelopeSpec("web", DEMO_PIXEL_CODE).prefix(),
            thread_count=1,
            policy=RetryPolicy(max_attempts=1, base_delay=0.0, max_delay=0.0),
            on_ack=lambda b: acked.extend(b.key_list()),
            on_rejected=lambda b, m: None,
            sleep=lambda s: None,
            rng=random.Random(0),
        )
    assert sorted(acked) == sorted(f"row-{i}" for i in range(10) if i != 3)
    assert (result.requests, result.events_failed) == (2, 1)  # 50002 counts: given up


def test_a_partial_answer_that_names_no_event_is_bisected(sandbox: SandboxServer) -> None:
    sandbox.faults.script(("partial_unlisted", [5], 40002))
    result, acked, rejected = send(sandbox, one_batch(8))

    everything = Counter(f"row-{i}" for i in range(8))
    # Nothing acknowledged on trust: the halves were sent again, and acknowledged once each.
    assert Counter(acked) == everything and rejected == []
    assert accepted(sandbox) == everything
    assert result.bisections == 1 and result.requests == 3 and result.complete


def test_a_rejected_event_of_a_partial_answer_stops_when_invalid_rows_must_not_be_skipped(
    sandbox: SandboxServer,
) -> None:
    sandbox.faults.script(("partial", [0], 40002))
    result, acked, rejected = send(sandbox, one_batch(4), stop_on_invalid=True)
    assert sorted(acked) == ["row-1", "row-2", "row-3"]  # accepted ones are still committed
    assert [key for key, _ in rejected] == ["row-0"]
    assert result.stop_reason == "invalid"


def test_indices_outside_the_batch_are_not_trusted() -> None:
    calls: list[int] = []

    def sender(body: bytes) -> SendOutcome:
        n = len(orjson.loads(body)["data"])
        calls.append(n)
        if len(calls) == 1:  # a failure list that cannot be this request's: bisect instead
            return SendOutcome("partial", 20001, "partial", failures=(EventFailure(9, "invalid"),))
        return SendOutcome("ok", 0, "OK")

    acked: list[str] = []
    result = deliver(
        one_batch(4),
        sender,
        envelope=EnvelopeSpec("web", "P").prefix(),
        thread_count=1,
        policy=POLICY,
        on_ack=lambda b: acked.extend(b.key_list()),
        on_rejected=lambda b, m: None,
    )
    assert calls == [4, 2, 2] and sorted(acked) == [f"row-{i}" for i in range(4)]
    assert result.bisections == 1


def test_take_picks_events_from_arrow_and_python_columns() -> None:
    keys, hashes, payloads = ["a", "b", "c"], ["1", "2", "3"], [b"{}", b"[]", b"{ }"]
    for batch in (
        Batch(keys, hashes, payloads),
        Batch(pa.array(keys), pa.array(hashes), pa.array(payloads, pa.binary())),
    ):
        part = batch.take([2, 0])
        assert part.key_list() == ["c", "a"] and len(part) == 2
        assert list(part.payloads) in ([b"{ }", b"{}"], [pa.scalar(b"{ }"), pa.scalar(b"{}")])


def test_partial_fault_round_trips_through_json() -> None:
    from reverse_etl.sandbox.faults import fault_to_json

    for spec in (["partial", [3, 1], 50002], ["partial_unlisted", [0], 40002, "bad"]):
        fault = parse_fault(spec)
        assert parse_fault(fault_to_json(fault)) == fault
    with pytest.raises(ValueError, match="indices"):
        parse_fault(("partial", []))


def test_sync_commits_only_the_accepted_events_to_the_state(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    project_dir = tmp_path / "p"
    (project_dir / "models").mkdir(parents=True)
    (project_dir / "models" / "events.sql").write_text(
        f"select 'Purchase' as event, 'order-' || i as event_id, {NOW} - i as event_time, "
        "i * 1.5 as value, 'USD' as currency from range(6) t(i)\n"
    )
    (project_dir / "destinations.yml").write_text(
        "destinations:\n"
        "  tiktok:\n"
        "    type: tiktok_events\n"
        "    model: events\n"
        "    auth_method: access_token\n"
        "    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"\n"
        f"    event_source_id: {DEMO_PIXEL_CODE}\n"
        f"    api_base_url: {sandbox.base_url}\n"
        "    skip_invalid_record: true\n"
    )
    sandbox.faults.script(("partial", [1], 40002, "Invalid value for value"))
    with Project.load(project_dir) as project:
        report = project.sync()
        (result,) = report.results
        assert (result.sent, result.rejected, result.requests) == (5, 1, 1)
        (row,) = result.rejected_rows
        assert "Invalid value for value" in row.reason
        ids = {f"order-{i}" for i in range(6)}
        assert set(accepted(sandbox)) == ids - {row.key}
        # The state holds the five TikTok took; the sixth is still pending for the next sync.
        (plan,) = project.plan()
        assert (plan.rows_new, plan.rows_unchanged) == (1, 5)
        sandbox.faults.clear()
        again = project.sync()
    assert again.results[0].sent == 1 and again.ok
    assert set(accepted(sandbox)) == ids

"""An answer that counts the events it received (Meta's ``events_received``) acknowledges a
request only when the count is the request's: a success that received fewer says none of the
events by name, so the runner bisects to find those the platform did not take (before, every
event of such a request was acknowledged and recorded as sent)."""

from __future__ import annotations

import random
import threading

import orjson

from reverse_etl.delivery import DeliveryResult, RetryPolicy, SendOutcome, batch_events, deliver
from reverse_etl.destinations.meta.responses import classify

POLICY = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)


def test_meta_s_events_received_is_carried_by_its_success() -> None:
    outcome = classify(200, {"events_received": 3, "messages": [], "fbtrace_id": "T"})
    assert (outcome.kind, outcome.received) == ("ok", 3)
    assert classify(400, {"error": {"code": 100, "message": "bad"}}).received is None


def _run(n: int, dropped: set[str]) -> tuple[DeliveryResult, list[str], list[tuple[str, str]], int]:
    keys = [f"row-{i}" for i in range(n)]
    payloads = [orjson.dumps({"event_id": k}) for k in keys]
    batches = list(batch_events([(keys, [f"h{i}" for i in range(n)], payloads)]))
    calls = 0
    lock = threading.Lock()

    def send(body: bytes) -> SendOutcome:
        """Answers 200 with events_received, not counting the events in ``dropped``."""
        nonlocal calls
        with lock:
            calls += 1
        events = orjson.loads(body)["data"]
        taken = [e for e in events if e["event_id"] not in dropped]
        return SendOutcome("ok", message=f"{len(taken)} events received", received=len(taken))

    acked: list[str] = []
    rejected: list[tuple[str, str]] = []
    result = deliver(
        batches,
        send,
        envelope=b'{"data":[',
        thread_count=1,
        policy=POLICY,
        on_ack=lambda b: acked.extend(b.key_list()),
        on_rejected=lambda b, m: rejected.extend((k, m) for k in b.key_list()),
        sleep=lambda s: None,
        rng=random.Random(0),
    )
    return result, acked, rejected, calls


def test_a_success_that_received_fewer_events_acknowledges_only_those_found_received() -> None:
    result, acked, rejected, calls = _run(8, {"row-5"})
    assert sorted(acked) == sorted(f"row-{i}" for i in range(8) if i != 5)
    assert rejected == [("row-5", "the platform said it received 0 of the 1 events sent")]
    assert result.events_sent == 7 and result.events_rejected == 1
    assert result.bisections >= 3 and calls > 1


def test_a_success_that_received_every_event_is_one_request() -> None:
    result, acked, rejected, calls = _run(8, set())
    assert len(acked) == 8 and rejected == [] and calls == 1
    assert result.bisections == 0

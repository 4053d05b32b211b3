"""A request answered "invalid" (40002 for an event) after the run stopped is not bisected:
its events are failed, and, like a transient answer after a stop, the delivery log hears of
them (``on_answer`` with ``failed``). They were counted failed but left no log row, so a
run whose counts come from the log (docs/observability.md, "How the log stays true") lost
them, and ``retl runs show`` listed fewer failed rows than the run's result said."""

from __future__ import annotations

import threading

import orjson

from reverse_etl.delivery import Batch, Outcome, SendOutcome, deliver
from reverse_etl.delivery.retry import RetryPolicy
from tests.delivery.test_delivery_runner import ENVELOPE, ids_of

NO_WAIT = RetryPolicy(base_delay=0.0, max_delay=0.0)


def batch(*keys: str) -> Batch:
    payloads = tuple(orjson.dumps({"event": "Lead", "event_id": k}) for k in keys)
    return Batch(keys, tuple(f"h-{k}" for k in keys), payloads)


def test_an_invalid_answer_after_the_stop_is_logged_as_failed() -> None:
    second_sent, rejected_first = threading.Event(), threading.Event()
    answers: list[tuple[tuple[str, ...], str]] = []
    failed: list[tuple[str, ...]] = []

    def send(body: bytes) -> Outcome:
        if ids_of(body) == ["b1", "b2"]:  # sent, then answered once the run has stopped
            second_sent.set()
            assert rejected_first.wait(30)
        else:
            assert second_sent.wait(30)
        return SendOutcome("invalid", 40002, "data.0.event_id: Not a valid string")

    def on_rejected(b: Batch, message: str) -> None:
        rejected_first.set()

    result = deliver(
        iter([batch("a"), batch("b1", "b2")]),
        send,
        envelope=ENVELOPE,
        thread_count=2,
        policy=NO_WAIT,
        on_ack=lambda b: None,
        on_rejected=on_rejected,
        on_failed=lambda b, m: failed.append(tuple(b.keys)),
        on_answer=lambda b, fate, answer: answers.append((tuple(b.keys), fate)),
        sleep=lambda s: None,
        stop_on_invalid=True,  # skip_invalid_record: false
    )
    assert (result.events_rejected, result.events_failed, result.stop_reason) == (1, 2, "invalid")
    assert result.requests == 2 and result.bisections == 0
    assert answers == [(("a",), "rejected"), (("b1", "b2"), "failed")]
    assert failed == [("b1", "b2")]

"""The delivery runner, driven by fake senders: concurrency, retries, bisection, stopping."""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reverse_etl.delivery import (
    Batch,
    DeliveryObserver,
    DeliveryResult,
    Outcome,
    RetryPolicy,
    SendOutcome,
    batch_events,
    deliver,
)
from reverse_etl.destinations.tiktok.envelope import EnvelopeSpec
from reverse_etl.errors import (
    AuthError,
    TerminalDestinationError,
    TransientDestinationError,
)

ENVELOPE = EnvelopeSpec("web", "CPIXEL", None).prefix()
OK = SendOutcome("ok", 0, "OK")
NO_WAIT = RetryPolicy(base_delay=0.0, max_delay=0.0)


def batches(n_events: int, size: int) -> list[Batch]:
    keys = [f"k{i}" for i in range(n_events)]
    payloads = [orjson.dumps({"event": "Lead", "event_id": k}) for k in keys]
    return list(batch_events([(keys, [f"h-{k}" for k in keys], payloads)], max_events=size))


def ids_of(body: bytes) -> list[str]:
    return [event["event_id"] for event in orjson.loads(body)["data"]]


Decide = Callable[[list[str], int], Outcome]


@dataclass
class FakeSender:
    """Records every call; measures concurrency with a lock and a counter."""

    decide: Decide = lambda ids, call: OK
    before: Callable[[list[str]], object] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    max_in_flight: int = 0
    bodies: list[bytes] = field(default_factory=list)

    def __call__(self, body: bytes) -> Outcome:
        ids = ids_of(body)
        with self.lock:
            self.bodies.append(body)
            call = len(self.bodies)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.before is not None:
                self.before(ids)
            return self.decide(ids, call)
        finally:
            with self.lock:
                self.in_flight -= 1

    @property
    def calls(self) -> list[list[str]]:
        return [ids_of(b) for b in self.bodies]


@dataclass
class Recorder:
    """Collects callbacks and checks they all run on the thread that called deliver."""

    thread: int = field(default_factory=threading.get_ident)
    acked: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[Batch, str]] = field(default_factory=list)
    events: list[tuple[str, object]] = field(default_factory=list)

    def here(self) -> None:
        assert threading.get_ident() == self.thread

    def commit(self, batch: Batch) -> None:
        self.here()
        self.acked.extend(batch.keys)

    def reject(self, batch: Batch, message: str) -> None:
        self.here()
        assert len(batch) == 1
        self.rejected.append((batch.keys[0], message))

    def fail(self, batch: Batch, message: str) -> None:
        self.here()
        self.failed.append((batch, message))


class Observer(DeliveryObserver):
    """Records observer events (on the calling thread only) into a Recorder."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.acks = 0
        self.rejections = 0

    def on_request_start(self, n_events: int) -> None:
        self.rec.here()
        self.rec.events.append(("start", n_events))

    def on_request_end(self, n_events: int, outcome: Outcome) -> None:
        self.rec.here()
        self.rec.events.append(("end", outcome.kind))

    def on_retry(self, attempt: int, delay: float, outcome: Outcome) -> None:
        self.rec.here()
        self.rec.events.append(("retry", (attempt, delay)))

    def on_ack(self, n: int) -> None:
        self.rec.here()
        self.acks += n

    def on_rejected(self, n: int, message: str) -> None:
        self.rec.here()
        self.rejections += n

    def on_in_flight(self, n: int) -> None:
        self.rec.here()
        self.rec.events.append(("in_flight", n))


def run(
    source: Sequence[Batch] | Iterator[Batch],
    send: Callable[[bytes], Outcome],
    rec: Recorder,
    *,
    threads: int = 4,
    policy: RetryPolicy = NO_WAIT,
    observer: DeliveryObserver | None = None,
    stop_on_invalid: bool = False,
    reject_guard: int = 32,
) -> DeliveryResult:
    return deliver(
        source,
        send,
        envelope=ENVELOPE,
        thread_count=threads,
        policy=policy,
        on_ack=rec.commit,
        on_rejected=rec.reject,
        on_failed=rec.fail,
        observer=observer if observer is not None else Observer(rec),
        sleep=lambda s: None,
        rng=random.Random(0),
        stop_on_invalid=stop_on_invalid,
        reject_guard=reject_guard,
    )


def all_keys(n: int) -> list[str]:
    return [f"k{i}" for i in range(n)]


# -- happy path and concurrency ------------------------------------------------------------


def test_every_event_is_acked_once_with_full_concurrency_and_never_more() -> None:
    threads = 4
    barrier = threading.Barrier(threads)
    # Each wave of `threads` sends meets at the barrier: the runner must reach full
    # concurrency, and the counter shows whether it ever exceeds it.
    sender = FakeSender(before=lambda ids: barrier.wait(timeout=60))
    rec = Recorder()
    observer = Observer(rec)

    result = run(batches(4000, 100), sender, rec, threads=threads, observer=observer)

    assert sender.max_in_flight == threads
    assert sorted(rec.acked) == sorted(all_keys(4000))
    assert len(rec.acked) == 4000
    assert result.events_sent == 4000 and observer.acks == 4000
    assert result.requests == result.batches == 40
    assert result.retries == result.bisections == 0
    assert result.terminal_error is None and result.complete
    in_flight = [n for kind, n in rec.events if kind == "in_flight"]
    assert max(in_flight) == threads  # type: ignore[type-var]
    assert in_flight[-1] == 0


@pytest.mark.parametrize("threads", [1, 2, 7])
def test_concurrency_limit_holds_for_any_thread_count(threads: int) -> None:
    gate = threading.Event()
    sender = FakeSender(before=lambda ids: gate.wait(timeout=60))
    rec = Recorder()

    class OpenGateWhenFull(Observer):
        def on_in_flight(self, n: int) -> None:
            # Hold every request until the pool is full once, so overlap is forced.
            if n == threads:
                gate.set()

    result = run(batches(300, 10), sender, rec, threads=threads, observer=OpenGateWhenFull(rec))
    assert sender.max_in_flight == threads
    assert result.events_sent == 300


def test_input_is_pulled_lazily() -> None:
    pulled = 0
    acked_batches = 0
    threads = 3

    def source() -> Iterator[Batch]:
        nonlocal pulled
        for batch in batches(500, 10):
            pulled += 1
            yield batch

    rec = Recorder()

    def on_ack(batch: Batch) -> None:
        nonlocal acked_batches
        # Pulled = acknowledged + in flight: never more than `threads` ahead.
        assert pulled - acked_batches <= threads
        acked_batches += 1

    result = deliver(
        source(),
        FakeSender(),
        envelope=ENVELOPE,
        thread_count=threads,
        policy=NO_WAIT,
        on_ack=on_ack,
        on_rejected=rec.reject,
    )
    assert result.events_sent == 500 and acked_batches == 50


def test_empty_input_sends_nothing() -> None:
    sender = FakeSender()
    result = run([], sender, Recorder())
    assert sender.bodies == []
    assert result.events_sent == result.requests == result.batches == 0
    assert result.complete


def test_bodies_carry_the_envelope_and_the_batch() -> None:
    sender = FakeSender()
    run(batches(5, 5), sender, Recorder())
    (body,) = sender.bodies
    parsed = orjson.loads(body)
    assert parsed["event_source_id"] == "CPIXEL" and "partner_name" not in parsed
    assert [e["event_id"] for e in parsed["data"]] == all_keys(5)


# -- retries ---------------------------------------------------------------------------------


def test_transient_failures_are_retried_with_the_same_bytes_then_acked_once() -> None:
    failures: Counter[str] = Counter()

    def decide(ids: list[str], call: int) -> Outcome:
        if ids[0] == "k50" and failures[ids[0]] < 2:
            failures[ids[0]] += 1
            return SendOutcome("transient", 40100, "Too many requests.", retry_after=None)
        return OK

    sender = FakeSender(decide)
    rec = Recorder()
    result = run(batches(200, 50), sender, rec)

    assert sorted(rec.acked) == sorted(all_keys(200)) and len(rec.acked) == 200
    assert result.retries == 2 and result.requests == 6
    retried = [b for b in sender.bodies if ids_of(b)[0] == "k50"]
    assert len(retried) == 3 and len(set(retried)) == 1  # byte-identical, same event_ids
    assert [e for e in rec.events if e[0] == "retry"] == [("retry", (1, 0.0)), ("retry", (2, 0.0))]


def test_retry_after_sets_the_wait() -> None:
    waits: list[float] = []
    calls = 0

    def decide(ids: list[str], call: int) -> Outcome:
        nonlocal calls
        calls += 1
        return SendOutcome("transient", None, "HTTP 503", retry_after=7.0) if calls == 1 else OK

    rec = Recorder()
    result = deliver(
        batches(3, 3),
        FakeSender(decide),
        envelope=ENVELOPE,
        thread_count=2,
        policy=RetryPolicy(base_delay=0.1, max_delay=1.0),
        on_ack=lambda b: None,
        on_rejected=rec.reject,
        sleep=waits.append,
        rng=random.Random(3),
    )
    assert waits == [7.0]
    assert result.events_sent == 3 and result.retries == 1


def test_exhausted_retries_fail_the_batch_and_stop() -> None:
    def decide(ids: list[str], call: int) -> Outcome:
        return SendOutcome("transient", 50002, "Error processing request", "RID1")

    sender = FakeSender(decide)
    rec = Recorder()
    result = run(batches(50, 10), sender, rec, threads=1, policy=RetryPolicy(max_attempts=3))

    assert result.requests == 3 and result.retries == 2
    assert result.events_sent == 0 and result.events_failed == 10
    assert len(rec.failed) == 1 and "Error processing request" in rec.failed[0][1]
    assert isinstance(result.terminal_error, TransientDestinationError)
    assert result.terminal_error.code == 50002
    assert "3 attempt" in str(result.terminal_error) and "RID1" in str(result.terminal_error)
    assert result.stop_reason == "retries exhausted"
    assert not result.complete


def test_retries_stop_at_max_elapsed_with_an_injected_clock() -> None:
    now = [0.0]
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            now[0] += seconds

    def clock() -> float:
        with lock:
            return now[0]

    sender = FakeSender(lambda ids, call: SendOutcome("transient", None, "503", retry_after=10.0))
    rec = Recorder()
    result = deliver(
        batches(5, 5),
        sender,
        envelope=ENVELOPE,
        thread_count=1,
        policy=RetryPolicy(
            max_attempts=10, base_delay=1.0, max_delay=1.0, max_elapsed=25.0, request_deadline=1.0
        ),
        on_ack=rec.commit,
        on_rejected=rec.reject,
        sleep=sleep,
        clock=clock,
        rng=random.Random(0),
    )
    # Sends at t=0, 10, 20; a third retry could end at t=31 > 25.
    assert len(sender.bodies) == 3
    assert result.events_failed == 5
    assert isinstance(result.terminal_error, TransientDestinationError)


def test_a_sender_that_raises_destination_errors_is_classified() -> None:
    calls = 0

    def send(body: bytes) -> Outcome:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise TransientDestinationError("connection reset", retry_after=1.0)
        return OK

    rec = Recorder()
    result = run(batches(10, 10), send, rec)
    assert result.retries == 1 and result.events_sent == 10


# -- bisection -------------------------------------------------------------------------------


def invalid_if_any(bad: set[str]) -> Decide:
    def decide(ids: list[str], call: int) -> Outcome:
        for i, event_id in enumerate(ids):
            if event_id in bad:
                return SendOutcome("invalid", 40002, f"data.{i}.event_id: Not a valid string")
        return OK

    return decide


def test_bisection_isolates_one_bad_event_among_1000() -> None:
    sender = FakeSender(invalid_if_any({"k637"}))
    rec = Recorder()
    result = run(batches(1000, 1000), sender, rec)

    assert [key for key, _ in rec.rejected] == ["k637"]
    assert "Not a valid string" in rec.rejected[0][1] and "40002" in rec.rejected[0][1]
    assert sorted(rec.acked) == sorted(k for k in all_keys(1000) if k != "k637")
    assert len(rec.acked) == 999
    assert result.events_sent == 999 and result.events_rejected == 1
    assert result.events_failed == result.events_not_attempted == 0
    assert result.requests <= 2 * math.ceil(math.log2(1000)) + 1
    assert result.bisections == math.ceil(math.log2(1000))
    assert result.terminal_error is None and not result.complete


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    n=st.integers(min_value=1, max_value=120),
    size=st.integers(min_value=1, max_value=50),
    data=st.data(),
)
def test_bisection_rejects_exactly_the_bad_events(n: int, size: int, data: st.DataObject) -> None:
    keys = all_keys(n)
    bad = set(data.draw(st.lists(st.sampled_from(keys), max_size=6)))
    rec = Recorder()
    result = run(batches(n, size), FakeSender(invalid_if_any(bad)), rec, threads=3)

    assert {key for key, _ in rec.rejected} == bad and len(rec.rejected) == len(bad)
    assert sorted(rec.acked) == sorted(set(keys) - bad)
    assert result.events_sent + result.events_rejected == n


def test_stop_on_invalid_stops_after_the_first_rejection() -> None:
    sender = FakeSender(invalid_if_any({"k3", "k900"}))
    rec = Recorder()
    result = run(batches(1000, 10), sender, rec, threads=1, stop_on_invalid=True)
    assert [key for key, _ in rec.rejected] == ["k3"]
    assert result.stop_reason == "invalid" and result.terminal_error is None
    assert result.events_failed > 0  # the rest of the bisected batch
    assert result.batches == 1


def test_an_envelope_problem_does_not_bisect_forever() -> None:
    always = SendOutcome("invalid", 40002, "Invalid value for event_source_id")
    sender = FakeSender(lambda ids, call: always)
    rec = Recorder()
    result = run(batches(5000, 1000), sender, rec, threads=2, reject_guard=8)
    assert isinstance(result.terminal_error, TerminalDestinationError)
    assert result.terminal_error.code == 40002
    assert "event_source_id" in str(result.terminal_error)
    assert len(rec.rejected) <= 10
    assert len(sender.bodies) < 60


# -- stopping --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "error_type"),
    [
        (
            SendOutcome("terminal", 40001, "No permission to operate pixel code"),
            TerminalDestinationError,
        ),
        (SendOutcome("auth", 40105, "Access token is incorrect"), AuthError),
    ],
)
def test_terminal_errors_stop_submissions_but_in_flight_requests_finish(
    outcome: Outcome, error_type: type[Exception]
) -> None:
    release = threading.Event()

    def before(ids: list[str]) -> None:
        if ids[0] == "k0":
            release.wait(timeout=10)  # batch 1 is still in flight when batch 2 fails

    def decide(ids: list[str], call: int) -> Outcome:
        return OK if ids[0] == "k0" else outcome

    class ReleaseAfterFailure(Observer):
        def on_request_end(self, n_events: int, result: Outcome) -> None:
            super().on_request_end(n_events, result)
            if result.kind != "ok":
                release.set()

    sender = FakeSender(decide, before)
    rec = Recorder()
    source = iter(batches(100, 10))
    result = run(source, sender, rec, threads=2, observer=ReleaseAfterFailure(rec))

    assert len(sender.bodies) == 2  # nothing submitted after the failure
    assert rec.acked == all_keys(10)  # the in-flight batch was still acknowledged
    assert isinstance(result.terminal_error, error_type)
    assert result.terminal_error.code == outcome.code
    assert result.events_sent == 10 and result.events_failed == 10
    assert result.stop_reason == outcome.kind
    assert len(list(source)) == 8  # the input was not drained


def test_a_crashing_sender_is_re_raised_after_draining() -> None:
    def send(body: bytes) -> Outcome:
        raise RuntimeError("bug in send")

    with pytest.raises(RuntimeError, match="bug in send"):
        run(batches(30, 10), send, Recorder())


def test_a_failing_commit_stops_the_run() -> None:
    def on_ack(batch: Batch) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        deliver(
            batches(30, 10),
            FakeSender(),
            envelope=ENVELOPE,
            thread_count=2,
            policy=NO_WAIT,
            on_ack=on_ack,
            on_rejected=lambda b, m: None,
        )


def test_thread_count_must_be_positive() -> None:
    with pytest.raises(ValueError):
        run([], FakeSender(), Recorder(), threads=0)


def test_a_request_rejected_whole_points_at_the_platform_s_own_settings() -> None:
    """The stop after the first events were all rejected named TikTok's event_source for
    every platform (Meta's are pixel_id & co.): the platform says what to check."""
    from reverse_etl.destinations.meta.destination import MetaDestination
    from reverse_etl.destinations.tiktok.destination import TikTokDestination

    always = SendOutcome("invalid", 100, "Invalid parameter")
    for dest, named in ((MetaDestination, "pixel_id"), (TikTokDestination, "event_source_id")):
        sender = FakeSender(lambda ids, call: always)
        result = deliver(
            batches(100, 10),
            sender,
            envelope=ENVELOPE,
            thread_count=1,
            policy=NO_WAIT,
            on_ack=lambda b: None,
            on_rejected=lambda b, m: None,
            sleep=lambda s: None,
            rng=random.Random(0),
            reject_guard=8,
            request_settings=dest.capabilities.request_settings,
        )
        error = result.terminal_error
        assert isinstance(error, TerminalDestinationError)
        assert error.hint is not None and named in error.hint
        assert (MetaDestination is dest) == ("event_source" not in error.hint)

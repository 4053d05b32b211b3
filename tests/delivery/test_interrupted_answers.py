"""Ctrl-C or SIGTERM while requests are in flight: the runner sends nothing more, waits for
their answers, and deals with each as with any other (acknowledged, rejected, failed), then
hands the interruption back. It used to let them finish and throw the answers away, so the
next sync sent those events again, and a re-run more than 48 hours later double counted.

The CLI's own handler is installed (``signals_as_interrupt``) and real signals are sent to
the process. No timing: the sender signals once the runner holds its request in flight, and
answers only once the handler has held the signal (``interrupts.pending``)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from reverse_etl import interrupts
from reverse_etl.cli.output import signals_as_interrupt
from reverse_etl.delivery import (
    Batch,
    DeliveryObserver,
    DeliveryResult,
    Outcome,
    SendOutcome,
    deliver,
)
from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.errors import Interrupted
from tests.delivery.test_delivery_runner import ENVELOPE, OK, batches, ids_of

NO_WAIT = RetryPolicy(base_delay=0.0, max_delay=0.0)
INVALID = SendOutcome("invalid", 40002, "bad event")
TRANSIENT = SendOutcome("transient", 50000, "try again")


@pytest.fixture(autouse=True)
def cli_handler() -> Iterator[None]:
    """SIGINT and SIGTERM handled as the CLI handles them, for the test's duration."""
    assert threading.current_thread() is threading.main_thread()
    with signals_as_interrupt():
        yield


def signal_and_wait(sig: signal.Signals = signal.SIGTERM, held: int = 1) -> None:
    """Sends ``sig`` to this process from a worker thread; returns once the main thread's
    handler has held it (the ``held``-th signal of this run). Polled, not timed: the
    handler runs in the main thread as soon as it wakes."""
    os.kill(os.getpid(), sig)
    pause = threading.Event()
    while interrupts.received() < held:
        pause.wait(0.001)


class Tracked(DeliveryObserver):
    """Set once the runner holds a request in flight (it says so after tracking it), and
    once it has queued a retry."""

    def __init__(self) -> None:
        self.in_flight = threading.Event()
        self.retried = threading.Event()

    def on_in_flight(self, n: int) -> None:
        if n:
            self.in_flight.set()

    def on_retry(self, attempt: int, delay: float, outcome: Outcome) -> None:
        self.retried.set()


def interrupting(tracked: Tracked, answer: Callable[[list[str]], Outcome]) -> Callable:
    """A sender whose first request signals the process, then answers once the handler has
    held the signal; later requests (none should come) answer OK."""
    calls: list[list[str]] = []

    def send(body: bytes) -> Outcome:
        ids = ids_of(body)
        calls.append(ids)
        if len(calls) == 1:
            assert tracked.in_flight.wait(30)  # the runner holds this request in flight
            signal_and_wait()  # only then does the answer come back
        return answer(ids)

    send.calls = calls  # type: ignore[attr-defined]
    return send


def run(
    send: Callable[[bytes], Outcome],
    tracked: Tracked,
    *,
    events: int = 30,
    size: int = 10,
    threads: int = 1,
    policy: RetryPolicy = NO_WAIT,
) -> tuple[DeliveryResult, list[str], list[tuple[str, str]]]:
    acked: list[str] = []
    answered: list[tuple[str, str]] = []

    def on_answer(batch: Batch, fate: str, outcome: Outcome) -> None:
        answered.extend((str(k), fate) for k in batch.key_list())

    try:
        result = deliver(
            batches(events, size),
            send,
            envelope=ENVELOPE,
            thread_count=threads,
            policy=policy,
            on_ack=lambda b: acked.extend(str(k) for k in b.key_list()),
            on_rejected=lambda b, m: None,
            observer=tracked,
            on_answer=on_answer,
        )
    except KeyboardInterrupt:  # (pytest would end the session on it)
        pytest.fail(f"the interruption left deliver; the answers it had: {answered}")
    return result, acked, answered


def test_an_answer_that_arrives_after_the_signal_is_acknowledged() -> None:
    tracked = Tracked()
    send = interrupting(tracked, lambda ids: OK)
    result, acked, answered = run(send, tracked)
    first = [f"k{i}" for i in range(10)]
    assert acked == first  # recorded (the state's journal), not thrown away
    assert answered == [(k, "accepted") for k in first]
    assert send.calls == [first]  # type: ignore[attr-defined]  # nothing sent after it
    assert isinstance(result.interrupted, Interrupted)
    assert result.interrupted.signal_name == "SIGTERM"
    assert result.stop_reason == "interrupted"
    assert (result.events_sent, result.events_failed) == (10, 0)


def test_every_request_in_flight_is_answered_and_recorded() -> None:
    """Three requests in flight when the signal comes: all three answers are recorded, and
    the fourth batch is never sent."""
    tracked = Tracked()
    arrived = threading.Barrier(3)
    calls: list[list[str]] = []
    lock = threading.Lock()

    def send(body: bytes) -> Outcome:
        with lock:
            calls.append(ids_of(body))
            first = len(calls) == 1
        arrived.wait(30)  # three requests in flight at once
        if first:
            signal_and_wait()
        else:
            while interrupts.pending() is None:
                threading.Event().wait(0.001)
        return OK

    result, acked, _ = run(send, tracked, events=40, size=10, threads=3)
    assert len(calls) == 3
    assert sorted(acked) == sorted(k for c in calls for k in c)
    assert (result.events_sent, result.stop_reason) == (30, "interrupted")


def test_a_rejection_that_arrives_after_the_signal_is_recorded() -> None:
    tracked = Tracked()
    send = interrupting(tracked, lambda ids: INVALID)
    result, acked, answered = run(send, tracked, events=1, size=1)
    assert answered == [("k0", "rejected")]
    assert acked == [] and send.calls == [["k0"]]  # type: ignore[attr-defined]
    assert result.events_rejected == 1


def test_a_transient_answer_after_the_signal_fails_without_a_retry() -> None:
    tracked = Tracked()
    send = interrupting(tracked, lambda ids: TRANSIENT)
    result, acked, answered = run(send, tracked)
    assert acked == [] and len(send.calls) == 1  # type: ignore[attr-defined]
    assert answered == [(f"k{i}", "failed") for i in range(10)]  # the next sync sends them
    assert (result.events_failed, result.retries) == (10, 0)


def test_a_second_signal_while_waiting_still_records_the_answer(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-C twice: the request finishes either way (the pool's threads are joined), so
    its answer is recorded too, and retl says it still waits."""
    tracked = Tracked()

    def send(body: bytes) -> Outcome:
        assert tracked.in_flight.wait(30)
        signal_and_wait(signal.SIGINT)
        signal_and_wait(signal.SIGINT, held=2)
        return OK

    result, acked, _ = run(send, tracked, events=10, size=10)
    assert acked == [f"k{i}" for i in range(10)]
    assert isinstance(result.interrupted, Interrupted) and result.events_sent == 10
    assert result.interrupted.signal_name == "SIGINT"
    said = capfd.readouterr().err
    assert "retl: SIGINT received, stopping\n" in said
    assert "retl: SIGINT received again, still waiting for the answers" in said


def test_a_signal_during_a_backoff_stops_the_wait() -> None:
    """The only request in flight waits out a backoff of an hour (the platform asked for it):
    the signal is taken while nothing answers, and the wait ends; its events count as
    failed (sent before), for the next sync. Without it the run would wait the hour."""
    tracked = Tracked()
    slow_down = SendOutcome("transient", 429, "slow down", retry_after=3600.0)
    patient = RetryPolicy(max_delay=7200.0, max_elapsed=10_000.0, request_deadline=1.0)
    calls: list[list[str]] = []

    def send(body: bytes) -> Outcome:
        calls.append(ids_of(body))
        return slow_down

    def signaller() -> None:
        assert tracked.retried.wait(30)
        signal_and_wait()

    thread = threading.Thread(target=signaller)
    thread.start()
    try:
        result, acked, answered = run(send, tracked, events=10, size=10, policy=patient)
    finally:
        thread.join()
    assert len(calls) == 1 and acked == [] and answered == []  # the retry was never sent
    assert (result.events_failed, result.stop_reason) == (10, "interrupted")
    assert isinstance(result.interrupted, Interrupted)


def test_outside_a_sending_loop_the_signal_is_raised() -> None:
    """Only the sending loop holds signals: elsewhere (reading a model, say) the CLI's
    handler raises at once, as it always did."""
    with pytest.raises(Interrupted) as raised:
        os.kill(os.getpid(), signal.SIGTERM)
        threading.Event().wait(5)  # the handler runs in this thread and raises
    assert raised.value.signal_name == "SIGTERM"


def test_a_sending_loop_in_another_thread_holds_no_signal() -> None:
    """A sync run from a thread (a library caller, a web page's worker) must not stop the
    main thread's Ctrl-C from raising: only the main thread's loop holds signals."""
    entered = threading.Event()
    leave = threading.Event()

    def loop() -> None:
        with interrupts.held():
            entered.set()
            leave.wait(30)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        assert entered.wait(30)
        with pytest.raises(Interrupted):
            os.kill(os.getpid(), signal.SIGINT)
            threading.Event().wait(5)
    finally:
        leave.set()
        thread.join()


def test_a_signal_while_an_answer_is_recorded_sends_nothing_more() -> None:
    """The signal lands while the main thread records an answer (the journal append, in
    ``on_ack``): held, and taken before the loop tops up its requests, so the next batch is
    never sent (no test failed with that look removed)."""
    calls: list[list[str]] = []
    acked: list[str] = []

    def send(body: bytes) -> Outcome:
        calls.append(ids_of(body))
        return OK

    def on_ack(batch: Batch) -> None:
        acked.extend(str(k) for k in batch.key_list())
        os.kill(os.getpid(), signal.SIGTERM)
        pause = threading.Event()
        while interrupts.received() < 1:  # the handler runs here, in the main thread
            pause.wait(0.001)

    result = deliver(
        batches(30, 10),
        send,
        envelope=ENVELOPE,
        thread_count=1,
        policy=NO_WAIT,
        on_ack=on_ack,
        on_rejected=lambda b, m: None,
    )
    assert calls == [[f"k{i}" for i in range(10)]] and acked == calls[0]
    assert isinstance(result.interrupted, Interrupted)
    assert (result.events_sent, result.events_not_attempted) == (10, 0)


def test_a_signal_held_after_the_loops_last_look_is_still_returned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The signal lands after the loop's last look but before it stops holding signals (the
    requests all answered, the pool joined): held, so not raised, and it must not be lost
    either. It was: deliver returned a complete result, the sync went on (the next
    destination's loop forgot it) and exited 0 after a Ctrl-C."""
    real_held = interrupts.held

    @contextmanager
    def signalled_at_the_end() -> Iterator[None]:
        with real_held():
            yield
            os.kill(os.getpid(), signal.SIGTERM)
            pause = threading.Event()
            while interrupts.received() < 1:  # the handler runs here, in the main thread
                pause.wait(0.001)

    monkeypatch.setattr(interrupts, "held", signalled_at_the_end)
    tracked = Tracked()
    send = interrupting(tracked, lambda ids: OK)
    send.calls.append([])  # type: ignore[attr-defined]  # no signal from the sender
    result, acked, _ = run(send, tracked, events=20, size=10)
    assert len(acked) == 20  # every batch answered before the signal
    assert isinstance(result.interrupted, Interrupted)
    assert result.interrupted.signal_name == "SIGTERM"

"""An answer the state cannot record (a warehouse restarted, a full disk) stops the send as
an error does: nothing new is sent, the answers in flight are still passed on (a store that
reconnects records them), and the exception is handed back in the result, for the sync to
record the destination's result before it raises it. It used to propagate out of the loop:
the answers in flight were thrown away and the run's report had no result for the
destination (``not_run``), though it had sent."""

from __future__ import annotations

import threading

from reverse_etl.delivery import Batch, Outcome, SendOutcome, deliver
from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.errors import AuthError, EngineError
from tests.delivery.test_delivery_runner import ENVELOPE, FakeSender, batches

NO_WAIT = RetryPolicy(base_delay=0.0, max_delay=0.0)


class FailingState:
    """``on_answer`` that raises on the ``fail_at``-th call (1-based) and records the rest."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.calls: list[tuple[str, str]] = []  # (first key, fate)
        self.recorded: list[str] = []
        self.error = EngineError("lost the connection to PostgreSQL")

    def __call__(self, batch: Batch, fate: str, answer: Outcome) -> None:
        self.calls.append((batch.keys[0], fate))
        if len(self.calls) == self.fail_at:
            raise self.error
        self.recorded.extend(batch.keys)


def _deliver(  # type: ignore[no-untyped-def]
    source: list[Batch],
    send: FakeSender,
    state: FailingState,
    threads: int,
    policy: RetryPolicy = NO_WAIT,
    stop_on_invalid: bool = False,
):
    return deliver(
        iter(source),
        send,
        envelope=ENVELOPE,
        thread_count=threads,
        policy=policy,
        on_ack=lambda b: None,
        on_rejected=lambda b, m: None,
        on_answer=state,
        sleep=lambda s: None,
        stop_on_invalid=stop_on_invalid,
    )


def test_an_answer_not_recorded_stops_the_send_and_is_handed_back() -> None:
    source = batches(50, 10)
    sender, state = FakeSender(), FailingState(fail_at=2)
    result = _deliver(source, sender, state, threads=1)  # no raise
    assert result.not_recorded is state.error
    assert result.stop_reason == "not recorded"
    assert len(sender.bodies) == 2  # nothing sent after it
    assert result.events_sent == 20  # both were delivered: the platform has them
    assert state.recorded == [f"k{i}" for i in range(10)]


def test_the_answers_in_flight_are_still_passed_on() -> None:
    """Three requests in flight when the first answer cannot be recorded: the other two
    answers are still passed to the state (which records them), and nothing more is sent."""
    all_in = threading.Event()
    lock = threading.Lock()
    started: list[str] = []

    def before(ids: list[str]) -> None:
        with lock:
            started.append(ids[0])
            if len(started) == 3:
                all_in.set()
        assert all_in.wait(timeout=30)  # no answer before all three are in flight

    source = batches(100, 10)
    sender, state = FakeSender(before=before), FailingState(fail_at=1)
    result = _deliver(source, sender, state, threads=3)
    assert len(sender.bodies) == 3
    assert len(state.calls) == 3  # the two in flight were passed on
    assert len(state.recorded) == 20  # and recorded
    assert result.events_sent == 30
    assert result.not_recorded is state.error


def test_the_platform_s_error_is_kept_when_its_answer_cannot_be_recorded() -> None:
    """A refused token stops the send; the delivery log's row for that answer failing too
    must not hide the key to fix."""
    refused = SendOutcome("auth", 40105, "Access token is incorrect")
    sender, state = FakeSender(lambda ids, call: refused), FailingState(fail_at=1)
    result = _deliver(batches(30, 10), sender, state, threads=1)
    assert result.stop_reason == "auth"
    assert isinstance(result.terminal_error, AuthError)
    assert result.not_recorded is state.error
    assert [fate for _, fate in state.calls] == ["failed"]


def test_retries_out_keep_their_error_too() -> None:
    transient = SendOutcome("transient", 50000, "try again")
    sender, state = FakeSender(lambda ids, call: transient), FailingState(fail_at=1)
    twice = RetryPolicy(base_delay=0.0, max_delay=0.0, max_attempts=2)
    result = _deliver(batches(10, 10), sender, state, threads=1, policy=twice)
    assert result.stop_reason == "retries exhausted"
    assert result.terminal_error is not None and "gave up after 2" in result.terminal_error.message
    assert result.not_recorded is state.error


def test_ok_answers_recorded_as_usual() -> None:
    sender, state = FakeSender(), FailingState(fail_at=0)
    result = _deliver(batches(30, 10), sender, state, threads=2)
    assert result.not_recorded is None and result.stop_reason is None
    assert sorted(state.recorded) == sorted(f"k{i}" for i in range(30))


def test_a_rejection_that_stops_the_run_keeps_its_reason() -> None:
    """skip_invalid_record false: the rejected event stops the run; its delivery-log row
    failing too must not turn the stop into 'not recorded' (the rows to fix were lost)."""
    invalid = SendOutcome("invalid", 40002, "bad event")
    sender, state = FakeSender(lambda ids, call: invalid), FailingState(fail_at=1)
    result = _deliver(batches(1, 1), sender, state, threads=1, stop_on_invalid=True)
    assert result.stop_reason == "invalid"
    assert result.events_rejected == 1
    assert result.not_recorded is state.error

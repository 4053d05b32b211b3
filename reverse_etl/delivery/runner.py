"""Deliver batches: bounded concurrency, retries, bisection of rejected batches.

Worker threads only build bodies and call ``send``. Every decision, counter and callback lives
in the calling thread, so the caller can commit state per acknowledged batch without locks.

A batch waiting out its backoff holds its worker slot: an API that is struggling (rate limits,
5xx) then sees less load from us, not more, and ``thread_count`` bounds requests either way.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from reverse_etl import interrupts
from reverse_etl.delivery.batching import Batch, build_body
from reverse_etl.delivery.observer import DeliveryObserver, NullObserver
from reverse_etl.delivery.outcome import (
    INVALID,
    OK,
    PARTIAL,
    TRANSIENT,
    EventFailure,
    Outcome,
    Send,
    SendOutcome,
    describe,
    outcome_of,
    stop_error,
)
from reverse_etl.delivery.result import DeliveryResult
from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.errors import (
    DestinationError,
    Interrupted,
    TerminalDestinationError,
    TransientDestinationError,
)

# With an envelope problem the destination did not name (see Outcome's "config" kind) every
# event is "invalid" and bisection would cost ~2 requests per event. When this many rejections
# arrive before a single acknowledgement, the fault is almost surely not in the rows: stop.
DEFAULT_REJECT_GUARD = 32
# Answers that show the destination took the request itself (its event source, token, test
# code): after one of these, ``probe_first`` no longer holds the other slots back.
_ENVELOPE_ACCEPTED = frozenset({OK, PARTIAL, INVALID})
# How often the loop looks for a held Ctrl-C/SIGTERM while no answer comes (seconds). An
# answer wakes it at once; this only bounds how long a backoff wait delays the stop.
_NOTICE_SIGNAL = 0.2


@dataclass(frozen=True)
class _Unit:
    """One request's worth of work: a batch plus where it stands in its retry budget."""

    batch: Batch
    seq: int
    attempt: int = 1
    delay: float = 0.0
    first_start: float = 0.0
    sent_before: bool = False  # were these events already in a request? (failed vs unsent)
    throttles: int = 0  # attempts answered "slow down": they do not use up max_attempts


def deliver(
    batches: Iterable[Batch],
    send: Send,
    *,
    envelope: bytes,
    thread_count: int,
    policy: RetryPolicy,
    on_ack: Callable[[Batch], None],
    on_rejected: Callable[[Batch, str], None],
    observer: DeliveryObserver | None = None,
    sleep: Callable[[float], object] | None = None,
    stop_on_invalid: bool = False,
    on_failed: Callable[[Batch, str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    reject_guard: int = DEFAULT_REJECT_GUARD,
    probe_first: bool = False,
    auth_hint: str | None = None,
    on_answer: Callable[[Batch, str, Outcome], None] | None = None,
    request_settings: str = "this destination's settings",
) -> DeliveryResult:
    """Send every batch with at most ``thread_count`` requests in flight; report as they land.

    ``batches`` is pulled lazily, one batch per free slot, and is not drained after a stop.
    ``on_ack``, ``on_rejected``, ``on_failed`` and the observer run in this thread, in the
    order answers arrive. Transient failures are retried with the same bytes per ``policy``;
    a batch out of retries is passed to ``on_failed`` and stops the run. A rejected (invalid)
    batch is split in halves until single bad events are isolated and passed to
    ``on_rejected``. Auth and terminal errors stop the run: nothing new is sent, requests in
    flight finish (and are acknowledged if they succeed), and the error is returned in
    ``DeliveryResult.terminal_error`` for the caller to raise. A partly accepted batch
    (``partial``) has its accepted events acknowledged, its failed events retried or rejected
    one by one per their own kind, or, when the answer does not say which failed, is bisected.

    ``probe_first`` sends one request alone until the destination has taken one (acknowledged
    it, or rejected only events in it): a wrong event source or token then costs one request,
    not ``thread_count``.

    ``sleep`` waits out backoff delays in a worker thread; by default the wait is cut short
    when the run stops. ``clock`` and ``rng`` make retry timing deterministic in tests.

    ``request_settings`` names what to check when the first ``reject_guard`` events were all
    rejected (the platform's ``Capabilities.request_settings``).

    A Ctrl-C or SIGTERM the CLI receives while this runs is held (``reverse_etl.interrupts``)
    and taken between answers: it stops the run like an error does (nothing new is sent, a
    queued retry or half is dropped), the requests in flight finish and their answers are
    dealt with as any other (acknowledged, rejected, failed: no retry), then the interruption
    is returned in ``DeliveryResult.interrupted`` for the caller to raise once it has
    recorded the result. It never lands inside a callback or a lock of this loop.

    ``on_answer(batch, fate, answer)`` sees the answer each batch ended with: ``accepted``
    (right after ``on_ack``), ``rejected`` or ``failed`` (out of retries, stopped by an
    auth, terminal or config answer, or answered after the run stopped, when it is neither
    retried nor bisected): the delivery log's rows. When it raises (the state
    could not record the answer: a server gone, a full disk), the run stops as on an error:
    nothing new is sent, the answers in flight are still passed to it (a store that
    reconnects records them), and the first exception is returned in
    ``DeliveryResult.not_recorded``, for the caller to raise once it has recorded the result
    (the batch itself was delivered: counted as the platform answered it).
    """
    if thread_count < 1:
        raise ValueError("thread_count must be at least 1")
    run = _Run(
        send=send,
        envelope=envelope,
        thread_count=thread_count,
        policy=policy,
        on_ack=on_ack,
        on_rejected=on_rejected,
        on_failed=on_failed,
        observer=observer or NullObserver(),
        sleep=sleep,
        stop_on_invalid=stop_on_invalid,
        clock=clock,
        rng=rng or random.Random(),
        reject_guard=reject_guard,
        probing=probe_first,
        auth_hint=auth_hint,
        on_answer=on_answer,
        request_settings=request_settings,
    )
    return run.execute(iter(batches))


@dataclass
class _Run:
    send: Send
    envelope: bytes
    thread_count: int
    policy: RetryPolicy
    on_ack: Callable[[Batch], None]
    on_rejected: Callable[[Batch, str], None]
    on_failed: Callable[[Batch, str], None] | None
    observer: DeliveryObserver
    sleep: Callable[[float], object] | None
    stop_on_invalid: bool
    clock: Callable[[], float]
    rng: random.Random
    reject_guard: int
    probing: bool = False
    auth_hint: str | None = None
    on_answer: Callable[[Batch, str, Outcome], None] | None = None
    request_settings: str = "this destination's settings"

    def __post_init__(self) -> None:
        self.stopping = threading.Event()  # read by workers: skip sends once the run stops
        self.stop_reason: str | None = None
        self.error: DestinationError | None = None
        self.crash: BaseException | None = None
        self.interrupted: Interrupted | None = None  # a held Ctrl-C/SIGTERM, taken
        self.not_recorded: Exception | None = None  # the first exception of on_answer
        self.queue: deque[_Unit] = deque()  # bisected halves and retries, ahead of new input
        self.in_flight: dict[Future[Outcome | None], _Unit] = {}
        self.seq = 0
        self.sent = self.rejected = self.failed = self.not_attempted = 0
        self.batches = self.requests = self.retries = self.bisections = 0

    # -- main thread ------------------------------------------------------------------------

    def execute(self, source: Iterator[Batch]) -> DeliveryResult:
        started = self.clock()
        pool = ThreadPoolExecutor(max_workers=self.thread_count, thread_name_prefix="retl-send")
        with interrupts.held():  # Ctrl-C/SIGTERM taken here, between answers
            try:
                while True:
                    self._take_signal()  # before any new request
                    self._fill(pool, source)
                    if not self.in_flight:
                        break
                    # (the timeout only lets a held signal be taken while every request in
                    # flight waits out a backoff)
                    done, _ = wait(self.in_flight, _NOTICE_SIGNAL, FIRST_COMPLETED)
                    self._take_signal()  # before the answers: no retry is queued after it
                    for future in sorted(done, key=lambda f: self.in_flight[f].seq):
                        self._finish(self.in_flight.pop(future), future)
                    if done:
                        self.observer.on_in_flight(len(self.in_flight))
            finally:
                self.stopping.set()  # wakes any backoff wait; workers then skip their send
                pool.shutdown(wait=True, cancel_futures=True)
        # One held after the loop's last look (with the last answers, while joining, or as
        # the hold ended): held means not raised, so taken here or lost (the sync went on).
        # From here on the handler raises.
        self._take_signal()
        for unit in self.queue:
            self._drop(unit)
        if self.crash is not None:
            raise self.crash
        return DeliveryResult(
            events_sent=self.sent,
            events_rejected=self.rejected,
            events_failed=self.failed,
            events_not_attempted=self.not_attempted,
            batches=self.batches,
            requests=self.requests,
            retries=self.retries,
            bisections=self.bisections,
            terminal_error=self.error,
            stop_reason=self.stop_reason,
            elapsed=self.clock() - started,
            interrupted=self.interrupted,
            not_recorded=self.not_recorded,
        )

    def _take_signal(self) -> None:
        """A Ctrl-C or SIGTERM held since the last look stops the run: nothing new is sent
        (queued retries and halves are dropped), the answers in flight are still dealt with."""
        name = interrupts.pending()
        if name is not None and self.interrupted is None:
            self.interrupted = Interrupted(name)
            self._stop("interrupted")

    def _fill(self, pool: ThreadPoolExecutor, source: Iterator[Batch]) -> None:
        """Top up to ``thread_count`` requests; pull new input only when nothing is queued."""
        changed = False
        while self.stop_reason is None and len(self.in_flight) < self._slots():
            unit = self._next_unit(source)
            if unit is None:
                break
            future = pool.submit(self._work, unit)
            self.in_flight[future] = unit
            self.observer.on_request_start(len(unit.batch))
            changed = True
        if changed:
            self.observer.on_in_flight(len(self.in_flight))

    def _slots(self) -> int:
        return 1 if self.probing else self.thread_count

    def _next_unit(self, source: Iterator[Batch]) -> _Unit | None:
        if self.queue:
            return self.queue.popleft()
        for batch in source:
            if len(batch):
                self.batches += 1
                self.seq += 1
                return _Unit(batch, self.seq, first_start=self.clock())
        return None

    def _finish(self, unit: _Unit, future: Future[Outcome | None]) -> None:
        try:
            result = future.result()
        except DestinationError as exc:
            result = outcome_of(exc)
        except Exception as exc:  # a bug in send: stop cleanly, re-raise after draining
            self.failed += len(unit.batch)
            if self.crash is None:
                self.crash = exc
            self._stop("crash")
            return
        if result is None:  # skipped because the run was stopping
            self._drop(unit)
            return
        self.requests += 1
        n = len(unit.batch)
        if result.kind == OK and result.received is not None and result.received < n:
            result = _fewer_received(result, n)
        self.observer.on_request_end(n, result)
        if result.kind in _ENVELOPE_ACCEPTED:
            self.probing = False
        if result.kind == OK:
            self._ack(unit.batch, result)
        elif result.kind == PARTIAL:
            self._partial(unit, result)
        elif result.kind == TRANSIENT:
            self._retry(unit, result)
        elif result.kind == INVALID:
            self._bisect(unit, result)
        else:
            self.failed += n
            self._stop(result.kind, stop_error(result, self.auth_hint))  # before: its error
            self._answer(unit.batch, "failed", result)  # is the run's, recorded or not

    def _answer(self, batch: Batch, fate: str, answer: Outcome) -> None:
        if self.on_answer is None:
            return
        try:
            self.on_answer(batch, fate, answer)
        except Exception as exc:  # not recorded: sending on would only add to the resend
            if self.not_recorded is None:
                self.not_recorded = exc
            self._stop("not recorded")

    def _ack(self, batch: Batch, answer: Outcome) -> None:
        self.sent += len(batch)
        self.on_ack(batch)
        self._answer(batch, "accepted", answer)
        self.observer.on_ack(len(batch))

    def _partial(self, unit: _Unit, outcome: Outcome) -> None:
        """Acknowledge what was accepted; retry or reject each failed event per its kind."""
        batch = unit.batch
        failures = _placed(outcome.failures, len(batch))
        if failures is None:  # the answer does not say which events failed: find them
            self._bisect(unit, outcome)
            return
        failed = {f.index for f in failures}
        accepted = [i for i in range(len(batch)) if i not in failed]
        if accepted:
            self._ack(batch.take(accepted), outcome)
        retry = [f for f in failures if f.kind == TRANSIENT]
        for f in failures:
            if f.kind != TRANSIENT:
                self._reject(batch.take([f.index]), _failure_outcome(f, outcome))
        if retry:
            part = replace(unit, batch=batch.take([f.index for f in retry]))
            # only asked to slow down when every one of them was (a rate limit per event)
            throttled = all(f.throttled for f in retry)
            self._retry(part, _failure_outcome(retry[0], outcome, throttled=throttled))

    def _retry(self, unit: _Unit, outcome: Outcome) -> None:
        elapsed = self.clock() - unit.first_start
        delay = None
        if self.stop_reason is None:
            throttles = unit.throttles + outcome.throttled
            delay = self.policy.next_delay(
                unit.attempt,
                elapsed,
                outcome.retry_after,
                self.rng,
                counted=unit.attempt - throttles,
            )
        if delay is None:
            message = describe(outcome)
            self.failed += len(unit.batch)
            if self.on_failed is not None:
                self.on_failed(unit.batch, message)
            if self.stop_reason is None:
                text = f"gave up after {unit.attempt} attempt(s) in {elapsed:.1f}s: {message}"
                error = TransientDestinationError(
                    text,
                    code=outcome.code,
                    retry_after=outcome.retry_after,
                    hint="Unacknowledged rows stay pending; the next sync sends them again.",
                )
                self._stop("retries exhausted", error)
            self._answer(unit.batch, "failed", outcome)
            return
        self.retries += 1
        self.observer.on_retry(unit.attempt, delay, outcome)
        self.queue.appendleft(
            replace(
                unit,
                attempt=unit.attempt + 1,
                delay=delay,
                sent_before=True,
                throttles=unit.throttles + outcome.throttled,
            )
        )

    def _bisect(self, unit: _Unit, outcome: Outcome) -> None:
        batch = unit.batch
        if len(batch) == 1:
            self._reject(batch, outcome)
            return
        if self.stop_reason is not None:
            # Answered after the stop: failed, as a transient answer then is (_retry), and
            # said to on_failed and the delivery log alike (they were counted, not logged).
            self.failed += len(batch)
            if self.on_failed is not None:
                self.on_failed(batch, describe(outcome))
            self._answer(batch, "failed", outcome)
            return
        self.bisections += 1
        first, second = batch.split()
        # Halves go to the front so a bad batch is finished before new input is pulled.
        for half in (second, first):
            self.seq += 1
            self.queue.appendleft(_Unit(half, self.seq, first_start=self.clock(), sent_before=True))

    def _reject(self, batch: Batch, outcome: Outcome) -> None:
        """One event rejected for good, with the destination's reason."""
        message = describe(outcome)
        self.rejected += len(batch)
        self.on_rejected(batch, message)
        if self.stop_on_invalid:
            self._stop("invalid")
        elif self.sent == 0 and self.rejected >= self.reject_guard:
            text = (
                f"the first {self.rejected} events sent were all rejected and none accepted; "
                f"the request itself is probably wrong: {message}"
            )
            hint = f"Check {self.request_settings} for this destination."
            self._stop("invalid", TerminalDestinationError(text, code=outcome.code, hint=hint))
        # after the stop: a rejection that stops the run says so, recorded or not
        self._answer(batch, "rejected", outcome)
        self.observer.on_rejected(len(batch), message)

    def _stop(self, reason: str, error: DestinationError | None = None) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
            self.error = error
            self.stopping.set()

    def _drop(self, unit: _Unit) -> None:
        if unit.sent_before:
            self.failed += len(unit.batch)
        else:
            self.not_attempted += len(unit.batch)

    # -- worker threads ---------------------------------------------------------------------

    def _work(self, unit: _Unit) -> Outcome | None:
        if unit.delay > 0:
            if self.sleep is None:
                self.stopping.wait(unit.delay)
            else:
                self.sleep(unit.delay)
        if self.stopping.is_set():
            return None
        # Rebuilt from the same payloads on a retry: byte-identical, so event_ids match.
        return self.send(build_body(self.envelope, unit.batch.payloads))


def _placed(failures: Sequence[EventFailure], n: int) -> list[EventFailure] | None:
    """``failures`` if each names a distinct event of the batch, else None (unknown which)."""
    if not failures:
        return None
    indices = [f.index for f in failures]
    if len(set(indices)) != len(indices) or not all(0 <= i < n for i in indices):
        return None
    return sorted(failures, key=lambda f: f.index)


def _failure_outcome(failure: EventFailure, answer: Outcome, *, throttled: bool = False) -> Outcome:
    """One failed event as an outcome of its own, carrying the request's id for support."""
    return SendOutcome(
        failure.kind,
        failure.code,
        failure.message,
        answer.request_id,
        answer.retry_after,
        throttled=throttled,
    )


def _fewer_received(outcome: Outcome, events: int) -> Outcome:
    """An ``ok`` whose platform says it received fewer events than the request held: which
    ones it took is unknown, so none is acknowledged by it; a ``partial`` answer naming none,
    which the runner bisects (a single event it did not receive is rejected for this run, so
    the next sync sends it again)."""
    return SendOutcome(
        PARTIAL,
        outcome.code,
        f"the platform said it received {outcome.received} of the {events} events sent",
        outcome.request_id,
        received=outcome.received,
    )

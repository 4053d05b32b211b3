"""Execute a plan: open the destination's session, stream valid rows, deliver, report.

Rows stream from DuckDB as Arrow record batches straight into request-sized batches; nothing
holds the whole model in memory. Acknowledgements arrive in this thread (see delivery.runner).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from reverse_etl import interrupts
from reverse_etl.delivery.batching import Batch, Chunk, batch_events
from reverse_etl.delivery.observer import DeliveryObserver
from reverse_etl.delivery.outcome import Outcome
from reverse_etl.delivery.result import DeliveryResult
from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.delivery.runner import deliver
from reverse_etl.destinations.base import Coverage, ResolvedSource, Session, Target
from reverse_etl.destinations.shared.pii_text import mask_text, masked_key
from reverse_etl.engine.base import iter_batches
from reverse_etl.engine.duckdb import SENDING_MEMORY, DuckDBEngine
from reverse_etl.engine.native_memory import trim_heap
from reverse_etl.errors import Interrupted, Problem, RetlError, environment_error
from reverse_etl.history.records import ACCEPTED, SKIPPED_INVALID
from reverse_etl.pipeline.deliverylog import LogRows
from reverse_etl.pipeline.plan import PLAN_ROW_GROUP, DestinationPlan, InvalidRow
from reverse_etl.secrets import scrub
from reverse_etl.state.base import LogBatch, StateStore

STREAM_ROWS = 10_000
MAX_MESSAGE = 1000  # characters of an invalid row's reasons kept in the delivery log
MAX_REJECTED_LISTED = 20


@dataclass
class DestinationResult:
    """What happened to one destination in a sync."""

    destination: str
    model: str
    event_source: str
    event_source_id: str | None = None
    event_source_how: str | None = None
    event_source_name: str | None = None
    rows_total: int = 0
    rows_invalid: int = 0
    rows_new: int = 0
    rows_changed: int = 0
    rows_unchanged: int = 0
    rows_changed_not_resent: int = 0  # held back by on_change (see state/dedup.py)
    changed_not_resent_reason: str | None = None
    rows_double_counted: int = 0  # sent again outside the platform's dedup window
    sent: int = 0
    rejected: int = 0
    failed: int = 0
    not_attempted: int = 0
    requests: int = 0
    retries: int = 0
    bisections: int = 0
    duration: float = 0.0
    rejected_rows: list[InvalidRow] = field(default_factory=list)
    platform: str = ""
    invalid_reasons: list[tuple[str, int]] = field(default_factory=list)
    # What the plan warned about, so that a sync in CI says it too (see plan.py).
    rows_warned: int = 0
    warning_reasons: list[tuple[str, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # about the model's columns
    notes: list[str] = field(default_factory=list)  # DestinationPlan.notes, as said
    model_run: bool = True  # False: its diff was skipped (DestinationPlan.model_run)
    match_keys: Coverage | None = None
    error: str | None = None
    sandbox: bool = False
    test_event_code: bool = False
    skip_invalid: bool = False
    # Ctrl-C or SIGTERM stopped the send: the caller records this result, then raises it.
    interrupted: KeyboardInterrupt | None = field(default=None, repr=False, compare=False)
    # The state could not record an answer (a server gone, a full disk): the send stopped;
    # the caller records this result, then raises it.
    not_recorded: Exception | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """Everything valid was acknowledged; rejected events count as failures unless the
        destination skips invalid records (then they are listed, like invalid rows)."""
        return (
            self.error is None
            and self.failed == 0
            and self.not_attempted == 0
            and (self.rejected == 0 or self.skip_invalid)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "model": self.model,
            "event_source": self.event_source,
            "event_source_id": self.event_source_id,
            "event_source_resolved": self.event_source_how,
            "sandbox": self.sandbox,
            "rows": {
                "total": self.rows_total,
                "skipped_invalid": self.rows_invalid,
                "new": self.rows_new,
                "changed": self.rows_changed,
                "unchanged": self.rows_unchanged,
                "changed_not_resent": self.rows_changed_not_resent,
                "double_counted": self.rows_double_counted,
            },
            "changed_not_resent_reason": self.changed_not_resent_reason,
            "events": {
                "sent": self.sent,
                "rejected": self.rejected,
                "failed": self.failed,
                "not_attempted": self.not_attempted,
            },
            "requests": self.requests,
            "retries": self.retries,
            "bisections": self.bisections,
            "duration_seconds": round(self.duration, 3),
            "invalid_reasons": [{"reason": r, "rows": n} for r, n in self.invalid_reasons],
            "rows_with_warnings": self.rows_warned,
            "warning_reasons": [{"reason": r, "rows": n} for r, n in self.warning_reasons],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "model_run": self.model_run,
            "match_keys": self.match_keys.to_dict() if self.match_keys else None,
            "rejected_rows": [{"key": r.key, "reason": r.reason} for r in self.rejected_rows],
            "error": self.error,
            "ok": self.ok,
        }


def stream_chunks(
    engine: DuckDBEngine, plan: DestinationPlan, limit: int | None
) -> Iterator[Chunk]:
    """Valid encoded rows as (keys, hashes, payloads, event ids) Arrow column chunks, in the
    plan's order: from the plan's file itself when its view reads it as written (Arrow's
    reader, one row group per chunk: no copy), else through the view."""
    columns = ("__key", "__hash", "__payload", "__event_id")
    if plan.rows_file is None:
        sql = f"SELECT {', '.join(columns)} FROM {plan.rows_table} WHERE __payload IS NOT NULL"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        for rb in iter_batches(engine.stream(sql, batch_rows=STREAM_ROWS)):
            yield (rb.column(0), rb.column(1), rb.column(2), rb.column(3))
        return
    import pyarrow.compute as pc

    left = limit
    rows = min(STREAM_ROWS, PLAN_ROW_GROUP)
    for group in iter_batches(engine.read_parquet(plan.rows_file, columns, batch_rows=rows)):
        if left is not None and left <= 0:
            return
        rb = group
        if rb.column(2).null_count:  # invalid or unchanged rows: no payload, not sent
            rb = rb.filter(pc.is_valid(rb.column(2)))
        if left is not None:
            rb = rb.slice(0, left)
            left -= rb.num_rows
        if rb.num_rows:
            yield (rb.column(0), rb.column(1), rb.column(2), rb.column(3))


def execute(
    engine: DuckDBEngine,
    plan: DestinationPlan,
    target: Target,
    *,
    observer: DeliveryObserver | None = None,
    state: StateStore | None = None,
    run_id: str = "",
    limit: int | None = None,
    policy: RetryPolicy | None = None,
    log_accepted: bool = True,
    root: Path | None = None,
    opened: Callable[[ResolvedSource], None] | None = None,
) -> DestinationResult:
    """Send one destination's new and changed valid rows; commit each acknowledged batch to
    ``state`` as it lands, with its delivery-log rows (accepted rows only with
    ``log_accepted``). Errors from the platform end up in the result. The result's warnings
    and error are text, kept in the run report and history as the command says them: files
    inside ``root`` (the project) relative to it. A Ctrl-C or SIGTERM once the session is
    open is held (``interrupts``) until the result is whole, then handed back in
    ``result.interrupted`` for the caller to record the result, then raise it. ``opened``:
    told the event source once the session has resolved it, before anything is sent (a
    sandbox sync marks the sources whose event ids are personal for the emulator's feed)."""
    dest = plan.destination
    result = _result(plan, target, root)
    started = time.monotonic()
    policy = policy or RetryPolicy()
    log = LogRows(
        run_id,
        mask_keys=plan.encode.mask_keys,
        event_id_field=dest.capabilities.event_id_field,
        mask_event_ids=plan.encode.mask_event_ids,
    )
    source = dest.known_source(target) if plan.rows_to_send == 0 else None
    closing = contextlib.ExitStack()
    # A signal while the session opens (it may wait on the platform) raises at once: nothing
    # was sent yet. Once open, the session is closed by ``closing``, with the signals held.
    session: Session | None = (
        None if source is not None else closing.enter_context(dest.open(target, policy))
    )
    # From here on a signal is held until the destination's result is whole: sending, the
    # session's close, the fold and the run record (raised there, it lost the result of a
    # destination that had sent). The sending loop takes it at its own safe points; one that
    # comes after its last look is taken below, once everything is recorded.
    with interrupts.held(RECORDING):
        explained: Problem | None = None
        with closing:  # the session closes with the signals held
            if session is None:
                # Nothing to send and the event source known from the settings: no session
                # (no HTTP client: its imports were ~0.15 s of an unchanged re-sync, issue
                # #18), no request.
                assert source is not None
                outcome = _NOTHING_SENT
            else:
                source = session.source
                if opened is not None:
                    opened(source)
                outcome = _deliver(
                    engine,
                    plan,
                    session,
                    result=result,
                    log=log,
                    state=state,
                    observer=observer,
                    policy=policy,
                    limit=limit,
                    log_accepted=log_accepted,
                )
                if outcome.terminal_error is not None:
                    explained = session.explain(outcome.terminal_error)
        _recorded(
            engine,
            plan,
            result,
            outcome,
            explained,
            source=source,
            state=state,
            log=log,
            run_id=run_id,
            root=root,
            limit=limit,
        )
    result.duration = time.monotonic() - started
    held = interrupts.pending()
    if result.interrupted is None and held is not None:
        # The signal came once the send was over: the destination's result is whole (its
        # answers folded, its run recorded); the run stops after it.
        result.interrupted = Interrupted(held)
    return result


# What a second signal's line says while a destination's answers are recorded (``execute``).
RECORDING = (
    "recording the answers in the state (SIGKILL stops at once; the next sync finishes "
    "recording them)"
)


def _recorded(
    engine: DuckDBEngine,
    plan: DestinationPlan,
    result: DestinationResult,
    outcome: DeliveryResult,
    explained: Problem | None,
    *,
    source: ResolvedSource,
    state: StateStore | None,
    log: LogRows,
    run_id: str,
    root: Path | None,
    limit: int | None,
) -> None:
    """``result`` filled in from the send's ``outcome``; the answers folded into ``state``
    and the destination's run recorded there, unless the send stopped short."""
    dest = plan.destination
    result.event_source_id = source.id
    result.event_source_how = source.how
    result.event_source_name = source.name
    result.sent = outcome.events_sent
    result.rejected = outcome.events_rejected
    result.failed = outcome.events_failed
    result.not_attempted = outcome.events_not_attempted
    if outcome.stop_reason is not None:
        # A stop leaves the rows never read from the plan unsent too (the runner counts only
        # the batches it had queued): all of them are not attempted, as the report says.
        planned = plan.rows_to_send if limit is None else min(plan.rows_to_send, limit)
        accounted = result.sent + result.rejected + result.failed + result.not_attempted
        result.not_attempted += max(0, planned - accounted)
    result.requests = outcome.requests
    result.retries = outcome.retries
    result.bisections = outcome.bisections
    if outcome.interrupted is not None:
        # The answers that arrived meanwhile are in the journal, folded when the state
        # closes: the stop does no more here (no fold, no skipped rows' log), but for the run
        # record when it sent something. An error that stopped the send before the signal is
        # what it says (the key to fix).
        result.interrupted = outcome.interrupted
        result.not_recorded = outcome.not_recorded  # (said by the run's error too)
        result.error = _interrupted_text(
            outcome, explained, dest.capabilities.platform, result, root
        )
        if state is not None and outcome.not_recorded is None and result.sent:
            # Events went out under this mapping and key: the run is a sync (``synced``),
            # or a key changed before the next run would not be caught (``keychange``) and
            # a first sync stopped midway would have left no mapping to compare with.
            _record_run(state, plan, result, run_id)
        return
    if outcome.not_recorded is not None:
        # Nothing more is written to a state that just failed (no fold, no run record): the
        # batches recorded before stay, the journal's are folded when the state closes.
        result.not_recorded = outcome.not_recorded
        result.error = _not_recorded_text(outcome.not_recorded)
        if outcome.stop_reason != "not recorded":  # the platform's answer stopped it first
            first = _error_of(outcome, explained, dest.capabilities.platform, result, root)
            result.error = f"{first}; then {result.error}" if first else result.error
        return
    if state is not None:
        if plan.rows_invalid and dest.settings.skip_invalid_record:
            log_skipped(engine, plan, state, log)
        if plan.rows_to_send:  # fold what was acknowledged into one entry per key
            trim_heap()  # what the send freed, given back before the fold (native_memory)
            state.compact(plan.name, plan.scope)
        if synced(plan, result):
            _record_run(state, plan, result, run_id)
    result.error = _error_of(outcome, explained, dest.capabilities.platform, result, root)


def _record_run(
    state: StateStore, plan: DestinationPlan, result: DestinationResult, run_id: str
) -> None:
    """The run recorded as the destination's last sync: its time, mapping and event source."""
    state.record_run(
        plan.name,
        plan.scope,
        event_source_id=result.event_source_id,
        fingerprint=plan.mapping_fingerprint,
        mapping=orjson.dumps(plan.mapping).decode(),
        run_id=run_id,
    )


def synced(plan: DestinationPlan, result: DestinationResult) -> bool:
    """Whether a destination's run is a sync, recorded as its last one (its time, mapping
    and event source ID: ``retl plan``, ``retl state show``, the next run's mapping-change
    warning and key check read them): the platform acknowledged something, or there was
    nothing to send. A run it refused entirely (a wrong token: every batch answered with an
    error; or stopped before its first acknowledgement) leaves them as they were: with
    nothing sent, its mapping's change is still to be said, and "last sync" still means
    the last delivery. Its own history row and report say that it failed."""
    return result.sent > 0 or plan.rows_to_send == 0


def _error_of(
    outcome: DeliveryResult,
    explained: Problem | None,
    platform: str,
    result: DestinationResult,
    root: Path | None,
) -> str | None:
    """What stopped a destination's send, said for its result (None: nothing did)."""
    if explained is not None:
        # Not a row's fault: the destinations.yml key to fix (the platform's explain).
        # (a platform's message may quote an event's value: masked as the history does)
        return mask_text(scrub(explained.shown_from(root).render()))
    if outcome.terminal_error is not None:
        err = outcome.terminal_error
        return mask_text(scrub(err.message + (f" ({err.hint})" if err.hint else "")))
    if outcome.stop_reason == "invalid":
        return _stopped_on_invalid(platform, result)
    return outcome.stop_reason or None


def _interrupted_text(
    outcome: DeliveryResult,
    explained: Problem | None,
    platform: str,
    result: DestinationResult,
    root: Path | None,
) -> str:
    """What a destination whose send a signal stopped says: the error that stopped it
    first, else the signal; and an answer not recorded, before or after the signal ("not
    recorded" was all the history said when it came first)."""
    assert outcome.interrupted is not None
    stopped = outcome.stop_reason not in (None, "interrupted", "not recorded")
    error = _error_of(outcome, explained, platform, result, root) if stopped else None
    text = error or _stopped_by_signal(outcome.interrupted, result)
    if outcome.not_recorded is not None:
        text = f"{text}; {_not_recorded_text(outcome.not_recorded)}"
    return text


def _not_recorded_text(exc: Exception) -> str:
    """What a destination whose send stopped because an answer could not be recorded says."""
    if isinstance(exc, RetlError):  # a warehouse state's: its hint says what it means
        text = exc.message + (f" ({exc.hint})" if exc.hint else "")
    else:
        problem = environment_error(exc)  # a full disk, a folder that may not be written
        why = (
            problem.message
            if problem is not None
            else f"unexpected {type(exc).__name__} while recording an answer in the state"
        )
        text = f"{why}: {_NOT_RECORDED}"
    return mask_text(scrub(text))


_NOT_RECORDED = (
    "a batch the platform acknowledged could not be recorded in the state, so the next sync "
    "sends its events again (with the same event_id: the platform drops repeats within 48 "
    "hours); the batches recorded before are kept"
)


def _stopped_by_signal(exc: KeyboardInterrupt, result: DestinationResult) -> str:
    """What a destination whose send Ctrl-C or SIGTERM stopped says (its run history row)."""
    signal = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
    left = result.not_attempted + result.failed
    unsent = f": {left} event(s) not sent (the next sync sends them)" if left else ""
    return f"interrupted by {signal}{unsent}"


def _stopped_on_invalid(platform: str, result: DestinationResult) -> str:
    """Why a run that stopped at a rejected event stopped, and the way on (it said only
    "invalid")."""
    left = result.not_attempted + result.failed
    unsent = f"; {left} event(s) not sent (the next sync sends them)" if left else ""
    return (
        f"{platform} rejected {result.rejected} event(s) and skip_invalid_record is false, so "
        f"the run stopped there{unsent}: fix those rows (the reasons are listed), or set "
        "skip_invalid_record: true to send the other rows and list the rejected ones"
    )


def _deliver(
    engine: DuckDBEngine,
    plan: DestinationPlan,
    session: Session,
    *,
    result: DestinationResult,
    log: LogRows,
    state: StateStore | None,
    observer: DeliveryObserver | None,
    policy: RetryPolicy,
    limit: int | None,
    log_accepted: bool,
) -> DeliveryResult:
    """Stream the plan's rows to ``session``, committing each answered batch to ``state``."""
    dest = plan.destination

    def on_answer(batch: Batch, fate: str, answer: Outcome) -> None:
        # The acknowledgement and its delivery-log rows: one append, one commit.
        if state is None:
            return
        if fate == ACCEPTED:
            entry = log.batch(batch, fate, answer) if log_accepted else None
            state.record_acknowledged(plan.name, plan.scope, batch.keys, batch.hashes, entry)
        else:
            state.record_outcomes(plan.name, plan.scope, log.batch(batch, fate, answer))

    def rejected(batch: Batch, message: str) -> None:
        for key in batch.key_list():
            if len(result.rejected_rows) < MAX_REJECTED_LISTED:
                shown = masked_key(key) if log.mask_keys and key is not None else key
                # the platform's message may quote the event's value: masked as the log does
                result.rejected_rows.append(InvalidRow(shown, mask_text(message)))

    # Sending only scans the plan's table: DuckDB gives most of its memory back meanwhile.
    with engine.memory_while(SENDING_MEMORY):
        return deliver(
            batch_events(
                stream_chunks(engine, plan, limit), dest.capabilities.max_events_per_request
            ),
            session.send,
            envelope=session.envelope,
            thread_count=dest.settings.thread_count,
            policy=policy,
            on_ack=lambda b: None,  # recorded, with its log rows, by on_answer
            on_answer=on_answer,
            on_rejected=rejected,
            on_failed=lambda b, m: None,
            observer=observer,
            stop_on_invalid=not dest.settings.skip_invalid_record,
            probe_first=True,  # a wrong event source or token costs one request
            auth_hint=session.auth_hint,
            request_settings=dest.capabilities.request_settings,
        )


# What delivering nothing does (see execute).
_NOTHING_SENT = DeliveryResult(0, 0, 0, 0, 0, 0, 0, 0, None, None, 0.0)


def log_skipped(
    engine: DuckDBEngine, plan: DestinationPlan, state: StateStore, log: LogRows
) -> None:
    """Delivery-log rows for the invalid rows a sync skipped (skip_invalid_record), with why."""
    import pyarrow.compute as pc  # only here: an unchanged re-sync does without (#18)

    reader = engine.stream(
        f"SELECT __key, __errors FROM {plan.rows_table} "
        "WHERE __payload IS NULL AND __errors IS NOT NULL AND __key IS NOT NULL",
        batch_rows=STREAM_ROWS,
    )
    for rb in iter_batches(reader):
        state.record_outcomes(
            plan.name,
            plan.scope,
            LogBatch(
                run_id=log.run_id,
                outcome=SKIPPED_INVALID,
                keys=log.keys(rb.column(0)),
                messages=pc.utf8_slice_codeunits(rb.column(1), 0, MAX_MESSAGE),
            ),
        )


def _result(plan: DestinationPlan, target: Target, root: Path | None) -> DestinationResult:
    """A result holding what the plan knows; sending fills in the rest."""
    dest = plan.destination
    s = dest.settings
    return DestinationResult(
        destination=plan.name,
        model=s.model,
        event_source=dest.event_source,
        rows_total=plan.rows_total,
        rows_invalid=plan.rows_invalid,
        rows_new=plan.rows_new,
        rows_changed=plan.rows_changed,
        rows_unchanged=plan.rows_unchanged,
        rows_changed_not_resent=plan.dedup.held,
        changed_not_resent_reason=plan.held_reason if plan.dedup.held else None,
        rows_double_counted=plan.dedup.double_counted,
        invalid_reasons=list(plan.invalid_reasons),
        rows_warned=plan.rows_warned,
        warning_reasons=list(plan.warning_reasons),
        warnings=[w.shown_from(root).render() for w in plan.warnings],
        notes=[n.shown_from(root).render() for n in plan.notes],
        model_run=plan.model_run,
        match_keys=plan.match_keys,
        sandbox=target.sandbox,
        test_event_code=s.test_event_code is not None,
        skip_invalid=s.skip_invalid_record,
        platform=dest.capabilities.platform,
    )

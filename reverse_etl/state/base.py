"""The StateStore contract: what the run path asks of the state, wherever it lives.

Two stores implement it: ``LocalStateStore`` (a DuckDB file beside the project, with
acknowledgement journals) and ``WarehouseStateStore`` (tables in the warehouse, where the diff
then runs). What differs is declared as data: ``diffs_in_place`` says the diff runs in the
store's own engine, so that only the rows to send leave it.

A store also keeps the run history and the delivery log (``reverse_etl/history``): the log rows
of an acknowledged batch are written with its acknowledgement (``record_acknowledged(...,
log=...)``: the same journal append, or the same warehouse transaction), so the log never
disagrees with the state; rows that were not acknowledged (rejected, failed, skipped as
invalid) through ``record_outcomes``; one row per run and per run destination through
``record_history``; and ``prune_history`` keeps them bounded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

if TYPE_CHECKING:
    from reverse_etl.errors import StateError
    from reverse_etl.history.records import RunDestinationRecord, RunRecord
    from reverse_etl.state.dedup import DedupWindow
    from reverse_etl.state.store import ScopeInfo


@dataclass(frozen=True)
class LogBatch:
    """Delivery-log rows for one batch of rows that met the same fate (one request's answer).

    ``keys`` are the row keys as reports show them (hashed when the key is PII), in step with
    the batch; ``event_ids`` and ``messages`` are columns in step too, or None (``messages``
    may also be one text for every row). ``outcome`` is one of history.records.OUTCOMES."""

    run_id: str
    outcome: str
    keys: Any
    event_ids: Any = None
    messages: Any = None
    code: int | None = None
    request_id: str | None = None


class StateEngine(Protocol):
    """What the diff needs of the engine the state lives in."""

    def stream(self, sql: str, *, batch_rows: int = ...) -> pa.RecordBatchReader: ...
    def schema(self, sql: str) -> pa.Schema: ...
    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def transpile(self, sql: str) -> str:
        """Diff SQL is written in DuckDB's dialect; this engine's own, here."""
        ...


class StateStore(Protocol):
    """Which payload each row key had when a destination acknowledged it, per scope."""

    diffs_in_place: bool  # the diff runs in ``engine`` (a warehouse), not the workbench
    new_scope_form: int  # the row hash form a first sync takes
    warnings: list[str]  # for the caller's Console (the library never prints)

    @property
    def engine(self) -> StateEngine: ...

    def hash_form(self, destination: str, scope: str) -> int | None:
        """The row hash form of a scope's acknowledged rows (None: nothing acknowledged)."""
        ...

    def scope_info(self, destination: str, scope: str, *, count: bool = True) -> ScopeInfo | None:
        """What the state knows of a scope; ``count=False`` leaves its keys uncounted
        (``rows`` None): a sync reads only the rest, and counting costs a scan of the scope
        (a distinct count over the warehouse's state: 2.5-2.7 s at 4M keys)."""
        ...

    def all_scopes(self) -> list[ScopeInfo]: ...

    def latest_relation(self, destination: str, scope: str, *, with_first: bool = False) -> str:
        """SQL of the latest acknowledged (key, hash[, first time]) of a scope."""
        ...

    def acknowledged(self, destination: str, window: DedupWindow) -> tuple[int, int]:
        """(rows acknowledged, of them first acknowledged outside ``window``)."""
        ...

    def record_acknowledged(
        self, destination: str, scope: str, keys: Any, hashes: Any, log: LogBatch | None = None
    ) -> None:
        """Record one acknowledged batch, durably, before the next is counted; ``log``: its
        delivery-log rows, written in the same append or transaction."""
        ...

    def record_outcomes(self, destination: str, scope: str, log: LogBatch) -> None:
        """Delivery-log rows of rows that were not acknowledged (rejected, failed, skipped)."""
        ...

    def record_history(
        self, run: RunRecord, destinations: Sequence[RunDestinationRecord] = ()
    ) -> None:
        """Insert or replace a run's history row (written when it starts, again when it
        ends) and its per-destination rows."""
        ...

    def prune_history(self, before: dt.datetime) -> None:
        """Forget runs and delivery-log rows from before ``before`` (UTC, naive)."""
        ...

    def history_relation(self, table: str) -> str:
        """SQL naming a history table (``runs``, ``run_destinations``, ``delivery_log``)
        for readers, in DuckDB's dialect (``engine.transpile`` it)."""
        ...

    def compact(self, destination: str, scope: str) -> None:
        """Fold what a run acknowledged into one entry per key."""
        ...

    def record_run(
        self,
        destination: str,
        scope: str,
        *,
        event_source_id: str | None,
        fingerprint: str,
        mapping: str,
        run_id: str,
    ) -> None: ...

    def reset(self, destination: str, scope: str | None = None) -> int: ...

    def explain(self, exc: BaseException) -> StateError | None:
        """Damage found past the open, said as such (None: not the state's fault)."""
        ...

    def close(self) -> None: ...

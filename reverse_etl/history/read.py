"""Reading the run history and the delivery log from a state store.

Queries are written in DuckDB's dialect, with values as escaped literals, and transpiled to
the store's engine (PostgreSQL, ...). Readers never write: a read-only store is enough.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from reverse_etl.destinations.shared.pii_text import mask_text, masked_key
from reverse_etl.errors import MAX_LIMIT
from reverse_etl.history.records import (
    ACCEPTED,
    DeliveryRecord,
    RunDestinationRecord,
    RunRecord,
)
from reverse_etl.history.tables import DESTINATION_COLUMNS, LOG_COLUMNS

if TYPE_CHECKING:
    from reverse_etl.state.base import StateStore

MAX_NOT_ACCEPTED = 50  # rows listed by `retl runs show`; the rest are counted


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class HistoryReader:
    """The history tables of one state store."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of ``sql``. A query that fails for the state's fault (a table that lost
        a column: DuckDB's "Binder Error") is said as the state's error, with its fix."""
        engine = self.store.engine
        try:
            return engine.rows(engine.transpile(sql))
        except Exception as exc:
            error = self.store.explain(exc)
            if error is None:
                raise
            raise error from None

    def _t(self, table: str) -> str:
        """The table, named by an alias of its own name: a store may give a subquery (an
        empty one for a state not created yet), which PostgreSQL before 16 takes only with
        an alias."""
        return f"{self.store.history_relation(table)} AS {table}"

    def _runs(self, where: str, limit: int) -> list[RunRecord]:
        """Runs; one that never ended (it died, or runs now) has its counts taken from the
        delivery log, which its acknowledgements were written with. One a signal stopped
        (Ctrl-C, SIGTERM), or that failed while it sent (a full disk, an unexpected error),
        has no result for the destination it was sending to: that one's log rows are added
        to its counts (the destinations that finished have theirs). A run that exited 0 has
        a result for every destination: its log is not read."""
        runs, log = self.store.history_relation("runs"), self._t("delivery_log")
        dests = self._t("run_destinations")
        stopped = "exit_code <> 0"
        counts = ", ".join(
            f"CASE WHEN r.ended_at IS NULL THEN coalesce(l.{c}, 0) "
            f"WHEN r.{stopped} THEN r.{c} + coalesce(l.{c}, 0) ELSE r.{c} END AS {c}"
            for c in ("sent", "rejected", "skipped_invalid", "failed")
        )
        tally = ", ".join(
            f"count(*) FILTER (WHERE outcome = {_lit(o)}) AS {c}"
            for o, c in (
                (ACCEPTED, "sent"),
                ("rejected", "rejected"),
                ("skipped_invalid", "skipped_invalid"),
                ("failed", "failed"),
            )
        )
        return [
            _run(r)
            for r in self._rows(
                f"""SELECT r.run_id, r.started_at, r.ended_at, r.command, r.destinations,
                           {counts}, r.exit_code, r.retl_version, r.sandbox
                    FROM {runs} AS r LEFT JOIN (
                        SELECT run_id, {tally} FROM {log}
                        WHERE run_id IN (
                            SELECT run_id FROM {runs} AS u WHERE ended_at IS NULL OR {stopped})
                        AND NOT EXISTS (
                            SELECT 1 FROM {dests} WHERE run_destinations.run_id =
                            delivery_log.run_id AND run_destinations.destination =
                            delivery_log.destination)
                        GROUP BY run_id) AS l ON l.run_id = r.run_id
                    {where}
                    ORDER BY r.started_at DESC, r.run_id DESC LIMIT {min(int(limit), MAX_LIMIT)}"""
            )
        ]

    def runs(self, limit: int) -> list[RunRecord]:
        return self._runs("", limit)

    def run_ids(self, prefix: str) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return [
            r[0]
            for r in self._rows(
                f"SELECT run_id FROM {self._t('runs')} "
                f"WHERE run_id LIKE {_lit(escaped + '%')} ESCAPE '\\' ORDER BY run_id"
            )
        ]

    def run(self, run_id: str) -> RunRecord | None:
        found = self._runs(f"WHERE r.run_id = {_lit(run_id)}", 1)
        return found[0] if found else None

    def run_destinations(self, run_id: str, *, stopped: bool = False) -> list[RunDestinationRecord]:
        """A run's destinations. ``stopped`` (the run was stopped, failed or died): a destination
        with delivery-log rows but no result (the one it was sending to; every one, for a
        run that died) is listed too, with the log's counts, marked ``interrupted``."""
        found = [
            _destination(r)
            for r in self._rows(
                f"SELECT {DESTINATION_COLUMNS} FROM {self._t('run_destinations')} "
                f"WHERE run_id = {_lit(run_id)} ORDER BY destination"
            )
        ]
        if stopped:
            found += self._interrupted_destinations(run_id)
            found.sort(key=lambda d: d.destination)
        return found

    def _interrupted_destinations(self, run_id: str) -> list[RunDestinationRecord]:
        log, dests = self._t("delivery_log"), self._t("run_destinations")
        tally = ", ".join(
            f"count(*) FILTER (WHERE outcome = {_lit(o)})"
            for o in (ACCEPTED, "rejected", "skipped_invalid", "failed")
        )
        rows = self._rows(
            f"""SELECT destination, {tally} FROM {log}
                WHERE run_id = {_lit(run_id)} AND NOT EXISTS (
                    SELECT 1 FROM {dests} WHERE run_destinations.run_id = delivery_log.run_id
                    AND run_destinations.destination = delivery_log.destination)
                GROUP BY destination ORDER BY destination"""
        )
        return [
            RunDestinationRecord(
                run_id=run_id,
                destination=r[0],
                platform="",
                model="",
                ended_at=None,
                rows_total=0,
                sent=int(r[1]),
                rejected=int(r[2]),
                skipped_invalid=int(r[3]),
                failed=int(r[4]),
                not_attempted=0,
                match_coverage=None,
                error=None,
                interrupted=True,
            )
            for r in rows
        ]

    def not_accepted(self, run_id: str) -> tuple[list[DeliveryRecord], int]:
        where = f"WHERE run_id = {_lit(run_id)} AND outcome <> {_lit(ACCEPTED)}"
        rows = self._rows(
            f"SELECT {LOG_COLUMNS} FROM {self._t('delivery_log')} {where} "
            f"ORDER BY destination, outcome, row_key LIMIT {MAX_NOT_ACCEPTED}"
        )
        total = self._rows(f"SELECT count(*) FROM {self._t('delivery_log')} {where}")[0][0]
        return [_delivery(r) for r in rows], int(total)

    def deliveries(self, key: str, destination: str | None = None) -> list[DeliveryRecord]:
        """Each delivery of a row, newest first: by its key or by its event_id (as typed, or
        hashed as a PII key or event id is logged)."""
        masked = masked_key(key)
        # A retl before 2ad0f1e logged an event id as it stands inside the JSON payload: a
        # quote as \", a backslash as \\ (control characters make an id invalid, so no
        # other escape occurs). Both spellings are found.
        escaped = key.replace("\\", "\\\\").replace('"', '\\"')
        where = (
            f"(row_key IN ({_lit(key)}, {_lit(masked)}) "
            f"OR event_id IN ({_lit(key)}, {_lit(escaped)}, {_lit(masked)}))"
        ) + (f" AND destination = {_lit(destination)}" if destination else "")
        return [
            _delivery(r)
            for r in self._rows(
                f"SELECT {LOG_COLUMNS} FROM {self._t('delivery_log')} WHERE {where} "
                "ORDER BY logged_at DESC, run_id DESC"
            )
        ]

    def destinations(self) -> list[str]:
        """Every destination the history names (a run's result or a delivery of a row)."""
        rows = self._rows(
            f"SELECT destination FROM {self._t('run_destinations')} "
            f"UNION SELECT destination FROM {self._t('delivery_log')}"
        )
        return sorted({r[0] for r in rows if r[0]})

    def destination_history(self, destination: str, limit: int) -> list[RunDestinationRecord]:
        rows = self._rows(
            f"SELECT {DESTINATION_COLUMNS} FROM {self._t('run_destinations')} "
            f"WHERE destination = {_lit(destination)} "
            f"ORDER BY ended_at DESC NULLS LAST, run_id DESC LIMIT {min(int(limit), MAX_LIMIT)}"
        )
        return [_destination(r) for r in reversed(rows)]


def _run(r: tuple[Any, ...]) -> RunRecord:
    return RunRecord(
        run_id=r[0],
        started_at=_time(r[1]),
        ended_at=_time(r[2]) if r[2] is not None else None,
        command=r[3],
        destinations=tuple(d for d in (r[4] or "").split(",") if d),
        sent=int(r[5]),
        rejected=int(r[6]),
        skipped_invalid=int(r[7]),
        failed=int(r[8]),
        exit_code=None if r[9] is None else int(r[9]),
        retl_version=r[10],
        sandbox=bool(r[11]),
    )


def _destination(r: tuple[Any, ...]) -> RunDestinationRecord:
    return RunDestinationRecord(
        run_id=r[0],
        destination=r[1],
        platform=r[2],
        model=r[3],
        ended_at=_time(r[4]) if r[4] is not None else None,
        rows_total=int(r[5]),
        sent=int(r[6]),
        rejected=int(r[7]),
        skipped_invalid=int(r[8]),
        failed=int(r[9]),
        not_attempted=int(r[10]),
        match_coverage=None if r[11] is None else float(r[11]),
        error=None if r[12] is None else mask_text(r[12]),
    )


def _delivery(r: tuple[Any, ...]) -> DeliveryRecord:
    return DeliveryRecord(
        run_id=r[0],
        destination=r[1],
        key=r[2],
        event_id=r[3],
        outcome=r[4],
        code=None if r[5] is None else int(r[5]),
        message=None if r[6] is None else mask_text(r[6]),
        request_id=r[7],
        at=_time(r[8]),
    )


def _time(value: Any) -> dt.datetime:
    """Stored as naive UTC: returned aware, so that it prints with its zone."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.timezone.utc)

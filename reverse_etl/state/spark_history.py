"""The run history and the delivery log (``reverse_etl/history``) of the Spark state.

Append-only tables, like the rest of the Spark state (``spark_tables.py``): ``runs`` and
``run_destinations`` get a new row per change, the newest (``seq``) of a key wins; the
delivery log is appended to from each fold of the acknowledgement journals. Pruning rewrites
a table without what is older into its other slot, then points at it, so a crash midway
keeps the old one.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import pyarrow as pa

from reverse_etl.history.records import RunDestinationRecord, RunRecord
from reverse_etl.history.tables import (
    DESTINATION_COLUMNS,
    HISTORY_TABLES,
    LOG_COLUMNS,
    RUN_COLUMNS,
)
from reverse_etl.state.spark_tables import Scope, SparkTables, arrow_schema, sql_string

HISTORY = "__history__"  # the ``folds`` pointers of the history tables use this destination


def _spark_columns(columns: str) -> str:
    """A history table's columns (history/tables.py) as Spark DDL."""
    out = columns.replace(" NOT NULL", "").replace("DOUBLE PRECISION", "DOUBLE")
    return out.replace(" TEXT", " STRING").replace(" TIMESTAMP", " TIMESTAMP_NTZ")


# runs and run_destinations are replaced by appending: the newest row (seq) of a key wins.
_HISTORY = {
    name: _spark_columns(cols) + (", seq BIGINT" if name != "delivery_log" else "")
    for name, cols in HISTORY_TABLES
}
_HISTORY_KEYS = {"runs": "run_id", "run_destinations": "run_id, destination"}


class SparkHistory(SparkTables):
    """The history tables of a Spark state (the pointers of their slots are in ``folds``,
    under the destination ``HISTORY``)."""

    def _history_table(self, name: str) -> str:
        found = self._current.get(Scope(HISTORY, name))
        return f"history_{name}_{found[1] if found else 'a'}"

    def record_history(
        self, run: RunRecord, destinations: Sequence[RunDestinationRecord] = ()
    ) -> None:
        self._writable()
        seq = time.time_ns()
        run_row = {**asdict(run), "destinations": ",".join(run.destinations), "seq": seq}
        self._append_history("runs", [run_row])
        if destinations:
            self._append_history(
                "run_destinations", [{**asdict(d), "seq": seq} for d in destinations]
            )

    def _append_history(self, name: str, rows: list[dict[str, Any]]) -> None:
        schema = arrow_schema(_HISTORY[name])
        table = pa.Table.from_pylist(
            [{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema
        )
        self._append(self._history_table(name), _HISTORY[name], table)

    def prune_history(self, before: dt.datetime) -> None:
        """Each history table rewritten without what is older, into its other slot, then
        pointed at (as a fold: a crash midway keeps the old slot)."""
        self._writable()
        stamp = f"TIMESTAMP_NTZ '{before.isoformat(sep=' ')}'"
        runs = self._rel(self._history_table("runs"), _HISTORY["runs"])
        old_runs = (
            f"SELECT run_id FROM {runs} GROUP BY run_id "
            f"HAVING max(coalesce(ended_at, started_at)) < {stamp}"
        )
        keep = {
            "delivery_log": f"logged_at >= {stamp}",
            "run_destinations": f"run_id NOT IN ({old_runs})",
            "runs": f"run_id NOT IN ({old_runs})",
        }
        oldest = {
            "delivery_log": "min(logged_at)",
            "run_destinations": "min(ended_at)",
            "runs": "min(coalesce(ended_at, started_at))",
        }
        present = [n for n in keep if self._exists(self._history_table(n))]
        if not present:
            return
        # One query says which tables hold anything older (most syncs prune nothing).
        firsts = self.engine.rows(
            "SELECT "
            + ", ".join(
                f"(SELECT {oldest[n]} FROM {self._rel(self._history_table(n), _HISTORY[n])})"
                for n in present
            )
        )[0]
        for name, first in zip(present, firsts, strict=True):
            if first is None or first >= before:
                continue  # nothing to prune: no rewrite
            key = Scope(HISTORY, name)
            gen, slot = self._current.get(key, (0, "a"))
            rel = self._rel(self._history_table(name), _HISTORY[name])
            new_slot = "b" if slot == "a" else "a"
            table = f"history_{name}_{new_slot}"
            self.engine.write_sql(f"SELECT * FROM {rel} WHERE {keep[name]}", self._target(table))
            self._written(table)
            self._point(key, gen + 1, new_slot)

    def history_relation(self, table: str) -> str:
        """A history table as DuckDB-dialect SQL (the newest row of each run)."""
        rel = self._rel(self._history_table(table), _HISTORY[table])
        columns = {"runs": RUN_COLUMNS, "run_destinations": DESTINATION_COLUMNS}.get(
            table, LOG_COLUMNS
        )
        if table not in _HISTORY_KEYS:
            return f"(SELECT {columns} FROM {rel})"
        return (
            f"(SELECT {columns} FROM (SELECT *, row_number() OVER (PARTITION BY "
            f"{_HISTORY_KEYS[table]} ORDER BY seq DESC) AS __n FROM {rel}) AS __h "
            "WHERE __n = 1)"
        )

    def _log_staged(self, destination: str, staged: str) -> None:
        """The delivery-log rows of staged journal rows (``staged``: SQL of them), appended.
        Written before the fold's pointer: a crash in between folds the journal again, and
        may log its rows twice (never the state)."""
        log = self._history_table("delivery_log")
        self.engine.write_sql(
            f"SELECT run_id, {sql_string(destination)} AS destination, log_key AS row_key, "
            "event_id, outcome, code, message, request_id, synced_at AS logged_at "
            f"FROM {staged} WHERE log_key IS NOT NULL",
            self._target(log),
            mode="append",
        )
        self._written(log)

"""The sync state kept in Spark (``state: {location: warehouse}`` with a Spark warehouse).

Spark's built-in tables are Parquet files: no UPDATE, no DELETE, no transaction over two
statements (Delta Lake would give them, but its jars are not on the package index). So the
state is written only in ways a crash cannot leave half done:

- each scope's acknowledged keys live in one of two slot tables (``rows_<id>_a``/``_b``);
  a fold writes the slot not in use, whole, from the one in use and the run's journal;
- ``folds`` is append-only: one row per fold names the slot now in use (``gen`` orders
  them). Until that row is written, readers keep reading the other slot;
- ``destinations`` (mappings, last sync) is append-only too: the newest row per scope wins.

Acknowledgements go to the local journal while a destination sends (``journal.py``: one
append per batch, in the kernel before the next request), and are folded into Spark once,
when the destination is done. A run that dies (SIGKILL, during the send or the fold) leaves
its journal; the next run that writes folds it first, and folding the same journal twice
gives the same state. The diff then runs in Spark: only the rows to send leave it.

The tables, and how each is written so that a crash never leaves one half done, are in
``spark_tables.py``; the run history and the delivery log in ``spark_history.py``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from reverse_etl.delivery.batching import Column
from reverse_etl.errors import StateError
from reverse_etl.state.base import LogBatch
from reverse_etl.state.dedup import FIRST, Clock, DedupWindow, acknowledged_sql, system_clock
from reverse_etl.state.diff import FORM_EXACT, FORM_MD5, FORM_SHA1, form_of
from reverse_etl.state.journal import (
    Journal,
    JournalDamage,
    JournalWriter,
    journal_files,
    read_journal,
)
from reverse_etl.state.spark_history import HISTORY, SparkHistory
from reverse_etl.state.spark_tables import FOLDS, Scope, utc_now
from reverse_etl.state.store import ScopeInfo

if TYPE_CHECKING:  # pyspark is imported only when a Spark warehouse is used
    from reverse_etl.engine.spark import SparkEngine

SCHEMA_VERSION = 1
UPLOAD_ROWS = 500_000  # journal rows sent to Spark per DataFrame (over Spark Connect)
# Journal rows per Parquet row group when the tables are on this machine's disk: the fold
# holds one such chunk at a time, so its memory does not grow with the run.
LOCAL_ROWS = 50_000
_ROWS = f"row_key STRING, row_hash STRING, synced_at TIMESTAMP_NTZ, {FIRST} TIMESTAMP_NTZ"
_LOG = (
    "outcome STRING, log_key STRING, event_id STRING, code BIGINT, message STRING, "
    "request_id STRING, run_id STRING"
)
_STAGED = f"row_key STRING, row_hash STRING, synced_at TIMESTAMP_NTZ, seq BIGINT, {_LOG}"
_DESTINATIONS = (
    "destination STRING, scope STRING, event_source_id STRING, mapping_fingerprint STRING, "
    "mapping STRING, last_sync_at TIMESTAMP_NTZ, last_run_id STRING, deleted BOOLEAN, "
    "seq BIGINT"
)
_META = "key STRING, value STRING"


class SparkStateStore(SparkHistory):
    """State tables in a Spark database (a ``StateStore``); the diff runs there too."""

    diffs_in_place = True  # only the rows to send leave Spark
    new_scope_form = FORM_EXACT  # the row hash form a first sync takes

    def __init__(
        self,
        engine: SparkEngine,
        database: str,
        journal_dir: Path,
        *,
        write: bool,
        clock: Clock = system_clock,
        create: bool = True,
    ) -> None:
        super().__init__(engine, database, write=write)
        # create=False (a reader: plan, state show, retl runs, retl ui): nothing is written,
        # in the catalog or in the warehouse's folder; a state not created yet reads as
        # nothing sent (its tables as temporary views of no rows).
        self.create = create or write
        self.journal_dir = journal_dir
        self.clock = clock
        self.warnings: list[str] = []
        self._journals: dict[tuple[str, str], JournalWriter] = {}
        self._prepare()
        self._current = self._read_folds()
        self._dests = self._read_destinations()
        if write:
            self._fold_journals()  # what a run that died had acknowledged
        elif journal_files(journal_dir):
            self.warnings.append(
                f"a sync that stopped early left acknowledgements in {journal_dir} that are "
                "not in the Spark state yet: this plan counts those rows as not sent; the "
                "next sync adds them first"
            )

    def _prepare(self) -> None:
        if self._root is None and self.create:
            self.engine.execute(f"CREATE DATABASE IF NOT EXISTS `{self.database}`")
            for table, columns in (
                ("meta", _META),
                ("folds", FOLDS),
                ("destinations", _DESTINATIONS),
            ):
                self.engine.execute(
                    f"CREATE TABLE IF NOT EXISTS `{self.database}`.`{table}` ({columns}) "
                    "USING parquet"
                )
        versions = [int(r["value"]) for r in self._small("meta", _META)]
        version = max(versions) if versions else None
        if version is not None and int(version) > SCHEMA_VERSION:
            raise StateError(
                f"the state in Spark database {self.database} was written by a newer retl "
                f"(schema {version}, this retl knows {SCHEMA_VERSION})",
                hint="upgrade retl",
            )
        if version is None and self.write:
            self._append("meta", _META, pa.table({"key": ["schema_version"], "value": ["1"]}))

    def _read_destinations(self) -> dict[Scope, tuple[Any, ...]]:
        newest: dict[Scope, dict[str, Any]] = {}
        for r in self._small("destinations", _DESTINATIONS):
            key = Scope(r["destination"], r["scope"])
            if key not in newest or r["seq"] > newest[key]["seq"]:
                newest[key] = r
        return {
            key: (
                r["event_source_id"],
                r["mapping_fingerprint"],
                r["mapping"],
                r["last_sync_at"],
                r["deleted"],
            )
            for key, r in newest.items()
            if not r["deleted"]
        }

    def _slot(self, scope: Scope) -> str | None:
        """The table holding a scope's acknowledged keys (None: nothing acknowledged)."""
        found = self._current.get(scope)
        if found is None or not found[1]:
            return None
        return f"rows_{scope.id}_{found[1]}"

    # --- reads -------------------------------------------------------------------------------
    def latest_relation(self, destination: str, scope: str, *, with_first: bool = False) -> str:
        """The acknowledged (key, hash[, first time]) of one scope, one row per key, as SQL
        both DuckDB and Spark read (the diff is transpiled)."""
        first = f", {FIRST}" if with_first else ""
        slot = self._slot(Scope(destination, scope))
        if slot is None:
            empty = f", CAST(NULL AS TIMESTAMP) AS {FIRST}" if with_first else ""
            return (
                "(SELECT CAST(NULL AS VARCHAR) AS row_key, CAST(NULL AS VARCHAR) AS row_hash"
                f"{empty} WHERE FALSE)"
            )
        return f"(SELECT row_key, row_hash{first} FROM {self._rel(slot, _ROWS)})"

    def hash_form(self, destination: str, scope: str) -> int | None:
        slot = self._slot(Scope(destination, scope))
        if slot is None:
            return None
        found = self.engine.rows(f"SELECT length(row_hash) FROM {self._rel(slot, _ROWS)} LIMIT 1")
        if not found:
            return None
        form = form_of(int(found[0][0]))
        if form not in (FORM_MD5, FORM_SHA1, FORM_EXACT):
            raise StateError(
                f"the state in Spark database {self.database} holds row hashes this retl "
                f"does not know (destination {destination!r})",
                hint="upgrade retl, or 'retl state reset' to send every row again",
            )
        return form

    def _count(self, scope: Scope) -> int:
        slot = self._slot(scope)
        if slot is None:
            return 0
        return int(self.engine.rows(f"SELECT count(*) FROM {self._rel(slot, _ROWS)}")[0][0])

    def scope_info(self, destination: str, scope: str, *, count: bool = True) -> ScopeInfo | None:
        key = Scope(destination, scope)
        found = self._dests.get(key)
        if found is None:
            return None
        source_id, fingerprint, mapping, last, _ = found
        return ScopeInfo(
            destination,
            scope,
            self._count(key) if count else None,
            source_id,
            fingerprint,
            mapping,
            last,
        )

    def all_scopes(self) -> list[ScopeInfo]:
        keys = {k for k in self._current if self._slot(k) and k.destination != HISTORY}
        keys |= set(self._dests)
        out = []
        for key in sorted(keys, key=lambda k: (k.destination, k.scope)):
            info = self.scope_info(key.destination, key.scope)
            out.append(
                info
                or ScopeInfo(key.destination, key.scope, self._count(key), None, None, None, None)
            )
        return out

    def acknowledged(self, destination: str, window: DedupWindow) -> tuple[int, int]:
        total = late = 0
        for key in self._current:
            if key.destination != destination or self._slot(key) is None:
                continue
            latest = self.latest_relation(destination, key.scope, with_first=True)
            n, old = self.engine.rows(self.engine.transpile(acknowledged_sql(latest, window)))[0]
            total, late = total + int(n), late + int(old or 0)
        return total, late

    # --- writes ----------------------------------------------------------------------------
    def record_acknowledged(
        self,
        destination: str,
        scope: str,
        keys: Column,
        hashes: Column,
        log: LogBatch | None = None,
    ) -> None:
        """One append to the scope's local journal (with its delivery-log rows), in the
        kernel when this returns (so it survives a killed process); folded into Spark by
        ``compact``."""
        self._journal(destination, scope).append(keys, hashes, log)

    def record_outcomes(self, destination: str, scope: str, log: LogBatch) -> None:
        """Delivery-log rows of rows not acknowledged: journalled, folded with the rest."""
        self._journal(destination, scope).append(log.keys, None, log)

    def _journal(self, destination: str, scope: str) -> JournalWriter:
        self._writable()
        journal = self._journals.get((destination, scope))
        if journal is None:
            journal = JournalWriter.create(self.journal_dir, destination, scope, self.clock)
            self._journals[(destination, scope)] = journal
        return journal

    def compact(self, destination: str, scope: str) -> None:
        """Fold the journals into Spark (every scope's: a died run's too)."""
        self._fold_journals()

    def _fold_journals(self) -> None:
        for journal in self._journals.values():
            journal.close()
        self._journals.clear()
        files = journal_files(self.journal_dir)
        by_scope: dict[Scope, list[Path]] = {}
        unreadable: list[tuple[Path, JournalDamage]] = []
        for file in files:
            found = read_journal(file)
            if found is None:
                file.unlink(missing_ok=True)
            elif isinstance(found, JournalDamage):
                unreadable.append((file, found))
            else:
                by_scope.setdefault(Scope(found.destination, found.scope), []).append(file)
        for key, group in by_scope.items():
            self._fold_scope(key, group)
        for file, damage in unreadable:
            kept = file.with_name(file.name + ".damaged")
            file.replace(kept)
            self.warnings.append(
                f"{file}: {damage.reason}: its acknowledgements were lost (kept it as {kept}); "
                "the next sync sends those rows again"
            )

    def _fold_scope(self, key: Scope, files: list[Path]) -> None:
        """Stage the journals in Spark, write the free slot from the slot in use and them,
        then point ``folds`` at it; the journal files go last. A crash before the pointer
        leaves the old slot in use and the journals in place: the next run does it again."""
        staged = f"staged_{key.id}"
        damaged: list[tuple[Path, JournalDamage]] = []
        uploaded = False
        journals = [(i, read_journal(f), f) for i, f in enumerate(files)]
        rows_read = [0]
        # Local Parquet is written a chunk at a time; an upload to Spark is one DataFrame
        # (and a Spark job) per chunk, so it takes larger ones.
        chunk_rows = LOCAL_ROWS if self._local is not None else UPLOAD_ROWS

        def chunks() -> Iterator[pa.Table]:
            for index, journal, file in journals:
                if not isinstance(journal, Journal):
                    continue
                for chunk in _chunks(journal.reader, chunk_rows):
                    seq = pa.compute.add(chunk.column("pos"), pa.scalar(index << 40, pa.int64()))
                    rows_read[0] += chunk.num_rows
                    yield chunk.drop_columns(["pos"]).add_column(3, "seq", seq)
                if journal.damage is not None:
                    damaged.append((file, journal.damage))

        if self._local is not None:
            self._write_local(staged, _STAGED, chunks(), replace=True)
            uploaded = rows_read[0] > 0
        else:
            for rows in chunks():
                mode = "append" if uploaded else "overwrite"
                self.engine.write_arrow(rows, self._target(staged), mode=mode)
                uploaded = True
        if uploaded:
            self._written(staged)
            rel = self._rel(staged, _STAGED)
            self._log_staged(key.destination, rel)  # the delivery log first
            self._write_slot(key, f"(SELECT * FROM {rel} WHERE row_hash IS NOT NULL)")
        for file in files:
            if any(file == d for d, _ in damaged):
                continue
            file.unlink(missing_ok=True)
        for file, damage in damaged:
            kept = file.with_name(file.name + ".damaged")
            file.replace(kept)
            self.warnings.append(
                f"{file}: {damage.reason}: folded the {damage.entries_read} acknowledgement(s) "
                f"before the damage (kept it as {kept}); the rest are sent again"
            )

    def _write_slot(self, key: Scope, staged: str) -> None:
        gen, slot = self._current.get(key, (0, ""))
        new_slot = "b" if slot == "a" else "a"
        table = f"rows_{key.id}_{new_slot}"
        journal = (
            f"SELECT row_key, max_by(row_hash, seq) AS row_hash, max(synced_at) AS synced_at, "
            f"min(synced_at) AS first_in_run FROM {staged} GROUP BY row_key"
        )
        old = self._slot(key)
        if old is None:
            sql = f"SELECT row_key, row_hash, synced_at, first_in_run AS {FIRST} FROM ({journal})"
        else:
            o = self._rel(old, _ROWS)
            sql = (
                f"WITH j AS ({journal}) "
                f"SELECT o.row_key, o.row_hash, o.synced_at, o.{FIRST} FROM {o} o "
                "LEFT ANTI JOIN j ON o.row_key = j.row_key "
                f"UNION ALL SELECT j.row_key, j.row_hash, j.synced_at, "
                f"coalesce(o.{FIRST}, j.first_in_run) AS {FIRST} FROM j "
                f"LEFT JOIN {o} o ON o.row_key = j.row_key"
            )
        self.engine.write_sql(sql, self._target(table), mode="overwrite")
        self._written(table)
        self._point(key, gen + 1, new_slot)

    def record_run(
        self,
        destination: str,
        scope: str,
        *,
        event_source_id: str | None,
        fingerprint: str,
        mapping: str,
        run_id: str,
    ) -> None:
        self._writable()
        now = utc_now()
        self._append_destination(
            Scope(destination, scope),
            source_id=event_source_id,
            fingerprint=fingerprint,
            mapping=mapping,
            last=now,
            run_id=run_id,
        )
        self._dests[Scope(destination, scope)] = (
            event_source_id,
            fingerprint,
            mapping,
            now,
            False,
        )

    def _append_destination(
        self,
        key: Scope,
        *,
        source_id: str | None,
        fingerprint: str | None,
        mapping: str | None,
        last: dt.datetime | None,
        run_id: str | None,
        deleted: bool = False,
    ) -> None:
        self._append(
            "destinations",
            _DESTINATIONS,
            pa.table(
                {
                    "destination": [key.destination],
                    "scope": [key.scope],
                    "event_source_id": pa.array([source_id], pa.string()),
                    "mapping_fingerprint": pa.array([fingerprint], pa.string()),
                    "mapping": pa.array([mapping], pa.string()),
                    "last_sync_at": pa.array([last], pa.timestamp("us")),
                    "last_run_id": pa.array([run_id], pa.string()),
                    "deleted": [deleted],
                    "seq": pa.array([time.time_ns()], pa.int64()),
                }
            ),
        )

    def reset(self, destination: str, scope: str | None = None) -> int:
        """Forget a destination's acknowledged keys (one scope or all): an empty slot is
        pointed at, and its mapping marked deleted. Returns the keys forgotten."""
        self._writable()
        self._fold_journals()
        keys = {k for k in (*self._current, *self._dests) if k.destination == destination}
        if scope is not None:
            keys = {k for k in keys if k.scope == scope}
        count = 0
        for key in keys:
            count += self._count(key)
            if self._slot(key) is not None:
                self._point(key, self._current[key][0] + 1, "")
            if key in self._dests:
                self._append_destination(
                    key,
                    source_id=None,
                    fingerprint=None,
                    mapping=None,
                    last=None,
                    run_id=None,
                    deleted=True,
                )
                del self._dests[key]
        return count

    def explain(self, exc: BaseException) -> StateError | None:
        """Spark reports its own errors: nothing to add."""
        return None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Spark has no lock to take: two runs on one state are kept apart by the CI
        (docs/warehouses.md); this is a no-op kept for the shape of the other stores."""
        yield

    def close(self) -> None:
        if self.write:
            # Fold what this run acknowledged (after an error too); if that fails, the
            # journal stays and the next run folds it.
            with contextlib.suppress(Exception):
                self._fold_journals()
        for journal in self._journals.values():
            journal.close()
        self._journals.clear()
        for table in list(self._views):
            self._written(table)


def _chunks(reader: pa.RecordBatchReader, rows: int) -> Iterator[pa.Table]:
    """The reader's batches gathered ``rows`` at a time (one upload per chunk)."""
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in reader:
        pending.append(batch)
        size += batch.num_rows
        if size >= rows:
            yield pa.Table.from_batches(pending).combine_chunks()
            pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending).combine_chunks()

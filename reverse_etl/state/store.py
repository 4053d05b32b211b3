"""The sync state: which payload each row key had when TikTok acknowledged it.

A DuckDB file (``.retl/state.duckdb``, or ``sandbox-state.duckdb`` for sandbox runs) ATTACHed
to the engine's connection as ``retl_state``, so the diff is one join inside DuckDB.

Acknowledgements go to a journal first (see ``journal.py``): one append per acknowledged
batch, in the kernel before the next request is sent, so a killed process loses none. The
journal is folded into the database in one transaction when a destination finishes, or by
the next run when a run died; a read-only open (``retl plan``) reads it as it is. Nothing
unacknowledged is ever recorded and nothing acknowledged is lost.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pyarrow as pa

from reverse_etl import project_files
from reverse_etl.delivery.batching import Column
from reverse_etl.engine.duckdb import SENDING_MEMORY, DuckDBEngine, run_sql
from reverse_etl.engine.file_paths import file_literal
from reverse_etl.errors import EXIT_LOCKED, EngineError, StateDamagedError, StateError
from reverse_etl.history.records import RunDestinationRecord, RunRecord
from reverse_etl.history.tables import HISTORY_TABLES, history_upserts, prune_statements
from reverse_etl.state.base import LogBatch
from reverse_etl.state.dedup import FIRST, Clock, DedupWindow, acknowledged_sql, system_clock
from reverse_etl.state.diff import FORM_BY_LENGTH, NEWEST_FORM
from reverse_etl.state.journal import (
    TORN,
    Journal,
    JournalDamage,
    JournalWriter,
    journal_files,
    read_journal,
)
from reverse_etl.state.logfiles import LogSegment, log_files, log_rows
from reverse_etl.state.logfiles import is_regular as is_regular_log_file
from reverse_etl.state.logfiles import prune as prune_log_files
from reverse_etl.state.logfiles import relation as log_relation

ALIAS = "retl_state"
LOCAL_HISTORY = ("runs", "run_destinations")  # tables; the delivery log is files
SCHEMA_VERSION = 4

# Each migration takes the schema from version i to i + 1. Never edit a released one: add one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        f"CREATE TABLE {ALIAS}.meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
        # An append-only log: a commit per acknowledged batch is one cheap append (no index
        # to maintain); the newest entry per key wins, and compact() drops the older ones.
        f"CREATE SEQUENCE {ALIAS}.ack_seq",
        f"""CREATE TABLE {ALIAS}.synced_rows (
            destination VARCHAR NOT NULL,
            scope VARCHAR NOT NULL,
            row_key VARCHAR NOT NULL,
            row_hash VARCHAR NOT NULL,
            synced_at TIMESTAMP NOT NULL,
            seq BIGINT NOT NULL)""",
        f"""CREATE TABLE {ALIAS}.destinations (
            destination VARCHAR NOT NULL,
            scope VARCHAR NOT NULL,
            event_source_id VARCHAR,
            mapping_fingerprint VARCHAR,
            mapping JSON,
            last_sync_at TIMESTAMP,
            last_run_id VARCHAR,
            PRIMARY KEY (destination, scope))""",
    ),
    # Whether a scope's log holds one entry per key (compacted after each run). A run marks
    # it dirty before its first acknowledgement; only a run that died leaves it so, and only
    # then does the diff need the heavier newest-entry-per-key aggregate.
    # A schema 1 state kept the newest entry per key only at a run's end: one whose run died
    # holds several entries for a key, unmarked, and is marked here (the second statement was
    # added later: a state migrated without it read such keys twice until a resend of them).
    (
        f"CREATE TABLE {ALIAS}.dirty_scopes (destination VARCHAR NOT NULL, "
        "scope VARCHAR NOT NULL, PRIMARY KEY (destination, scope))",
        f"""INSERT INTO {ALIAS}.dirty_scopes
            SELECT DISTINCT destination, scope FROM {ALIAS}.synced_rows
            GROUP BY destination, scope, row_key HAVING count(*) > 1""",
    ),
    # When each key was first acknowledged (TikTok's dedup window runs from then; see
    # dedup.py). A state from before knows only the last time: the best value there is, and
    # the earliest entry of a key whose run died.
    (
        f"ALTER TABLE {ALIAS}.synced_rows ADD COLUMN IF NOT EXISTS {FIRST} TIMESTAMP",
        f"""UPDATE {ALIAS}.synced_rows AS r SET {FIRST} = m.first
            FROM (SELECT destination, scope, row_key, min(synced_at) AS first
                  FROM {ALIAS}.synced_rows GROUP BY ALL) AS m
            WHERE m.destination = r.destination AND m.scope = r.scope
              AND m.row_key = r.row_key AND r.{FIRST} IS NULL""",
    ),
    # The run history and the delivery log (see reverse_etl/history).
    # (The delivery log is Parquet files beside the state file: see logfiles.py.)
    tuple(
        f"CREATE TABLE {ALIAS}.{name} ({columns})"
        for name, columns in HISTORY_TABLES
        if name in LOCAL_HISTORY
    ),
)


@dataclass(eq=False)
class StateInUseError(StateError):
    """Another process has the state database open (DuckDB's own lock: read-write there, or
    at all when this one opens it read-write): a DuckDB client, or a retl command reading
    it. ``holder_pid`` is that process's PID as DuckDB names it ("" when it does not).
    As a sync refused by the lock (``LockHeldError``), exit 75 (EX_TEMPFAIL): nothing is
    wrong with the project, the next run goes ahead once the file is let go; its reason,
    ``in_use``, tells a machine which of the two refused it."""

    exit_code: int = EXIT_LOCKED
    reason: ClassVar[str | None] = "in_use"
    holder_pid = ""  # set on the instance by LocalStateStore.explain


# How many times a read during a sync copies the state before it gives up (see
# LocalStateStore._attach_snapshot): a sync writes the file only a few times per run.
SNAPSHOT_ATTEMPTS = 10


@dataclass(frozen=True)
class ScopeInfo:
    """What the state knows about one destination scope."""

    destination: str
    scope: str
    rows: int | None  # keys acknowledged; None: not counted (``scope_info(count=False)``)
    event_source_id: str | None
    mapping_fingerprint: str | None
    mapping: str | None
    last_sync_at: dt.datetime | None


class LocalStateStore:
    """The state database, attached to an engine connection (a ``StateStore``)."""

    diffs_in_place = False  # the diff runs in the workbench, where the file is attached

    def __init__(
        self,
        engine: DuckDBEngine,
        path: Path,
        *,
        read_only: bool = False,
        snapshot: bool = False,
        live: bool = True,
        reset_command: str = "retl state reset",
        clock: Clock = system_clock,
    ) -> None:
        """``snapshot`` (read-only only): read a copy of the file, for when another process
        holds it open read-write (see ``_attach_snapshot``); ``live``: that process is a retl
        sync, appending to its journal (a last batch cut short is no damage then)."""
        self.engine = engine
        self.clock = clock  # acknowledgement times (tests move it)
        self.path = path
        self.read_only = read_only
        self.reset_command = reset_command  # named in the error about a damaged file
        self.warnings: list[str] = []  # for the caller's Console (the library never prints)
        self._writer: duckdb.DuckDBPyConnection | None = None
        self.journal_dir = path.with_name(path.name + ".acks")
        self.log_dir = path.with_name(path.name + ".log")  # the delivery log (logfiles.py)
        self._journals: dict[tuple[str, str], JournalWriter] = {}
        self._pending = ""  # read-only: SQL of the journal entries not yet folded
        self._staged: list[str] = []
        # read-only: each journal staged (its file's stem, its table, its destination), whose
        # delivery-log rows the history reads until a fold writes them as a log file
        self._pending_logs: list[tuple[str, str, str]] = []
        self._attached = False
        self._upgraded_copy: Path | None = None  # read-only over an older schema
        self._snapshot_dir: Path | None = None  # read-only during a sync: the copy's folder
        try:
            if snapshot and read_only:
                # The journals first: an entry folded meanwhile is then in the copy as
                # well (read twice, counted once), never in neither.
                self._load_pending(live=live)
                self._attach_snapshot()
            else:
                self._attach()
                if read_only:
                    self._load_pending()
                else:
                    self._fold_journals()
        except BaseException as exc:
            error = self.explain(exc)
            self._abandon()
            if error is None:
                raise
            raise error from None

    def _check_files(self) -> None:
        """The state file and its write-ahead log are regular files, when they exist, and no
        symbolic links: a pull request may commit either. A pipe blocks DuckDB's open (retl
        plan, state show and runs hung on one); a folder or a device is no database; DuckDB
        writes through a link (a ``.wal`` linked to ``~/.bashrc`` was overwritten with the
        log's bytes, a link to a missing file made a database outside the state folder)."""
        wal = self.path.with_name(self.path.name + ".wal")
        for file, what in ((self.path, "it is"), (wal, f"its write-ahead log {wal.name} is")):
            try:
                mode = os.lstat(file).st_mode
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(mode):
                # Not "damaged": its target may be a good state a user linked to another
                # disk, which a reset (the damaged file's hint) would have sent again whole.
                target = ""
                with contextlib.suppress(OSError):
                    target = f" (to {os.readlink(file)})"
                raise StateDamagedError(
                    f"the state file is not retl's to open: {what} a symbolic link{target}, "
                    "which DuckDB would write through; retl keeps plain files there",
                    file=file,
                    hint="to keep the state on another disk, set state.path in "
                    "retl_project.yml to the folder that holds it (inside the project or a "
                    "folder of RETL_ALLOWED_PATHS) and delete the link; a link a pull request "
                    "committed: delete it",
                )
            if not stat.S_ISREG(mode):
                raise self._not_a_state(f"{what} not a regular file (a folder, a pipe or a device)")

    def _attach(self) -> None:
        self._check_files()
        # The journals' and the delivery log's folders: never a pull request's link, which
        # the fold would write into and the prune delete from.
        project_files.own_folder(self.journal_dir)
        project_files.own_folder(self.log_dir)
        if self.read_only and not self.path.exists():
            # Nothing synced yet: an empty in-memory state with the same schema.
            self.engine.execute(f"ATTACH ':memory:' AS {ALIAS}")
            self._attached = True
            self._migrate()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # TYPE DUCKDB: a file with another database's header (SQLite, say) is refused as not
        # a DuckDB file, rather than handed to an extension DuckDB would try to download.
        mode = "TYPE DUCKDB" + (", READ_ONLY" if self.read_only else "")
        cur = self.engine.cursor()  # DuckDB's own exception types, not the engine's wrapping
        try:
            cur.execute(f"ATTACH {_lit(str(self.path))} AS {ALIAS} ({mode})")
        except duckdb.Error as exc:
            raise self.explain(exc) or StateError(
                f"cannot open the state database: {' '.join(str(exc).split())}",
                file=self.path,
                hint="if the file is damaged, move it away: the next sync then sends every row",
            ) from None
        finally:
            cur.close()
        self._attached = True
        self._migrate()

    def explain(self, exc: BaseException) -> StateError | None:
        """What ``exc`` means when it is this state file's fault: in use by another process,
        or damaged (see ``_fault``); None when it is not (the caller re-raises it).

        DuckDB checks a block's checksum when it first reads the block, so damage shows up
        wherever that happens: on ATTACH, in the diff, on a write; the engine wraps DuckDB's
        exceptions in EngineError, so the chain is searched for the original."""
        if isinstance(exc, StateError):
            return None
        cause = _duckdb_cause(exc)
        if cause is None:
            return None
        if isinstance(cause, duckdb.BinderException | duckdb.CatalogException) and self._attached:
            # A query of retl's own that does not bind: a table or column of the state is
            # missing (checked only now: ~30 ms that every open would pay).
            try:
                self._check_tables()
            except StateDamagedError as damaged:
                return damaged
            except (duckdb.Error, EngineError):
                return None
            return None
        fault = _fault(cause)
        if fault is None:
            return None
        kind, detail = fault
        if kind == "locked":
            error = StateInUseError(
                "the state database is in use by another process"
                + (f" (PID {detail})" if detail else ""),
                file=self.path,
                hint="another program has it open, a DuckDB client or a retl command reading "
                "it: close it or let it finish; the next run goes ahead (exit 75)",
            )
            error.holder_pid = detail
            return error
        if not self._is_ours(cause):
            return None
        return self._damaged(f"the state file is damaged: {detail}")

    def _is_ours(self, cause: duckdb.Error) -> bool:
        """Whether a damage error is about this file: DuckDB names the file in some messages
        only; a bad checksum is ours when no other database file is attached, or when reading
        the whole state hits it again (a block that failed its checksum was never cached)."""
        named = _NAMED_FILE.search(str(cause))
        if named is not None:
            return Path(named.group(1)).resolve() == self.path.resolve()
        if not self._attached:
            return True
        try:
            others = self.engine.rows(
                "SELECT count(*) FROM duckdb_databases() "
                "WHERE path IS NOT NULL AND database_name <> ?",
                [ALIAS],
            )
            if not others[0][0]:
                return True
            self._read_everything()
        except (duckdb.Error, EngineError) as again:
            again_cause = _duckdb_cause(again)
            return again_cause is not None and _fault(again_cause) is not None
        return False

    def check_readable(self) -> None:
        """Read the whole state: a StateDamagedError if any of it is damaged (a whole reset
        checks first, so that it does not stop midway)."""
        try:
            self._check_tables()
            self._read_everything()
        except (duckdb.Error, EngineError) as exc:
            error = self.explain(exc)
            if error is None:
                raise
            raise error from None

    def _read_everything(self) -> None:
        """Read every column of every table of the state, and each primary-key index (DuckDB
        loads an index on its first lookup)."""
        tables = self.engine.rows(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [ALIAS]
        )
        for (table,) in tables:
            self.engine.rows(f"SELECT sum(hash(t)) FROM {ALIAS}.{table} AS t")
        self.engine.rows(f"SELECT count(*) FROM {ALIAS}.meta WHERE key = ''")
        for table in ("destinations", "dirty_scopes"):
            self.engine.rows(
                f"SELECT count(*) FROM {ALIAS}.{table} WHERE destination = '' AND scope = ''"
            )

    def _abandon(self) -> None:
        """After a failed open: let go of the file (a reset may then move it away)."""
        if self._writer is not None:
            with contextlib.suppress(duckdb.Error):
                self._writer.close()
            self._writer = None
        if self._attached:
            with contextlib.suppress(EngineError):
                self.engine.execute(f"DETACH {ALIAS}")
            self._attached = False
        self._drop_upgraded_copy()

    def _attach_upgraded_copy(self) -> None:
        """Read-only over an older schema: detach the file, copy it (and its WAL) into the
        engine's temp folder, and attach the copy, migrated; it is deleted on close."""
        self.engine.execute(f"DETACH {ALIAS}")
        self._attached = False
        folder = self.engine.temp_directory or self.path.parent
        project_files.own_folder(folder, create=True)
        copy = folder / f"{self.path.name}.read-{os.getpid()}"
        for suffix in ("", ".wal"):
            source = self.path.with_name(self.path.name + suffix)
            target = copy.with_name(copy.name + suffix)
            target.unlink(missing_ok=True)
            if source.exists():
                shutil.copyfile(source, target)
        self._upgraded_copy = copy
        self.engine.execute(f"ATTACH {_lit(str(copy))} AS {ALIAS} (TYPE DUCKDB)")
        self._attached = True
        self.read_only = False  # for the migration only
        try:
            self._migrate()
        finally:
            self.read_only = True

    def _drop_upgraded_copy(self) -> None:
        copy = self._upgraded_copy
        if copy is not None:
            for suffix in ("", ".wal"):
                copy.with_name(copy.name + suffix).unlink(missing_ok=True)
            self._upgraded_copy = None
        if self._snapshot_dir is not None:
            shutil.rmtree(self._snapshot_dir, ignore_errors=True)
            self._snapshot_dir = None

    def _attach_snapshot(self) -> None:
        """Read-only while another process holds the file open read-write (DuckDB then
        refuses every other open): a retl sync, or a program of the user's (a DuckDB client).
        Attach a copy of the file and its write-ahead log, in a private folder beside it
        (where the workbench may read files), deleted on close.

        A copy taken while the holder writes could mix two states, so the copy counts only
        when neither file changed (size and modification time) while it was taken; else it
        is taken again. What the copy holds is then what the holder had committed (DuckDB
        replays the log's committed transactions; an open transaction is in neither). A
        sync writes the file only when it folds a destination's journal and when it ends;
        a holder that keeps writing gets a StateError after SNAPSHOT_ATTEMPTS copies."""
        self._check_files()  # a copy of a pipe or a device would never end
        folder = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.read-", dir=self.path.parent))
        self._snapshot_dir = folder
        copy = folder / self.path.name
        unreadable: str | None = None
        for attempt in range(SNAPSHOT_ATTEMPTS):
            if attempt:
                time.sleep(min(0.05 * 2**attempt, 1.0))  # the sync is writing: let it finish
            before = _stamps(self.path)
            for suffix in ("", ".wal"):
                source = self.path.with_name(self.path.name + suffix)
                target = copy.with_name(copy.name + suffix)
                target.unlink(missing_ok=True)
                with contextlib.suppress(FileNotFoundError):  # no .wal: checkpointed
                    shutil.copyfile(source, target)
            if _stamps(self.path) != before or not copy.exists():
                continue
            cur = self.engine.cursor()
            try:
                cur.execute(f"ATTACH {_lit(str(copy))} AS {ALIAS} (TYPE DUCKDB)")
            except duckdb.Error as exc:
                unreadable = " ".join(str(exc).split())
                continue  # a copy that does not open is taken again
            finally:
                cur.close()
            self._attached = True
            self.read_only = False  # the copy is ours: migrate it if it is older
            try:
                self._migrate()
            finally:
                self.read_only = True
            return
        if unreadable is not None:
            raise StateError(
                f"cannot read a copy of the state database: {unreadable}", file=self.path
            )
        raise StateError(
            "a retl sync kept writing the state database while it was read",
            file=self.path,
            hint="run the command again in a moment, or once the sync has finished",
        )

    def _version(self) -> int:
        tables = {
            r[0]
            for r in self.engine.rows(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = ?",
                [ALIAS],
            )
        }
        if "meta" not in tables:
            if tables:  # a DuckDB file of something else, or a state that lost its table
                raise self._not_a_state(f"it has tables ({', '.join(sorted(tables))}) but no meta")
            return 0
        row = self.engine.rows(f"SELECT value FROM {ALIAS}.meta WHERE key = 'schema_version'")
        try:
            return int(row[0][0]) if row else 0
        except (TypeError, ValueError):
            raise self._not_a_state(f"its schema_version is {row[0][0]!r}") from None

    def _not_a_state(self, why: str) -> StateDamagedError:
        return self._damaged(f"the state file is damaged or not retl's: {why}")

    def _damaged(self, message: str) -> StateDamagedError:
        return StateDamagedError(
            message,
            file=self.path,
            hint=f"move it away or restore it; '{self.reset_command}' starts over",
        )

    def _check_tables(self) -> None:
        """Every table and column of this retl's schema is there (a file that says it is at
        this version but lacks one failed as a binder error or "this is a bug"). Run when a
        query of retl's does not bind (``explain``) and before a whole reset."""
        found = {
            (table, column)
            for table, column in self.engine.rows(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_catalog = ?",
                [ALIAS],
            )
        }
        missing = sorted(_expected_columns() - found)
        if missing:
            listed = ", ".join(f"{t}.{c}" for t, c in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise self._not_a_state(f"it lacks {listed}{more}")

    def _migrate(self) -> None:
        version = self._version()
        if version > SCHEMA_VERSION:
            raise StateError(
                f"the state in {self.path} was written by a newer retl (schema {version}, "
                f"this retl knows {SCHEMA_VERSION})",
                hint="upgrade retl",
            )
        if version == SCHEMA_VERSION:
            return
        if self.read_only and self.path.exists():
            # A plan changes no state, and a sync may hold the file: read an upgraded copy.
            self._attach_upgraded_copy()
            return
        try:
            for statements in MIGRATIONS[version:]:
                for sql in statements:
                    self.engine.execute(sql)
        except EngineError as exc:
            # A table of its schema already there, of another shape: not retl's. Anything
            # else (out of memory, a full disk) is not the file's fault and is said as it is.
            cause = _duckdb_cause(exc)
            if not isinstance(cause, duckdb.BinderException | duckdb.CatalogException):
                raise
            why = f"its upgrade from schema {version} failed: {exc.message}"
            raise self._not_a_state(why) from None
        self.engine.execute(
            f"INSERT OR REPLACE INTO {ALIAS}.meta VALUES ('schema_version', ?)",
            [str(SCHEMA_VERSION)],
        )

    # --- reads ---------------------------------------------------------------------------
    def scope_info(self, destination: str, scope: str, *, count: bool = True) -> ScopeInfo | None:
        rows = self.engine.rows(
            f"""SELECT event_source_id, mapping_fingerprint, mapping, last_sync_at
                FROM {ALIAS}.destinations WHERE destination = ? AND scope = ?""",
            [destination, scope],
        )
        if not rows:
            return None
        source_id, fingerprint, mapping, last = rows[0]
        keys = self._count_keys(destination, scope) if count else None
        return ScopeInfo(destination, scope, keys, source_id, fingerprint, mapping, last)

    new_scope_form = NEWEST_FORM  # the row hash form a first sync takes

    def hash_form(self, destination: str, scope: str) -> int | None:
        """The row hash form of the scope's acknowledged rows; None when there are none yet
        (a first sync: every row is new, and it takes the newest form)."""
        rows = self.engine.rows(
            f"SELECT length(row_hash) FROM {self._log()} WHERE destination = ? AND scope = ? "
            "LIMIT 1",
            [destination, scope],
        )
        if not rows:
            return None
        form = FORM_BY_LENGTH.get(int(rows[0][0]))
        if form is None:
            raise StateError(
                f"the state in {self.path} holds row hashes this retl does not know "
                f"(destination {destination!r})",
                hint="upgrade retl, or 'retl state reset' to send every row again",
            )
        return form

    def _count_keys(self, destination: str, scope: str) -> int:
        """Keys acknowledged in a scope: a plain count when the log holds one entry per key
        (a distinct count over millions of keys costs a hash table of them all)."""
        aggregate = "count(DISTINCT row_key)" if self._is_dirty(destination, scope) else "count(*)"
        return int(
            self.engine.rows(
                f"SELECT {aggregate} FROM {self._log()} WHERE destination = ? AND scope = ?",
                [destination, scope],
            )[0][0]
        )

    def _is_dirty(self, destination: str, scope: str) -> bool:
        """Whether the scope's log may hold several entries per key (see ``latest_relation``)."""
        if self._pending:
            return True
        dirty = self.engine.rows(
            f"SELECT count(*) FROM {ALIAS}.dirty_scopes WHERE destination = ? AND scope = ?",
            [destination, scope],
        )[0][0]
        return bool(dirty)

    def all_scopes(self) -> list[ScopeInfo]:
        rows = self.engine.rows(
            f"""SELECT destination, scope FROM {ALIAS}.destinations
                UNION SELECT DISTINCT destination, scope FROM {self._log()}
                ORDER BY 1, 2"""
        )
        out = []
        for destination, scope in rows:
            info = self.scope_info(destination, scope)
            if info is None:
                count = self._count_keys(destination, scope)
                info = ScopeInfo(destination, scope, count, None, None, None, None)
            out.append(info)
        return out

    def latest_relation(self, destination: str, scope: str, *, with_first: bool = False) -> str:
        """SQL for the newest acknowledged (row_key, row_hash) of each key of one scope; with
        ``with_first``, also when the key was first acknowledged (``first_synced_at``)."""
        where = f"WHERE destination = {_lit(destination)} AND scope = {_lit(scope)}"
        if not self._is_dirty(destination, scope):
            # Folded: one entry per key, no aggregate (arg_max would not spill).
            first = f", coalesce({FIRST}, synced_at) AS {FIRST}" if with_first else ""
            return f"(SELECT row_key, row_hash{first} FROM {ALIAS}.synced_rows {where})"
        first = f", {_FIRST_OF_OLDEST} AS {FIRST}" if with_first else ""
        return (
            f"(SELECT row_key, arg_max(row_hash, seq) AS row_hash{first} "
            f"FROM {self._log()} {where} GROUP BY row_key)"
        )

    def acknowledged(self, destination: str, window: DedupWindow) -> tuple[int, int]:
        """(keys acknowledged, of which first acknowledged outside ``window``) over every
        scope of a destination: what forgetting it would send again, and count twice."""
        total = late = 0
        scopes = self.engine.rows(
            f"SELECT DISTINCT scope FROM {self._log()} WHERE destination = ?", [destination]
        )
        for (scope,) in scopes:
            latest = self.latest_relation(destination, scope, with_first=True)
            n, old = self.engine.rows(acknowledged_sql(latest, window))[0]
            total, late = total + int(n), late + int(old)
        return total, late

    def _log(self) -> str:
        """The acknowledgement log, with a journal not yet folded (read-only opens only)."""
        if not self._pending:
            return f"{ALIAS}.synced_rows"
        columns = f"destination, scope, row_key, row_hash, synced_at, {FIRST}, seq"
        return (
            f"(SELECT {columns} FROM {ALIAS}.synced_rows "
            f"UNION ALL SELECT {columns} FROM ({self._pending}))"
        )

    # --- writes (main thread only; a cursor, so an open result stream is not disturbed) ---
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        if self.read_only:
            raise StateError("internal: the state was opened read-only")
        if self._writer is None:
            self._writer = self.engine.cursor()
        return self._writer

    def record_acknowledged(
        self,
        destination: str,
        scope: str,
        keys: Column,
        hashes: Column,
        log: LogBatch | None = None,
    ) -> None:
        """Record one acknowledged batch: its keys now carry these row hashes.

        One append to the scope's journal file (with the batch's delivery-log rows), in the
        kernel when this returns (so it survives a killed process); folded into the database
        by ``compact``."""
        self._journal(destination, scope).append(keys, hashes, log)

    def record_outcomes(self, destination: str, scope: str, log: LogBatch) -> None:
        """Delivery-log rows of rows that were not acknowledged: appended to the same journal,
        so they are folded with the acknowledgements, in order."""
        self._journal(destination, scope).append(log.keys, None, log)

    def _journal(self, destination: str, scope: str) -> JournalWriter:
        if self.read_only:
            raise StateError("internal: the state was opened read-only")
        journal = self._journals.get((destination, scope))
        if journal is None:
            journal = JournalWriter.create(self.journal_dir, destination, scope, self.clock)
            self._journals[(destination, scope)] = journal
        return journal

    def record_history(
        self, run: RunRecord, destinations: Sequence[RunDestinationRecord] = ()
    ) -> None:
        cur = self._cursor()
        with _transaction(cur):
            for sql, params in history_upserts(f"{ALIAS}.", run, destinations):
                run_sql(cur, sql, params)

    def prune_history(self, before: dt.datetime) -> None:
        cur = self._cursor()
        with _transaction(cur):
            for sql in prune_statements(f"{ALIAS}.", tables=LOCAL_HISTORY):
                run_sql(cur, sql, [before])
        prune_log_files(self.log_dir, before)

    def history_relation(self, table: str) -> str:
        if table == "delivery_log":  # Parquet files beside the state (see logfiles.py)
            files = self._readable_log_files()
            return _with_pending_log(log_relation(files), self._pending_logs, files)
        return f"{ALIAS}.{table}"

    def _readable_log_files(self) -> list[Path]:
        """The delivery log's files whose footer reads; a damaged one is left out with a
        warning (once), rather than failing every read of the history with DuckDB's "No
        magic bytes found"."""
        import pyarrow.parquet as pq

        readable = []
        for path in log_files(self.log_dir):
            if not is_regular_log_file(path):
                warning = (
                    f"{path}: a delivery log file is not a regular file (a symbolic link, a "
                    "pipe or a device; not retl's): it is left out of the history, unread; "
                    "delete it"
                )
                if warning not in self.warnings:
                    self.warnings.append(warning)
                continue
            try:
                pq.read_metadata(path)
            except (OSError, pa.ArrowException) as exc:
                warning = (
                    f"{path}: a delivery log file is damaged ({' '.join(str(exc).split())}): "
                    "the deliveries it recorded are left out of the history; move it away"
                )
                if warning not in self.warnings:
                    self.warnings.append(warning)
                continue
            readable.append(path)
        return readable

    def _fold_journals(self) -> None:
        """Move every journal into the log, then delete the files (see ``_fold_one``)."""
        for journal in self._journals.values():
            journal.close()
        self._journals.clear()
        for spool in self.journal_dir.glob(".fold-*.parquet"):  # left by a fold that died
            spool.unlink(missing_ok=True)
        for file in journal_files(self.journal_dir):
            found = read_journal(file)
            if isinstance(found, Journal):
                self._fold_one(self._cursor(), found)
            damage = found.damage if isinstance(found, Journal) else found
            if damage is None:
                file.unlink(missing_ok=True)
                continue
            # Its readable entries are folded; the file stays, aside, for whoever wants to
            # look (renamed so that no run folds it again).
            kept = file.with_name(file.name + ".damaged")
            file.replace(kept)
            self.warnings.append(_journal_warning(file, found, damage, kept))

    def _fold_one(self, cur: duckdb.DuckDBPyConnection, journal: Journal) -> None:
        """Append a journal's entries to the log and drop the older entries of the same keys,
        so the log keeps one entry per key.

        Entries go in FOLD_ROWS at a time, each in its own transaction (one transaction for
        millions of rows would hold them all in memory). Meanwhile the scope is marked dirty,
        so a reader takes the newest entry per key; the last transaction appends the last
        entries and drops the older entries and the mark. A journal of at most FOLD_ROWS
        entries (a sync of up to ~245k rows) is thus folded in one transaction, never dirty.
        A fold that dies midway, or a file folded twice (a crash between the last commit and
        the unlink), therefore ends in the same state when folded again.
        """
        scope = [journal.destination, journal.scope]
        (cutoff,) = cur.execute(
            f"SELECT coalesce(max(seq), 0) FROM {ALIAS}.synced_rows"
        ).fetchone() or (0,)
        # The journal's delivery-log rows: a Parquet file in place before the journal's last
        # commit (and so before it is deleted); folded again, it is written again, whole.
        segment = LogSegment(self.log_dir, journal.path.stem)
        batches = _Tracked(journal.reader)
        chunks = _chunks(batches, FOLD_ROWS)
        spool = self.journal_dir / f".fold-{os.getpid()}.parquet"
        last = False
        try:
            with self.engine.memory_while(SENDING_MEMORY):  # appending needs few buffers
                for chunk in chunks:
                    segment.write(log_rows(chunk, journal.destination))
                    # The chunk goes to the spool, and out of memory, before DuckDB inserts
                    # it: held through the insert, it and its copy added ~45 MB to the peak
                    # of a 200k first sync (issue #18).
                    _write_spool(chunk, spool)
                    del chunk
                    if batches.done:  # the journal's last entries: appended below
                        last = True
                        break
                    with _transaction(cur):
                        run_sql(
                            cur, f"INSERT OR IGNORE INTO {ALIAS}.dirty_scopes VALUES (?, ?)", scope
                        )
                        self._append(cur, spool, scope, cutoff)
                chunks.close()  # it holds the last chunk's batches
            segment.commit()
            # Under the plan's memory limit: dropping what a resend of millions of keys
            # replaces joins them all.
            with _transaction(cur):
                if last:
                    self._append(cur, spool, scope, cutoff)
                self._supersede(cur, scope, cutoff)
        except BaseException:
            segment.abandon()
            raise
        finally:
            spool.unlink(missing_ok=True)

    @staticmethod
    def _supersede(cur: duckdb.DuckDBPyConnection, scope: list[str], cutoff: int) -> None:
        """Drop the entries (up to ``cutoff``) the journal's entries replace, and the mark."""
        (older,) = run_sql(
            cur,
            f"SELECT count(*) FROM {ALIAS}.synced_rows WHERE destination = ? AND scope = ? "
            "AND seq <= ?",
            [*scope, cutoff],
        )[0]
        if older:  # not the scope's first sync: drop what the journal supersedes
            _carry_first(cur, scope, f"{{t}}.seq > {int(cutoff)}", f"seq <= {int(cutoff)}")
            run_sql(
                cur,
                f"""DELETE FROM {ALIAS}.synced_rows
                    WHERE destination = ? AND scope = ? AND seq <= ? AND row_key IN (
                        SELECT row_key FROM {ALIAS}.synced_rows
                        WHERE destination = ? AND scope = ? AND seq > ?)""",
                [*scope, cutoff] * 2,
            )
        run_sql(cur, f"DELETE FROM {ALIAS}.dirty_scopes WHERE destination = ? AND scope = ?", scope)

    @staticmethod
    def _append(cur: duckdb.DuckDBPyConnection, spool: Path, scope: list[str], cutoff: int) -> None:
        """Insert a chunk of journal entries, written to ``spool`` by ``_write_spool``
        (inside the caller's transaction)."""
        run_sql(
            cur,
            f"""INSERT INTO {ALIAS}.synced_rows
                SELECT ?, ?, row_key, row_hash, synced_at, ? + pos, synced_at
                FROM read_parquet({file_literal(spool)}) WHERE row_hash IS NOT NULL""",
            [*scope, cutoff],
        )

    def _load_pending(self, *, live: bool = False) -> None:
        """Read-only: a journal left by a run that died (or is running) counts as state.
        ``live``: a sync is running and appending to its journal, so a last batch cut short
        is one being written, not damage: no warning."""
        parts = []
        for i, file in enumerate(journal_files(self.journal_dir)):
            journal = read_journal(file)
            if not isinstance(journal, Journal):
                if journal is not None and not live:
                    self.warnings.append(_journal_warning(file, None, journal, None))
                continue
            table = self.engine.stage(journal.reader)
            self._staged.append(table)
            self._pending_logs.append((file.stem, table, journal.destination))
            if journal.damage is not None and not (live and journal.damage.reason == TORN):
                self.warnings.append(_journal_warning(file, journal, journal.damage, None))
            seq = _PENDING_SEQ + (i << 40)  # newer than every folded entry, in file order
            parts.append(
                f"SELECT {_lit(journal.destination)} AS destination, {_lit(journal.scope)} "
                f"AS scope, row_key, row_hash, synced_at, synced_at AS {FIRST}, {seq} + pos "
                f"AS seq FROM {table} WHERE row_hash IS NOT NULL"
            )
        if parts:
            self._pending = " UNION ALL ".join(parts)

    def compact(self, destination: str, scope: str) -> None:
        """Fold the journal into the log, which then holds one entry per key; also cleans a
        scope left dirty by a run of an older retl that died."""
        self._fold_journals()
        dirty = self.engine.rows(
            f"SELECT count(*) FROM {ALIAS}.dirty_scopes WHERE destination = ? AND scope = ?",
            [destination, scope],
        )[0][0]
        if not dirty:
            return
        cur = self._cursor()
        newest = (
            f"{{t}}.seq IN (SELECT max(seq) FROM {ALIAS}.synced_rows WHERE destination = "
            f"{_lit(destination)} AND scope = {_lit(scope)} GROUP BY row_key)"
        )
        _carry_first(cur, [destination, scope], newest, "TRUE")
        run_sql(
            cur,
            f"""DELETE FROM {ALIAS}.synced_rows
                WHERE destination = ? AND scope = ? AND seq NOT IN (
                    SELECT max(seq) FROM {ALIAS}.synced_rows
                    WHERE destination = ? AND scope = ? GROUP BY row_key)""",
            [destination, scope, destination, scope],
        )
        run_sql(
            cur,
            f"DELETE FROM {ALIAS}.dirty_scopes WHERE destination = ? AND scope = ?",
            [destination, scope],
        )

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
        run_sql(
            self._cursor(),
            f"""INSERT OR REPLACE INTO {ALIAS}.destinations
                VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP, ?)""",
            [destination, scope, event_source_id, fingerprint, mapping, run_id],
        )

    def reset(self, destination: str, scope: str | None = None) -> int:
        """Forget what was sent to a destination (one scope or all); returns rows forgotten."""
        where = "destination = ?" + (" AND scope = ?" if scope is not None else "")
        params: list[Any] = [destination] + ([scope] if scope is not None else [])
        self._fold_journals()
        cur = self._cursor()
        count = run_sql(
            cur,
            f"SELECT count(DISTINCT (scope, row_key)) FROM {ALIAS}.synced_rows WHERE {where}",
            params,
        )[0]
        run_sql(cur, f"DELETE FROM {ALIAS}.synced_rows WHERE {where}", params)
        run_sql(cur, f"DELETE FROM {ALIAS}.destinations WHERE {where}", params)
        run_sql(cur, f"DELETE FROM {ALIAS}.dirty_scopes WHERE {where}", params)
        return int(count[0])

    def close(self) -> None:
        if not self.read_only:
            # Fold what this run acknowledged (after an error too); if that fails, the next
            # run folds it.
            with contextlib.suppress(Exception):
                self._fold_journals()
        for journal in self._journals.values():
            journal.close()
        self._journals.clear()
        for table in self._staged:
            with contextlib.suppress(EngineError):
                self.engine.execute(f"DROP TABLE IF EXISTS {table}")
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        with contextlib.suppress(EngineError):  # closing must not mask the real error
            if not self.read_only:
                # DETACH would checkpoint under the plan's memory limit, and a checkpoint
                # takes what it is given (~140 MB more after a sync of a million rows); it
                # needs no more than the send does.
                with self.engine.memory_while(SENDING_MEMORY):
                    self.engine.execute(f"CHECKPOINT {ALIAS}")
        with contextlib.suppress(EngineError):  # also when the checkpoint failed (damage)
            self.engine.execute(f"DETACH {ALIAS}")
        self._drop_upgraded_copy()


def set_aside(path: Path) -> Path:
    """Move a state file that cannot be read out of the way, with its write-ahead log and its
    journal, under one new name (``state.duckdb.damaged-20250101T120000Z``, the log and the
    journal beside it with their usual suffixes): nothing is deleted. Returns the new path."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while any(target.with_name(target.name + s).exists() for s in ("", ".wal", ".acks")):
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in (".wal", ".acks", ""):  # the database last: until then a retry finds it
        source = path.with_name(path.name + suffix)
        if source.exists() and not (source.is_dir() and not any(source.iterdir())):
            source.rename(target.with_name(target.name + suffix))
    return target


# Two of DuckDB's row groups (122,880 rows): each fold transaction fills whole row groups, so
# the next checkpoint does not merge partly filled ones (0.2 s per million rows, paid by the
# first re-sync after a large sync).
FOLD_ROWS = 2 * 122_880
_PENDING_SEQ = 1 << 60  # journal entries are newer than every folded one
# A key's first acknowledgement over several of its entries: its oldest entry's (each entry
# carries its key's first time once folded; a journal entry its own acknowledgement time).
_FIRST_OF_OLDEST = f"arg_min(coalesce({FIRST}, synced_at), seq)"


def _stamps(path: Path) -> tuple[tuple[int, int] | None, ...]:
    """(size, modification time) of the state file and of its .wal (None: missing)."""
    out: list[tuple[int, int] | None] = []
    for suffix in ("", ".wal"):
        try:
            st = path.with_name(path.name + suffix).stat()
        except FileNotFoundError:
            out.append(None)
        else:
            out.append((st.st_size, st.st_mtime_ns))
    return tuple(out)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _carry_first(cur: duckdb.DuckDBPyConnection, scope: list[str], kept: str, older: str) -> None:
    """Give the entries that stay (``kept``: SQL over the log aliased ``{t}``) the first
    acknowledgement of their key's oldest ``older`` entry (the lowest ``seq``): a resend
    updates a key's hash and last time, never its first time (TikTok's dedup window runs
    from that). The oldest entry's, not the earliest clock reading: a clock set back at a
    resend read earlier than the first acknowledgement, and was taken for it."""
    kept_k, kept_n = kept.replace("{t}", "k"), kept.replace("{t}", "n")
    run_sql(
        cur,
        f"""UPDATE {ALIAS}.synced_rows AS n SET {FIRST} = o.first
            FROM (SELECT row_key, {_FIRST_OF_OLDEST} AS first
                  FROM {ALIAS}.synced_rows
                  WHERE destination = ? AND scope = ? AND {older} AND row_key IN (
                      SELECT row_key FROM {ALIAS}.synced_rows AS k
                      WHERE destination = ? AND scope = ? AND {kept_k})
                  GROUP BY row_key) AS o
            WHERE n.destination = ? AND n.scope = ? AND {kept_n}
              AND n.row_key = o.row_key AND o.first <> coalesce(n.{FIRST}, n.synced_at)""",
        scope * 3,
    )


# What DuckDB 1.5.5 raises for a state file it cannot use: a duckdb.IOException in every case
# (a file locked by another process, a block overwritten, a file cut short, a file that is not
# a DuckDB database, a damaged write-ahead log; reproduced in tests/security/
# test_state_damage.py), told apart by how its message starts. Matched from the start: "in
# block at location" is not a lock.
_LOCKED = re.compile(r'IO Error: Could not set lock on file "[^"]*": Conflicting lock is held')
_PID = re.compile(r"\(PID (\d+)\)")
_DAMAGE = (
    (re.compile(r"IO Error: Corrupt database file: "), "a block of it fails its checksum"),
    (re.compile(r'IO Error: Could not read enough bytes from file "'), "it is cut short"),
    (
        re.compile(r'IO Error: The file "[^"]*" exists, but it is not a valid DuckDB database'),
        "it is not a DuckDB database",
    ),
    (re.compile(r'IO Error: Failure while replaying WAL file "'), "its .wal file is damaged"),
)
_NAMED_FILE = re.compile(
    r"IO Error: (?:Could not read enough bytes from file|The file"
    r'|Failure while replaying WAL file) "([^"]*?)(?:\.wal)?"'
)


def _journal_warning(
    file: Path, journal: Journal | JournalDamage | None, damage: JournalDamage, kept: Path | None
) -> str:
    """What a damaged journal cost: the entries recovered from it, those lost, and what the
    next sync therefore sends again."""
    whose = f"{journal.destination}: " if isinstance(journal, Journal) else ""
    text = f"{whose}the acknowledgement journal {file} is damaged ({damage.reason})"
    resent = "the platform deduplicates them by event_id within 48 hours of the first send"
    if damage.entries_read:
        lost = (
            f"at least {damage.entries_lost} entries after them"
            if damage.entries_lost
            else "the entries after them (how many is unknown)"
        )
        text += (
            f": its first {damage.entries_read} entries were recovered; {lost} could not be "
            "read, so the rows they acknowledged in the interrupted run will be sent again "
            f"({resent})"
        )
    else:
        count = f"{damage.entries_lost}" if damage.entries_lost else "an unknown number of"
        text += (
            f": none of its entries could be read ({count} lost), so rows acknowledged in the "
            f"interrupted run will be sent again ({resent})"
        )
    if kept is not None:
        text += f"; the file was kept as {kept}"
    return text


def _duckdb_cause(exc: BaseException) -> duckdb.Error | None:
    """The DuckDB exception behind ``exc``: the engine re-raises them as EngineError (``from
    None`` hides the original from tracebacks but keeps it as ``__context__``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, duckdb.Error):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


@functools.cache
def _expected_columns() -> frozenset[tuple[str, str]]:
    """The (table, column) pairs of the state's schema: the migrations run on an empty
    database of the same name, in a connection of their own."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH ':memory:' AS {ALIAS}")
        for statements in MIGRATIONS:
            for sql in statements:
                con.execute(sql)
        rows = run_sql(  # not con.execute with parameters: that imports pandas (#18)
            con,
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = ?",
            [ALIAS],
        )
    finally:
        con.close()
    return frozenset((str(t), str(c)) for t, c in rows)


def _fault(exc: duckdb.Error) -> tuple[str, str] | None:
    """("locked", holder PID or "") or ("damaged", why) for an error about a database file
    itself; None for anything else (a bad query, a full disk, a newer storage version)."""
    if not isinstance(exc, duckdb.IOException):
        return None
    message = str(exc)
    if _LOCKED.match(message):
        pid = _PID.search(message)
        return ("locked", pid.group(1) if pid else "")
    for pattern, why in _DAMAGE:
        if pattern.match(message):
            return ("damaged", why)
    return None


@contextlib.contextmanager
def _transaction(cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN ... COMMIT, rolled back when the block raises."""
    cur.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            cur.execute("ROLLBACK")
        raise
    cur.execute("COMMIT")


class _Tracked:
    """A reader's batches, noting when they have run out (``done``)."""

    def __init__(self, reader: pa.RecordBatchReader) -> None:
        self.schema = reader.schema
        self._reader = reader
        self.done = False

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        yield from self._reader
        self.done = True


def _write_spool(chunk: pa.Table, spool: Path) -> None:
    """Write a chunk of journal entries to ``spool``, the file ``_append`` inserts.

    A Parquet file (uncompressed) read back by DuckDB, not an Arrow scan of the chunk:
    DuckDB's scan of any Arrow object imports pyarrow.dataset, whose compiled module imports
    pandas where it is installed (0.35-0.6 s of every sync that sends, issue #18); the file
    costs ~0.03 CPU-s more than the scan per FOLD_ROWS entries (0.09 against 0.066). One
    contiguous column chunk per column: over the journal's 1,000-row batches DuckDB would
    append short vectors, and the next checkpoint recompress all of them (0.3 s a million
    rows). No statistics: a Parquet writer over the journal's 1,000-row chunks took 0.17
    CPU-s per FOLD_ROWS entries, over contiguous ones 0.09."""
    import pyarrow.parquet as pq

    columns = chunk.select(["row_key", "row_hash", "synced_at", "pos"]).combine_chunks()
    pq.write_table(
        columns,
        spool,
        compression="none",
        use_dictionary=False,
        write_statistics=False,
        row_group_size=max(len(columns), 1),
    )


def _chunks(reader: pa.RecordBatchReader | _Tracked, rows: int) -> Generator[pa.Table, None, None]:
    """The reader's batches, regrouped into tables of exactly ``rows`` rows (the last one
    fewer). While the caller works on a table, only the batches after it are held here, so
    the caller can let the table's memory go."""
    held: list[pa.RecordBatch] = []
    count = 0
    for batch in reader:
        held.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(held, reader.schema)
            rest = table.slice(rows)
            out = [table.slice(0, rows)]
            held, count = rest.to_batches(), rest.num_rows
            del table, rest
            yield out.pop()  # no name in this frame holds the table while the caller has it
    if count:
        yield pa.Table.from_batches(held, reader.schema)


def _with_pending_log(
    folded: str, pending: Sequence[tuple[str, str, str]], files: Sequence[Path]
) -> str:
    """The delivery log with the log rows of the journals a read-only open staged (a run that
    died, or runs now, has not folded them): a read of the history counts what they hold
    without folding (writing) anything. A journal folded since it was staged has its log
    file now (named after the journal): read from that file alone, never twice."""
    names = [f.name for f in files]
    parts = [
        f"SELECT run_id, {_lit(destination)} AS destination, log_key AS row_key, event_id, "
        f"outcome, code, message, request_id, synced_at AS logged_at "
        f"FROM {table} WHERE log_key IS NOT NULL"
        for stem, table, destination in pending
        if not any(n.startswith(stem + ".") for n in names)
    ]
    if not parts:
        return folded
    return f"(SELECT * FROM {folded} AS f UNION ALL " + " UNION ALL ".join(parts) + ")"

"""The sync state kept in the warehouse (``state: {location: warehouse}``), for CI runners
without a persistent disk.

Tables live in their own schema (default ``retl_state``). The diff runs in the warehouse: each
model row gets a row hash there, and only rows whose key is new or whose row hash differs
from the acknowledged one leave it. Acknowledgements are committed batch by batch on a
connection of their own; a PostgreSQL advisory lock keeps two syncs of the same state apart
(the server releases it when a killed process's connection drops).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import select
import socket
import zlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from reverse_etl.delivery.batching import Column
from reverse_etl.errors import EngineError, LockHeldError, StateError
from reverse_etl.history.records import RunDestinationRecord, RunRecord
from reverse_etl.history.tables import (
    HISTORY_TABLES,
    LOG_COLUMNS,
    empty_relation,
    history_upserts,
    prune_statements,
)
from reverse_etl.state.base import LogBatch
from reverse_etl.state.dedup import (
    FIRST,
    Clock,
    DedupWindow,
    acknowledged_sql,
    system_clock,
    utc,
)
from reverse_etl.state.diff import FORM_EXACT, FORM_MD5, form_of
from reverse_etl.state.store import ScopeInfo

if TYPE_CHECKING:  # psycopg is imported only when a PostgreSQL warehouse is used
    from reverse_etl.engine.postgres import PostgresEngine

SCHEMA_VERSION = 3  # 2: first_synced_at, when each key was first acknowledged; 3: history


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class WarehouseStateStore:
    """State tables in a warehouse schema (a ``StateStore``); the diff runs there too."""

    diffs_in_place = True  # only the rows to send leave the warehouse

    def __init__(
        self,
        engine: PostgresEngine,
        schema: str,
        *,
        create: bool = True,
        clock: Clock = system_clock,
    ) -> None:
        self.engine = engine
        self.clock = clock  # acknowledgement times (tests move it)
        self.schema = schema
        self.s = _ident(schema)
        self._acks: Any = None
        self._lost = False  # a write's connection was dropped (see _writing)
        self._lock_conn: Any = None
        self._marked: set[tuple[str, str]] = set()  # scopes with a compaction row
        self._fresh: set[tuple[str, str]] = set()  # of those, the ones empty at the first batch
        self._unanalyzed = 0  # entries this store added since its last ANALYZE
        self.warnings: list[str] = []
        # create=False (a reader: retl runs, plan, state show, retl ui): nothing is created;
        # a state not created yet reads as one with no history and nothing acknowledged,
        # and one of an older schema version as it is (see ``_read_as_is``).
        self._absent = False  # no history tables
        self._empty = False  # no synced_rows: nothing acknowledged
        self._compacted = True  # a compaction table
        self._first = FIRST  # the column of a key's first acknowledgement, as read
        if create:
            self._migrate_alone()
        else:
            self._read_as_is()

    def _read_as_is(self) -> None:
        """What a reader finds of the state, from the catalog (one query, nothing written):
        the tables an older retl had not made yet are read as empty, and a state without
        ``first_synced_at`` (schema version 1) takes each entry's own time, as migrating it
        would. A state of a newer retl is refused, as when it is opened to write."""
        t = f"{self.s}."
        found = self.engine.rows(
            "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL, "
            "to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL, "
            "EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) "
            "AND attname = %s AND NOT attisdropped)",
            [t + "runs", t + "synced_rows", t + "compaction", t + "meta", t + "synced_rows", FIRST],
        )
        runs, synced, compaction, meta, first = found[0]
        self._absent, self._empty, self._compacted = not runs, not synced, bool(compaction)
        self._first = FIRST if first else "synced_at"
        if meta:
            row = self.engine.rows(f"SELECT value FROM {t}meta WHERE key = 'schema_version'")
            self._check_version(int(row[0][0]) if row else 0)

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StateError(
                f"the state in schema {self.schema} was written by a newer retl "
                f"(schema {version}, this retl knows {SCHEMA_VERSION})",
                hint="upgrade retl",
            )

    # --- schema ------------------------------------------------------------------------
    def _migrate_alone(self) -> None:
        """``_migrate`` under an advisory lock of its own: two syncs that open the state at
        once (two CI jobs) would otherwise race on its ``CREATE ... IF NOT EXISTS`` (which
        PostgreSQL does not make safe against a concurrent create) before either takes the
        sync lock. The second waits for the first's few statements."""
        key = zlib.crc32(f"retl-migrate:{self.schema}".encode())
        self.engine.rows("SELECT pg_advisory_lock(%s)", [key])
        try:
            self._migrate()
        except EngineError as exc:
            raise self._not_permitted(exc) or exc from None
        finally:
            self.engine.rows("SELECT pg_advisory_unlock(%s)", [key])

    def _not_permitted(self, exc: EngineError) -> StateError | None:
        """A located error with the fix when the role may not create the state's schema or
        its tables (asked of the catalog, whatever language the server's messages are in);
        None when it may (``exc`` is about something else)."""
        row = self.engine.rows(
            "SELECT current_user, current_database(), n.oid IS NOT NULL, "
            "has_database_privilege(current_database(), 'CREATE'), "
            "n.oid IS NOT NULL AND has_schema_privilege(n.oid, 'CREATE') "
            "FROM (SELECT 1) one LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = %s",
            [self.schema],
        )
        user, database, exists, may_create_schema, may_create_tables = row[0]
        if may_create_tables or (not exists and may_create_schema):
            return None
        role, schema = _ident(str(user)), self.s
        if exists:
            what = f"may not create tables in schema {self.schema}"
            fix = f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}"
        else:
            what = f"may not create schema {self.schema} in database {database}"
            fix = f"CREATE SCHEMA {schema} AUTHORIZATION {role}"
        return StateError(
            f"user {user} {what} ({exc.message})",
            key="state.schema",
            hint=f"as the database's owner or an administrator: {fix}; or set state.schema to "
            "a schema this user owns",
        )

    def _migrate(self) -> None:
        s = self.s
        # Only when it is missing: PostgreSQL checks the database's CREATE privilege before
        # IF NOT EXISTS, so a role owning a schema made for it would be refused.
        if not self.engine.rows(
            "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s", [self.schema]
        ):
            self.engine.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        self.engine.execute(
            f"CREATE TABLE IF NOT EXISTS {s}.meta (key TEXT PRIMARY KEY, value TEXT)"
        )
        row = self.engine.rows(f"SELECT value FROM {s}.meta WHERE key = 'schema_version'")
        version = int(row[0][0]) if row else 0
        self._check_version(version)
        if version == SCHEMA_VERSION:
            self._ensure_log_index()
            self._ensure_compaction()
            return
        self.engine.execute(
            f"""CREATE TABLE IF NOT EXISTS {s}.synced_rows (
                destination TEXT NOT NULL, scope TEXT NOT NULL, row_key TEXT NOT NULL,
                row_hash TEXT NOT NULL, synced_at TIMESTAMP NOT NULL DEFAULT now(),
                seq BIGSERIAL NOT NULL)"""
        )
        self.engine.execute(
            f"CREATE INDEX IF NOT EXISTS synced_rows_key ON {s}.synced_rows "
            "(destination, scope, row_key, seq)"
        )
        # Version 2. A state from before knows only when each key was last acknowledged: the
        # best value there is (the earliest entry of a key whose run died).
        self.engine.execute(
            f"ALTER TABLE {s}.synced_rows ADD COLUMN IF NOT EXISTS {FIRST} TIMESTAMP"
        )
        self.engine.execute(
            f"""UPDATE {s}.synced_rows AS r SET {FIRST} = m.first
                FROM (SELECT destination, scope, row_key, min(synced_at) AS first
                      FROM {s}.synced_rows GROUP BY 1, 2, 3) AS m
                WHERE m.destination = r.destination AND m.scope = r.scope
                  AND m.row_key = r.row_key AND r.{FIRST} IS NULL"""
        )
        self.engine.execute(
            f"""CREATE TABLE IF NOT EXISTS {s}.destinations (
                destination TEXT NOT NULL, scope TEXT NOT NULL, event_source_id TEXT,
                mapping_fingerprint TEXT, mapping TEXT, last_sync_at TIMESTAMP,
                last_run_id TEXT, PRIMARY KEY (destination, scope))"""
        )
        # Version 3: the run history and the delivery log (see reverse_etl/history).
        for name, columns in HISTORY_TABLES:
            self.engine.execute(f"CREATE TABLE IF NOT EXISTS {s}.{name} ({columns})")
        self._ensure_log_index()
        self._ensure_compaction()
        self.engine.execute(
            f"INSERT INTO {s}.meta VALUES ('schema_version', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [str(SCHEMA_VERSION)],
        )

    def _ensure_log_index(self) -> None:
        """The delivery log by time: the retention prune (``DELETE ... WHERE logged_at < ?``,
        at the end of every sync) and the newest-first reads use it; without it each prune
        read the whole log. Checked in the catalog at every open, so a state from a retl before
        it gets it without a new schema version (an older retl can still open the state).

        And not by key: a state from before has ``delivery_log_key`` (row_key), which every
        acknowledged batch paid for (a random insert per row: 207 MB at 4M rows, about 15% of
        the server's CPU for the acknowledgements) and no query used. The one read by key,
        ``retl runs find KEY``, asks for the key *or* the event_id, which PostgreSQL answers
        with a sequential scan whatever that index. It is dropped at the next open."""
        by_time, by_key = self.engine.rows(
            "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL",
            [f"{self.s}.delivery_log_logged_at", f"{self.s}.delivery_log_key"],
        )[0]
        if not by_time:
            self.engine.execute(
                f"CREATE INDEX IF NOT EXISTS delivery_log_logged_at ON {self.s}.delivery_log "
                "(logged_at)"
            )
        if by_key:
            # Another role may own it (a shared state): kept, it costs time, not correctness.
            with contextlib.suppress(EngineError):
                self.engine.execute(f"DROP INDEX IF EXISTS {self.s}.delivery_log_key")

    def _ensure_compaction(self) -> None:
        """What ``compact`` has left to do per scope.

        - ``superseded_from``: the lowest ``seq`` of a batch that superseded an entry of its
          key (NULL: one entry per key, nothing to do). Each batch marks it in its own
          transaction (``record_acknowledged``), so a run that dies leaves the mark, and the
          next compact finishes the work. No row for a scope means unknown (a state from a
          retl before it): the whole scope is compacted.
        - ``superseded`` and ``entries``: how many entries a newer one superseded since the
          last compaction, and how many the scope holds (NULL: unknown, counted at the next
          compaction). ``compact`` waits until the superseded are ``COMPACT_SHARE`` of the
          entries (see there).

        Created at every open, like the log's index, so an older retl still opens the state.
        An older retl leaves the two counts alone, so after it they are off and the next
        compaction comes early or late; the diff takes the newest entry per key either way."""
        self.engine.execute(
            f"""CREATE TABLE IF NOT EXISTS {self.s}.compaction (
                destination TEXT NOT NULL, scope TEXT NOT NULL, superseded_from BIGINT,
                superseded BIGINT NOT NULL DEFAULT 0, entries BIGINT,
                PRIMARY KEY (destination, scope))"""
        )
        (counted,) = self.engine.rows(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass(%s) "
            "AND attname = 'entries' AND NOT attisdropped",
            [f"{self.s}.compaction"],
        )[0]
        if not counted:  # made by the retl before the counts: its rows become unknown
            self.engine.execute(
                f"""ALTER TABLE {self.s}.compaction
                    ADD COLUMN IF NOT EXISTS superseded BIGINT NOT NULL DEFAULT 0,
                    ADD COLUMN IF NOT EXISTS entries BIGINT"""
            )

    # --- the lock ----------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold a session advisory lock for the whole sync on a dedicated connection."""
        key = zlib.crc32(f"retl:{self.schema}".encode())
        conn = self.engine.connect_new()
        try:
            conn.autocommit = True
            # Taken only by a session that does not hold it already: session locks count, so
            # a session handed on by a pooler (PgBouncer in transaction mode) would take the
            # lock of the sync it served before once more, and both syncs would run.
            # (CASE, not AND: PostgreSQL does not promise to evaluate AND's left side first.)
            row = conn.execute(
                "SELECT s.mine, CASE WHEN s.mine THEN false ELSE pg_try_advisory_lock(%s) END, "
                f"pg_backend_pid() FROM (SELECT EXISTS ({_HELD}) AS mine OFFSET 0) s",
                [key, key],
            ).fetchone()
            assert row is not None
            mine, taken, pid = row
            if mine:
                raise _shared_session(self.schema)
            if not taken:
                holder, since = _lock_holder(conn, key)
                raise LockHeldError(
                    f"another retl sync is running on the state in schema {self.schema}"
                    + (f" ({holder})" if holder else ""),
                    hint="wait for it to finish; a killed sync's lock is released with its "
                    "connection",
                    held_since=since,
                )
            # Who holds it, for a sync it refuses (as the local state's lock file says):
            # the session's name, which pg_stat_activity shows to every role.
            again = conn.execute(
                "SELECT set_config('application_name', %s, false), pg_backend_pid()",
                [f"{_HOLDER}pid {os.getpid()} on {socket.gethostname()}"[:63]],
            ).fetchone()
            # The lock holds only while no other client is given its server session. Behind
            # a pooler that pools by transaction, this session's next statement may run on
            # another one, and the store's other connection is handed the one just freed
            # (PgBouncer reuses the last freed first); it releases the lock there.
            (other,) = self.engine.rows(
                "SELECT pg_backend_pid(), "
                "CASE WHEN pg_backend_pid() = %s THEN pg_advisory_unlock(%s) END",
                [pid, key],
            )[0][:1]
            if again is None or again[1] != pid or other == pid:
                raise _shared_session(self.schema)
            self._lock_conn = conn
            yield
        finally:
            self._lock_conn = None
            conn.close()  # closing the session releases the advisory lock

    # --- the diff (in the model's dialect; the engine transpiles it) ---------------------
    def latest_relation(self, destination: str, scope: str, *, with_first: bool = False) -> str:
        """The newest acknowledged hash per key of one scope, as DuckDB-dialect SQL; with
        ``with_first``, also when the key was first acknowledged (every entry carries its
        key's first time: ``record_acknowledged`` copies it)."""
        first = f", coalesce({self._first}, synced_at) AS {FIRST}" if with_first else ""
        where = f"WHERE destination = {_lit(destination)} AND scope = {_lit(scope)}"
        if self._one_entry_per_key(destination, scope):
            # No sort of every entry for the newest per key: the diff is then one hash join,
            # as the server's own floor is (issue #17).
            return f"(SELECT row_key, row_hash{first} FROM {self.s}.synced_rows {where})"
        return (
            f"(SELECT DISTINCT ON (row_key) row_key, row_hash{first} "
            f"FROM {self.s}.synced_rows {where} ORDER BY row_key, seq DESC)"
        )

    def _one_entry_per_key(self, destination: str, scope: str) -> bool:
        """Whether the scope holds one entry per key: its compaction row says no entry was
        superseded since the last compaction (``superseded_from`` NULL), and it holds as
        many entries as that row counted. A retl from before the marks writes entries
        without counting them, and so without marking what they supersede: the count then
        differs, and the newest entry per key is taken as before. No row (a state from
        before the marks, or a scope never synced): not known."""
        if not self._compacted:
            return False
        found = self.engine.rows(
            f"""SELECT c.superseded_from IS NULL AND c.entries = (
                        SELECT count(*) FROM {self.s}.synced_rows
                        WHERE destination = %s AND scope = %s)
                FROM {self.s}.compaction c WHERE c.destination = %s AND c.scope = %s""",
            [destination, scope, destination, scope],
        )
        return bool(found and found[0][0])

    def acknowledged(self, destination: str, window: DedupWindow) -> tuple[int, int]:
        """(keys acknowledged, of which first acknowledged outside ``window``) over every
        scope of a destination: what forgetting it would send again, and count twice."""
        total = late = 0
        if self._empty:
            return total, late
        scopes = self.engine.rows(
            f"SELECT DISTINCT scope FROM {self.s}.synced_rows WHERE destination = %s",
            [destination],
        )
        for (scope,) in scopes:
            latest = self.latest_relation(destination, scope, with_first=True)
            sql = self.engine.transpile(acknowledged_sql(latest, window))
            n, old = self.engine.rows(sql)[0]
            total, late = total + int(n), late + int(old)
        return total, late

    # --- reads ---------------------------------------------------------------------------
    new_scope_form = FORM_EXACT  # the row hash form a first sync takes

    def hash_form(self, destination: str, scope: str) -> int | None:
        """The row hash form of the scope's acknowledged rows, read off a stored hash: form 1
        (md5, what retl before the exact form wrote here) or form 3 (the exact form); None
        when nothing was acknowledged in the scope yet (every row is new)."""
        if self._empty:
            return None
        found = self.engine.rows(
            f"SELECT length(row_hash) FROM {self.s}.synced_rows "
            "WHERE destination = %s AND scope = %s LIMIT 1",
            [destination, scope],
        )
        if not found:
            return None
        form = form_of(int(found[0][0]))
        if form not in (FORM_MD5, FORM_EXACT):  # sha1 is not built into PostgreSQL
            raise StateError(
                f"the state in schema {self.schema} holds row hashes this retl does not know "
                f"(destination {destination!r})",
                hint="upgrade retl, or 'retl state reset' to send every row again",
            )
        return form

    def scope_info(self, destination: str, scope: str, *, count: bool = True) -> ScopeInfo | None:
        if self._empty:
            return None
        keys = (
            f"""(SELECT count(DISTINCT row_key) FROM {self.s}.synced_rows r
                 WHERE r.destination = d.destination AND r.scope = d.scope)"""
            if count
            else "NULL"
        )
        rows = self.engine.rows(
            f"""SELECT d.event_source_id, d.mapping_fingerprint, d.mapping, d.last_sync_at,
                   {keys}
                FROM {self.s}.destinations d WHERE destination = %s AND scope = %s""",
            [destination, scope],
        )
        if not rows:
            return None
        source_id, fingerprint, mapping, last, n = rows[0]
        return ScopeInfo(
            destination, scope, None if n is None else int(n), source_id, fingerprint, mapping, last
        )

    def all_scopes(self) -> list[ScopeInfo]:
        if self._empty:
            return []
        pairs = self.engine.rows(
            f"""SELECT destination, scope FROM {self.s}.destinations
                UNION SELECT DISTINCT destination, scope FROM {self.s}.synced_rows
                ORDER BY 1, 2"""
        )
        out = []
        for destination, scope in pairs:
            info = self.scope_info(destination, scope)
            out.append(info or ScopeInfo(destination, scope, 0, None, None, None, None))
        return out

    # --- writes --------------------------------------------------------------------------
    def _ack_conn(self) -> Any:
        if self._acks is None:
            self._acks = self.engine.connect_new()
            self._acks.autocommit = False
        return self._acks

    @contextlib.contextmanager
    def _writing(
        self, doing: str, hint: str | None = None, *, locked: bool = False
    ) -> Iterator[Any]:
        """The acknowledgement connection for one write (one transaction). A failure is an
        ``EngineError`` naming the state (not psycopg's: a server restarted mid-sync was a
        bug's exit 2), and the connection is dropped: a later write (the run's history, at
        the end of a failed run) opens a new one, where it got "the connection is closed".
        ``locked``: a write only the lock's holder may make (acknowledgements): after a
        dropped connection it is made only while the lock's own session is still there (a
        restarted server ends both, which releases the lock: another sync may hold it)."""
        try:
            if locked and ((self._lost and self._acks is None) or self._lock_heard_from()):
                self._check_lock(doing, hint)  # (what ends it likely ended this one too)
            with self.engine.said(f"{doing} in the state (schema {self.schema})", hint):
                yield self._ack_conn()
        except EngineError:
            if self._acks is not None:
                with contextlib.suppress(Exception):
                    self._acks.close()
                self._acks = None
            self._lost = True
            raise

    def _lock_heard_from(self) -> bool:
        """Whether the lock's session has something from the server waiting, seen without a
        round trip (a poll of its socket: one system call per batch). The session sits idle
        once it holds the lock, so the server writes to it only to end it (an administrator's
        ``pg_terminate_backend``, a shutdown), which releases the lock: ``_check_lock`` then
        asks. Without this, acknowledgements went on without the lock until a write failed."""
        conn = self._lock_conn
        if conn is None:
            return False
        if conn.closed:
            return True  # closed on this side: ask
        try:
            ready, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(ready)

    def _check_lock(self, doing: str, hint: str | None) -> None:
        """Raise unless the lock's session (held for a sync) still answers."""
        if self._lock_conn is None:
            return  # no sync holds it (a store read or written outside a sync)
        lock_lost = (
            "the state's lock went with that session, and another sync may hold it now: "
            "nothing more is recorded by this one"
        )
        with self.engine.said(
            f"{doing}: checking that this sync still holds the state's lock (schema {self.schema})",
            f"{lock_lost}; {hint}" if hint else lock_lost,
        ):
            self._lock_conn.execute("SELECT 1")

    def record_acknowledged(
        self,
        destination: str,
        scope: str,
        keys: Column,
        hashes: Column,
        log: LogBatch | None = None,
    ) -> None:
        """Commit one acknowledged batch and its delivery-log rows (one transaction). Each
        entry carries its key's first acknowledgement: the earliest of an earlier entry's,
        else now (one index lookup per key), so the newest entry alone answers for the key.

        A scope that held no entry at this run's first batch (a first sync, or one after
        ``retl state reset``) has no earlier entry to look up: a run acknowledges each key once
        (the plan's keys are unique, ``plan._rows_view``), and the lock keeps other runs out.
        Its batches skip the lookup, which was about a fifth of a batch's time and a quarter
        of the server's work (``bench/pg_acks.py``, docs/performance.md)."""
        with self._writing("recording an acknowledged batch", _NOT_RECORDED, locked=True) as conn:
            self._record_acknowledged(conn, destination, scope, keys, hashes, log=log)

    def _record_acknowledged(
        self,
        conn: Any,
        destination: str,
        scope: str,
        keys: Column,
        hashes: Column,
        *,
        log: LogBatch | None,
    ) -> None:
        keys, hashes = _pylist(keys), _pylist(hashes)
        now = utc(self.clock())
        if (destination, scope) not in self._marked:
            # Before this run's first entry: an empty scope starts with nothing to compact and
            # no entries; one with entries but no mark is unknown (0: the whole scope; its
            # entries NULL). Committed with the batch.
            (held,) = conn.execute(
                f"SELECT EXISTS (SELECT 1 FROM {self.s}.synced_rows "
                "WHERE destination = %(d)s AND scope = %(s)s)",
                {"d": destination, "s": scope},
            ).fetchone()
            if not held:
                self._fresh.add((destination, scope))
            conn.execute(
                f"""INSERT INTO {self.s}.compaction
                    SELECT %(d)s, %(s)s, CASE WHEN %(e)s THEN 0 END, 0,
                           CASE WHEN NOT %(e)s THEN 0 END
                    ON CONFLICT (destination, scope) DO NOTHING""",
                {"d": destination, "s": scope, "e": bool(held)},
            )
        # The key's earlier entry, if any, gives its first time. A batch that has one (or a
        # key twice) supersedes entries: it marks from where compact must look, and counts
        # how many, in the same statement as its entries.
        earlier = (
            "NULL::timestamp"
            if (destination, scope) in self._fresh
            else f"""(SELECT min(coalesce(o.{FIRST}, o.synced_at))
                      FROM {self.s}.synced_rows o
                      WHERE o.destination = %(d)s AND o.scope = %(s)s AND o.row_key = t.k)"""
        )
        params: dict[str, Any] = {
            "d": destination, "s": scope, "now": now, "keys": keys, "hashes": hashes
        }  # fmt: skip
        # The delivery-log rows, in the same statement when they are one per entry with the
        # same key (the key is not masked) and one message: no second statement, and the
        # keys sent once (a batch took 9.1-9.3 ms against 10.2-10.5, bench/pg_acks.py).
        inline = log is not None and not _per_row(log.messages) and _pylist(log.keys) == keys
        logged, events = "", ""
        if inline:
            assert log is not None
            logged = f"""
                logged AS (
                    INSERT INTO {self.s}.delivery_log ({LOG_COLUMNS})
                    SELECT %(run)s, %(d)s, t.k, t.e, %(outcome)s, %(code)s, %(message)s,
                           %(request)s, %(now)s
                    FROM t),"""
            events = ", %(events)s::text[]"
            params.update(
                run=log.run_id,
                outcome=log.outcome,
                code=log.code,
                message=log.messages,
                request=log.request_id,
                events=_pylist(log.event_ids) if log.event_ids is not None else [None] * len(keys),
            )
        conn.execute(
            f"""WITH t AS MATERIALIZED (
                    SELECT t.k, t.h, t.i, {"t.e, " if inline else ""}{earlier} AS earlier
                    FROM unnest(%(keys)s::text[], %(hashes)s::text[]{events})
                         WITH ORDINALITY AS t(k, h, {"e, " if inline else ""}i)),{logged}
                added AS (
                    INSERT INTO {self.s}.synced_rows
                        (destination, scope, row_key, row_hash, synced_at, {FIRST})
                    SELECT %(d)s, %(s)s, t.k, t.h, %(now)s, coalesce(t.earlier, %(now)s)
                    FROM t ORDER BY t.i
                    RETURNING seq),
                n AS (
                    SELECT count(t.k) AS entries, count(t.k) - count(DISTINCT t.k)
                           + count(DISTINCT t.k) FILTER (WHERE t.earlier IS NOT NULL)
                           AS superseded
                    FROM t)
                INSERT INTO {self.s}.compaction AS c
                    SELECT %(d)s, %(s)s,
                           CASE WHEN n.superseded > 0 THEN (SELECT min(seq) FROM added) END,
                           n.superseded, n.entries
                    FROM n
                ON CONFLICT (destination, scope) DO UPDATE SET
                    superseded_from = least(c.superseded_from, excluded.superseded_from),
                    superseded = c.superseded + excluded.superseded,
                    entries = c.entries + excluded.entries""",
            params,
        )
        if log is not None and not inline:
            self._insert_log(conn, destination, log, len(keys), now)
        conn.commit()
        self._marked.add((destination, scope))
        self._unanalyzed += len(keys)

    def record_outcomes(self, destination: str, scope: str, log: LogBatch) -> None:
        with self._writing("recording a batch's answer in the delivery log") as conn:
            self._insert_log(conn, destination, log, len(log.keys), utc(self.clock()))
            conn.commit()

    def _insert_log(
        self, conn: Any, destination: str, log: LogBatch, n: int, now: dt.datetime
    ) -> None:
        messages = log.messages
        per_row = _per_row(messages)
        conn.execute(
            f"""INSERT INTO {self.s}.delivery_log ({LOG_COLUMNS})
                SELECT %(run)s, %(d)s, t.k, t.e, %(outcome)s, %(code)s,
                       coalesce(t.m, %(message)s), %(request)s, %(now)s
                FROM unnest(%(keys)s::text[], %(events)s::text[], %(messages)s::text[])
                     AS t(k, e, m)""",
            {
                "run": log.run_id,
                "d": destination,
                "outcome": log.outcome,
                "code": log.code,
                "message": None if per_row else messages,
                "request": log.request_id,
                "now": now,
                "keys": _pylist(log.keys),
                "events": _pylist(log.event_ids) if log.event_ids is not None else [None] * n,
                "messages": _pylist(messages) if per_row else [None] * n,
            },
        )

    def record_history(
        self, run: RunRecord, destinations: Sequence[RunDestinationRecord] = ()
    ) -> None:
        with self._writing("recording the run in the run history") as conn:
            for sql, params in history_upserts(f"{self.s}.", run, destinations, "%s"):
                conn.execute(sql, params)
            conn.commit()

    def prune_history(self, before: dt.datetime) -> None:
        with self._writing("pruning the run history") as conn:
            for sql in prune_statements(f"{self.s}.", "%s"):
                conn.execute(sql, [before])
            conn.commit()

    def history_relation(self, table: str) -> str:
        return empty_relation(table) if self._absent else f"{self.s}.{table}"

    # compact() waits until this share of a scope's entries is superseded: the diff takes the
    # newest entry per key either way, and reads at most this share more.
    COMPACT_SHARE = 0.1

    def compact(self, destination: str, scope: str) -> None:
        """Drop the entries a newer entry of the same key supersedes, once they are
        ``COMPACT_SHARE`` of the scope's entries, looking only at the entries from the
        scope's ``superseded_from`` on (every superseding entry is there: its batch set the
        mark). A first sync supersedes nothing and skips this.

        Why wait (issue #17): each deleted entry dirties a page of its own, as the changed
        keys lie anywhere in the table. A 1% delta at 4M keys dirtied 40,000 pages, more than
        shared buffers hold, and the DELETE grew x7-x9 for x4 the keys. Waiting makes that
        one pass every ~10 deltas of 1%, and the diff never reads more than 10% extra.

        The superseded entries are found first (a hash join) and deleted by their row
        address, which PostgreSQL sorts: one pass over the table in its order. Deleting
        straight out of the join dirtied each page once per batch of its hash (8 batches at
        8M keys: every page written out and read back 8 times). Within one statement a
        row's address does not move (VACUUM moves no row, and removes none this statement
        still sees).

        The DELETE and the scope's new counts are one statement: a compact that dies leaves
        the mark, and the next one finishes it."""
        # The destination's send is over: later batches (another run through this store)
        # look their keys up again.
        self._fresh.discard((destination, scope))
        found = self.engine.rows(
            f"SELECT superseded_from, superseded, entries FROM {self.s}.compaction "
            "WHERE destination = %s AND scope = %s",
            [destination, scope],
        )
        since, superseded, entries = found[0] if found else (0, 0, None)
        # A scope from a retl before the marks (0) or the counts: compacted now, and counted.
        uncounted = since == 0 or entries is None
        if since is None or (not uncounted and superseded < self.COMPACT_SHARE * entries):
            self._refresh_statistics()  # nothing to compact: one entry per key, or too few
            return
        # Fresh statistics first: PostgreSQL's autovacuum analyses a table a minute or more
        # after a large load, and until then this DELETE may be planned as a nested loop
        # over every key.
        self._analyze()
        # The scope's entries before the DELETE.
        before, known = (
            (f"(SELECT count(*) FROM {self.s}.synced_rows WHERE destination = %s AND scope = %s)",
             [destination, scope])
            if uncounted
            else ("%s", [int(entries)])
        )  # fmt: skip
        self.engine.execute(
            f"""WITH gone AS (
                    DELETE FROM {self.s}.synced_rows WHERE ctid = ANY(ARRAY(
                        SELECT r.ctid
                        FROM {self.s}.synced_rows r JOIN {self.s}.synced_rows newer
                          ON newer.destination = r.destination AND newer.scope = r.scope
                         AND newer.row_key = r.row_key AND newer.seq > r.seq
                        WHERE r.destination = %s AND r.scope = %s AND newer.seq >= %s))
                    RETURNING 1)
                INSERT INTO {self.s}.compaction AS c
                    SELECT %s, %s, NULL, 0, {before} - (SELECT count(*) FROM gone)
                ON CONFLICT (destination, scope) DO UPDATE SET
                    superseded_from = NULL, superseded = 0, entries = excluded.entries""",
            [destination, scope, int(since), destination, scope, *known],
        )

    def _refresh_statistics(self) -> None:
        """ANALYZE ``synced_rows`` when this store added more entries than the server's
        autovacuum waits for (``autovacuum_analyze_threshold`` plus
        ``autovacuum_analyze_scale_factor`` of the rows the statistics know): what autovacuum
        would do, but now, at the end of a destination. Autovacuum looks a minute or more
        later, so the next sync's diff (a CI run right after a first sync) was planned on a
        table estimated at a few rows. The per-batch commits leave it; ANALYZE reads a
        sample of 300 x the statistics target rows, whatever the table's size."""
        if self._unanalyzed == 0:
            return
        ((known, threshold, share),) = self.engine.rows(
            "SELECT coalesce((SELECT greatest(reltuples, 0) FROM pg_class "
            "WHERE oid = to_regclass(%s)), 0), "
            "current_setting('autovacuum_analyze_threshold')::float8, "
            "current_setting('autovacuum_analyze_scale_factor')::float8",
            [f"{self.s}.synced_rows"],
        )
        if self._unanalyzed > threshold + share * known:
            self._analyze()

    def _analyze(self) -> None:
        self.engine.execute(f"ANALYZE {self.s}.synced_rows")
        self._unanalyzed = 0

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
        self.engine.execute(
            f"""INSERT INTO {self.s}.destinations VALUES (%s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (destination, scope) DO UPDATE SET
                  event_source_id = excluded.event_source_id,
                  mapping_fingerprint = excluded.mapping_fingerprint,
                  mapping = excluded.mapping, last_sync_at = excluded.last_sync_at,
                  last_run_id = excluded.last_run_id""",
            [
                destination,
                scope,
                event_source_id,
                fingerprint,
                mapping,
                dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
                run_id,
            ],
        )

    def reset(self, destination: str, scope: str | None = None) -> int:
        where = "destination = %s" + (" AND scope = %s" if scope is not None else "")
        params: list[Any] = [destination] + ([scope] if scope is not None else [])
        count = self.engine.rows(
            f"SELECT count(DISTINCT (scope, row_key)) FROM {self.s}.synced_rows WHERE {where}",
            params,
        )[0][0]
        self.engine.execute(f"DELETE FROM {self.s}.synced_rows WHERE {where}", params)
        self.engine.execute(f"DELETE FROM {self.s}.destinations WHERE {where}", params)
        self.engine.execute(f"DELETE FROM {self.s}.compaction WHERE {where}", params)
        for marks in (self._marked, self._fresh):  # the next batch marks the scope anew
            marks.difference_update(
                {m for m in marks if m[0] == destination and scope in (None, m[1])}
            )
        return int(count)

    def explain(self, exc: BaseException) -> StateError | None:
        """The warehouse reports its own errors: nothing to add."""
        return None

    def close(self) -> None:
        if self._acks is not None:
            self._acks.close()
            self._acks = None


_HOLDER = "retl sync: "  # the lock session's application_name starts so


# This session holds the state's lock (key: the first parameter).
_HELD = (
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND pid = pg_backend_pid() AND database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND classid = 0 AND objid = %s AND objsubid = 1"
)


def _shared_session(schema: str) -> StateError:
    """The refusal of a session that is not retl's own for the whole sync: a pooler's
    transaction (or statement) mode, where the state's lock does not keep two syncs apart."""
    return StateError(
        f"the state in schema {schema} cannot be locked: the connection's server session is "
        "shared with other clients (a pooler such as PgBouncer in transaction or statement "
        "mode), so the lock would not keep two syncs apart",
        key="warehouse",
        hint="connect retl through a pool in session mode (PgBouncer: pool_mode = session, "
        "with its default server_reset_query = DISCARD ALL) or to PostgreSQL directly",
    )


def _lock_holder(conn: Any, key: int) -> tuple[str | None, dt.datetime | None]:
    """ "pid 4242 on host since 2026-12-07T09:37:27+00:00" of the session holding the state's
    advisory lock (a single bigint key: ``objid`` its low 32 bits, ``classid`` its high ones,
    0 for a CRC-32), from its application_name, and when the sync took the lock: the session
    has been idle since it took it and named itself (``state_change``; not ``backend_start``:
    a pooler's server session, PgBouncer's in session mode, can be older than the sync);
    (None, None) when not seen (a retl from before the name). To another role
    pg_stat_activity shows the name but not the time: (the holder, None)."""
    with contextlib.suppress(Exception):
        row = conn.execute(
            "SELECT a.application_name, a.state_change FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid = 0 AND l.objid = %s AND l.objsubid = 1",
            [key],
        ).fetchone()
        if row and isinstance(row[0], str) and row[0].startswith(_HOLDER):
            holder = row[0].removeprefix(_HOLDER)
            if not isinstance(row[1], dt.datetime):
                # Another role's session: pg_stat_activity shows every role its name, its
                # start only to the same role (or pg_read_all_stats)
                return holder, None
            began = row[1].astimezone(dt.timezone.utc)
            return f"{holder} since {began.isoformat(timespec='seconds')}", began
    return None, None


# What a batch whose acknowledgement could not be recorded means for the run.
_NOT_RECORDED = (
    "the batches recorded before are kept; this batch was delivered but is not recorded, so "
    "the next sync sends its events again with the same event_id (the platform drops repeats "
    "within 48 hours). Check that the server is up and retl's role may write the state's "
    "schema, then run the sync again"
)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _per_row(messages: Any) -> bool:
    """A log batch's messages are one per row (not one message, or none)."""
    return messages is not None and not isinstance(messages, str)


def _pylist(column: Any) -> list[Any]:
    """A batch column (a Python sequence, or an Arrow array from the stream) as a list."""
    return column.to_pylist() if isinstance(column, pa.Array) else list(column)

"""Native PostgreSQL engine: models transpiled by sqlglot, rows streamed as Arrow batches.

Each ``stream`` runs on its own connection, in a read-only transaction: a server-side (named)
cursor is declared for the result's columns, and the rows are read ``batch_rows`` at a time
through ``COPY ... TO STDOUT`` as CSV where every column allows (``engine/pg_copy.py``), else
fetched from that cursor; either way memory stays flat however large the result. The
engine's own connection stays free (autocommit) for retl's state tables.
Sessions use ``TimeZone=UTC``, like the DuckDB engine: timestamps without time zone mean UTC.
"""

from __future__ import annotations

import contextlib
import getpass
import itertools
import os
import re
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import sqlglot
from psycopg import postgres
from psycopg import sql as pgsql
from psycopg.adapt import Loader
from psycopg.pq import TransactionStatus
from psycopg.types.datetime import DateLoader, TimestampLoader, TimestamptzLoader
from psycopg.types.string import TextLoader
from pydantic import SecretStr
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError

import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)
from reverse_etl.engine.base import (
    DEFAULT_BATCH_ROWS,
    NUMERIC_TEXT,
    ColumnInfo,
    EngineCapabilities,
)
from reverse_etl.engine.errors_text import masked_echo, redact_error, sqlglot_problem
from reverse_etl.engine.hosts import check_host
from reverse_etl.engine.json_times import json_times_as_text
from reverse_etl.engine.pg_calls import refuse_calls as _refuse_calls
from reverse_etl.engine.pg_copy import (
    CopyPlan,
    copy_plan,
    does_not_fit,
    json_field,
    nested_array,
    read_batches,
)
from reverse_etl.engine.pg_meanings import duckdb_meanings, typed_meanings
from reverse_etl.engine.pg_reads import read_plan
from reverse_etl.engine.portable import json_arrows, refuse_unportable
from reverse_etl.engine.sql_guard import (
    checked_output,
    model_query,
    refuse_odd_type_names,
    without_final_semicolons,
)
from reverse_etl.engine.stars import star_modifier, stars_expanded
from reverse_etl.engine.typed import TableTypes, UntypedOf, keep_model_text
from reverse_etl.errors import EngineError
from reverse_etl.secrets import scrub

# PostgreSQL type name -> Arrow type; numeric is decided per column from its typmod.
_SCALARS: dict[str, pa.DataType] = {
    "bool": pa.bool_(),
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "text": pa.string(),
    "varchar": pa.string(),
    "bpchar": pa.string(),
    "name": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "json": pa.string(),
    "jsonb": pa.string(),
}
_NATIVE = {*_SCALARS, "numeric"}
_BY_OID: dict[int, str] = {postgres.types[n].oid: n for n in _NATIVE}
_BY_ARRAY_OID: dict[int, str] = {postgres.types[n].array_oid: n for n in _NATIVE}
# Everything psycopg would turn into another Python object (uuid, interval, inet, json …)
# is read as PostgreSQL's own text instead; types psycopg does not know arrive as text anyway.
# An array of such a type is a list of those texts (psycopg's array loader reads each item
# with the item type's loader): a uuid[] was one text with braces, "{a0ee...,b0ee...}".
_AS_TEXT: tuple[int, ...] = (
    *(info.oid for info in postgres.types if info.name not in _NATIVE),
    postgres.types["json"].oid,
    postgres.types["jsonb"].oid,
)
_TEXT_ARRAY_OIDS = frozenset(
    info.array_oid
    for info in postgres.types
    if info.name not in _NATIVE and info.array_oid and info.name not in ("json", "jsonb")
)
# Items whose ``::text`` is not their output text (inet's shows its netmask, '1.2.3.4/32'):
# COPY writes their arrays through array_to_json, which writes the output text.
_OWN_TEXT_CASTS = frozenset(postgres.types[n].array_oid for n in ("inet", "cidr"))
# char(n): PostgreSQL's padding is not part of the value ('e1' = 'e1   '): it is stripped.
_BPCHAR_OIDS = frozenset((postgres.types["bpchar"].oid, postgres.types["bpchar"].array_oid))
# json and jsonb come as their text, marked (``JSON_TEXT``); an array of them as one JSON array.
_JSON_OIDS = frozenset(postgres.types[n].oid for n in ("json", "jsonb"))
_JSON_ARRAY_OIDS = frozenset(postgres.types[n].array_oid for n in ("json", "jsonb"))
_NUMERIC_OID = postgres.types["numeric"].oid
_NUMERIC_ARRAY_OID = postgres.types["numeric"].array_oid
_MAX_DECIMAL128 = 38
_MAX_DECIMAL256 = 76
_SCHEMA_CURSOR = "retl_schema"
_CACHED = "__retl_cached_"  # + the creating session's process id, "_", a number
_CACHED_NUMBERS = itertools.count(1)
# A stream's session: a slow consumer must not lose it to the server's idle-in-transaction
# limit; the cursor is planned for every row (see ``stream``); COPY's bytes are UTF-8.
_STREAM_SETTINGS = (
    "idle_in_transaction_session_timeout=0",
    "cursor_tuple_fraction=1",
    "client_encoding=UTF8",  # what COPY's bytes are decoded as (pg_copy)
)
_NATIVE_NUMBERS = itertools.count(1)


@dataclass(frozen=True)
class PostgresConnection:
    """Where the PostgreSQL warehouse is; ``repr`` never shows the password."""

    host: str = "localhost"
    port: int = 5432
    dbname: str = "postgres"
    user: str | None = None
    password: SecretStr | None = None
    sslmode: str | None = None
    search_path: str | None = None
    connect_timeout: int = 10
    application_name: str = "retl"
    # Where each setting was written ("host" -> (file, line, "warehouse.host")): a connection
    # error names the one to check there, as a configuration error does.
    written_at: Mapping[str, tuple[Path, int | None, str]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def effective_user(self) -> str:
        """The role libpq will use: ``user``, else ``$PGUSER``, else the OS user."""
        return self.user or os.environ.get("PGUSER") or getpass.getuser()

    def describe(self) -> str:
        return (
            f"PostgreSQL at {self.host}:{self.port}, database "
            f'"{self.dbname}", user "{self.effective_user()}"'
        )


class PostgresEngine(UntypedOf):
    """Models run on a PostgreSQL server; the connection opens on first use."""

    dialect = "postgres"
    capabilities = EngineCapabilities(
        "postgres",
        can_hold_state=True,
        diffs_in_place=True,
        default_schema="public",
        native_models=True,
        subquery_fence=" OFFSET 0",
        typed_rewrites=True,
    )

    def __init__(
        self, conn: PostgresConnection, *, model_dialect: str = "duckdb", by_copy: bool = True
    ) -> None:
        self.conn = conn
        self.model_dialect = model_dialect
        # Streams read their rows through COPY where their columns allow (engine/pg_copy.py);
        # False: always through the cursor (the tests compare the two).
        self.by_copy = by_copy
        self._static_types: TableTypes | None = None  # set by untyped_with, while it runs
        # Where ``cached`` keeps its tables: the state's schema, set by the factory that
        # pairs this engine with a warehouse state (engine/factory.py).
        # None (a reader of the state: ``retl plan``, ``retl ui``'s Plan page): a TEMP table
        # on a session of its own, which nothing else sees and the server drops.
        self.scratch_schema: str | None = None
        self._con: psycopg.Connection[Any] | None = None
        # A pooler in front was seen to give each client a session of its own (``_connect``).
        self._sessions_checked = False
        # The session a TEMP ``cached`` table lives on: while it is open, every query and
        # stream of the engine runs on it (see ``cached``).
        self._pinned: psycopg.Connection[Any] | None = None
        self._streams: weakref.WeakSet[_Stream] = weakref.WeakSet()
        self._types: dict[tuple[str, str, str], dict[str, str] | None] = {}
        # Models in PostgreSQL's SQL, run as written: the name retl's SQL reads each by, and
        # its text, put in place of the name when that SQL is transpiled (native_view).
        self._native: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"PostgresEngine({self.conn.describe()}, model_dialect={self.model_dialect!r})"

    def native_view(self, name: str, sql: str) -> str:
        """Model ``name``, written in PostgreSQL's SQL (``config(dialect='postgres')``, or a
        project's ``warehouse: {dialect: postgres}``), to be run as written: the name retl's
        own SQL reads it by, which ``transpile`` replaces by the text, as a subquery. Only a
        text sqlglot reads as one query is taken (``sql_guard.model_query``)."""
        sql = without_final_semicolons(sql, "postgres")
        model_query(sql, "postgres", name, "PostgreSQL")
        for view, text in self._native.items():
            if text == sql:
                return view
        view = f"__retl_model_{next(_NATIVE_NUMBERS)}"
        self._native[view] = sql
        return view

    def _native_marked(self, tree: exp.Expr) -> list[tuple[str, str]]:
        """The native models ``tree`` reads (``native_view``), each given its own name as
        its alias when it has none, so that the text can take the name's place."""
        found = []
        for table in tree.find_all(exp.Table):
            text = self._native.get(table.name)
            if text is None or table.args.get("db") or table.args.get("catalog"):
                continue
            if not table.alias:
                table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
            found.append((table.name, text))
        return found

    def transpile(self, sql: str) -> str:
        """One ``model_dialect`` statement as PostgreSQL SQL, with the native models it reads
        (``native_view``) in place as written."""
        try:
            trees = [t for t in sqlglot.parse(sql, read=self.model_dialect) if t is not None]
            natives = [n for tree in trees for n in self._native_marked(tree)]
            for tree in trees:
                refuse_unportable(tree, self.model_dialect, "PostgreSQL")
                if self.model_dialect != "postgres":
                    refuse_odd_type_names(tree)
                if self.model_dialect == "duckdb":
                    json_arrows(tree)
                    keep_model_text(tree, self.model_dialect)  # what untyped() quotes
                    json_times_as_text(
                        tree, self.model_dialect, self._table_types, zoned_lists=True
                    )
                    stars_expanded(tree, self.model_dialect, self._table_types)
                    _refuse_duckdb_meanings(tree)
                    duckdb_meanings(tree)
                    typed_meanings(tree, self.model_dialect, self._table_types)
            statements = [
                s
                for s in (
                    t.sql(dialect="postgres", unsupported_level=ErrorLevel.RAISE, pretty=True)
                    for t in trees
                )
                if s.strip()
            ]
        except ParseError as exc:
            raise EngineError(
                f"cannot parse the model as {self.model_dialect} SQL: {sqlglot_problem(exc)}"
            ) from None
        except SqlglotError as exc:
            raise EngineError(
                f"cannot translate the model from {self.model_dialect} SQL to PostgreSQL: "
                f"{_one_line(str(exc))}",
                hint="rewrite that part of the model in SQL both dialects accept",
            ) from None
        if len(statements) != 1:
            raise EngineError(
                f"a model must be exactly one SELECT statement, found {len(statements)}"
            )
        text = statements[0]
        for view, model in natives:
            # The name as a table followed by its alias (``__retl_model_1 AS m``): the only
            # place it is written so (a column qualified by it has a dot after it). A
            # function as the replacement: the model's text is never read as a template.
            subquery = f"(\n{model}\n)"
            text = re.sub(rf'(?<![\w."]){view}(?= AS )', lambda _m: subquery, text)  # noqa: B023
        return checked_output(text, "postgres", "PostgreSQL", _refuse_calls)

    @contextlib.contextmanager
    def cached(self, sql: str) -> Iterator[str]:
        """A table of ``sql``'s rows (model dialect), computed once, for the queries of the
        block; dropped at its end.

        An UNLOGGED table in ``scratch_schema`` (no WAL, like a temporary table), not a
        temporary one: ``stream`` reads on a connection of its own, which would not see a
        temporary table of this one. It is analysed, so that a join with it is planned on
        its real size (without statistics the keys to send, a few thousand rows, were
        estimated at 563,000, and the fetch sorted every model row for a merge join). Its
        name carries this session's process id: a table left by a killed sync (whose
        session the server has ended) is dropped by the next ``cached`` of any sync.

        Without ``scratch_schema`` (a reader: plan writes nothing in the warehouse), a TEMP
        table instead, on a session opened for the block (``_temp_cached``)."""
        if self.scratch_schema is None:
            with self._temp_cached(sql) as name:
                yield name
            return
        con = self._main()
        self._drop_orphans()
        name = self._scratch(f"{_CACHED}{con.info.backend_pid}_{next(_CACHED_NUMBERS)}")
        create = f"CREATE UNLOGGED TABLE {name} AS "
        query = self.transpile(sql)
        try:
            # binary: through the extended protocol, which runs one statement only (the
            # simple one, psycopg's default without parameters, runs every statement of a
            # text); a model's SQL never reaches the server any other way (sql_guard.py).
            con.execute(create + query, binary=True)
        except psycopg.Error as exc:
            raise _query_error(exc, query, create) from None
        try:
            self.execute(f"ANALYZE {name}")
            yield name
        finally:
            with contextlib.suppress(psycopg.Error, EngineError):
                self.execute(f"DROP TABLE IF EXISTS {name}")

    @contextlib.contextmanager
    def _temp_cached(self, sql: str) -> Iterator[str]:
        """``cached`` as a TEMP table, which only its session sees: the block's queries
        (``rows``, ``schema``) and its streams run on that session (``_pinned``), opened with
        the streams' settings and closed at the end of the block, which drops the table
        (and with a killed process, the server does). Nothing is written outside the
        session's own temporary schema: no schema, no table, no CREATE privilege needed
        beyond TEMPORARY (PostgreSQL grants it to every role by default)."""
        if self._pinned is not None:
            raise EngineError("a cached table is already open")  # one diff at a time
        query = self.transpile(sql)  # before connecting: a bad model opens no session
        name = pgsql.Identifier("pg_temp", f"{_CACHED}{next(_CACHED_NUMBERS)}").as_string()
        create = f"CREATE TEMP TABLE {name} AS "
        con = self._connect(autocommit=True, settings=_STREAM_SETTINGS)
        self._pinned = con
        try:
            try:
                con.execute(create + query, binary=True)  # one statement only, as above
            except psycopg.Error as exc:
                raise _query_error(exc, query, create) from None
            self.execute(f"ANALYZE {name}")  # autovacuum never analyses a TEMP table
            yield name
        finally:
            self._pinned = None
            for stream in [s for s in self._streams if s.on(con)]:
                stream.close()
            con.close()  # the TEMP table goes with the session

    def _scratch(self, table: str) -> str:
        """``table`` in ``scratch_schema``, quoted."""
        return pgsql.Identifier(self.scratch_schema or "", table).as_string()

    def _drop_orphans(self) -> None:
        """Drop the cached tables whose session has ended (a sync killed in its diff)."""
        orphans = self.rows(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r' AND c.relname LIKE %s "
            "AND substring(c.relname FROM %s)::bigint NOT IN (SELECT pid FROM pg_stat_activity)",
            # at most 10 digits: any name the pattern takes casts (another's table stays)
            [self.scratch_schema, _CACHED.replace("_", "\\_") + "%", f"^{_CACHED}(\\d{{1,10}})_"],
        )
        for (relname,) in orphans:
            with contextlib.suppress(psycopg.Error, EngineError):  # another user's: theirs
                self.execute(f"DROP TABLE IF EXISTS {self._scratch(relname)}")

    def stream(self, sql: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
        """Run ``sql`` (model dialect) and return a lazy reader of record batches."""
        query = self.transpile(sql)  # before connecting: a bad model leaves no session behind
        # A slow consumer must not lose the stream to the server's idle-in-transaction limit.
        # Every row is read: the cursor is planned for all of them, not for the first 10%
        # (PostgreSQL's default for cursors), which picked a nested loop for the state diff
        # (an unchanged re-sync of 16,000 rows: 11 s; planned for all rows, 0.05 s).
        pinned = self._pinned
        if pinned is not None:  # a TEMP cached table is open: the stream must see it
            pinned.autocommit = False  # a named cursor lives in a transaction
            con = pinned
        else:
            con = self._connect(settings=_STREAM_SETTINGS)
        stream = _Stream(
            con,
            query,
            self._streams,
            by_copy=self.by_copy,
            on_refused=self._stop_copying,
            owned=pinned is None,
        )
        return pa.RecordBatchReader.from_batches(stream.schema, stream.batches(batch_rows))

    def _stop_copying(self) -> None:
        """The server refused a stream's COPY: later streams go through the cursor at once."""
        self.by_copy = False

    def schema(self, sql: str) -> pa.Schema:
        """Arrow schema of ``sql``'s result; the cursor is declared, no row is fetched."""
        query = self.transpile(sql)
        con = self._main()
        try:
            with con.transaction(), con.cursor(name=_SCHEMA_CURSOR) as cur:
                con.execute("SET TRANSACTION READ ONLY")
                _text_loaders(cur)
                cur.execute(query)
                return _arrow_schema(cur)
        except psycopg.Error as exc:
            raise _query_error(exc, query, _declare_prefix(_SCHEMA_CURSOR)) from None

    def describe(self, sql: str) -> list[ColumnInfo]:
        return [ColumnInfo(f.name, str(f.type)) for f in self.schema(sql)]

    def table_columns(self, schema: str | None, table: str) -> list[ColumnInfo] | None:
        """Columns of a table, view or materialized view (exact, case-sensitive names),
        typed as PostgreSQL writes them (``numeric(10,2)``, ``text[]``); None if absent."""
        found = self.rows(_TABLE_COLUMNS, (schema or "public", table))
        if not found:
            return None
        return [
            ColumnInfo(name, _read_as(type_, oid)) for name, type_, oid in found if name is not None
        ]

    def _table_types(self, parts: tuple[str, str, str]) -> dict[str, str] | None:
        """A table's (or view's) columns and their types in DuckDB's words, as PostgreSQL
        resolves the name the model writes (its search path; unquoted names folded to lower
        case); None when it cannot say (pg_meanings.typed_meanings then leaves the query as
        it is). Asked on a connection of its own, so that a stream open on the main one is
        never disturbed; remembered for the engine's life."""
        if self._static_types is not None:
            given = self._static_types(parts)
            return dict(given) if given is not None else None
        catalog, db, name = parts
        if catalog:
            return None  # another database: PostgreSQL cannot read it
        if parts in self._types:
            return self._types[parts]
        found: dict[str, str] | None = None
        try:
            with self.connect_new() as con:
                rows = con.execute(
                    "SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
                    "FROM pg_catalog.pg_attribute a "
                    "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 "
                    "AND NOT a.attisdropped ORDER BY a.attnum",
                    (".".join(p for p in (db, name) if p),),
                ).fetchall()
            found = {}
            for column, written in rows:
                try:
                    found[column] = exp.DataType.build(written, dialect="postgres").sql("duckdb")
                except Exception:  # a type sqlglot cannot read (an enum): left untyped
                    continue
            found = found or None
        except Exception:  # not known: the query goes as it is
            found = None
        self._types[parts] = found
        return found

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Raw PostgreSQL SQL in autocommit (retl's own tables); ``%s`` placeholders."""
        try:
            self._main().execute(sql, tuple(params) or None)
        except psycopg.Error as exc:
            raise _query_error(exc) from None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Raw PostgreSQL SQL, small results only."""
        try:
            cur = self._main().execute(sql, tuple(params) or None)
            return cur.fetchall() if cur.description is not None else []
        except psycopg.Error as exc:
            raise _query_error(exc) from None

    def connect_new(self) -> psycopg.Connection[Any]:
        """A separate connection (not autocommit), e.g. for the state store's commits."""
        return self._connect()

    @contextlib.contextmanager
    def said(self, doing: str, hint: str | None = None) -> Iterator[None]:
        """psycopg's errors on a connection of ``connect_new`` as an ``EngineError`` naming
        what retl was ``doing`` (``hint``: what it means for the run, where the server gives
        no hint of its own). A server restarted or a connection dropped mid-sync was
        psycopg's own exception, which the CLI reported as a bug in retl (exit 2)."""
        try:
            yield
        except psycopg.Error as exc:
            if _connection_lost(exc):
                cause = _one_line(redact_error(str(exc))) or type(exc).__name__
                raise EngineError(
                    f"lost the connection to {self.conn.describe()} while {doing}: {cause}",
                    hint=hint,
                ) from None
            error = _query_error(exc)
            raise EngineError(f"{error.message} (while {doing})", hint=error.hint or hint) from None

    def close(self) -> None:
        for stream in list(self._streams):
            stream.close()
        if self._con is not None:
            self._con.close()
            self._con = None

    def _main(self) -> psycopg.Connection[Any]:
        if self._pinned is not None:
            return self._pinned
        if self._con is None or self._con.closed:
            self._con = self._connect(autocommit=True)
        return self._con

    def _connect(
        self, *, autocommit: bool = False, settings: Sequence[str] = ()
    ) -> psycopg.Connection[Any]:
        c = self.conn
        wanted = (
            "TimeZone=UTC",
            # Floats as the shortest text that reads back exactly, whatever the server's
            # default: the row hash (state/diff.py) and the rows read depend on it.
            "extra_float_digits=3",
            # The text of dates, times, intervals and bytes, whatever the server's or the
            # database's default: the rows read (psycopg and COPY's CSV parse ISO dates
            # only; 'SQL, DMY' or 'German' failed every read of a timestamptz) and the
            # row hash, which hashes the values' text. The date field order (DMY, MDY)
            # stays the server's: it is how the model's own date literals read.
            "DateStyle=ISO",
            "IntervalStyle=postgres",
            "bytea_output=hex",
            # A backslash in a quoted text is the backslash itself, as retl's literals
            # and sqlglot's output assume: with it off (a legacy server), a text ending
            # in a backslash ended early, and a project's value could end the text.
            "standard_conforming_strings=on",
            *([f"search_path={c.search_path}"] if c.search_path else []),
            *settings,
        )
        # libpq splits options on spaces: a backslash keeps them (search_path "a, b").
        options = " ".join(
            "-c " + setting.replace("\\", "\\\\").replace(" ", "\\ ") for setting in wanted
        )
        check_host(c.host, key="warehouse.host", where=c.written_at.get("host"))
        params: dict[str, Any] = {
            "host": c.host,
            "port": c.port,
            "dbname": c.dbname,
            "user": c.user,
            "password": c.password.get_secret_value() if c.password else None,
            "sslmode": c.sslmode,
            "connect_timeout": c.connect_timeout,
            "application_name": c.application_name,
            "options": options,
        }
        try:
            try:
                con = psycopg.connect(
                    autocommit=autocommit, **{k: v for k, v in params.items() if v is not None}
                )
            except psycopg.OperationalError as exc:
                # A pooler that takes no startup options (PgBouncer's default: "unsupported
                # startup parameter: options"): connected without them, they are SET below.
                if not _OPTIONS_REFUSED.search(str(exc)):
                    raise
                del params["options"]
                con = psycopg.connect(
                    autocommit=autocommit, **{k: v for k, v in params.items() if v is not None}
                )
            # A pooler in front (``_pooled``): before anything is SET on its sessions, it
            # must give this client one of its own (session mode), or the settings would
            # reach other clients, and retl's next statement could run without them.
            try:
                if not self._sessions_checked:
                    # once per engine: the first connection tells for the rest
                    if _pooled(con, params, wanted) and _shared_sessions(con, params):
                        raise _shared_sessions_error()
                    self._sessions_checked = True
                if "options" not in params:
                    _apply(con, wanted)
            except (psycopg.Error, EngineError):
                con.close()
                raise
        except psycopg.Error as exc:
            raise _connect_error(c, exc) from None
        # What the server's reports at startup (ParameterStatus) do not show held: a setting
        # it does not report (extra_float_digits, search_path, a stream's settings), which a
        # pooler that drops the options silently (PgBouncer's ignore_startup_parameters =
        # options) dropped too, seen or not (a server whose own TimeZone is UTC reports the
        # same either way); a reported one that differs. One statement, with the idle timeout.
        unset = () if "options" not in params else tuple(s for s in wanted if not _held(con, s))
        idle = ("idle_session_timeout=0",) if con.info.server_version >= 140000 else ()
        try:
            try:
                # A session of the sync may sit idle for long: the state lock's the whole
                # sync, the acknowledgements' between batches (a minute's Retry-After), the
                # model's while the rows are sent. A server's (a role's, a database's)
                # idle_session_timeout ended it: the lock was released, a batch lost.
                _apply(con, (*unset, *idle))
            except psycopg.Error:
                if not idle:
                    raise
                # A PostgreSQL-compatible server that reports 14+ without the setting: its
                # sessions do not idle out either (nothing to turn off).
                if not autocommit:
                    con.rollback()
                _apply(con, unset)
        except psycopg.Error as exc:
            con.close()
            raise _connect_error(c, exc) from None
        return con


class _Stream:
    """One streamed query: its own connection, read-only transaction and named cursor.
    Not ``owned``: the session of a TEMP cached table (``PostgresEngine._temp_cached``),
    given back in autocommit at the end of the stream's transaction."""

    _ids = itertools.count(1)

    def __init__(
        self,
        con: psycopg.Connection[Any],
        query: str,
        registry: weakref.WeakSet[_Stream],
        *,
        by_copy: bool = True,
        on_refused: Callable[[], None] | None = None,
        owned: bool = True,
    ) -> None:
        self._con = con
        self._owned = owned
        self._registry = registry
        self._query = query  # the model's, as errors point into it
        self._run = query  # what runs: ``pg_reads.read_plan``'s wrapping of it, if any
        self._copy: CopyPlan | None = None
        self._on_refused = on_refused  # called when the server refuses the COPY
        registry.add(self)
        try:
            con.read_only = True
            self._declare()
            wrapped = read_plan(con, query, self._cur.description or ())
            if wrapped is not None:  # declared again, as the values are to be read
                self._cur.close()
                self._run = wrapped
                self._declare()
            self.schema = _arrow_schema(self._cur, exact_numbers=True)
            self._convert = [
                _converter(col.type_code, field.type)
                for col, field in zip(self._cur.description or (), self.schema, strict=True)
            ]
            self._copy = (
                copy_plan(self._run, self.schema, as_text=_as_text(self._cur)) if by_copy else None
            )
            if self._copy is not None:
                self._cur.close()  # declared for its columns only: COPY reads the rows
        except psycopg.Error as exc:
            self.close()
            cur = getattr(self, "_cur", None)
            prefix = _declare_prefix(cur.name) if cur is not None else ""
            raise _query_error(exc, query, prefix) from None
        except BaseException:
            self.close()
            raise

    def _declare(self) -> None:
        """Declare the query's cursor (in a new transaction, read-only)."""
        self._cur = self._con.cursor(name=f"retl_stream_{next(self._ids)}")
        _text_loaders(self._cur)
        self._cur.execute(self._run)

    def batches(self, batch_rows: int) -> Iterator[pa.RecordBatch]:
        if self._copy is not None:
            yield from self._copied(self._copy, batch_rows)
            return
        yield from self._fetched(batch_rows)

    def _fetched(self, batch_rows: int) -> Iterator[pa.RecordBatch]:
        try:
            while True:
                try:
                    rows = self._cur.fetchmany(batch_rows)
                except psycopg.Error as exc:
                    raise _query_error(exc) from None
                if not rows:
                    # Read to the end: close the cursor on the server (one round trip), so
                    # the query ends as a query does there, seen by auto_explain and
                    # pg_stat_statements (a cursor dropped with its session is not).
                    with contextlib.suppress(psycopg.Error):
                        self._cur.close()
                    return
                columns = list(zip(*rows, strict=True))
                del rows
                yield pa.RecordBatch.from_arrays(
                    [self._column(i, values) for i, values in enumerate(columns)],
                    schema=self.schema,
                )
        finally:
            self.close()

    def _copied(self, plan: CopyPlan, batch_rows: int) -> Iterator[pa.RecordBatch]:
        refused = False
        try:
            with self._con.cursor() as cur:
                batches = read_batches(cur, plan, batch_rows)
                try:
                    first = next(batches, None)  # the COPY is sent here
                except psycopg.Error as exc:
                    if exc.sqlstate not in _COPY_REFUSED:
                        raise
                    refused = True
                else:
                    if first is not None:
                        yield first
                        yield from batches
        except psycopg.Error as exc:
            raise _query_error(exc, self._query) from None
        finally:
            if not refused:
                self.close()
        if refused:
            yield from self._uncopied(batch_rows)

    def _uncopied(self, batch_rows: int) -> Iterator[pa.RecordBatch]:
        """The server refused the COPY before its first row (a server or proxy without
        ``COPY TO STDOUT``, such as Redshift): the rows come through the cursor, from the
        start, and the engine's later streams go that way at once."""
        if self._on_refused is not None:
            self._on_refused()
        try:
            self._con.rollback()  # the refusal aborted the transaction
            self._declare()
        except psycopg.Error as exc:
            self.close()
            raise _query_error(exc, self._query) from None
        except BaseException:
            self.close()
            raise
        yield from self._fetched(batch_rows)

    def _column(self, index: int, values: Sequence[Any]) -> pa.Array:
        field = self.schema.field(index)
        try:
            return pa.array(self._convert[index](values), type=field.type)
        except (pa.ArrowException, TypeError, ValueError, ArithmeticError) as exc:
            if pa.types.is_list(field.type) and any(
                isinstance(x, list) for v in values if isinstance(v, list) for x in v
            ):
                raise nested_array(field) from None
            raise does_not_fit(field, _one_line(redact_error(str(exc)))) from None

    def on(self, con: psycopg.Connection[Any]) -> bool:
        """Whether the stream reads on ``con``."""
        return self._con is con

    def close(self) -> None:
        self._registry.discard(self)
        if not self._owned:
            self._give_back()
            return
        # Ending the session ends the transaction and its cursor on the server; the cursor
        # object then only needs marking closed (no round trip once the session is gone).
        self._con.close()
        cur = getattr(self, "_cur", None)
        # Not a cursor closed already (a COPY's): closing one waits for the connection's
        # lock, which a COPY left suspended in its generator holds.
        if cur is not None and not cur.closed:
            cur.close()

    def _give_back(self) -> None:
        """End the stream's transaction on a session it does not own (its cursor with it),
        and give the session back in autocommit. A COPY left midway (an abandoned reader)
        cannot be ended here: its owner closes the session."""
        con = self._con
        if con.closed or con.info.transaction_status == TransactionStatus.ACTIVE:
            return
        with contextlib.suppress(psycopg.Error):
            con.rollback()
            con.read_only = None
            con.autocommit = True
        cur = getattr(self, "_cur", None)
        if cur is not None and not cur.closed:
            with contextlib.suppress(psycopg.Error):
                cur.close()

    def __del__(self) -> None:
        # An abandoned reader that was never read: release the server session.
        self.close()


# How a server that does not take ``COPY (query) TO STDOUT`` refuses it: "feature not
# supported" (Redshift), or a syntax error from one that parses no COPY of a query. The same
# query was declared as a cursor just before, so neither can be the model's own error.
_COPY_REFUSED = frozenset({"0A000", "42601"})


def _refuse_duckdb_meanings(tree: exp.Expr) -> None:
    """What a DuckDB-dialect model says that sqlglot writes for PostgreSQL with another
    result (found by tests/portable_exprs.py): refused by name."""
    if tree.find(exp.SimilarTo) is not None:
        raise EngineError(
            "SIMILAR TO means another match in PostgreSQL: DuckDB reads its pattern as a "
            "regular expression ('a.c' matches 'abc'), PostgreSQL as an SQL pattern ('.' "
            "only matches '.')",
            hint="write regexp_matches(x, '^(?:pattern)$') for DuckDB's meaning",
        )
    word = star_modifier(tree)  # one stars_expanded could not write out
    if word is not None:
        raise EngineError(
            f"SELECT * {word} (...) has no PostgreSQL form (sqlglot would write it as it is, "
            "a syntax error there)",
            hint="list the columns the model selects",
        )


# A table's columns with each domain's base type (a result's column of a domain has its base
# type, as RowDescription gives it): the type, as format_type writes it, and its oid.
_TABLE_COLUMNS = """
WITH RECURSIVE col AS (
  SELECT a.attnum, a.attname, a.atttypid AS typid, a.atttypmod AS typmod
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_attribute a
    ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r','v','m','p','f')
  UNION ALL
  SELECT col.attnum, col.attname, t.typbasetype, t.typtypmod
  FROM col JOIN pg_catalog.pg_type t ON t.oid = col.typid AND t.typtype = 'd'
)
SELECT col.attname, format_type(col.typid, col.typmod), col.typid FROM col
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t WHERE t.oid = col.typid AND t.typtype = 'd')
ORDER BY col.attnum
"""


def _read_as(written: str, oid: int | None) -> str:
    """A catalog column's type for validate: its own where DuckDB has the type (the types
    read natively, ``numeric(10,2)``, ``text[]``, ``jsonb``; ``uuid``, ``interval``, ``time``,
    ``bytea``...: validate judges them as it would DuckDB's), else text, as a stream reads it
    (``_arrow_type``), or a list of texts for an array of a type psycopg knows (``inet[]``).
    validate judged a ``citext``, ``money``, ``name``, enum or domain column (types sqlglot
    cannot read) an error of every model that read its table, and an ``inet`` not text,
    where the rows bring text."""
    if oid is None:
        return written
    if oid in _MONEY_READ:  # read as its number (pg_reads.py)
        return _MONEY_READ[oid]
    if oid in _BY_ARRAY_OID or oid in _BY_OID:
        return "text[]" if oid == _NAME_ARRAY_OID else "text" if oid == _NAME_OID else written
    if oid in _DUCKDB_TYPED:
        return written
    if oid in _TEXT_ARRAY_OIDS or written.endswith("[]"):
        return "text[]"  # an enum's or citext's array too: a list of texts (pg_reads.py)
    return "text"


_MONEY_READ = {
    postgres.types["money"].oid: "numeric",
    postgres.types["money"].array_oid: "numeric[]",
}
_NAME_OID = postgres.types["name"].oid
_NAME_ARRAY_OID = postgres.types["name"].array_oid
_DUCKDB_TYPED = frozenset(
    oid
    for n in ("uuid", "interval", "time", "timetz", "bytea", "bit", "varbit")
    for oid in (postgres.types[n].oid, postgres.types[n].array_oid)
)


def _declare_prefix(cursor_name: str) -> str:
    """What psycopg sends before the query, so error positions point into the query."""
    return f'DECLARE "{cursor_name}" CURSOR FOR '


def _text_loaders(cur: psycopg.ServerCursor[Any]) -> None:
    """Load the non-native types as PostgreSQL's text, and a date or timestamp Python
    cannot hold as NULL (this cursor only)."""
    for oid in _AS_TEXT:
        cur.adapters.register_loader(oid, TextLoader)
    for name, loader in _TIME_LOADERS.items():
        cur.adapters.register_loader(postgres.types[name].oid, loader)


def _or_null(base: type[Loader]) -> type[Loader]:
    """``base``, loading a value it cannot hold ('infinity', a BC date, year 10000 and
    after) as NULL, as COPY does (pg_copy.copy_plan): that row is invalid, not the run."""

    class OrNull(base):  # type: ignore[valid-type,misc]
        def load(self, data: Any) -> Any:
            try:
                return super().load(data)
            except psycopg.DataError:
                return None

    OrNull.__name__ = f"{base.__name__}OrNull"
    return OrNull


_TIME_LOADERS: dict[str, type[Loader]] = {
    "date": _or_null(DateLoader),
    "timestamp": _or_null(TimestampLoader),
    "timestamptz": _or_null(TimestamptzLoader),
}


def _as_text(cur: psycopg.ServerCursor[Any]) -> frozenset[int]:
    """The columns COPY writes as ``::text`` (pg_copy.copy_plan): char(n), and the arrays
    whose items are read as text (of char(n), uuid, interval...), but inet's
    and cidr's (their ``::text`` is not their output text; their JSON is)."""
    found = set()
    for i, col in enumerate(cur.description or ()):
        oid = col.type_code
        if oid in _BPCHAR_OIDS or (oid in _TEXT_ARRAY_OIDS and oid not in _OWN_TEXT_CASTS):
            found.add(i)
    return frozenset(found)


def _arrow_schema(cur: psycopg.ServerCursor[Any], *, exact_numbers: bool = False) -> pa.Schema:
    """The result's columns as Arrow fields. ``exact_numbers`` (the rows a stream reads): a
    numeric without precision as its exact text, marked ``NUMERIC_TEXT`` for the workbench
    (engine/numeric_columns.py); otherwise (``schema``, which the row hash's SQL is written
    from) a DOUBLE, as it has always been described, so stored row hashes stay valid."""
    res = cur.pgresult
    if res is None or cur.description is None:
        raise EngineError("the model is not a query that returns rows")
    fields = []
    for i, col in enumerate(cur.description):
        if col.type_code in _JSON_OIDS or col.type_code in _JSON_ARRAY_OIDS:
            fields.append(json_field(col.name, array=col.type_code in _JSON_ARRAY_OIDS))
        elif exact_numbers and col.type_code == _NUMERIC_OID and res.fmod(i) < 4:
            fields.append(pa.field(col.name, pa.string(), metadata={NUMERIC_TEXT: b"1"}))
        else:
            fields.append(pa.field(col.name, _arrow_type(col.type_code, res.fmod(i))))
    return pa.schema(fields)


def _arrow_type(oid: int, fmod: int) -> pa.DataType:
    if oid in _TEXT_ARRAY_OIDS:
        return pa.list_(pa.string())
    if oid in _BY_ARRAY_OID:
        return pa.list_(_scalar_type(_BY_ARRAY_OID[oid], fmod))
    if oid in _BY_OID:
        return _scalar_type(_BY_OID[oid], fmod)
    return pa.string()


def _scalar_type(name: str, fmod: int) -> pa.DataType:
    if name != "numeric":
        return _SCALARS[name]
    # numeric(p,s): typmod = ((p << 16) | s) + 4, scale stored as 11-bit signed (PG 15+).
    # Unconstrained numeric (SUM, AVG, casts without (p,s)) becomes float64, as DuckDB's
    # postgres scanner does; precision beyond 76 digits becomes text.
    if fmod < 4:
        return pa.float64()
    precision = (fmod - 4) >> 16
    scale = (fmod - 4) & 0x7FF
    if scale >= 0x400:
        scale -= 0x800
    if not 0 <= scale <= precision:
        return pa.string()
    if precision <= _MAX_DECIMAL128:
        return pa.decimal128(precision, scale)
    if precision <= _MAX_DECIMAL256:
        return pa.decimal256(precision, scale)
    return pa.string()


def _converter(oid: int, type_: pa.DataType) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """numeric arrives as Decimal: as float64 or text it needs converting; an array of json
    as a list of texts, written as one JSON array; char(n) padded; nothing else does."""
    if oid in _JSON_ARRAY_OIDS:
        return lambda vs: [None if v is None else _json_array(v) for v in vs]
    if oid in _BPCHAR_OIDS:
        return _unpadded_values
    if oid == _NUMERIC_OID and not pa.types.is_decimal(type_):
        item = _from_decimal(type_)
        return lambda vs: [item(v) for v in vs]
    if oid == _NUMERIC_ARRAY_OID and not pa.types.is_decimal(type_.value_type):
        item = _from_decimal(type_.value_type)
        return lambda vs: [None if v is None else [item(x) for x in v] for v in vs]
    return _identity


def _json_array(items: Sequence[str | None]) -> str:
    return "[" + ",".join("null" if x is None else x for x in items) + "]"


def _from_decimal(type_: pa.DataType) -> Callable[[Any], Any]:
    if pa.types.is_floating(type_):
        return lambda v: None if v is None else float(v)
    # As PostgreSQL writes it (and COPY reads it): all digits, never an exponent ('1E-7').
    return lambda v: None if v is None else format(v, "f")


def _unpadded_values(values: Sequence[Any]) -> list[Any]:
    """char(n) texts, or lists of them, without PostgreSQL's padding."""
    return [
        None
        if v is None
        else [None if x is None else x.rstrip(" ") for x in v]
        if isinstance(v, list)
        else v.rstrip(" ")
        for v in values
    ]


def _identity(values: Sequence[Any]) -> Sequence[Any]:
    return values


# (cause, the fix, the setting to check)
_CONNECT_HINTS = (
    (r"connection refused", "is the server running and listening on that host and port?", "port"),
    (r"resolve host|translate host name", "check warehouse.host", "host"),
    (r"timeout expired", "no answer in time; check warehouse.host/port and firewalls", "host"),
    (r"password authentication failed", "check warehouse.user and warehouse.password", "user"),
    (r"no password supplied", "set warehouse.password, e.g. {{ env_var('PGPASSWORD') }}", "user"),
    (r'^role ".*" does not exist', "check warehouse.user", "user"),
    (r'^database ".*" does not exist', "check warehouse.dbname", "dbname"),
    (
        r"no pg_hba\.conf entry",
        "the server does not accept this client/user/database; ask its admin",
        "host",
    ),
    (r"ssl|certificate", "check warehouse.sslmode", "sslmode"),
)


# PgBouncer's refusal of libpq's ``options`` (its default ignore_startup_parameters is empty).
_OPTIONS_REFUSED = re.compile(r"unsupported startup parameter: options\b")
# Settings of ``_connect`` the server reports at startup (ParameterStatus), as they read when
# the startup options were applied (DateStyle "ISO, MDY": the field order stays the server's).
_REPORTED = {
    "TimeZone": "UTC",
    "DateStyle": "ISO",
    "IntervalStyle": "postgres",
    "standard_conforming_strings": "on",
}


def _held(con: psycopg.Connection[Any], setting: str) -> bool:
    """The session shows ``setting`` (``name=value`` of ``_connect``) held: a setting the
    server reports at startup, as it reads when set. One it does not report may have been
    dropped with the startup options (a pooler's), unseen; a reported one the server leaves
    out (a PostgreSQL-compatible one) is taken as held, as the options said."""
    name = setting.split("=", 1)[0]
    if name not in _REPORTED:
        return False
    value = con.info.parameter_status(name)
    return value is None or value.split(",")[0] == _REPORTED[name]


def _pooled(con: psycopg.Connection[Any], params: dict[str, Any], wanted: Sequence[str]) -> bool:
    """A pooler in front: the startup options refused (``params`` without them), or dropped:
    a setting the server reports that did not hold, or ``extra_float_digits`` (which no
    server reports) other than retl's 3. A server whose own defaults are retl's, behind a
    pooler that drops the options, does not show it."""
    if "options" not in params:
        return True
    if any(not _held(con, s) for s in wanted if s.split("=", 1)[0] in _REPORTED):
        return True
    row = con.execute("SELECT current_setting('extra_float_digits')").fetchone()
    return row is None or row[0] != "3"


def _shared_sessions(con: psycopg.Connection[Any], params: dict[str, Any]) -> bool:
    """The pooler in front hands ``con``'s server session to another client between two
    transactions (PgBouncer's transaction or statement mode): a second client, connected
    while ``con`` is idle, is given the session ``con`` just freed (PgBouncer reuses the
    last freed first; its ``server_round_robin`` or a busy pool may hide it). In session
    mode ``con`` keeps its own, and the second client gets another."""
    first = con.execute("SELECT pg_backend_pid()").fetchone()
    if not con.autocommit:
        con.commit()
    with psycopg.connect(
        autocommit=True, **{k: v for k, v in params.items() if v is not None}
    ) as probe:
        second = probe.execute("SELECT pg_backend_pid()").fetchone()
    return first == second


def _shared_sessions_error() -> EngineError:
    return EngineError(
        "the warehouse connection's server session is shared with other clients (a pooler "
        "such as PgBouncer in transaction or statement mode): retl's session settings "
        "(TimeZone=UTC, DateStyle=ISO, its search_path) would reach them, and retl's next "
        "statement could run on a session without them",
        key="warehouse",
        hint="connect retl through a pool in session mode (PgBouncer: pool_mode = session, "
        "with its default server_reset_query = DISCARD ALL) or to PostgreSQL directly",
    )


def _apply(con: psycopg.Connection[Any], settings: Sequence[str]) -> None:
    """The ``name=value`` settings for the whole session, in one statement (a session of its
    own, as a pooler's session mode gives, keeps them); none: no statement."""
    if not settings:
        return
    names, values = zip(*(s.split("=", 1) for s in settings), strict=True)
    con.execute(
        "SELECT set_config(n, v, false) FROM unnest(%s::text[], %s::text[]) AS s(n, v)",
        [list(names), list(values)],
    )
    if not con.autocommit:
        con.commit()


def _connect_error(c: PostgresConnection, exc: psycopg.Error) -> EngineError:
    # libpq may quote the connection string, password included, in any escaped form.
    text = scrub(str(exc), [c.password.get_secret_value() if c.password else None])
    # libpq: 'connection failed: connection to server at "h" (addr), port p failed: CAUSE'
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    causes = [line.rsplit(" failed: ", 1)[-1] for line in lines if " failed: " in line]
    cause = causes[-1] if causes else (lines[-1] if lines else type(exc).__name__)
    cause = re.sub(r"^(FATAL|ERROR):\s+", "", cause)
    found = next((h for h in _CONNECT_HINTS if re.search(h[0], cause, re.IGNORECASE)), None)
    hint, setting = (found[1], found[2]) if found is not None else (None, "host")
    # the setting as written, else the host (a port left to its default: the host's line)
    where = c.written_at.get(setting) or c.written_at.get("host")
    file, line, key = where if where is not None else (None, None, "warehouse")
    return EngineError(
        f"cannot connect to {c.describe()}: {cause}", file=file, line=line, key=key, hint=hint
    )


def _connection_lost(exc: psycopg.Error) -> bool:
    """The session is gone: closed on this side, or ended by the server (a restart, an
    administrator's ``pg_terminate_backend``: SQLSTATE classes 08 and 57P)."""
    state = exc.sqlstate
    if state is None:
        return isinstance(exc, psycopg.OperationalError)
    return state.startswith(("08", "57P"))


def _query_error(exc: psycopg.Error, query: str | None = None, prefix: str = "") -> EngineError:
    """PostgreSQL's message, its LINE (in ``query``, which was sent after ``prefix``), its
    DETAIL, and its HINT as the hint."""
    if exc.sqlstate is None:  # raised on this side, not by the server
        if isinstance(exc, psycopg.OperationalError):
            return EngineError(f"lost the connection to PostgreSQL: {_one_line(str(exc))}")
        return EngineError(
            f"cannot read a value of the result: {_one_line(redact_error(str(exc)))}",
            hint="cast or filter it in the model ('infinity' dates have no Arrow equivalent)",
        )
    diag = exc.diag
    message = diag.message_primary or _one_line(str(exc)) or type(exc).__name__
    position = _position(query, int(diag.statement_position or 0) - len(prefix))
    if position is None:
        position = next(
            (ln.strip() for ln in str(exc).splitlines() if ln.startswith("LINE ")), None
        )
    if position:
        message += f" ({position})"
    # The server quotes the values it failed on (DETAIL: Key (email)=(...)): mask them. A
    # data exception or an integrity one (SQLSTATE classes 22, 23) is about a value: every
    # quoted text of it is masked but the names (errors_text.redact_error). That includes an
    # invalid parameter (22023): a model passes a row's value as one (`at time zone tz`,
    # `convert_to(x, enc)`: 'time zone "Jane Doe/Home" not recognized').
    data = exc.sqlstate[:2] in ("22", "23")
    if diag.message_detail:
        # its input echoed above a caret (an XML value's line) goes before the lines are joined
        detail = masked_echo(diag.message_detail) if data else diag.message_detail
        message += f"; {_one_line(detail)}"
    hint = redact_error(diag.message_hint, data=data) if diag.message_hint else None
    return EngineError(f"PostgreSQL: {redact_error(message, data=data)}", hint=hint)


def _position(query: str | None, offset: int) -> str | None:
    """'LINE n: text' for a 1-based character offset into ``query``."""
    if query is None or not 0 < offset <= len(query):
        return None
    before = query[: offset - 1]
    number = before.count("\n") + 1
    text = query.splitlines()[number - 1].strip() if query.splitlines() else ""
    return f"LINE {number}: {text}"


def _one_line(text: str) -> str:
    return " ".join(text.split())

"""Embedded DuckDB engine (the default).

The connection is always in memory; a warehouse file is ATTACHed read-only and made the
default catalog, so retl never writes to the user's database while it can still attach its
own state database read-write beside it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import importlib
import itertools
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    # Imported by the methods that move rows: validate's DESCRIBE of a source file needs
    # DuckDB, not Arrow (~0.2 s of start-up with numpy, issue #18).
    import pyarrow as pa
    from sqlglot import exp

from reverse_etl import project_files
from reverse_etl.engine.arrow_stream import ReadAhead
from reverse_etl.engine.base import (
    DEFAULT_BATCH_ROWS,
    JSON_TEXT,
    NUMERIC_TEXT,
    ColumnInfo,
    EngineCapabilities,
)
from reverse_etl.engine.errors_text import redact_error
from reverse_etl.engine.file_paths import GLOB_CHARS, escape_glob, project_paths
from reverse_etl.engine.file_rule import FileRule
from reverse_etl.engine.hosts import check_host
from reverse_etl.engine.pg_dsn import dsn_host, split_password
from reverse_etl.engine.scratch import ScratchFiles
from reverse_etl.errors import (
    EngineError,
    EnvironmentProblem,
    Interrupted,
    RetlError,
    environment_error,
)
from reverse_etl.secrets import register

# DuckDB extensions retl can load without a download: (python package, file, extension name).
# The file must be renamed to the extension's own name before LOAD accepts it.
_EXTENSIONS = {
    "sqlite": ("duckdb_extension_sqlite", "sqlite.duckdb_extension", "sqlite_scanner"),
    "postgres": ("duckdb_extension_postgres", "postgres.duckdb_extension", "postgres_scanner"),
}


DEFAULT_MEMORY = "200MB"
FALLBACK_MEMORY = "1GB"
SENDING_MEMORY = "64MB"


@dataclass(frozen=True)
class MemoryPolicy:
    """How much memory DuckDB gets.

    ``limit`` is the buffer manager's limit (beyond it, tables, joins and aggregates spill to
    the temp directory). A statement that still runs out is rerun out of core, then on one
    thread (``DuckDBEngine._retrying``); one that runs out even so (an operator that cannot
    spill, such as some window functions over a large model) is retried once at
    ``fallback``, unless the user set the limit: then it is a hard limit and the error says
    to raise it.
    """

    limit: str = DEFAULT_MEMORY
    fallback: str | None = FALLBACK_MEMORY
    configured: bool = False

    @classmethod
    def from_config(cls, value: str | None) -> MemoryPolicy:
        """``warehouse.memory_limit``: None is the automatic default."""
        return cls() if value is None else cls(limit=value, fallback=None, configured=True)


@dataclass(frozen=True)
class Attachment:
    """Another database to attach read-only: ``name`` in SQL, ``kind``, file path or DSN."""

    name: str
    kind: str  # duckdb, sqlite, postgres
    target: str


class DuckDBEngine:
    """DuckDB in memory, optionally over a database file attached read-only."""

    dialect = "duckdb"
    model_dialect = "duckdb"
    EXTERNAL = "debug_force_external"  # DuckDB's switch for out-of-core operators (_out_of_core)
    # A hash join's table of short strings, per row and column (DuckDB 1.5: 119 MB for the
    # 2.63M rows of two columns of the 3M-row encode's phone table, docs/performance.md).
    JOIN_BYTES_PER_CELL = 24
    # A statement whose join tables would take more than 1/JOIN_SHARE of the memory limit
    # starts out of core (``joins_outgrow``).
    JOIN_SHARE = 8
    # The state lives in a local file attached beside the models (state/store.py).
    capabilities = EngineCapabilities(
        "duckdb", can_hold_state=False, diffs_in_place=False, is_workbench=True, project_paths=True
    )

    def __init__(
        self,
        path: Path | None = None,
        *,
        memory: MemoryPolicy | None = None,
        temp_directory: Path | None = None,
        attach: Sequence[Attachment] = (),
        file_search_path: Path | None = None,
    ) -> None:
        self.path = path
        self._file_search_path = file_search_path
        # The project's top-level names the folder retl runs in has too (restrict_files).
        self._shadowed: frozenset[str] = frozenset()
        # The files models may read (restrict_files), checked before a model runs
        # (models/dialects.query_for): DuckDB's own rule allows whole folders, hidden files too.
        self.file_rule: FileRule | None = None
        self.temp_directory = temp_directory
        self.memory = memory
        self.scratch = ScratchFiles(temp_directory)
        self.memory_limit = memory.limit if memory is not None else None
        self.memory_raised = False  # the automatic limit was raised for a statement
        self.out_of_core = 0  # statements rerun out of core, out of memory in memory
        self.started_out_of_core = 0  # statements run out of core from the start
        self.single_threaded = 0  # statements rerun on one thread, out of memory on more
        if path is not None and not path.exists():
            raise EngineError(
                f"DuckDB database file not found: {path}",
                key="warehouse.path",
                hint="fix warehouse.path in retl_project.yml (relative to the project)",
            )
        try:
            self._con = duckdb.connect(":memory:")
            # Timestamps without time zone are UTC whatever the machine says.
            self._con.execute("SET TimeZone = 'UTC'")
            # retl draws its own progress; DuckDB's bar would write into the user's terminal.
            self._con.execute("SET enable_progress_bar = false")
            # Row order is never relied on (samples sort explicitly); not keeping it lets
            # large results stream and spill with less memory.
            self._con.execute("SET preserve_insertion_order = false")
            if self.memory_limit is not None:
                self._con.execute(f"SET memory_limit = {_lit(self.memory_limit)}")
            if temp_directory is not None:
                # DuckDB creates the directory itself when it first spills, but not its
                # parents (a fresh project has no .retl/ yet).
                temp_directory.parent.mkdir(parents=True, exist_ok=True)
                # DuckDB would spill into (and clear) a pull request's link's target folder.
                project_files.own_folder(temp_directory)
                self._con.execute(f"SET temp_directory = {_lit(str(temp_directory))}")
            if file_search_path is not None:
                # read_csv('data/x.csv') in a model means the project's data/, wherever retl runs
                self._con.execute(f"SET file_search_path = {_lit(str(file_search_path))}")
            if path is not None:
                # Attached under its stem, the catalog name dbt-duckdb gives the same file, so
                # relations dbt built ("dev"."main"."orders") resolve here too.
                self._con.execute(f"ATTACH {_lit(str(path))} AS {_ident(path.stem)} (READ_ONLY)")
                self._con.execute(f"USE {_ident(path.stem)}")
        except duckdb.Error as exc:
            raise EngineError(f"cannot open DuckDB database {path}: {_clean(exc)}") from None
        for item in attach:
            self._attach(item)

    def restrict_files(self, directories: Sequence[Path], files: Sequence[Path] = ()) -> None:
        """From now on, SQL may read and write files only in ``directories`` (and their
        subfolders) and ``files``, given as absolute paths; a relative path in SQL is taken
        against the file search path. This cannot be undone on this connection: DuckDB
        refuses to re-enable external access, so no model can.

        Databases attached before (the warehouse file, attached SQLite or PostgreSQL) keep
        working. Call it once everything retl itself needs outside these places is set up."""
        base = self._file_search_path
        shadowed: set[str] = set()
        dirs: list[str] = []
        # retl's own scratch files (the plan's rows, pipeline/plan.py) are written and read
        # by SQL too; they hold nothing a model could not compute itself.
        for folder in (*directories, self.scratch.folder):
            text = str(folder).rstrip("/") + "/"
            dirs.append(text)
            if base is not None and folder.is_relative_to(base) and folder != base:
                relative = folder.relative_to(base)
                if _shadowed(relative, base):
                    shadowed.add(relative.parts[0])
                else:
                    dirs += [f"{relative}/", f"./{relative}/"]
        paths: list[str] = []
        for file in files:
            paths.append(str(file))
            if base is not None and file.is_relative_to(base):
                relative = file.relative_to(base)
                if _shadowed(relative, base):
                    shadowed.add(relative.parts[0])
                else:
                    paths += [str(relative), f"./{relative}"]
        # DuckDB checks a path as written, before expanding it: the escaped form retl reads
        # its own files by (``file_literal``) is that same folder, so it is allowed too.
        dirs += [escape_glob(d) for d in dirs if GLOB_CHARS.search(d)]
        paths += [escape_glob(p) for p in paths if GLOB_CHARS.search(p)]
        try:
            self._con.execute(f"SET allowed_directories = [{', '.join(map(_lit, dirs))}]")
            self._con.execute(f"SET allowed_paths = [{', '.join(map(_lit, paths))}]")
            self._con.execute("SET enable_external_access = false")
            # Not lock_configuration: retl sets memory_limit (release_memory, memory_while,
            # the fallback limit), threads and debug_force_external (a rerun out of memory)
            # after this, which it would refuse; and a model's enable_profiling() or
            # checkpoint() still runs under it (models/sql_text.py refuses those).
        except duckdb.Error as exc:
            raise EngineError(f"cannot restrict DuckDB's file access: {_clean(exc)}") from None
        self._shadowed = frozenset(shadowed)
        if base is not None:
            self.file_rule = FileRule.of(base, directories, files)

    def parses(self, sql: str) -> bool:
        try:
            self._con.extract_statements(sql)
        except duckdb.Error:
            return False
        return True

    def project_paths(self, sql: str, tree: exp.Expr | None = None) -> str:
        """A model's ``sql`` with each relative path it gives a file reader as a literal made
        the project's (``file_paths.project_paths``), when retl runs outside the project:
        DuckDB would look in the folder retl runs in first. Run from the project folder, the
        text runs as written (a reader's ``filename`` column stays the path as written). A
        path built at run time stays relative, and is refused where that folder has the same
        top-level name (``_shadowed``)."""
        base = self._file_search_path
        if base is None or Path.cwd().resolve() == base.resolve():
            return sql
        return project_paths(sql, base, tree)

    def _attach(self, item: Attachment) -> None:
        options = "READ_ONLY" if item.kind == "duckdb" else f"TYPE {item.kind}, READ_ONLY"
        target = item.target
        try:
            if item.kind in _EXTENSIONS:
                self._load_extension(item.kind)
            if item.kind == "postgres":
                # Any SQL sees an attachment's text (duckdb_databases()): the password goes
                # into a secret of the attachment instead, shown redacted (engine/pg_dsn.py).
                target, password = split_password(target)
                check_host(dsn_host(target), key=f"warehouse.attach.{item.name}")
                if password is not None:
                    register(password)
                    secret = _ident(f"__retl_attach_{next(_SECRETS)}")
                    self._con.execute(
                        f"CREATE TEMPORARY SECRET {secret} "
                        f"(TYPE postgres, PASSWORD {_lit(password)})"
                    )
                    options += f", SECRET {secret}"
            self._con.execute(f"ATTACH {_lit(target)} AS {_ident(item.name)} ({options})")
        except duckdb.Error as exc:
            detail = _clean(exc)
            if item.kind == "postgres":  # the DSN may hold a password: never echo it
                detail = "the server refused the connection or the DSN is wrong"
            raise EngineError(
                f"cannot attach {item.kind} database '{item.name}': {detail}",
                key=f"warehouse.attach.{item.name}",
            ) from None

    def _load_extension(self, kind: str) -> None:
        package, filename, name = _EXTENSIONS[kind]
        try:
            module = importlib.import_module(package)
        except ImportError:
            raise EngineError(
                f"attaching {kind} databases needs the DuckDB {kind} extension",
                hint="pip install 'retl[attach]' (it installs from the package index, no "
                "download at run time)",
            ) from None
        src = (
            Path(module.__file__ or "").parent / "extensions" / f"v{duckdb.__version__}" / filename
        )
        if not src.exists():
            raise EngineError(
                f"the installed {package} does not match DuckDB {duckdb.__version__}",
                hint=f"pip install '{package.replace('_', '-')}=={duckdb.__version__}'",
            )
        folder = (self.temp_directory or Path(tempfile.gettempdir())) / "extensions"
        if self.temp_directory is not None:  # the state folder's tmp/extensions: no link
            project_files.own_folder(self.temp_directory, create=True)
            project_files.own_folder(folder, create=True)
        else:
            folder.mkdir(parents=True, exist_ok=True)
        dst = folder / f"{name}.duckdb_extension"
        try:
            kept = os.lstat(dst)  # a link there (a pull request's) is replaced, never followed
        except FileNotFoundError:
            kept = None
        if kept is None or not stat.S_ISREG(kept.st_mode) or kept.st_size != src.stat().st_size:
            # 0666 less the umask, as copyfile gave it: another user's retl loads it too
            with src.open("rb") as source:
                project_files.write_atomic(dst, lambda out: shutil.copyfileobj(source, out))
        self._con.execute(f"LOAD {_lit(str(dst))}")

    def materialize(self, sql: str) -> str:
        """Run ``sql`` into a temporary table (spilling beyond the memory limit); its name."""
        name = f"__retl_staged_{next(_STAGED)}"
        self.execute(f"CREATE TEMP TABLE {name} AS {sql}")
        return name

    def stage(self, reader: pa.RecordBatchReader, *, into: str | None = None) -> str:
        """Copy a stream of rows (from another warehouse) into a temporary table, spilling to
        disk beyond the memory limit; returns the table's name. ``into``: append to that
        table (one ``stage`` made it) instead of creating one. Columns of JSON text
        (``JSON_TEXT``) become the lists and structs they hold (``json_columns``); columns
        of exact numbers as text (``NUMERIC_TEXT``) the type that holds them
        (``numeric_columns``)."""
        import pyarrow as pa

        name = into or f"__retl_staged_{next(_STAGED)}"
        write = f"INSERT INTO {name}" if into else f"CREATE TEMP TABLE {name} AS"
        # A bounded read-ahead, not DuckDB's own (up to 16 batches): arrow_stream.py.
        ahead = ReadAhead(reader)
        try:
            self._con.register("__retl_stage_reader", ahead.capsule())
            self._con.execute(f"{write} SELECT * FROM __retl_stage_reader")
        except (duckdb.Error, pa.ArrowException, OSError) as exc:
            # the source's own (a Spark query's), or Ctrl-C while the rows were read
            if isinstance(ahead.error, (EngineError, KeyboardInterrupt)):
                raise ahead.error from None
            raise EngineError(_clean(ahead.error or exc, self._shadowed)) from None
        finally:
            self._con.unregister("__retl_stage_reader")
        if into is None:
            json_text = [f.name for f in reader.schema if f.metadata and JSON_TEXT in f.metadata]
            if json_text:
                from reverse_etl.engine.json_columns import nest_json_columns

                nest_json_columns(self, name, json_text)
            numbers = [f.name for f in reader.schema if f.metadata and NUMERIC_TEXT in f.metadata]
            if numbers:
                from reverse_etl.engine.numeric_columns import exact_numbers

                exact_numbers(self, name, numbers)
        return name

    def stream(self, sql: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
        import pyarrow as pa

        reader = self._retrying(lambda: self._con.execute(sql).to_arrow_reader(batch_rows))
        return pa.RecordBatchReader.from_batches(
            reader.schema,
            _checked(
                reader,
                self.temp_directory,
                lost=lambda: self._lost_error(sql),
                shadowed=self._shadowed,
            ),
        )

    def _lost_error(self, sql: str) -> BaseException | None:
        """The error a stream of ``sql`` met, when DuckDB said "Interrupted!" instead.

        When a statement fails on one of DuckDB's threads while this process reads its
        batches, the reader is now and then told ``INTERRUPT Error: Interrupted!`` (the
        other threads' tasks cancelled) before the error itself (a cast failing at row
        300,000: 1 run in 60 on two threads, loaded). retl never interrupts DuckDB, so the
        statement (a read) runs again on one thread, its batches drained, for the error to
        say; None if it then runs to its end (the interruption is then said)."""
        try:
            with self._single_thread():
                reader = self._con.execute(sql).to_arrow_reader(DEFAULT_BATCH_ROWS)
                while True:
                    reader.read_next_batch()
        except StopIteration:
            return None
        except Exception as exc:  # duckdb.Error, or Arrow's OSError carrying its text
            return None if _interrupted(exc) else exc

    def read_parquet(
        self, path: Path, columns: Sequence[str], *, batch_rows: int
    ) -> pa.RecordBatchReader:
        """``columns`` of a Parquet file the workbench wrote (``scratch``), read by Arrow's
        reader one row group at a time, not by a query: a DuckDB stream of the plan's file
        held up to 100 MB more, and the send took 0.1 s (200k rows) to 1.5 s (4M) longer
        (docs/performance.md). Errors as ``stream``'s."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            file = pq.ParquetFile(path, pre_buffer=False)
        except (pa.ArrowException, OSError) as exc:
            raise _failed(
                exc, self.temp_directory, f"cannot read {path}: ", self._shadowed
            ) from None
        schema = pa.schema([file.schema_arrow.field(c) for c in columns])

        def batches() -> Iterator[pa.RecordBatch]:
            with file:
                yield from file.iter_batches(
                    batch_size=batch_rows, columns=list(columns), use_threads=False
                )

        reader = pa.RecordBatchReader.from_batches(schema, batches())
        return pa.RecordBatchReader.from_batches(
            schema, _checked(reader, self.temp_directory, shadowed=self._shadowed)
        )

    def schema(self, sql: str) -> pa.Schema:
        """Arrow schema of ``sql``'s result, without running it to completion."""
        schema: pa.Schema = self._retrying(
            lambda: (
                self._con.execute(f"SELECT * FROM (\n{sql}\n) AS _s LIMIT 0")
                .to_arrow_table()
                .schema
            )
        )
        return schema

    def describe(self, sql: str) -> list[ColumnInfo]:
        try:
            rel = self._con.sql(sql)
            return [ColumnInfo(n, str(t)) for n, t in zip(rel.columns, rel.types, strict=True)]
        except duckdb.Error as exc:
            raise EngineError(_clean(exc, self._shadowed)) from None

    def uuids_as_text(self, sql: str) -> str:
        """``sql`` with its UUID columns (and lists of them) as VARCHAR. Arrow carries a UUID
        as text, so the encoders treat it as text, but DuckDB's string functions take no
        UUID (``trim(external_id)`` failed the whole encode). The text is the UUID's own, so
        row hashes and keys are as before."""
        casts = {"UUID": "VARCHAR", "UUID[]": "VARCHAR[]"}
        columns = [(c.name, casts[c.type]) for c in self.describe(sql) if c.type in casts]
        if not columns:
            return sql
        replaced = ", ".join(f"CAST({_ident(n)} AS {t}) AS {_ident(n)}" for n, t in columns)
        return f"SELECT * REPLACE ({replaced}) FROM (\n{sql}\n) AS __uuids"

    def transpile(self, sql: str) -> str:
        """retl writes its own SQL in DuckDB's dialect: nothing to do here."""
        return sql

    def table_columns(self, schema: str | None, table: str) -> list[ColumnInfo] | None:
        """Columns of a table or view of the default catalog (None: no such table)."""
        found = self.rows(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = ? "
            "AND table_name = ? ORDER BY ordinal_position",
            [schema or "main", table],
        )
        return [ColumnInfo(name, type_) for name, type_ in found] or None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Small result sets only (summaries, samples)."""
        rows: list[tuple[Any, ...]] = self._retrying(lambda: run_sql(self._con, sql, params))
        return rows

    def execute(self, sql: str, params: Sequence[Any] = (), *, out_of_core: bool = False) -> None:
        """Run a statement; ``out_of_core``: partitioned to disk from the start (see
        ``joins_outgrow``), with the same reruns after it as one that ran out in memory."""
        self._retrying(lambda: run_sql(self._con, sql, params), out_of_core=out_of_core)

    def joins_outgrow(self, tables: Sequence[str]) -> bool:
        """Whether hash tables of ``tables`` (tables a statement joins) would take more than
        1/JOIN_SHARE of the memory limit: such a statement is better started out of core.

        DuckDB judges from the join's own inputs that its table fits, builds it in memory,
        and the wide expressions above the join then find too little left: out of memory
        after a few seconds, and the statement rerun out of core (``_retrying``). The encode
        of 1M rows with a distinct phone each (892k in the join's table) did so in about one
        run in two: 16.6-17.0 s against 10.8 s for a first sync, and 12.6-13.1 s started out
        of core, every time; at 200k and 500k rows (180k, 448k phones) out of core from the
        start cost nothing measurable and was never needed (docs/performance.md). The
        estimate is the tables' cells at JOIN_BYTES_PER_CELL each; no limit (DuckDB's own
        default), no estimate."""
        if not tables or self.memory_limit is None:
            return False
        names = ", ".join(_lit(t) for t in tables)
        (cells,) = self.rows(
            "SELECT coalesce(sum(estimated_size * column_count), 0) FROM duckdb_tables() "
            f"WHERE table_name IN ({names})"
        )[0]
        joined = int(cells) * self.JOIN_BYTES_PER_CELL
        return joined * self.JOIN_SHARE > _bytes(self.memory_limit)

    def _retrying(self, run: Callable[[], Any], *, out_of_core: bool = False) -> Any:
        """Run a statement. Out of memory, rerun it out of core on every thread; if that runs
        out too, out of core on one thread within the same limit (each thread's working
        memory is what a wide statement beside a large join cannot spill); and if that runs
        out too, under the automatic limit only, at the fallback limit (a failed statement
        changed nothing). ``out_of_core``: the first run is already out of core."""
        steps: tuple[Callable[[], contextlib.AbstractContextManager[Any]], ...] = (
            (self._started_out_of_core, self._one_thread, self._raised_limit)
            if out_of_core
            else (contextlib.nullcontext, self._out_of_core, self._one_thread, self._raised_limit)
        )
        last: duckdb.Error | None = None
        for step in steps:
            with step() as allowed:
                if allowed is False:
                    continue  # this step cannot be given: try the next
                try:
                    return run()
                except duckdb.OutOfMemoryException as exc:
                    last = exc  # a spill folder that is full too: said below if no step helps
                    continue
                except duckdb.Error as exc:
                    raise _failed(exc, self.temp_directory, shadowed=self._shadowed) from None
                except RuntimeError as exc:  # a signal that landed inside the query
                    interrupted = Interrupted.from_query(exc)
                    if interrupted is None:
                        raise
                    raise interrupted from None
        full = _disk_full(last, self.temp_directory) if last is not None else None
        if full is not None:
            raise full from None
        raise EngineError(self._out_of_memory()) from None

    @contextlib.contextmanager
    def _out_of_core(self) -> Iterator[bool]:
        """Operators that can spill partition to disk from the start.

        DuckDB decides per statement whether a hash join's table fits in memory, from the
        join's own inputs. The encode's LEFT JOIN to the phone table (a few million phones)
        was judged to fit at 3M rows, and then the wide expressions above it found no
        memory left for their strings: out of memory after 0.3-8 s, most times at 3M and now
        and then at 1M (docs/performance.md). Partitioned from the start, the same statement
        runs on every thread within the limit, a little slower than in memory when that
        fits (6.7 against 5.2 s at 1M). ``debug_force_external`` is DuckDB's own switch for
        that (its tests run every external operator with it); it is local to this
        connection and set only for the rerun. A DuckDB without it skips this step."""
        with self._external() as forced:
            if forced:
                self.out_of_core += 1
            yield forced

    @contextlib.contextmanager
    def _started_out_of_core(self) -> Iterator[bool]:
        """Out of core from the start (``execute(out_of_core=True)``); in memory, as DuckDB
        plans it, when DuckDB refuses the switch."""
        with self._external() as forced:
            if forced:
                self.started_out_of_core += 1
            yield True

    @contextlib.contextmanager
    def _external(self) -> Iterator[bool]:
        """``EXTERNAL`` on for the block; False (and nothing changed) if DuckDB refuses it."""
        try:
            self._con.execute(f"SET {self.EXTERNAL} = true")
        except duckdb.Error:
            yield False
            return
        try:
            yield True
        finally:
            self._con.execute(f"SET {self.EXTERNAL} = false")

    @contextlib.contextmanager
    def _one_thread(self) -> Iterator[None]:
        """One thread, still out of core: the least working memory there is (the 3M encode
        ran out after 27.6 s on one thread in memory, and ran in 51.9 s out of core)."""
        with self._single_thread():
            self.single_threaded += 1
            with self._external():
                yield

    @contextlib.contextmanager
    def _single_thread(self) -> Iterator[None]:
        """DuckDB on one thread for the block; its thread count as before after it."""
        (threads,) = self._con.execute("SELECT current_setting('threads')").fetchone() or (1,)
        self._con.execute("SET threads = 1")
        try:
            yield
        finally:
            self._con.execute(f"SET threads = {int(threads)}")

    @contextlib.contextmanager
    def _raised_limit(self) -> Iterator[bool]:
        """The fallback limit from now on; False when there is none to give."""
        yield self._raise_memory()

    def _raise_memory(self) -> bool:
        fallback = self.memory.fallback if self.memory is not None else None
        if fallback is None or self.memory_raised:
            return False
        self._con.execute(f"SET memory_limit = {_lit(fallback)}")
        self.memory_limit = fallback
        self.memory_raised = True
        return True

    def _out_of_memory(self) -> str:
        limit = self.memory_limit or "its default"
        return (
            f"DuckDB ran out of memory ({limit}): set warehouse.memory_limit higher in "
            "retl_project.yml"
        )

    @contextlib.contextmanager
    def memory_while(self, limit: str) -> Iterator[None]:
        """Hold DuckDB to ``limit`` (if that is lower) for a phase that only scans, such as
        sending: it gives the rest of its memory back, and takes it again afterwards."""
        current = self.memory_limit
        if current is None or _bytes(limit) >= _bytes(current):
            yield
            return
        try:
            self._con.execute(f"SET memory_limit = {_lit(limit)}")
        except duckdb.OutOfMemoryException:
            # What it holds cannot be evicted (its spill folder's disk is full): the phase
            # runs under the limit it has.
            yield
            return
        try:
            yield
        finally:
            self._con.execute(f"SET memory_limit = {_lit(self.memory_limit or current)}")

    def release_memory(self) -> None:
        """Give the system back the memory DuckDB's allocator kept from the statements before:
        freed by DuckDB, but held for reuse, and counted in the process's RSS (a 200k first
        sync's phone pre-pass left ~40 MB so, its encode ~135 MB: docs/performance.md).

        Setting the memory limit makes DuckDB flush its allocator, even when the value is the
        one it has; nothing is evicted, since the limit does not change. Only under a limit
        of retl's own (the workbench always has one): DuckDB's default reads back rounded.
        Best effort: when the statement fails, the memory stays and the run goes on."""
        if self.memory_limit is None:
            return
        with contextlib.suppress(duckdb.Error):
            self._con.execute(f"SET memory_limit = {_lit(self.memory_limit)}")

    def register_vector_udf(
        self, name: str, fn: Callable[..., pa.Array], params: list[str], returns: str
    ) -> None:
        """A vectorized (Arrow) Python function callable from SQL; registered once."""
        try:
            self._con.create_function(  # type: ignore[call-overload]
                name,
                fn,
                params,
                returns,
                type="arrow",
                null_handling="special",
                side_effects=False,
            )
        except duckdb.NotImplementedException:
            pass  # already registered on this connection
        except duckdb.CatalogException:
            pass

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A second cursor on the same database, for reads while a stream is open."""
        return self._con.cursor()

    def close(self) -> None:
        self._con.close()
        self.scratch.close()


_STAGED = itertools.count()
_SECRETS = itertools.count(1)  # an attachment's password (_attach)
# DuckDB's words for a file it could not write because the disk is full (its IO errors carry
# the system's text, not the errno).
_DISK_FULL = {"No space left on device": errno.ENOSPC, "Disk quota exceeded": errno.EDQUOT}


# DuckDB out of memory because it could not spill: its temp folder's disk is full.
_SPILL_FULL = "max_temp_directory_size"


def _disk_full(exc: BaseException, folder: Path | None) -> EnvironmentProblem | None:
    """A statement that could not write its spill or scratch files for want of space (the
    plan's rows, a join spilled to disk) said as the machine's problem, with the fix, rather
    than as the model's error or an unexpected one."""
    # By its text: read from a stream, DuckDB's error reaches us as pyarrow's.
    text, where = str(exc), str(folder) if folder is not None else None
    if "Out of Memory Error" in text and _SPILL_FULL in text:
        return environment_error(OSError(errno.ENOSPC, "No space left on device", where))
    if "IO Error" not in text:
        return None
    for words, code in _DISK_FULL.items():
        if words in text:
            return environment_error(OSError(code, words, where))
    return None


def _failed(
    exc: BaseException,
    folder: Path | None,
    prefix: str = "",
    shadowed: frozenset[str] = frozenset(),
) -> RetlError:
    """The error to raise for a statement or a read that failed: a full disk as the
    machine's problem (``_disk_full``), anything else as the engine's."""
    full = _disk_full(exc, folder)
    return full if full is not None else EngineError(prefix + _clean(exc, shadowed))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_PREPARED = "__retl_params"


def run_sql(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    """``con.execute(sql, params).fetchall()``, with the parameters passed as SQL literals
    when each is a string, integer, boolean, float, naive datetime or NULL (all
    of retl's own are): DuckDB's Python binding imports pandas (when installed) to compare
    any other parameter with ``pandas.NA``, 0.35-0.6 s of a sync that otherwise never needs
    it (issue #18). The statement is prepared as written (its ``?`` stay placeholders that
    DuckDB binds, nothing is spliced into its text) and executed with the literals as its
    arguments; the values and their types are those the binding would have bound."""
    args = _literals(params) if params else None
    if args is None:
        return con.execute(sql, list(params)).fetchall()
    con.execute(f"PREPARE {_PREPARED} AS {sql}")
    try:
        return con.execute(f"EXECUTE {_PREPARED}({args})").fetchall()
    finally:
        # Never in place of the statement's own error; one left behind is replaced by the
        # next PREPARE of the name.
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DEALLOCATE {_PREPARED}")


def parses(sql: str) -> bool:
    """Whether DuckDB's parser reads ``sql``: parsed only, nothing runs or is looked up
    (``columns/syntax.py``: a typo against syntax retl's checker lacks)."""
    try:
        duckdb.extract_statements(sql)
    except (duckdb.Error, TypeError):  # TypeError: a lone surrogate it cannot take as text
        return False
    return True


def _literals(params: Sequence[Any]) -> str | None:
    """``params`` as SQL literals; None when one is of another type (bound by the driver as
    before), a string with a NUL character (which SQL text cannot hold), or a list that is
    empty or holds a NULL (whose type only the driver infers)."""
    out = []
    for value in params:
        if type(value) is list and value and None not in value:
            items = _literals(value)
            if items is None:
                return None
            out.append(f"[{items}]")
        elif value is None:
            out.append("NULL")
        elif isinstance(value, bool):
            out.append("TRUE" if value else "FALSE")
        elif type(value) is int:
            out.append(str(value))
        elif type(value) is float:  # repr() reads back as the same double
            out.append(f"CAST('{value!r}' AS DOUBLE)")
        elif type(value) is str and "\0" not in value:
            out.append(_lit(value))
        elif type(value) is dt.datetime and value.tzinfo is None:
            out.append(f"TIMESTAMP '{value.isoformat(sep=' ')}'")
        else:
            return None
    return ", ".join(out)


def _checked(
    reader: pa.RecordBatchReader,
    folder: Path | None = None,
    *,
    lost: Callable[[], BaseException | None] | None = None,
    shadowed: frozenset[str] = frozenset(),
) -> Iterator[pa.RecordBatch]:
    """DuckDB keeps running the query while batches are read: an error found then (a cast
    failing at row five million) is an EngineError too, not pyarrow's bare OSError. An
    "Interrupted!" retl did not ask for is replaced by the error ``lost()`` finds
    (``DuckDBEngine._lost_error``)."""
    import pyarrow as pa

    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (duckdb.Error, pa.ArrowException, OSError) as exc:
            found = lost() if lost is not None and _interrupted(exc) else None
            raise _failed(found or exc, folder, shadowed=shadowed) from None
        yield batch


def _interrupted(exc: BaseException) -> bool:
    """DuckDB's "Interrupted!", as its own exception or as the text of Arrow's error."""
    return isinstance(exc, duckdb.InterruptException) or str(exc).startswith("INTERRUPT Error")


_UNITS = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def _bytes(size: str) -> float:
    """``500MB`` / ``2GiB`` as bytes (the sizes config/project.py accepts)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt])(i?)b\s*", size, re.I)
    if match is None:
        raise ValueError(f"not a size: {size!r}")
    number, unit, binary = match.groups()
    scale = 1024 ** ("kmgt".index(unit.lower()) + 1) if binary else _UNITS[unit.lower()]
    return float(number) * scale


def _shadowed(relative: Path, base: Path) -> bool:
    """Whether a model's relative path to ``relative`` (a project entry) would be read from
    the folder retl runs in rather than from the project ``base``: DuckDB looks for a
    relative path there first, and only then in its file search path (the project). Such a
    path is not allowed as written, or a model could read that folder's ``relative`` (a CI
    job's ``creds/``), or a file of the same name in place of the project's. The absolute
    path stays allowed, and a relative one still is whenever the folder has no such name."""
    cwd = Path.cwd()
    return cwd.resolve() != base.resolve() and (cwd / relative).exists()


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # s3://, https:// (not C:)


def _refused(path: str, shadowed: frozenset[str]) -> str:
    """Why DuckDB refused to read ``path`` (a model's), and the fix; ``shadowed``: the
    engine's top-level names not allowed as written (``_shadowed``)."""
    first = Path(path).parts[0] if path and not Path(path).is_absolute() else None
    if first is not None and first in shadowed:
        return (
            f"retl may not read {path} as written: a relative path is read from the folder "
            f"retl runs in ({Path.cwd()}), which has a {first} of its own, before the "
            "project's; run retl from the project folder, or read the file through a source's "
            "external_location"
        )
    if _URL.match(path) and not path.lower().startswith("file:"):
        return (
            f"retl may not read {path}: the local DuckDB reads no remote files (no URL), only "
            "the project's; copy the file into the project's folders, or read it from the "
            "warehouse"
        )
    where = f" {path}" if path else ""
    return (
        f"retl may not read{where}: models read files in the project's folders only (not "
        "hidden ones such as .git); list other folders in RETL_ALLOWED_PATHS"
    )


def _clean(exc: BaseException, shadowed: frozenset[str] = frozenset()) -> str:
    if isinstance(exc, duckdb.OutOfMemoryException):
        return "DuckDB ran out of memory: set warehouse.memory_limit higher in retl_project.yml"
    if isinstance(exc, duckdb.PermissionException):
        found = re.search(r'Cannot access file "([^"]*)"', str(exc))
        return _refused(found.group(1) if found else "", shadowed)
    # Redacted before the lines are joined: the patterns know DuckDB's line structure.
    return " ".join(redact_error(str(exc)).split()) or type(exc).__name__

"""Spark engine (Databricks-compatible): models transpiled by sqlglot, rows streamed as Arrow.

Two ways in: ``master`` starts a session in this process (a JVM beside it, through py4j);
``remote`` reaches a Spark Connect server (what Databricks speaks). pyspark is an optional
extra (``pip install 'retl[spark]'``): it is imported only when a Spark warehouse is used.

Rows come back as Arrow record batches, one at a time, never collected whole: in-process
through the Arrow batches of the query's partitions served one partition after the other
(``toArrowBatchRdd`` + ``toLocalIterator``'s socket), over Spark Connect through the gRPC
stream of Arrow batches. Sources read from files (``external_location``: DuckDB's
``read_parquet``/``read_csv``/``read_json_auto``) become temporary views over Spark's own
readers. The session runs in UTC, as the other engines do.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlglot
from pydantic import SecretStr
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError

import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)
from reverse_etl.engine.base import DEFAULT_BATCH_ROWS, JSON_TEXT, ColumnInfo, EngineCapabilities
from reverse_etl.engine.errors_text import redact_error
from reverse_etl.engine.file_rule import FileRule
from reverse_etl.engine.hosts import check_host
from reverse_etl.engine.json_times import json_times_as_text
from reverse_etl.engine.portable import json_arrows, refuse_unportable
from reverse_etl.engine.spark_calls import reader_kind as _reader_kind
from reverse_etl.engine.spark_calls import refuse_code as _refuse_code
from reverse_etl.engine.spark_chars import unpadded
from reverse_etl.engine.spark_intervals import intervals_as_text
from reverse_etl.engine.spark_json import json_output_columns
from reverse_etl.engine.spark_kinds import kinds_as_duckdb
from reverse_etl.engine.spark_meanings import CHECKED_DIALECTS, duckdb_meanings
from reverse_etl.engine.spark_nested import ident
from reverse_etl.engine.spark_numbers import numbers_as_duckdb
from reverse_etl.engine.spark_patterns import patterns_as_duckdb
from reverse_etl.engine.spark_templates import is_connect_error, template_values
from reverse_etl.engine.spark_variant import variant_json_columns, variants_as_json
from reverse_etl.engine.sql_guard import checked_output, model_query, refuse_odd_type_names
from reverse_etl.engine.stars import stars_expanded
from reverse_etl.engine.typed import TableTypes, UntypedOf, keep_model_text
from reverse_etl.errors import EngineError
from reverse_etl.secrets import scrub

INSTALL_HINT = "pip install 'retl[spark]' (pyspark; it needs Java 17 or newer)"
JAVA_HINT = "install Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)"
JVM_EXITED_HINT = (
    "Java started and stopped: its reason is printed above; check warehouse.master and "
    "warehouse.conf, and that Java is 17 or newer"
)
# Settings of a session retl starts; the project's ``conf:`` wins over them.
_DEFAULT_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    # Rows leave Spark one partition at a time, and the driver holds a partition's Arrow
    # batches whole while serving it: small partitions bound the JVM's memory (at the
    # defaults, 128MB of Parquet per partition, a 3M-row first sync ran out of a 2g heap).
    "spark.sql.files.maxPartitionBytes": "32m",
    "spark.sql.adaptive.advisoryPartitionSizeInBytes": "16m",
}
# Spark's log lines never reach the user's terminal: its INFO/WARN would fill it, and its
# ERROR lines quote the values a task failed on (an executor's CAST_INVALID_INPUT gives the
# row's text, then 80 lines of Java stack), past retl's masking. retl says a query's error
# itself, without the values (SparkEngine._clean).
_LOG4J = """\
rootLogger.level = off
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %p %c{1}: %m%n
"""
_VIEWS = itertools.count(1)
_RUN_SQL_ON_FILES = "spark.sql.runSQLOnFiles"
_ERROR_CLASS = re.compile(r"\[[A-Z][A-Z_]*(?:\.[A-Z_]+)?\]")
# Spark's message parameters that name something the model wrote (a type, a function, a
# column, a setting, a format): kept. Every other parameter of an error raised while running
# (a cast's value, a time zone, a URL, a charset, raise_error's text) may be a row's value.
_NAMING_PARAMETER = re.compile(
    r"(?i)(?:type|types|config|name|names|proposal|parameter|charsets|format|sqlstate"
    # Spark's own advice: a function to use instead (`try_to_date`), a kind of interval
    r"|func|suggestion|alternative|intervalstr)$"
)
# A single-quoted text of Spark's message (not the apostrophe of "Can't"), to the line's end
# if not closed.
_SINGLE_QUOTED = re.compile(r"(?<![\w])'(?:\\.|[^'\\])*(?:'|$)")
# Spark's literal suffixes (12125550199L, 3S, 7Y, 1.5BD): the digit masks need a word end.
_SUFFIXED_NUMBER = re.compile(r"(?<![\w.])\d{5,}(?:\.\d+)?(?:L|S|Y|BD)\b")


@dataclass(frozen=True)
class SparkConnection:
    """How to reach Spark; ``repr`` never shows the token."""

    master: str | None = None
    remote: str | None = None
    token: SecretStr | None = None
    conf: Mapping[str, str] = field(default_factory=dict)
    warehouse_dir: Path | None = None  # spark.sql.warehouse.dir of a session retl starts
    files_base: Path | None = None  # where a model's relative file paths start: the project
    connect_timeout: float | None = None  # seconds a Connect call retries (engine/spark_retry)
    # Where each setting was written ("remote" -> (file, line, "warehouse.remote")): a
    # connection error names the one to check there, as PostgreSQL's does.
    written_at: Mapping[str, tuple[Path, int | None, str]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def where(self, setting: str, key: str | None = None) -> tuple[Path | None, int | None, str]:
        """The file, line and key of ``setting`` as written (else of ``type``, the line that
        made this a Spark warehouse; else ``key``, by default ``warehouse.<setting>``)."""
        found = self.written_at.get(setting) or self.written_at.get("type")
        return found if found is not None else (None, None, key or f"warehouse.{setting}")

    def describe(self) -> str:
        """Where Spark is, for messages: a Spark Connect address without its parameters
        (``;user_id=...``, and a token the configuration would refuse there)."""
        if self.remote:
            return f"Spark Connect at {self.remote.split(';', 1)[0].rstrip('/')}"
        return f"Spark ({self.master})"

    def url(self) -> str:
        """The Spark Connect URL, with the token (never shown: see ``describe``)."""
        assert self.remote is not None
        if self.token is None:
            return self.remote
        sep = "" if self.remote.rstrip("/").count("/") > 2 else "/"
        return f"{self.remote.rstrip('/')}{sep};token={self.token.get_secret_value()}"


def _connect_host(address: str) -> str:
    """The host of a Spark Connect ``host:port`` as RETL_ALLOWED_HOSTS lists it: an IPv6
    address without its brackets, and no host (``sc://:15002``) the one it connects to."""
    host = address.rsplit(":", 1)[0] if re.search(r":\d*$", address) else address
    return host.strip("[]") or "localhost"


def _no_java() -> bool:
    """No ``java`` where pyspark looks for it (``JAVA_HOME``'s, else the PATH's)."""
    home = os.environ.get("JAVA_HOME")
    if home:
        return not (Path(home) / "bin" / "java").is_file()
    return shutil.which("java") is None


def _start_cause(text: str) -> str | None:
    """The message of the first Java exception in a failed session start's text (``Asked to
    run locally with 0 threads``), without its class name or stack."""
    for line in text.splitlines():
        found = re.match(r"\s*(?:Caused by: )?(?::\s*)?[\w.$]+(?:Exception|Error): (.+)", line)
        if found and not found[1].startswith("An error occurred while calling"):
            return found[1].strip()
    return None


class SparkEngine(UntypedOf):
    """Models run on Spark; the session opens on first use."""

    dialect = "spark"
    capabilities = EngineCapabilities(
        "spark",
        can_hold_state=True,
        diffs_in_place=True,
        default_schema="default",
        native_models=True,
        reads_local_files=True,
        typed_rewrites=True,
        model_checks=True,
    )

    def __init__(self, conn: SparkConnection, *, model_dialect: str = "duckdb") -> None:
        self.conn = conn
        self.model_dialect = model_dialect
        self._session: Any = None
        self._owned = False  # stop the session on close only if this engine started it
        self._views: dict[tuple[str, str, str], str] = {}
        self._file_rule: FileRule | None = None  # set by restrict_files
        self._static_types: TableTypes | None = None  # set by untyped_with, while it runs

    def __repr__(self) -> str:
        return f"SparkEngine({self.conn.describe()}, model_dialect={self.model_dialect!r})"

    @property
    def is_connect(self) -> bool:
        return self.conn.remote is not None

    # --- the session ---------------------------------------------------------------------
    @property
    def session(self) -> Any:
        if self._session is None:
            session = self._open()
            # A session this engine did not build (Spark Connect, a notebook's) as well:
            # a server that refuses the setting still has _refuse_code's check. A server
            # that did not answer is said now: ignored, its retries were waited out here
            # and again by the first real call, twice the wait before the error.
            try:
                session.conf.set(_RUN_SQL_ON_FILES, "false")
            except Exception as exc:
                if (rpc := _unreachable(exc)) is not None:
                    with contextlib.suppress(Exception):
                        session.client.set_retry_policies([])  # the stop below: once
                        session.stop()
                    raise self._unreachable_error(rpc) from None
            self._session = session
        return self._session

    def restrict_files(self, directories: Sequence[Path], files: Sequence[Path] = ()) -> None:
        """From now on, models read local files only in ``directories`` and ``files`` (the
        project's, the state folder's and RETL_ALLOWED_PATHS'), relative paths taken from
        ``conn.files_base``; URLs of the cluster's storage are read as they are
        (engine/file_rule.py)."""
        base = self.conn.files_base or Path.cwd()
        self._file_rule = FileRule.of(base, directories, files)

    def _open(self) -> Any:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            file, line, key = self.conn.where("type")
            raise EngineError(
                "a spark warehouse needs pyspark, which is not installed",
                file=file,
                line=line,
                key=key,
                hint=INSTALL_HINT,
            ) from None
        _quiet_pyspark_loggers()
        try:
            if self.conn.remote is not None:
                address = self.conn.remote.split("://", 1)[-1].split(";", 1)[0].split("/", 1)[0]
                # an IPv6 address in brackets ([::1]:15002); no host: Spark Connect's default
                host = _connect_host(address)
                check_host(host, key="warehouse.remote", where=self.conn.where("remote"))
                session = SparkSession.builder.remote(self.conn.url()).getOrCreate()
                self._owned = True
                if self.conn.connect_timeout is not None:  # before any call: none made yet
                    from reverse_etl.engine.spark_retry import bound_retries

                    bound_retries(session, self.conn.connect_timeout)
                return session
            # pyspark marks the whole process as Spark Connect once a remote session was made
            # (an environment variable): the configuration says which kind this one is.
            os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
            active = SparkSession.getActiveSession()
            if active is not None:  # a session of this process (a notebook, tests): shared
                return active
            builder = SparkSession.builder.master(self.conn.master or "local[*]").appName("retl")
            for key, value in self._session_conf().items():
                builder = builder.config(key, value)
            session = builder.getOrCreate()
            self._owned = True
            return session
        except EngineError:
            raise  # RETL_ALLOWED_HOSTS's refusal: its own words, not "cannot start"
        except Exception as exc:
            raise self._connect_error(exc) from None

    def _session_conf(self) -> dict[str, str]:
        conf = dict(_DEFAULT_CONF)
        if self.conn.warehouse_dir is not None:
            conf["spark.sql.warehouse.dir"] = str(self.conn.warehouse_dir)
        log4j = Path(tempfile.gettempdir()) / "retl-spark-log4j2.properties"
        with contextlib.suppress(OSError):
            if not log4j.exists() or log4j.read_text(encoding="utf-8") != _LOG4J:
                log4j.write_text(_LOG4J, encoding="utf-8")
            conf["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile=file:{log4j}"
        conf.update(self.conn.conf)
        conf[_RUN_SQL_ON_FILES] = "false"  # whatever the project says: see _FILE_SOURCES
        return conf

    def _connect_error(self, exc: BaseException) -> EngineError:
        text = self._clean(exc)
        if text.startswith("An error occurred while calling"):
            # A session that would not start (local[0], a bad setting): no error class, the
            # JVM's exception says why. No row was read yet, so its text is no row's value.
            cause = _start_cause(self._scrubbed(exc))
            text = redact_error(cause) if cause else text
        hint: str | None = None
        if re.search(r"JAVA_GATEWAY_EXITED|JAVA_HOME|java.*not found", self._scrubbed(exc), re.I):
            # The gateway's exit is a missing Java, or a JVM that stopped as it started (its
            # own words are on the standard error above retl's)
            hint = JAVA_HINT if _no_java() else JVM_EXITED_HINT
        elif self.is_connect:
            hint = "is the Spark Connect server running at that address? check warehouse.remote"
        setting = "remote" if self.is_connect else "master"
        file, line, key = self.conn.where(setting, key="warehouse")
        return EngineError(
            f"cannot start {self.conn.describe()}: {text}",
            file=file,
            line=line,
            key=key,
            hint=hint,
        )

    def _unreachable_error(self, exc: BaseException) -> EngineError:
        """A Spark Connect server that did not answer, after the retries: gRPC's status and
        details (``failed to connect to all addresses ... Connection refused``), not the
        first line of its exception's text (``<_MultiThreadedRendezvous of RPC that
        terminated with:``)."""
        code = getattr(exc.code(), "name", str(exc.code()))  # type: ignore[attr-defined]
        details = self._clean(RuntimeError(str(exc.details())))  # type: ignore[attr-defined]
        file, line, key = self.conn.where("remote")
        return EngineError(
            f"cannot reach {self.conn.describe()}: {code}: {details}",
            file=file,
            line=line,
            key=key,
            hint="is the Spark Connect server running at that address? A cluster that is "
            "starting may need a longer warehouse.connect_timeout",
        )

    def _scrubbed(self, exc: BaseException) -> str:
        """An error's whole text without the token."""
        secret = self.conn.token.get_secret_value() if self.conn.token else None
        # The address's parameters too (the URL pyspark may quote back has them).
        params = (self.conn.remote or "").split(";", 1)[1:]
        return scrub(str(getattr(exc, "desc", None) or exc), [secret, *params])

    def _clean(self, exc: BaseException) -> str:
        """An error's first useful line, without the token, the JVM stack or data values."""
        text = self._scrubbed(exc)
        # The values first, in the whole text: one holding a line break ('Jane\nDoe') was
        # cut by the line kept below, its first line no longer the whole value.
        values = _data_parameters(exc)
        if not values and is_connect_error(exc) and not _names_only(exc):
            # A Spark Connect server that sent the text without its parameters (too long
            # for the gRPC metadata): the values are read from the text (spark_templates)
            values = template_values(text, _NAMING_PARAMETER)
        for value in values:  # whole words only: "in" is not in "input"
            text = re.sub(rf"(?<![\w]){re.escape(value)}(?![\w])", "***", text)
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        lines = [ln for ln in lines if not ln.startswith(("at ", "JVM stacktrace", "== "))]
        first = lines[0] if lines else type(exc).__name__
        if first.startswith("An error occurred while calling"):
            # py4j's own line says nothing: the deepest cause with Spark's error class does
            # (a malformed CSV record, a cast in a task), its Java class name left out.
            classed = [ln for ln in lines if _ERROR_CLASS.search(ln)]
            if classed:
                first = re.sub(r"^(?:Caused by: )?(?::\s*)?[\w.$]+: ", "", classed[-1])
        # A malformed record is quoted whole: [2,Jane Roe,null], or after a colon.
        first = re.sub(r"(record parsing: )\[.*\]", r"\1[***]", first)
        first = re.sub(r"(Malformed CSV record)\s*:.*", r"\1: [***]", first)
        first = _SUFFIXED_NUMBER.sub("***", first)
        # raise_error()'s text is the model's own, built from the row as often as not
        first = re.sub(r"^\[USER_RAISED_EXCEPTION\].*", "raise_error(): ***", first)
        # a message all masked says its class at least: [DUPLICATED_MAP_KEY] ***
        first = re.sub(r"^\[([A-Z0-9_.]+)\]\s*\*\*\*$", r"\1: ***", first)
        first = re.sub(r"^\[[A-Z_.]+\]\s*", "", first)  # Spark's [ERROR_CLASS] prefix
        # Positions point into the transpiled SQL, not the model file: left out.
        first = re.sub(r"\s*SQLSTATE: \w+.*$", "", first)
        # Spark quotes the values it failed on in single quotes (identifiers in backticks).
        # A quote in them is escaped (\'); one opened and not closed on the line kept is a
        # value that went on past the line's end.
        return redact_error(_SINGLE_QUOTED.sub("'***'", first))

    # --- SQL -----------------------------------------------------------------------------
    def check_model(self, sql: str) -> None:
        """A model's own SQL, transpiled with the refusals that hold for a model alone: the
        text of a DOUBLE (``spark_numbers.model_alone``), which retl's SQL around it makes
        on purpose (the row hash, computed and compared in Spark only)."""
        from reverse_etl.engine.spark_numbers import DoubleTextRefused, model_alone
        from reverse_etl.engine.typed import model_words

        try:
            with model_alone(), model_words():  # quoted as the model wrote it
                self.transpile(sql)
        except DoubleTextRefused:
            raise
        except Exception:  # the run's own transpile says it, as it always has
            return

    def check_model_with(self, sql: str, table_types: TableTypes) -> None:
        """``check_model`` with the tables' types from ``table_types`` (``retl validate``'s
        schemas), not Spark's catalog: nothing connects, no session is started (a model that
        reads a file directly is not checked: its view needs one)."""
        self._static_types = table_types
        try:
            self.check_model(sql)
        finally:
            self._static_types = None

    def static_checks(self, sql: str, table_types: TableTypes) -> tuple[list[str], Any]:
        """``untyped_with`` and ``check_model_with`` of one model from one transpile (each
        is a full one: ``retl validate`` of a 50-model project took 70% longer with both):
        the expressions left untyped, and the refusal ``check_model`` raises, or None. A
        refused model's untyped expressions are found by a second transpile, as before."""
        from reverse_etl.engine.spark_numbers import DoubleTextRefused, model_alone
        from reverse_etl.engine.typed import untyped_notes

        self._static_types = table_types
        try:
            with untyped_notes() as notes, model_alone():
                self.transpile(sql)
            return notes, None
        except DoubleTextRefused as exc:
            return self.untyped_with(sql, table_types), exc
        except EngineError:
            return [], None
        finally:
            self._static_types = None

    def transpile(self, sql: str) -> str:
        """One ``model_dialect`` statement as Spark SQL; files read by DuckDB's readers are
        read by Spark's, through temporary views."""
        try:
            trees = [t for t in sqlglot.parse(sql, read=self.model_dialect) if t is not None]
        except ParseError as exc:
            raise EngineError(
                f"cannot parse the model as {self.model_dialect} SQL: {_one_line(str(exc))}"
            ) from None
        if len(trees) != 1 or not isinstance(trees[0], exp.Query):
            found = f"{len(trees)}" if len(trees) != 1 else f"a {trees[0].key.upper()}"
            raise EngineError(f"a model must be exactly one SELECT statement, found {found}")
        _refuse_code(trees[0])
        if self.model_dialect == "spark":
            return sql  # taken as written (checked above)
        refuse_unportable(trees[0], self.model_dialect, "Spark SQL")
        refuse_odd_type_names(trees[0])
        _refuse_clock_intervals(trees[0])
        tree = self._read(trees[0])
        if self.model_dialect == "duckdb":
            json_times_as_text(tree, self.model_dialect, self._table_types)
            stars_expanded(tree, self.model_dialect, self._table_types)
        if self.model_dialect in CHECKED_DIALECTS:
            tree = patterns_as_duckdb(tree, self.model_dialect)
            tree = duckdb_meanings(tree)
            tree = numbers_as_duckdb(tree, self.model_dialect, self._table_types)
            tree = kinds_as_duckdb(tree, self.model_dialect, self._table_types)
        try:
            written = tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE, pretty=True)
        except SqlglotError as exc:
            raise EngineError(
                f"cannot translate the model from {self.model_dialect} SQL to Spark SQL: "
                f"{_one_line(str(exc))}",
                hint="rewrite that part of the model in SQL both dialects accept",
            ) from None
        return checked_output(written, "spark", "Spark SQL", _refuse_code)

    def _read(self, tree: exp.Expr) -> exp.Expr:
        """A model's parsed tree as the rewrites read it: ``j->'k'`` in a function's
        arguments as JSON (``portable.json_arrows``), and the file views first, so that their
        columns' types are read like a table's and the readers' arguments (a struct of column
        types) are read before any rewrite."""
        if self.model_dialect == "duckdb":
            json_arrows(tree)
        keep_model_text(tree, self.model_dialect)  # what untyped() quotes: read, not rewritten
        return tree.transform(self._file_views)

    def _table_types(self, parts: tuple[str, str, str]) -> dict[str, str] | None:
        """A table's (or view's) columns and their types in DuckDB's words, from Spark's
        catalog; None when Spark cannot say (spark_numbers.py then leaves the query as written)."""
        if self._static_types is not None:
            given = self._static_types(parts)
            return dict(given) if given is not None else None
        name = ".".join(ident(p) for p in parts if p)
        try:
            fields = self.session.table(name).schema.fields
        except Exception:  # not known: the casts stay as written
            return None
        return {f.name: _model_type(f.dataType.simpleString()) for f in fields}

    def _file_views(self, node: exp.Expr) -> exp.Expr:
        kind = _reader_kind(node)
        if kind is None:
            return node
        # sqlglot keeps the path in ``this`` (read_csv) or first in ``expressions``.
        args = [a for a in (node.this, *node.expressions) if isinstance(a, exp.Expr)]
        path = next((a.name for a in args if isinstance(a, exp.Literal) and a.is_string), None)
        if path is None:
            raise EngineError(f"{node.sql('duckdb')}: give the file as a quoted path")
        types = _csv_types(args) if kind == "csv" else ""
        view = self._view(kind, path, types)
        return exp.to_table(view)

    def _view(self, kind: str, path: str, types: str) -> str:
        key = (kind, path, types)
        if self._static_types is not None and key not in self._views:
            raise EngineError(f"{path}: not read without Spark")  # (untyped_with: none said)
        if key not in self._views:
            # the files the rule allows, or an error naming the path (engine/file_rule.py)
            paths = self._file_rule.paths(path) if self._file_rule is not None else [path]
            reader = self.session.read
            try:
                if kind == "parquet":
                    df = reader.parquet(*paths)
                elif kind == "json":
                    df = reader.json(paths)
                else:
                    # As DuckDB reads a CSV: a quoted value may hold line breaks (Spark split
                    # the record in two), a quote is escaped by doubling it (Spark's default
                    # is a backslash), and a value that is not of its column's type is an
                    # error (Spark's default made it NULL, silently).
                    reader = (
                        reader.option("header", "true")
                        .option("multiLine", "true")
                        .option("escape", '"')
                        .option("mode", "FAILFAST")
                    )
                    df = reader.schema(types).csv(paths) if types else reader.csv(paths)
                name = f"__retl_file_{next(_VIEWS)}"
                df.createOrReplaceTempView(name)
            except Exception as exc:
                if (rpc := _unreachable(exc)) is not None:
                    raise self._unreachable_error(rpc) from None
                raise EngineError(f"Spark cannot read {path}: {self._clean(exc)}") from None
            self._views[key] = name
        return self._views[key]

    def native_view(self, name: str, sql: str) -> str:
        """Model ``name``, written in Spark SQL (``config(dialect='spark')``), as a temporary
        view run as written; only a file read with DuckDB's readers (``source()`` of an
        ``external_location``) is replaced by a view of Spark's own reader."""
        key = ("model", name, sql)
        if key in self._views:
            return self._views[key]
        query = sql
        # Run as written, but only once read as one query: what it calls is checked first.
        tree = model_query(sql, "spark", name, "Spark SQL")
        _refuse_code(tree)
        if any(_reader_kind(n) for n in tree.walk()):
            query = tree.transform(self._file_views).sql(dialect="spark", pretty=True)
            query = checked_output(query, "spark", "Spark SQL", _refuse_code)
        view = f"__retl_model_{next(_VIEWS)}"
        try:
            self.session.sql(query).createOrReplaceTempView(view)
        except EngineError:
            raise
        except Exception as exc:
            raise self._query_error(exc) from None
        self._views[key] = view
        return view

    def dataframe(self, sql: str) -> Any:
        """A DataFrame of ``sql`` (model dialect), analysed, not run; its CHAR(n) columns
        without Spark's padding (``spark_chars.py``), its intervals as DuckDB's text of them
        (``spark_intervals.py``), its VARIANTs as their JSON text (``spark_variant.py``)."""
        query = self.transpile(sql)
        try:
            from pyspark.sql import functions

            df = intervals_as_text(unpadded(self.session.sql(query)))
            return variants_as_json(df, functions)
        except EngineError:
            raise
        except Exception as exc:
            raise self._query_error(exc) from None

    @contextlib.contextmanager
    def cached(self, sql: str) -> Iterator[str]:
        """A temporary view of ``sql``'s rows (model dialect) that Spark computes once, on
        the first query that reads it, and keeps (memory, spilling to its local disk) until
        the block ends: later queries read the kept rows instead of running ``sql`` again.
        Over Spark Connect the server keeps them."""
        from pyspark import StorageLevel

        df = self.dataframe(sql)
        name = f"__retl_cached_{next(_VIEWS)}"
        try:
            df = df.persist(StorageLevel.MEMORY_AND_DISK)
            df.createOrReplaceTempView(name)
        except Exception as exc:
            raise self._query_error(exc) from None
        try:
            yield name
        finally:
            with contextlib.suppress(Exception):
                self.session.catalog.dropTempView(name)
            with contextlib.suppress(Exception):
                df.unpersist()

    def stream(self, sql: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
        """Run ``sql`` (model dialect) and return a lazy reader of Arrow record batches.
        The columns that would be JSON in the model's dialect are marked ``JSON_TEXT``
        (``spark_json.py``)."""
        df = self.dataframe(sql)
        schema = self._json_marked(self._arrow_schema(df), sql, df)
        batches = self._connect_batches(df) if self.is_connect else self._local_batches(df)
        return pa.RecordBatchReader.from_batches(schema, self._checked(batches, schema))

    def _checked(
        self, batches: Iterator[pa.RecordBatch], schema: pa.Schema
    ) -> Iterator[pa.RecordBatch]:
        """Spark runs the query while batches are read: its errors then are EngineErrors."""
        try:
            for batch in batches:
                if batch.schema.equals(schema):
                    yield batch
                    continue
                yield pa.RecordBatch.from_arrays(
                    [c.cast(f.type) for c, f in zip(batch.columns, schema, strict=True)],
                    schema=schema,
                )
        except EngineError:
            raise
        except Exception as exc:
            raise self._query_error(exc) from None

    def _local_batches(self, df: Any) -> Iterator[pa.RecordBatch]:
        # Each partition's Arrow batches (spark.sql.execution.arrow.maxRecordsPerBatch rows
        # each, 10,000 by default) are served one partition at a time over a local socket:
        # this process holds one batch. (DataFrame.toArrow and _collect_as_arrow hold all.)
        from pyspark.rdd import _local_iterator_from_socket
        from pyspark.serializers import NoOpSerializer

        from reverse_etl.engine.native_memory import hold_mmap_threshold

        hold_mmap_threshold()  # each batch a fresh bytes object: see native_memory.py
        schema = self._arrow_schema(df)
        session = self.session
        served = session.sparkContext._jvm.PythonRDD.toLocalIteratorAndServe(
            df._jdf.toArrowBatchRdd(), False
        )
        for raw in _local_iterator_from_socket(served, NoOpSerializer()):
            yield pa.ipc.read_record_batch(pa.py_buffer(raw), schema)

    def _connect_batches(self, df: Any) -> Iterator[pa.RecordBatch]:
        # Spark Connect answers a query with a stream of Arrow batches over gRPC.
        client = self.session.client
        for item in client.to_table_as_iterator(df._plan.to_proto(client), df._plan.observations):
            if isinstance(item, pa.Table):
                yield from item.to_batches()

    def _arrow_schema(self, df: Any) -> pa.Schema:
        from pyspark.sql.pandas.types import to_arrow_schema

        try:
            schema: pa.Schema = to_arrow_schema(df.schema, timezone="UTC")
        except Exception as exc:
            raise self._query_error(exc) from None
        return schema

    def schema(self, sql: str) -> pa.Schema:
        """Arrow schema of ``sql``'s result: Spark analyses the query, no job runs. Its JSON
        columns marked as ``stream``'s."""
        df = self.dataframe(sql)
        return self._json_marked(self._arrow_schema(df), sql, df)

    def _json_marked(self, schema: pa.Schema, sql: str, df: Any) -> pa.Schema:
        """``schema`` with its text columns that are JSON in the model's dialect (a cast to
        JSON, ``to_json``, ``->``) marked ``JSON_TEXT``: Spark has no JSON type, and sent as
        text an object would reach the platform as one JSON string (``spark_json.py``). So
        are the columns of VARIANTs, read as their JSON in any dialect (``spark_variant.py``)."""
        try:
            names = variant_json_columns(df)
        except Exception as exc:
            raise self._query_error(exc) from None
        if self.model_dialect in CHECKED_DIALECTS:
            tree = self._read(sqlglot.parse_one(sql, read=self.model_dialect))
            names |= json_output_columns(tree, self.model_dialect, self._table_types)
        if not names:
            return schema
        fields = [
            f.with_metadata({**(f.metadata or {}), JSON_TEXT: b"value"})
            if f.name.lower() in names and pa.types.is_string(f.type)
            else f
            for f in schema
        ]
        return pa.schema(fields, metadata=schema.metadata)

    def describe(self, sql: str) -> list[ColumnInfo]:
        df = self.dataframe(sql)
        try:
            return [ColumnInfo(f.name, f.dataType.simpleString()) for f in df.schema.fields]
        except Exception as exc:
            raise self._query_error(exc) from None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Spark SQL as written (``?`` placeholders), small results only."""
        try:
            df = self.session.sql(sql, args=list(params)) if params else self.session.sql(sql)
            return [tuple(r) for r in df.collect()]
        except EngineError:
            raise
        except Exception as exc:
            raise self._query_error(exc) from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Spark SQL as written, run for its effect (DDL, INSERT)."""
        self.rows(sql, params)

    def write_arrow(self, table: pa.Table, target: str, *, mode: str = "append") -> None:
        """Upload rows from this process into a table (``saveAsTable``) or, with ``target``
        starting with ``path:``, Parquet files at a path."""
        try:
            df = self.session.createDataFrame(table)
            writer = df.write.mode(mode)
            if target.startswith("path:"):
                writer.parquet(target.removeprefix("path:"))
            else:
                writer.format("parquet").saveAsTable(target)
        except Exception as exc:
            raise self._query_error(exc) from None

    def write_sql(self, sql: str, target: str, *, mode: str = "overwrite") -> None:
        """Run Spark SQL (as written) into a table or ``path:`` Parquet files."""
        try:
            writer = self.session.sql(sql).write.mode(mode)
            if target.startswith("path:"):
                writer.parquet(target.removeprefix("path:"))
            else:
                writer.format("parquet").saveAsTable(target)
        except Exception as exc:
            raise self._query_error(exc) from None

    def view_of_path(self, path: str, name: str, schema: str) -> str:
        """A temporary view ``name`` over Parquet files at ``path`` (``schema``: DDL of the
        columns, for a path that has no files yet)."""
        try:
            try:
                # Over Spark Connect a missing path is found only when the view is analysed.
                self.session.read.schema(schema).parquet(path).createOrReplaceTempView(name)
            except Exception as exc:
                if "PATH_NOT_FOUND" not in str(exc) and "does not exist" not in str(exc):
                    raise
                return self.empty_view(name, schema)
        except EngineError:
            raise
        except Exception as exc:
            raise self._query_error(exc) from None
        return name

    def empty_view(self, name: str, schema: str) -> str:
        """A temporary view ``name`` of no rows (``schema``: DDL of its columns): a table
        not written yet, read without creating it."""
        try:
            self.session.createDataFrame([], schema).createOrReplaceTempView(name)
        except Exception as exc:
            raise self._query_error(exc) from None
        return name

    def conf(self, key: str) -> str | None:
        try:
            value = self.session.conf.get(key, None)
        except Exception:
            return None
        return None if value is None else str(value)

    def table_columns(self, schema: str | None, table: str) -> list[ColumnInfo] | None:
        """Columns of a catalog table or view, typed in the model dialect (sqlglot's reading
        of Spark's type names); None when the catalog has no such table."""
        name = f"{ident(schema or 'default')}.{ident(table)}"
        try:
            if not self.session.catalog.tableExists(f"{schema or 'default'}.{table}"):
                return None
            fields = self.session.table(name).schema.fields
        except EngineError:
            raise
        except Exception as exc:
            raise self._query_error(exc) from None
        return [ColumnInfo(f.name, _model_type(f.dataType.simpleString())) for f in fields]

    def _query_error(self, exc: BaseException) -> EngineError:
        if (rpc := _unreachable(exc)) is not None:
            return self._unreachable_error(rpc)
        if type(exc).__name__ in ("Py4JNetworkError", "SparkConnectGrpcException"):
            return EngineError(f"lost the connection to Spark: {self._clean(exc)}")
        return EngineError(f"Spark: {self._clean(exc)}")

    def close(self) -> None:
        if self._session is not None and self.is_connect:
            # Clean-up is best effort: over Spark Connect each call below retried an
            # unreachable server for up to 10 minutes (pyspark's default policy), so a sync
            # stopped by SIGTERM (a cancelled CI job) did not end. Once only, now.
            with contextlib.suppress(Exception):
                self._session.client.set_retry_policies([])
        for name in self._views.values():
            with contextlib.suppress(Exception):
                self.session.catalog.dropTempView(name)
        self._views.clear()
        if self._session is not None and self._owned:
            with contextlib.suppress(Exception):
                self._session.stop()
        self._session = None


def _quiet_pyspark_loggers() -> None:
    """pyspark logs every failed query, with its stack and the values it quotes, to stderr;
    retl says the error itself (without the values). Spark Connect's retries end with a
    warning of their own (``[RETRIES_EXCEEDED]``) before the error retl says."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True
    warnings.filterwarnings("ignore", message=r"\[RETRIES_EXCEEDED\]")


def _unreachable(exc: BaseException) -> BaseException | None:
    """The gRPC error saying the server did not answer (Spark Connect, after its retries),
    when ``exc`` is one or was raised from one (pyspark wraps it, as its ``__context__``)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        is_grpc = any(
            c.__name__ == "RpcError" and c.__module__.startswith("grpc") for c in type(seen).__mro__
        )
        code = getattr(seen, "code", None)
        if is_grpc and callable(code) and callable(getattr(seen, "details", None)):
            status = getattr(code(), "name", None)
            return seen if status in ("UNAVAILABLE", "DEADLINE_EXCEEDED") else None
        seen = seen.__cause__ or seen.__context__
    return None


def _refuse_clock_intervals(tree: exp.Expr) -> None:
    """Spark reads no time of day inside an interval's text (``interval '1 day 02:00:03'``,
    ``interval '1:30'``): it fails with the text masked. Said here, with the text and a
    form Spark reads."""
    for node in tree.find_all(exp.Interval):
        text = node.this
        if node.unit is None and isinstance(text, exp.Literal) and ":" in text.name:
            raise EngineError(
                f"Spark SQL has no interval written as INTERVAL '{text.name}' (a time of day "
                "inside the text)",
                hint="write it in units, e.g. interval '1 day 2 hours 3 seconds'",
            )


def _csv_types(args: Sequence[exp.Expr]) -> str:
    """``types = {'a': 'int'}`` of a DuckDB read_csv as a Spark schema (DDL); '' if none."""
    for arg in args:
        if isinstance(arg, exp.EQ) and arg.this.name.lower() in ("types", "columns"):
            struct = arg.expression
            if isinstance(struct, exp.Struct):
                parts = []
                for item in struct.expressions:
                    if isinstance(item, exp.PropertyEQ):
                        type_ = exp.DataType.build(item.expression.name, dialect="duckdb")
                        parts.append(f"{ident(item.this.name)} {type_.sql('spark')}")
                return ", ".join(parts)
    return ""


def _model_type(spark_type: str) -> str:
    """A Spark type name in DuckDB's words (what static inference reads), as it is if
    sqlglot does not know it."""
    try:
        return exp.DataType.build(spark_type, dialect="spark").sql("duckdb")
    except (SqlglotError, ValueError):
        return spark_type


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _data_parameters(exc: BaseException) -> list[str]:
    """The values an error raised while running quotes from the data: its Spark message
    parameters but those that name something (``_NAMING_PARAMETER``), longest first. None for
    an analysis or parse error (its parameters are the model's own names and expressions).

    A query's rows served to this process (``_local_batches``) fail as py4j's error of the
    serving thread, which has no parameters of its own: the task's error (``[INVALID_TIMEZONE]
    The timezone: Jane/Quixote is invalid``) is a cause of its Java exception, read there."""
    if _names_only(exc):
        return []
    values: set[str] = set()
    for params in [_parameters_of(exc), *_java_cause_parameters(exc)]:
        for name, value in params.items():
            text = str(value or "").strip()
            if len(text) >= 2 and not _NAMING_PARAMETER.search(str(name)):
                values |= {text, text.strip("'\"`")}
    return sorted((v for v in values if len(v) >= 2), key=len, reverse=True)


def _names_only(exc: BaseException) -> bool:
    """An analysis or parse error: its parameters are the model's own names and expressions."""
    return type(exc).__name__ in ("AnalysisException", "ParseException")


def _parameters_of(error: Any) -> dict[Any, Any]:
    """An error's Spark message parameters ({} without them, or with the JVM gone)."""
    getter = getattr(error, "getMessageParameters", None)
    try:
        params = getter() if callable(getter) else None
        return dict(params) if params else {}  # (a py4j JavaMap is a MutableMapping)
    except Exception:  # a JVM gone, an old pyspark, a Java class without the method
        return {}


def _java_cause_parameters(exc: BaseException) -> Iterator[dict[Any, Any]]:
    """The message parameters of each Spark error in the chain of causes of a py4j error's
    Java exception (but of an analysis or parse error's: names, not values)."""
    cause = getattr(exc, "java_exception", None)
    for _ in range(16):  # a bounded walk: a cycle of causes is possible in Java
        if cause is None:
            return
        try:
            name = str(cause.getClass().getName())
            if not name.endswith(("AnalysisException", "ParseException")):
                yield _parameters_of(cause)
            cause = cause.getCause()
        except Exception:  # the JVM gone: the text masks in _clean stay
            return

"""The tables of the Spark state (``state/spark.py``): where they live, how they are written
so that a crash never leaves one half done, and the ``folds`` pointers.

Spark's built-in tables are Parquet files: no UPDATE, no DELETE, no transaction over two
statements. A table is therefore written whole (a new slot, then a pointer to it) or
appended to (a new Parquet file, which appears whole); ``folds`` is append-only, one row per
fold naming the slot now in use (``gen`` orders them).

Where the tables live: with a persistent catalog (Hive metastore, Databricks) as managed
tables of database ``schema``; with Spark's in-memory catalog (a ``local[*]`` session, a
plain Spark Connect server) as Parquet folders under ``<spark.sql.warehouse.dir>/
<schema>.db``, read through temporary views, so a new session finds them again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from reverse_etl.errors import StateError

if TYPE_CHECKING:  # pyspark is imported only when a Spark warehouse is used
    from reverse_etl.engine.spark import SparkEngine

FOLDS = "destination STRING, scope STRING, gen BIGINT, slot STRING, folded_at TIMESTAMP_NTZ"
_VIEW_IDS = itertools.count(1)


@dataclass(frozen=True)
class Scope:
    destination: str
    scope: str

    @property
    def id(self) -> str:
        digest = hashlib.sha1(f"{self.destination}\0{self.scope}".encode()).hexdigest()
        return digest[:16]


class SparkTables:
    """The state's tables in a Spark database, and which slot of each is in use."""

    def __init__(self, engine: SparkEngine, database: str, *, write: bool) -> None:
        self.engine = engine
        self.database = database
        self.write = write
        self._views: dict[str, str] = {}  # table -> temporary view of it, this session
        self._root = self._folder_root()
        self._local = self._local_folder()
        self._current: dict[Scope, tuple[int, str]] = {}  # the slot in use: (gen, slot)

    # --- where tables live ---------------------------------------------------------------
    def _folder_root(self) -> str | None:
        """The folder of the tables when Spark's catalog forgets them with the session."""
        if self.engine.conf("spark.sql.catalogImplementation") not in (None, "in-memory"):
            return None
        base = self.engine.conf("spark.sql.warehouse.dir") or "spark-warehouse"
        return f"{base.rstrip('/')}/{self.database}.db"

    def _local_folder(self) -> Path | None:
        """The tables' folder when it is on this machine's disk (an in-process session):
        small appends and uploads are then Parquet files written here, without a Spark job,
        each appearing whole (written under a hidden name, which Spark skips, then renamed)."""
        if self._root is None or self.engine.is_connect:
            return None
        root = self._root
        if root.startswith("file:"):
            root = "/" + root.removeprefix("file:").lstrip("/")
        return None if "://" in root else Path(root)

    def _exists(self, table: str) -> bool:
        """Whether a table has been written."""
        if self._root is None:
            return bool(self.engine.session.catalog.tableExists(f"{self.database}.{table}"))
        if self._local is None:
            return True  # over Spark Connect: a missing folder reads as an empty table
        folder = self._local / table
        return folder.is_dir() and any(folder.glob("*.parquet"))

    def _write_local(self, table: str, ddl: str, rows: Any, *, replace: bool) -> None:
        """Rows (a table, or batches) as one new Parquet file of a local table's folder."""
        assert self._local is not None
        folder = self._local / table
        if replace and folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        schema = arrow_schema(ddl)
        name = f"part-{time.time_ns()}-{uuid.uuid4().hex}.parquet"
        hidden = folder / f".{name}.tmp"
        with pq.ParquetWriter(hidden, schema) as writer:
            for part in [rows] if isinstance(rows, pa.Table) else rows:
                writer.write_table(pa.Table.from_batches(part.to_batches()).cast(schema))
        os.replace(hidden, folder / name)
        self._written(table)

    def _target(self, table: str) -> str:
        if self._root is None:
            return f"`{self.database}`.`{table}`"
        return f"path:{self._root}/{table}"

    def _rel(self, table: str, schema: str) -> str:
        """SQL naming ``table`` (a catalog table, or a fresh temporary view of its files).
        A catalog table not created yet (a reader's: nothing is created) is read as a
        temporary view of no rows."""
        if table not in self._views:
            name = f"__retl_state_{next(_VIEW_IDS)}"
            if self._root is None:
                if self._exists(table):
                    # unquoted: the diff's SQL is DuckDB's, transpiled, and DuckDB reads no
                    # backticks (the database is a plain name, the tables retl's own)
                    return f"{self.database}.{table}"
                self._views[table] = self.engine.empty_view(name, schema)
            else:
                path = f"{self._root}/{table}"
                self._views[table] = self.engine.view_of_path(path, name, schema)
        return self._views[table]

    def _written(self, table: str) -> None:
        # Spark lists a path's files once per view: a rewritten table needs a new one.
        name = self._views.pop(table, None)
        if name is not None:
            with contextlib.suppress(Exception):
                self.engine.session.catalog.dropTempView(name)

    def _append(self, table: str, schema: str, rows: pa.Table) -> None:
        if self._local is not None:
            self._write_local(table, schema, rows, replace=False)
            return
        self.engine.write_arrow(rows, self._target(table), mode="append")
        self._written(table)

    # --- the pointers ----------------------------------------------------------------------
    def _small(self, table: str, ddl: str) -> list[dict[str, Any]]:
        """Every row of a small table (pointers, mappings): read from local disk directly
        when the tables are there (no Spark job), else through Spark."""
        if not self._exists(table):
            return []
        if self._local is not None:
            found = pads.dataset(self._local / table, format="parquet")
            rows: list[dict[str, Any]] = found.to_table().to_pylist()
            return rows
        names = [part.strip().split(" ", 1)[0] for part in ddl.split(",")]
        return [
            dict(zip(names, r, strict=True))
            for r in self.engine.rows(f"SELECT {', '.join(names)} FROM {self._rel(table, ddl)}")
        ]

    def _read_folds(self) -> dict[Scope, tuple[int, str]]:
        current: dict[Scope, tuple[int, str]] = {}
        for r in self._small("folds", FOLDS):
            key = Scope(r["destination"], r["scope"])
            if key not in current or int(r["gen"]) > current[key][0]:
                current[key] = (int(r["gen"]), str(r["slot"] or ""))
        return current

    def _point(self, key: Scope, gen: int, slot: str) -> None:
        now = utc_now()
        self._append(
            "folds",
            FOLDS,
            pa.table(
                {
                    "destination": [key.destination],
                    "scope": [key.scope],
                    "gen": pa.array([gen], pa.int64()),
                    "slot": [slot],
                    "folded_at": pa.array([now], pa.timestamp("us")),
                }
            ),
        )
        self._current[key] = (gen, slot)

    def _writable(self) -> None:
        if not self.write:
            raise StateError("internal: the state was opened read-only")


def sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


_ARROW_TYPES = {
    "STRING": pa.string(),
    "TIMESTAMP_NTZ": pa.timestamp("us"),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
}


def arrow_schema(ddl: str) -> pa.Schema:
    return pa.schema(
        [
            pa.field(name, _ARROW_TYPES[type_])
            for name, type_ in (part.strip().split(" ", 1) for part in ddl.split(","))
        ]
    )


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)

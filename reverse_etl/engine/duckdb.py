"""Embedded DuckDB engine (the default).

The connection is always in memory; a warehouse file is ATTACHed read-only and made the
default catalog, so retl never writes to the user's database while it can still attach its
own state database read-write beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from reverse_etl.engine.base import DEFAULT_BATCH_ROWS, ColumnInfo
from reverse_etl.errors import EngineError

WAREHOUSE_ALIAS = "warehouse"


class DuckDBEngine:
    """DuckDB in memory, optionally over a database file attached read-only."""

    dialect = "duckdb"

    def __init__(
        self,
        path: Path | None = None,
        *,
        memory_limit: str | None = None,
        temp_directory: Path | None = None,
    ) -> None:
        self.path = path
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
            if memory_limit is not None:
                self._con.execute(f"SET memory_limit = {_lit(memory_limit)}")
            if temp_directory is not None:
                self._con.execute(f"SET temp_directory = {_lit(str(temp_directory))}")
            if path is not None:
                self._con.execute(f"ATTACH {_lit(str(path))} AS {WAREHOUSE_ALIAS} (READ_ONLY)")
                self._con.execute(f"USE {WAREHOUSE_ALIAS}")
        except duckdb.Error as exc:
            raise EngineError(f"cannot open DuckDB database {path}: {_clean(exc)}") from None

    def stream(self, sql: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
        try:
            reader = self._con.execute(sql).to_arrow_reader(batch_rows)
        except duckdb.Error as exc:
            raise EngineError(_clean(exc)) from None
        return pa.RecordBatchReader.from_batches(reader.schema, _checked(reader))

    def schema(self, sql: str) -> pa.Schema:
        """Arrow schema of ``sql``'s result, without running it to completion."""
        try:
            return (
                self._con.execute(f"SELECT * FROM (\n{sql}\n) AS _s LIMIT 0")
                .to_arrow_table()
                .schema
            )
        except duckdb.Error as exc:
            raise EngineError(_clean(exc)) from None

    def describe(self, sql: str) -> list[ColumnInfo]:
        try:
            rel = self._con.sql(sql)
            return [ColumnInfo(n, str(t)) for n, t in zip(rel.columns, rel.types, strict=True)]
        except duckdb.Error as exc:
            raise EngineError(_clean(exc)) from None

    def scalar(self, sql: str) -> Any:
        try:
            row = self._con.execute(sql).fetchone()
        except duckdb.Error as exc:
            raise EngineError(_clean(exc)) from None
        return None if row is None else row[0]

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Small result sets only (summaries, samples)."""
        try:
            return self._con.execute(sql, list(params)).fetchall()
        except duckdb.Error as exc:
            raise EngineError(_clean(exc)) from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        try:
            self._con.execute(sql, list(params))
        except duckdb.Error as exc:
            raise EngineError(_clean(exc)) from None

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


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _checked(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    """DuckDB keeps running the query while batches are read: an error found then (a cast
    failing at row five million) is an EngineError too, not pyarrow's bare OSError."""
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (duckdb.Error, pa.ArrowException, OSError) as exc:
            raise EngineError(_clean(exc)) from None
        yield batch


def _clean(exc: BaseException) -> str:
    if isinstance(exc, duckdb.OutOfMemoryException):
        return (
            "DuckDB ran out of its memory limit: raise warehouse.memory_limit in "
            "retl_project.yml (default 1GB)"
        )
    return " ".join(str(exc).split()) or type(exc).__name__

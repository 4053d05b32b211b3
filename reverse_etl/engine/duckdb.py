"""Embedded DuckDB engine (the default). The only engine module importing duckdb."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from reverse_etl.engine.base import DEFAULT_BATCH_ROWS, ColumnInfo
from reverse_etl.errors import EngineError


class DuckDBEngine:
    """DuckDB in memory, or a database file opened read-only (retl never writes to it)."""

    dialect = "duckdb"

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        try:
            if path is None:
                self._con = duckdb.connect(":memory:")
            else:
                if not path.exists():
                    raise EngineError(
                        f"DuckDB database file not found: {path}",
                        key="warehouse.path",
                        hint="fix warehouse.path in retl_project.yml (relative to the project)",
                    )
                self._con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            raise EngineError(f"cannot open DuckDB database {path}: {exc}") from None
        # Timestamps without time zone are UTC whatever the machine says.
        self._con.execute("SET TimeZone = 'UTC'")

    def stream(self, sql: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
        try:
            return self._con.execute(sql).fetch_record_batch(batch_rows)
        except duckdb.Error as exc:
            raise EngineError(_clean(exc)) from None

    def describe(self, sql: str) -> list[ColumnInfo]:
        try:
            rel = self._con.sql(sql)
            return [ColumnInfo(n, str(t)) for n, t in zip(rel.columns, rel.types, strict=True)]
        except duckdb.Error as exc:
            raise EngineError(_clean(exc)) from None

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._con

    def close(self) -> None:
        self._con.close()


def _clean(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

"""The Engine protocol: run a compiled SELECT and stream its rows as Arrow record batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

DEFAULT_BATCH_ROWS = 10_000


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str


class Engine(Protocol):
    """What the rest of retl needs from a warehouse. Implementations own their driver."""

    dialect: str

    def stream(self, sql: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
        """Run ``sql`` and return a reader of record batches (never the whole result)."""
        ...

    def schema(self, sql: str) -> pa.Schema:
        """Arrow schema of ``sql``'s result, without fetching its rows."""
        ...

    def describe(self, sql: str) -> list[ColumnInfo]:
        """Output columns of ``sql`` without fetching its rows."""
        ...

    def close(self) -> None: ...


def iter_batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return

"""The local delivery log: one Parquet file per folded journal, beside the state file.

Why files and not a table: at a million accepted rows a run, inserting the log rows into the
state database costs about 3.5 CPU-seconds (DuckDB ingests and compresses every string),
writing them as one zstd Parquet file about 0.4 (docs/performance.md, "The delivery log").

Each file holds the delivery-log rows of one journal (one destination scope of one run), in
``<state file>.log/``, named after the journal. The fold writes it (to a temporary name,
flushed, then renamed) before it commits the journal's acknowledgements and deletes the
journal: a fold that dies midway writes the same file again, so no row is logged twice or
lost, and the log holds exactly what the journal held. Readers see the files as the
``delivery_log`` relation (``read_parquet``); retention deletes whole files.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SUFFIX = ".parquet"
LOGGED_UNTIL = b"retl.logged_until"  # file metadata: the newest logged_at, for the prune

LOG_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string()),
        pa.field("destination", pa.string()),
        pa.field("row_key", pa.string()),
        pa.field("event_id", pa.string()),
        pa.field("outcome", pa.string()),
        pa.field("code", pa.int64()),
        pa.field("message", pa.string()),
        pa.field("request_id", pa.string()),
        pa.field("logged_at", pa.timestamp("us")),
    ]
)
# Columns with few distinct values in a file, dictionary-encoded; keys and event ids are
# distinct per row: a dictionary tried on them first costs time, and the file came out 2.8x
# larger than zstd on the plain values (476 KB against 169 KB for 200k rows).
_REPEATED = ["run_id", "destination", "outcome", "code", "message", "request_id", "logged_at"]
_SQL_TYPES = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.timestamp("us"): "TIMESTAMP",
}


def log_rows(chunk: pa.Table, destination: str) -> pa.Table:
    """The delivery-log rows of a chunk of journal entries (those with a log key)."""
    keys = chunk.column("log_key")
    # A filter copies every column: skipped when every entry has a log row (the usual case).
    rows = chunk if keys.null_count == 0 else chunk.filter(pc.is_valid(keys))
    n = rows.num_rows
    return pa.table(
        [
            rows.column("run_id"),
            pa.repeat(pa.scalar(destination, pa.string()), n),
            rows.column("log_key"),
            rows.column("event_id"),
            rows.column("outcome"),
            rows.column("code"),
            rows.column("message"),
            rows.column("request_id"),
            rows.column("synced_at"),
        ],
        schema=LOG_SCHEMA,
    )


class LogSegment:
    """One journal's log file, being written: ``write`` chunks, then ``commit``."""

    def __init__(self, directory: Path, name: str) -> None:
        self.final = directory / (name + SUFFIX)
        self.partial = directory / ("." + name + SUFFIX + ".partial")
        self._writer: pq.ParquetWriter | None = None
        self._until: dt.datetime | None = None
        directory.mkdir(parents=True, exist_ok=True)

    def write(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self.partial, LOG_SCHEMA, compression="zstd", use_dictionary=_REPEATED
            )
        self._writer.write_table(rows)
        newest = pc.max(rows.column("logged_at")).as_py()
        if newest is not None and (self._until is None or newest > self._until):
            self._until = newest

    def commit(self) -> None:
        """Close, flush and rename into place (nothing written: no file)."""
        if self._writer is None:
            return
        if self._until is not None:
            self._writer.add_key_value_metadata({LOGGED_UNTIL: self._until.isoformat()})
        self._writer.close()
        self._writer = None
        fd = os.open(self.partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self.partial.replace(self.final)

    def abandon(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.partial.unlink(missing_ok=True)


def log_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(directory.glob(f"*{SUFFIX}"))


def prune(directory: Path, before: dt.datetime) -> int:
    """Delete the files whose newest row was logged before ``before``; returns how many."""
    gone = 0
    for path in log_files(directory):
        try:
            meta = pq.read_metadata(path).metadata or {}
        except (OSError, pa.ArrowException):
            continue  # unreadable: left for a person to look at, never deleted blindly
        until = meta.get(LOGGED_UNTIL)
        if until is not None and dt.datetime.fromisoformat(until.decode()) < before:
            path.unlink(missing_ok=True)
            gone += 1
    return gone


def relation(files: Iterable[Path]) -> str:
    """SQL for the log rows in ``files`` (typed and empty when there are none)."""
    paths = [str(p) for p in files]
    columns = ", ".join(f.name for f in LOG_SCHEMA)
    if not paths:
        empty = ", ".join(f"NULL::{_SQL_TYPES[f.type]} AS {f.name}" for f in LOG_SCHEMA)
        return f"(SELECT {empty} WHERE false)"
    listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    return f"(SELECT {columns} FROM read_parquet([{listed}]))"

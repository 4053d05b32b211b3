"""The local delivery log: one Parquet file per folded journal, beside the state file.

Why files and not a table: at a million accepted rows a run, inserting the log rows into the
state database costs about 3.5 CPU-seconds (DuckDB ingests and compresses every string),
writing them as one zstd Parquet file about 0.4 (docs/performance.md, "The delivery log").

Each file holds the delivery-log rows of one journal (one destination scope of one run), in
``<state file>.log/``, named after the journal and its newest ``logged_at``
(``<journal>.until-20261203T171500123456.parquet``). The fold writes it (to a temporary name,
flushed, then renamed) before it commits the journal's acknowledgements and deletes the
journal: a fold that dies midway writes the same file again, under the same name, so no row
is logged twice or lost, and the log holds exactly what the journal held. Readers see the
files as the ``delivery_log`` relation (``read_parquet``); retention deletes whole files, by
their names: a sync every 15 minutes keeps ~2,900 files over the default 30 days, and the
prune at the end of every sync lists them rather than opening each (issue #18). The time
in the name is the project's clock at the acknowledgement (tests move it), as is the
``retl.logged_until`` footer entry, which a file from an older retl (no time in its name)
is read by.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import pyarrow as pa

from reverse_etl import project_files
from reverse_etl.arrow_values import scalar
from reverse_etl.engine.file_paths import file_literal

if TYPE_CHECKING:
    # Imported where a fold writes a file or the prune reads an old one: an unchanged
    # re-sync does without (issue #18).
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
    # Imported where a fold writes rows: the prune of an unchanged re-sync does without it.
    import pyarrow.compute as pc

    keys = chunk.column("log_key")
    # A filter copies every column: skipped when every entry has a log row (the usual case).
    rows = chunk if keys.null_count == 0 else chunk.filter(pc.is_valid(keys))
    n = rows.num_rows
    return pa.table(
        [
            rows.column("run_id"),
            pa.repeat(scalar(destination), n),
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
        self.directory = directory
        self.name = name
        self.legacy = directory / (name + SUFFIX)  # an older retl's name for the same file
        self.partial = directory / ("." + name + SUFFIX + ".partial")
        self._writer: pq.ParquetWriter | None = None
        self._file: BinaryIO | None = None
        self._until: dt.datetime | None = None
        project_files.own_folder(directory, create=True)  # never a pull request's link

    def write(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        if self._writer is None:
            import pyarrow.parquet as pq

            self._file = _create(self.partial)
            self._writer = pq.ParquetWriter(
                self._file, LOG_SCHEMA, compression="zstd", use_dictionary=_REPEATED
            )
        self._writer.write_table(rows)
        import pyarrow.compute as pc  # see log_rows

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
        assert self._file is not None
        with self._file as f:
            f.flush()
            os.fsync(f.fileno())
        self._file = None
        self.partial.replace(self.final)
        if self.legacy != self.final:
            # A journal folded before by an older retl that died before deleting it: its rows
            # are in this file now, and must not be read twice.
            self.legacy.unlink(missing_ok=True)

    @property
    def final(self) -> Path:
        """The file's name, with the newest time it holds (deterministic: a journal folded
        again gets the same name)."""
        if self._until is None:
            return self.legacy
        return self.directory / f"{self.name}{_UNTIL}{_stamp(self._until)}{SUFFIX}"

    def abandon(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._file is not None:
            self._file.close()
            self._file = None
        self.partial.unlink(missing_ok=True)


def _create(path: Path) -> BinaryIO:
    """``path`` made anew for writing: what is there is removed first (a fold that died left
    it; a pull request's symbolic link goes, its target untouched), then the file is created
    exclusively, so no link or pipe put there is ever written through."""
    path.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    return os.fdopen(os.open(path, flags, 0o666), "wb")


def log_files(directory: Path) -> list[Path]:
    """The log's files (a folder that is a symbolic link is refused: a pull request's); any
    kind of file: see ``is_regular``."""
    if not project_files.own_folder(directory):
        return []
    return sorted(directory.glob(f"*{SUFFIX}"))


def is_regular(path: Path) -> bool:
    """Whether a log file is a regular file, not a symbolic link (never followed): a pull
    request's pipe there would block its read, its link to a device never end."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def prune(directory: Path, before: dt.datetime) -> int:
    """Delete the files whose newest row was logged before ``before``; returns how many.
    A listing: only a file without the time in its name (an older retl's) is opened, when
    it is a regular file (see ``logged_until``)."""
    gone = 0
    for path in log_files(directory):
        until = logged_until(path)
        if until is not None and until < before:
            path.unlink(missing_ok=True)
            gone += 1
    return gone


_UNTIL = ".until-"
_NAMED = re.compile(
    re.escape(_UNTIL) + r"(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)(\d{6})" + re.escape(SUFFIX) + "$"
)


def _stamp(w: dt.datetime) -> str:
    """A naive UTC time as the name's digits, which sort as the times do (any year)."""
    return (
        f"{w.year:04d}{w.month:02d}{w.day:02d}T{w.hour:02d}{w.minute:02d}{w.second:02d}"
        f"{w.microsecond:06d}"
    )


def logged_until(path: Path) -> dt.datetime | None:
    """The newest ``logged_at`` of a log file: from its name, or (a file from an older retl)
    from its footer; None when the file says nothing readable (never deleted blindly)."""
    named = _NAMED.search(path.name)
    if named is not None:
        with contextlib.suppress(ValueError):  # not a time after all: the footer says
            year, month, day, hour, minute, second, micro = map(int, named.groups())
            return dt.datetime(year, month, day, hour, minute, second, micro)
    if not is_regular(path):
        return None  # a pull request's pipe or link: never read (nor deleted)
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path).metadata or {}
    except (OSError, pa.ArrowException):
        return None  # unreadable: left for a person to look at
    until = meta.get(LOGGED_UNTIL)
    return None if until is None else dt.datetime.fromisoformat(until.decode())


def relation(files: Iterable[Path]) -> str:
    """SQL for the log rows in ``files`` (typed and empty when there are none)."""
    paths = [str(p) for p in files]
    columns = ", ".join(f.name for f in LOG_SCHEMA)
    if not paths:
        empty = ", ".join(f"NULL::{_SQL_TYPES[f.type]} AS {f.name}" for f in LOG_SCHEMA)
        return f"(SELECT {empty} WHERE false)"
    listed = ", ".join(file_literal(p) for p in paths)
    return f"(SELECT {columns} FROM read_parquet([{listed}]))"

"""The acknowledgement journal: where a sync records acknowledged batches while it runs.

One file per destination scope and run, in ``<state file>.acks/``: an Arrow IPC stream whose
schema metadata names the destination and scope, and one record batch (row keys, row hashes,
time, and the batch's delivery-log rows: outcome, key as reports show it, event id, code,
message, request id, run id) per answered request. Rows that were not acknowledged (rejected,
failed, skipped as invalid) are appended too, with no row hash: the fold writes the state from
the acknowledged rows and the delivery log from all of them, in the same transaction, so the log
never disagrees with the state. A file written by an older retl (four columns) reads as
acknowledged rows with no log. An append is a single ``write`` to an unbuffered file (the
batch is serialised first), so it is in the kernel before the next request goes out and
survives a killed process (``SIGKILL``, the OOM killer, a CI timeout). The file is flushed to
disk at most once a second (``FSYNC_EVERY``), not per batch: a machine that loses power may
forget up to the last second of acknowledgements, and the next run sends those events again
with the same ``event_id`` (TikTok deduplicates them within 48 hours). The state store folds
journals into its database (see ``store.py``).

A file cut short by a crash is read up to its last complete batch: the torn batch was being
recorded when the process died, so it counts as in flight and is sent again. A damaged file
(cut short, or bytes overwritten) is read the same way, batch by batch up to the first one that
does not read or validate; ``Journal.damage`` then says what was lost, for the store to warn.
"""

from __future__ import annotations

import io
import itertools
import os
import stat
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from reverse_etl import project_files
from reverse_etl.arrow_values import int64_range, scalar, strings
from reverse_etl.state.base import LogBatch
from reverse_etl.state.dedup import Clock, system_clock, utc

FSYNC_EVERY = 1.0  # seconds
SUFFIX = ".arrows"
# The damage of a file whose last batch does not read: torn by a crash, being written by a
# running sync, or overwritten.
TORN = "cut short or overwritten"

_ACK_FIELDS = [
    pa.field("row_key", pa.string()),
    pa.field("row_hash", pa.string()),  # NULL: not acknowledged (a log row only)
    pa.field("synced_at", pa.timestamp("us")),
    pa.field("pos", pa.int64()),  # 1, 2, 3 ... in the file: the order of acknowledgement
]
_LOG_FIELDS = [
    pa.field("outcome", pa.string()),
    pa.field("log_key", pa.string()),  # NULL: no delivery-log row
    pa.field("event_id", pa.string()),
    pa.field("code", pa.int64()),
    pa.field("message", pa.string()),
    pa.field("request_id", pa.string()),
    pa.field("run_id", pa.string()),
]
_FIELDS = _ACK_FIELDS + _LOG_FIELDS
ACCEPTED = "accepted"
_READ_BUFFER = 1 << 20
_END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"  # Arrow IPC: continuation, length 0
_SEQ = itertools.count()


def _schema(destination: str, scope: str) -> pa.Schema:
    return pa.schema(_FIELDS, metadata={"destination": destination, "scope": scope})


class JournalWriter:
    """Appends acknowledged batches of one scope to a new journal file."""

    def __init__(
        self, path: Path, destination: str, scope: str, clock: Clock = system_clock
    ) -> None:
        self.path = path
        self._clock = clock  # the acknowledgement time recorded (tests move it)
        self._file = open(path, "xb", buffering=0)  # noqa: SIM115 - closed in close()
        self._schema = _schema(destination, scope)
        # The stream's messages are written by hand (the schema, then one message per
        # batch): pyarrow's stream writer makes a write call per buffer and header (dozens a
        # batch here); one write of the serialised batch halves an append's CPU
        # (bench/commit_micro.py) and keeps an append one write.
        self._write(self._schema.serialize())
        self._synced = time.monotonic()
        self._count = 0
        self._size = self._file.tell()  # where the next batch starts

    @classmethod
    def create(
        cls, directory: Path, destination: str, scope: str, clock: Clock = system_clock
    ) -> JournalWriter:
        project_files.own_folder(directory, create=True)  # never a pull request's link
        # Names sort in creation order: folding applies them oldest first.
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(_SEQ)}{SUFFIX}"
        return cls(directory / name, destination, scope, clock)

    def append(
        self,
        keys: Sequence[str] | pa.Array,
        hashes: Sequence[str] | pa.Array | None,
        log: LogBatch | None = None,
    ) -> None:
        """One batch: acknowledged rows (``hashes``), or, with no hashes, rows that were not
        acknowledged (``log`` then says why); ``log`` rows are in step with ``keys``."""
        n = len(keys)
        now = utc(self._clock())
        outcome = ACCEPTED if hashes is not None else (log.outcome if log else None)
        batch = pa.record_batch(
            [
                _strings(keys, n),
                _strings(hashes, n),
                pa.repeat(scalar(now), n),
                int64_range(self._count + 1, self._count + n + 1),
                *_log_columns(log, outcome, n),
            ],
            schema=self._schema,
        )
        data = batch.serialize()
        try:
            self._write(data)
        except OSError:
            # Cut short (a full disk): the part written is taken back, so that a later
            # append (the answers still in flight, recorded after this failure) follows the
            # last whole batch; left there, it made every batch after it unreadable.
            self._cut_back()
            raise
        self._count += n
        self._size += data.size
        if time.monotonic() - self._synced >= FSYNC_EVERY:
            os.fsync(self._file.fileno())
            self._synced = time.monotonic()

    def _cut_back(self) -> None:
        """Truncate the file to its last whole batch; if that fails too, no append follows
        (the file is read up to that batch, the rest counts as in flight)."""
        try:
            os.ftruncate(self._file.fileno(), self._size)
            os.lseek(self._file.fileno(), self._size, os.SEEK_SET)
        except OSError:
            self._file.close()

    def _write(self, data: pa.Buffer | bytes) -> None:
        """One ``write`` (more only if the kernel takes part of it, as with a full disk)."""
        view = memoryview(data)
        fd = self._file.fileno()
        while view:
            view = view[os.write(fd, view) :]

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            self._write(_END_OF_STREAM)
            os.fsync(self._file.fileno())
        finally:
            self._file.close()


def _strings(values: Any, n: int) -> pa.Array:
    """A string column of ``n`` rows: an Arrow array as it is, a sequence converted, one
    text repeated, or NULLs."""
    if values is None:
        return pa.nulls(n, pa.string())
    if isinstance(values, str):
        return pa.repeat(scalar(values), n)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values if values.type == pa.string() else values.cast(pa.string())
    return strings(values)


def _log_columns(log: LogBatch | None, outcome: str | None, n: int) -> list[pa.Array]:
    if log is None:
        return [_strings(outcome, n), *(pa.nulls(n, f.type) for f in _LOG_FIELDS[1:])]
    return [
        _strings(outcome, n),
        _strings(log.keys, n),
        _strings(log.event_ids, n),
        pa.nulls(n, pa.int64()) if log.code is None else pa.repeat(scalar(log.code), n),
        _strings(log.messages, n),
        _strings(log.request_id, n),
        _strings(log.run_id, n),
    ]


@dataclass
class JournalDamage:
    """Why a journal file could not be read to its end, and how much of it was read."""

    reason: str
    entries_read: int  # entries in the complete, valid batches before the damage
    entries_lost: int | None  # at least this many could not be read; None when unknowable


@dataclass
class Journal:
    """A journal file opened for reading: its scope, and its batches as one stream.

    ``damage`` is known once ``reader`` has been read to its end (it reads lazily)."""

    path: Path
    destination: str
    scope: str
    reader: pa.RecordBatchReader
    damage: JournalDamage | None = None


def journal_files(directory: Path) -> list[Path]:
    """The journals in ``directory`` (a folder that is a link is refused); only regular
    files: a pipe there (a pull request's) would block the read, a link lead elsewhere."""
    if not project_files.own_folder(directory):
        return []
    return sorted(p for p in directory.glob(f"*{SUFFIX}") if _regular(p))


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def read_journal(path: Path) -> Journal | JournalDamage | None:
    """The complete, valid batches of a journal file.

    None for an empty file (its run died before its first append: nothing in it was
    acknowledged); a JournalDamage when not even the header reads (how many entries the file
    held is then unknown)."""
    try:
        if path.stat().st_size == 0:
            return None
    except FileNotFoundError:  # folded and deleted by another run since it was listed
        return None
    # Arrow's own messages are not passed on: on a damaged file they may quote its bytes.
    try:
        # Buffered: unbuffered, each batch's every buffer is a read call of its own.
        stream = pa.ipc.open_stream(pa.input_stream(str(path), buffer_size=_READ_BUFFER))
    except (OSError, pa.ArrowException, io.UnsupportedOperation):
        return JournalDamage("its header does not read", 0, None)
    schema = pa.schema(_FIELDS)
    found = stream.schema.remove_metadata()
    older = found.equals(pa.schema(_ACK_FIELDS))  # written by a retl before the log
    if not (older or found.equals(schema)):
        return JournalDamage("its header names other columns", 0, None)
    meta = stream.schema.metadata or {}
    destination = meta.get(b"destination", b"").decode(errors="replace")
    scope = meta.get(b"scope", b"").decode(errors="replace")

    def batches() -> Iterator[pa.RecordBatch]:
        read = 0
        while True:
            try:
                batch = stream.read_next_batch()
            except StopIteration:
                return
            except (OSError, pa.ArrowException, io.UnsupportedOperation):
                # Torn at the end (that batch was in flight when the process died), or
                # damaged: either way nothing after this point can be read.
                journal.damage = JournalDamage(TORN, read, None)
                return
            problem = _invalid(batch, read)
            if problem is not None:
                journal.damage = JournalDamage(problem, read, batch.num_rows)
                return
            read += batch.num_rows
            columns = batch.columns
            if older:
                columns = [*columns, *_log_columns(None, ACCEPTED, batch.num_rows)]
            yield pa.record_batch(columns, schema=schema)

    journal = Journal(
        path, destination, scope, pa.RecordBatchReader.from_batches(schema, batches())
    )
    return journal


def _invalid(batch: pa.RecordBatch, read: int) -> str | None:
    """Why a batch that did read is damaged, or None.

    Arrow IPC carries no checksum: overwritten bytes inside a batch read as values. A full
    validation catches broken offsets and invalid UTF-8, and the entry numbers (``pos``,
    1, 2, 3 ... in the file) must go on where the previous batch ended."""
    try:
        batch.validate(full=True)
    except pa.ArrowException:
        return "a batch holds invalid data"
    pos = batch.column(3)
    if batch.num_rows and (
        pos.null_count or pos[0].as_py() != read + 1 or pos[-1].as_py() != read + batch.num_rows
    ):
        return "a batch's entry numbers do not follow on"
    return None

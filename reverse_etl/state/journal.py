"""The acknowledgement journal: where a sync records acknowledged batches while it runs.

One file per destination scope and run, in ``<state file>.acks/``: an Arrow IPC stream whose
schema metadata names the destination and scope, and one record batch (row keys, row hashes,
time) per acknowledged request. An append is a single ``write`` to an unbuffered file, so it
is in the kernel before the next request goes out and survives a killed process (``SIGKILL``,
the OOM killer, a CI timeout). The file is flushed to disk at most once a second
(``FSYNC_EVERY``), not per batch: a machine that loses power may forget up to the last second
of acknowledgements, and the next run sends those events again with the same ``event_id``
(TikTok deduplicates them within 48 hours). The state store folds journals into its database
in one transaction (see ``store.py``).

A file cut short by a crash is read up to its last complete batch: the torn batch was being
recorded when the process died, so it counts as in flight and is sent again.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

FSYNC_EVERY = 1.0  # seconds
SUFFIX = ".arrows"

_FIELDS = [
    pa.field("row_key", pa.string()),
    pa.field("row_hash", pa.string()),
    pa.field("synced_at", pa.timestamp("us")),
    pa.field("pos", pa.int64()),  # 1, 2, 3 ... in the file: the order of acknowledgement
]
_SEQ = itertools.count()


def _schema(destination: str, scope: str) -> pa.Schema:
    return pa.schema(_FIELDS, metadata={"destination": destination, "scope": scope})


class JournalWriter:
    """Appends acknowledged batches of one scope to a new journal file."""

    def __init__(self, path: Path, destination: str, scope: str) -> None:
        self.path = path
        self._file = open(path, "xb", buffering=0)  # noqa: SIM115 - closed in close()
        self._schema = _schema(destination, scope)
        self._writer = pa.ipc.new_stream(self._file, self._schema)
        self._synced = time.monotonic()
        self._count = 0

    @classmethod
    def create(cls, directory: Path, destination: str, scope: str) -> JournalWriter:
        directory.mkdir(parents=True, exist_ok=True)
        # Names sort in creation order: folding applies them oldest first.
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(_SEQ)}{SUFFIX}"
        return cls(directory / name, destination, scope)

    def append(self, keys: Sequence[str] | pa.Array, hashes: Sequence[str] | pa.Array) -> None:
        n = len(keys)
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        batch = pa.record_batch(
            [
                keys if isinstance(keys, pa.Array) else pa.array(keys, pa.string()),
                hashes if isinstance(hashes, pa.Array) else pa.array(hashes, pa.string()),
                pa.repeat(pa.scalar(now, pa.timestamp("us")), n),
                pa.array(range(self._count + 1, self._count + n + 1), pa.int64()),
            ],
            schema=self._schema,
        )
        self._writer.write_batch(batch)
        self._count += n
        if time.monotonic() - self._synced >= FSYNC_EVERY:
            os.fsync(self._file.fileno())
            self._synced = time.monotonic()

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            self._writer.close()
            os.fsync(self._file.fileno())
        finally:
            self._file.close()


@dataclass
class Journal:
    """A journal file opened for reading: its scope, and its batches as one stream."""

    path: Path
    destination: str
    scope: str
    reader: pa.RecordBatchReader


def journal_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(directory.glob(f"*{SUFFIX}"))


def read_journal(path: Path) -> Journal | None:
    """The complete batches of a journal file; None when not even its header is complete."""
    try:
        stream = pa.ipc.open_stream(pa.OSFile(str(path), "rb"))
    except (OSError, pa.ArrowInvalid):
        return None
    meta = stream.schema.metadata or {}
    destination = meta.get(b"destination", b"").decode()
    scope = meta.get(b"scope", b"").decode()
    schema = pa.schema(_FIELDS)

    def batches() -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = stream.read_next_batch()
            except StopIteration:
                return
            except (OSError, pa.ArrowInvalid, io.UnsupportedOperation):
                return  # torn at the end: that batch was in flight when the process died
            yield pa.record_batch(batch.columns, schema=schema)

    return Journal(path, destination, scope, pa.RecordBatchReader.from_batches(schema, batches()))

"""The acknowledgement journal's file format (state/journal.py) and the delivery-log rows the
fold takes from it (state/logfiles.py), without a sync."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from reverse_etl.state.base import LogBatch
from reverse_etl.state.journal import Journal, JournalWriter, read_journal
from reverse_etl.state.logfiles import log_rows


def _write(tmp_path: Path) -> Path:
    writer = JournalWriter.create(tmp_path, "dest", "scope")
    log = LogBatch(run_id="r1", outcome="accepted", keys=["k1", "k2"], event_ids=["e1", "e2"])
    writer.append(["k1", "k2"], ["h1", "h2"], log)
    writer.append(["k3"], None, LogBatch(run_id="r1", outcome="rejected", keys=["k3"], code=7))
    writer.close()
    return writer.path


def test_a_journal_is_an_arrow_ipc_stream_pyarrow_reads_as_written(tmp_path: Path) -> None:
    path = _write(tmp_path)
    with pa.ipc.open_stream(path.read_bytes()) as stream:  # Arrow's own reader, to the end
        assert stream.schema.metadata == {b"destination": b"dest", b"scope": b"scope"}
        table = stream.read_all()
    assert table.column("row_key").to_pylist() == ["k1", "k2", "k3"]
    assert table.column("row_hash").to_pylist() == ["h1", "h2", None]
    assert table.column("pos").to_pylist() == [1, 2, 3]
    assert table.column("outcome").to_pylist() == ["accepted", "accepted", "rejected"]
    assert table.column("code").to_pylist() == [None, None, 7]
    journal = read_journal(path)
    assert isinstance(journal, Journal)
    assert journal.reader.read_all().num_rows == 3
    assert journal.damage is None


def test_each_append_is_one_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process killed between two appends leaves whole batches only (and one in flight)."""
    writer = JournalWriter.create(tmp_path, "dest", "scope")
    writes: list[int] = []
    real_write = os.write

    def write(fd: int, data: Any) -> int:
        writes.append(len(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    try:
        for i in range(3):
            writer.append([f"k{i}"] * 1000, [f"h{i}"] * 1000)
    finally:
        monkeypatch.undo()
        writer.close()
    assert len(writes) == 3
    journal = read_journal(writer.path)
    assert isinstance(journal, Journal)
    assert journal.reader.read_all().num_rows == 3000


def test_log_rows_keep_only_entries_with_a_log_key() -> None:
    keys = pa.array(["k1", "k2", "k3"])
    chunk = pa.table(
        {
            "row_key": keys,
            "synced_at": pa.array([1, 2, 3], pa.timestamp("us")),
            "outcome": pa.array(["accepted"] * 3),
            "log_key": keys,
            "event_id": pa.array(["e1", None, "e3"]),
            "code": pa.nulls(3, pa.int64()),
            "message": pa.nulls(3, pa.string()),
            "request_id": pa.array(["q"] * 3),
            "run_id": pa.array(["r"] * 3),
        }
    )
    every = log_rows(chunk, "dest")
    assert every.column("row_key").to_pylist() == ["k1", "k2", "k3"]
    assert every.column("destination").to_pylist() == ["dest"] * 3
    some = log_rows(chunk.set_column(3, "log_key", pa.array(["k1", None, "k3"])), "dest")
    assert some.column("row_key").to_pylist() == ["k1", "k3"]
    assert some.column("event_id").to_pylist() == ["e1", "e3"]


def test_an_append_cut_short_is_taken_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk cuts an append short: the answers in flight are still appended after it
    (delivery/runner's not_recorded), and must read. The part written was left in the file,
    and every batch after it was lost (the journal read as damaged)."""
    writer = JournalWriter.create(tmp_path, "dest", "scope")
    writer.append(["k1", "k2"], ["h1", "h2"])
    real_write = os.write
    calls: list[int] = []

    def full_disk(fd: int, data: Any) -> int:
        calls.append(len(data))
        if len(calls) == 1:  # the kernel takes half, then the disk is full
            return real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(OSError):
        writer.append(["k3", "k4"], ["h3", "h4"])
    monkeypatch.undo()
    writer.append(["k5", "k6"], ["h5", "h6"])  # an answer in flight, space freed
    writer.close()
    journal = read_journal(writer.path)
    assert isinstance(journal, Journal)
    table = journal.reader.read_all()
    assert table.column("row_key").to_pylist() == ["k1", "k2", "k5", "k6"]
    assert table.column("pos").to_pylist() == [1, 2, 3, 4]
    assert journal.damage is None

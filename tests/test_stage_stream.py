"""Staging a stream of Arrow batches into the workbench holds a bounded number of them.

DuckDB, given a RecordBatchReader, reads it through a pyarrow.dataset Scanner that runs up to
16 batches ahead of the scan; staging 1M rows out of Spark held up to ~130 MB of batches at
once that way. ``DuckDBEngine.stage`` hands DuckDB a C stream with a read-ahead of
``READ_AHEAD`` batches instead (reverse_etl/engine/arrow_stream.py).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from reverse_etl.engine.arrow_stream import READ_AHEAD, ReadAhead
from reverse_etl.engine.duckdb import DuckDBEngine, MemoryPolicy
from reverse_etl.errors import EngineError

SCHEMA = pa.schema([("k", pa.int64()), ("payload", pa.string())])
ROWS = 1_000
WIDTH = 1_000  # bytes per row: a batch is ~1 MB


class _Owned(bytearray):
    """A batch's bytes, owned by Python: dies when Arrow and DuckDB let go of the batch."""


class Batches:
    """``count`` batches whose bytes are tracked: how many are alive at most, at once."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.produced = 0
        self.alive = 0
        self.most_alive = 0
        self._lock = threading.Lock()

    def _released(self) -> None:
        with self._lock:
            self.alive -= 1

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        offsets = pa.array(range(0, ROWS * WIDTH + 1, WIDTH), pa.int32()).buffers()[1]
        for i in range(self.count):
            data = _Owned(bytes([65 + i % 26]) * (ROWS * WIDTH))
            with self._lock:
                self.produced += 1
                self.alive += 1
                self.most_alive = max(self.most_alive, self.alive)
            weakref.finalize(data, self._released)
            payload = pa.StringArray.from_buffers(ROWS, offsets, pa.py_buffer(data))
            keys = pa.array(range(i * ROWS, (i + 1) * ROWS), pa.int64())
            del data
            yield pa.record_batch([keys, payload], schema=SCHEMA)

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(SCHEMA, iter(self))


@pytest.fixture
def bench(tmp_path: Path) -> DuckDBEngine:
    # A small memory limit, so the scan waits while DuckDB evicts blocks to the temp
    # directory (where DuckDB's own read-ahead piled batches up); two threads, as each of
    # DuckDB's threads may hold the batch it converts.
    engine = DuckDBEngine(memory=MemoryPolicy(limit="32MB"), temp_directory=tmp_path / "tmp")
    engine._con.execute("SET threads = 2")
    return engine


def test_staging_holds_a_bounded_number_of_batches(bench: DuckDBEngine) -> None:
    source = Batches(60)  # ~60 MB through a 32 MB workbench
    table = bench.stage(source.reader())
    assert bench.rows(f"SELECT count(*), count(DISTINCT k) FROM {table}")[0] == (60_000, 60_000)
    assert bench.rows(f"SELECT sum(length(payload)) FROM {table}")[0][0] == 60 * ROWS * WIDTH
    assert source.alive == 0
    # Held at once: the read-ahead's slots, the batch the reader thread is offering, the one
    # last handed to DuckDB, one per DuckDB thread, and one whose release is on its way
    # (the bound; 7 is what was seen). DuckDB's own read-ahead held 15-22 here.
    assert source.most_alive <= READ_AHEAD + 6, source.most_alive


def test_the_read_ahead_stops_reading_while_the_consumer_waits() -> None:
    reached = threading.Event()
    calls = 0
    limit = READ_AHEAD + 2  # the one taken, READ_AHEAD waiting, one being offered

    def source() -> Iterator[pa.RecordBatch]:
        nonlocal calls
        for i in range(50):
            calls += 1
            if calls == limit:
                reached.set()
            yield pa.record_batch([pa.array([i]), pa.array(["x"])], schema=SCHEMA)

    batches = ReadAhead(pa.RecordBatchReader.from_batches(SCHEMA, source())).batches()
    first = next(batches)
    assert first.column(0).to_pylist() == [0]
    assert reached.wait(30), "the reader thread did not read ahead"
    # The reader thread now waits for a free slot and reads no further. (A read-ahead without
    # a bound reads on and fails this; a loaded machine could at worst let it pass, never
    # make the bounded one fail.)
    threading.Event().wait(0.3)
    assert calls == limit
    assert [b.column(0)[0].as_py() for b in batches] == list(range(1, 50))
    assert calls == 50


def test_a_source_error_is_raised_as_itself() -> None:
    def source() -> Iterator[pa.RecordBatch]:
        yield pa.record_batch([pa.array([1]), pa.array(["x"])], schema=SCHEMA)
        raise EngineError("the Spark query failed: table orders not found", key="models/x.sql")

    engine = DuckDBEngine()
    with pytest.raises(EngineError) as caught:
        engine.stage(pa.RecordBatchReader.from_batches(SCHEMA, source()))
    # The source's own error, not DuckDB's text around it (with a Python traceback inside).
    assert caught.value.message == "the Spark query failed: table orders not found"
    assert caught.value.key == "models/x.sql"


def test_other_source_errors_become_one_line_engine_errors() -> None:
    def source() -> Iterator[pa.RecordBatch]:
        raise OSError("journal unreadable")
        yield  # pragma: no cover

    engine = DuckDBEngine()
    with pytest.raises(EngineError) as caught:
        engine.stage(pa.RecordBatchReader.from_batches(SCHEMA, source()))
    assert str(caught.value) == "journal unreadable"
    assert "Traceback" not in str(caught.value)


def test_an_empty_stream_stages_an_empty_table() -> None:
    engine = DuckDBEngine()
    table = engine.stage(pa.RecordBatchReader.from_batches(SCHEMA, iter([])))
    assert engine.rows(f"SELECT count(*) FROM {table}") == [(0,)]
    assert [c.name for c in engine.describe(f"SELECT * FROM {table}")] == ["k", "payload"]

"""Ctrl-C while the workbench stages a warehouse's rows (a PostgreSQL or Spark model's
stream) stops the sync as interrupted (exit 130, "interrupted: stopped sending"), not as a
failed model: DuckDB folds an exception raised inside its scan into its own error, text and
Python traceback included, which came out as "model ... failed: ... Traceback ... SIGINT"
with exit 1 and a hint to compile the model."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest

from reverse_etl.engine import arrow_stream
from reverse_etl.engine.duckdb import DuckDBEngine, MemoryPolicy
from reverse_etl.errors import Interrupted

SCHEMA = pa.schema([("k", pa.int64())])


def _engine(tmp_path: Path) -> DuckDBEngine:
    return DuckDBEngine(temp_directory=tmp_path, memory=MemoryPolicy(limit="64MB"))


def test_a_source_stopped_by_ctrl_c_stops_the_stage_as_interrupted(tmp_path: Path) -> None:
    def rows() -> Iterator[pa.RecordBatch]:
        yield pa.record_batch([pa.array([1, 2])], schema=SCHEMA)
        raise Interrupted("SIGINT")

    engine = _engine(tmp_path)
    try:
        with pytest.raises(Interrupted):
            engine.stage(pa.RecordBatchReader.from_batches(SCHEMA, rows()))
    finally:
        engine.close()


def test_ctrl_c_in_the_main_thread_while_the_scan_waits_stops_the_stage_as_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's handler raises in the main thread, where DuckDB's scan waits for the next
    batch (``ReadAhead.batches``, at its queue): raised there, at the second batch."""

    class CtrlC(queue.Queue):  # type: ignore[type-arg]
        asked = 0

        def get(self, block: bool = True, timeout: float | None = None) -> object:
            CtrlC.asked += 1
            if CtrlC.asked == 2:
                raise Interrupted("SIGINT")
            return super().get(block, timeout)

    monkeypatch.setattr(arrow_stream, "queue", SimpleNamespace(Queue=CtrlC, Full=queue.Full))
    batches = [pa.record_batch([pa.array([i])], schema=SCHEMA) for i in range(4)]
    engine = _engine(tmp_path)
    try:
        with pytest.raises(Interrupted):
            engine.stage(pa.RecordBatchReader.from_batches(SCHEMA, iter(batches)))
    finally:
        engine.close()
    assert CtrlC.asked == 2

"""A disk too full for the workbench's spill or scratch files (the plan's rows) is said as the
machine's problem, with the fix: not as the model's error, and not as a bug with a
traceback (a first sync whose spill folder filled up said "unexpected OutOfMemoryException").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

import reverse_etl.engine.duckdb as duckdb_engine
from reverse_etl.engine.duckdb import DuckDBEngine, MemoryPolicy
from reverse_etl.errors import EngineError, EnvironmentProblem
from reverse_etl.project import Project

from .test_sync import events_project

# DuckDB's own words, from a COPY to a full 2 MB tmpfs on this machine.
FULL = 'IO Error: Could not write file "{}": No space left on device'


def test_a_spill_folder_that_fills_up_is_the_disk_not_memory(tmp_path: Path) -> None:
    folder = tmp_path / "tmp"
    engine = DuckDBEngine(memory=MemoryPolicy.from_config("16MB"), temp_directory=folder)
    # What DuckDB does when the disk under its temp folder is full: it cannot offload.
    engine.execute("SET max_temp_directory_size = '1MB'")
    with pytest.raises(EnvironmentProblem) as raised:
        engine.execute(
            "CREATE TEMP TABLE t AS SELECT md5(i::VARCHAR) || md5((i + 1)::VARCHAR) AS a "
            "FROM range(2000000) r(i)"
        )
    assert raised.value.file == str(folder)
    assert "the disk is full" in str(raised.value)
    assert "free some space, then run again" in str(raised.value)
    engine.close()


def test_an_other_io_error_stays_the_engine_s(tmp_path: Path) -> None:
    engine = DuckDBEngine(temp_directory=tmp_path / "tmp")
    with pytest.raises(EngineError) as raised:
        engine.execute(f"COPY (SELECT 1) TO '{tmp_path / 'missing' / 'x.parquet'}'")
    assert not isinstance(raised.value, EnvironmentProblem)
    engine.close()


def test_a_plan_whose_rows_find_the_disk_full_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_sql = duckdb_engine.run_sql

    def full(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> Any:
        if sql.lstrip().startswith("COPY ("):  # the plan's rows, written to its scratch file
            raise duckdb.IOException(FULL.format("retl-scratch-1-0.parquet"))
        return run_sql(con, sql, params)

    monkeypatch.setattr(duckdb_engine, "run_sql", full)
    project = events_project(tmp_path / "p", "http://127.0.0.1:9")
    with Project.load(project) as loaded:
        folder = loaded.workbench.temp_directory
        with pytest.raises(EnvironmentProblem) as raised:
            loaded.plan()
    assert raised.value.file == str(folder)
    assert "the disk is full" in str(raised.value)


def test_a_stream_that_finds_the_disk_full_says_so(tmp_path: Path) -> None:
    import pyarrow as pa

    def batches() -> Any:
        yield pa.record_batch([pa.array([1])], names=["a"])
        raise OSError(FULL.format("x"))  # DuckDB's error, as pyarrow's reader raises it

    reader = pa.RecordBatchReader.from_batches(pa.schema([("a", pa.int64())]), batches())
    checked = duckdb_engine._checked(reader, tmp_path)
    assert next(checked).num_rows == 1
    with pytest.raises(EnvironmentProblem) as raised:
        next(checked)
    assert raised.value.file == str(tmp_path)


def test_a_send_stopped_by_a_full_disk_keeps_what_was_acknowledged(
    server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reverse_etl.pipeline.send as send

    from .test_sync import SECRET

    checked = duckdb_engine._checked

    def fills_up(reader: Any, folder: Path | None = None, **kwargs: Any) -> Any:
        for i, batch in enumerate(checked(reader, folder, **kwargs)):
            if i == 2:  # the third chunk of the plan's rows finds the disk full
                raise duckdb_engine._disk_full(OSError(FULL.format("x")), folder) or AssertionError
            yield batch

    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    monkeypatch.setattr(send, "STREAM_ROWS", 1000)
    monkeypatch.setattr(duckdb_engine, "_checked", fills_up)
    project = events_project(tmp_path / "p", server.base_url, rows=5000)
    with Project.load(project) as loaded, pytest.raises(EnvironmentProblem):
        loaded.sync()
    monkeypatch.setattr(duckdb_engine, "_checked", checked)
    with Project.load(project) as loaded:
        (scope,) = loaded.state_show()
        # What was acknowledged before the disk filled is kept: the first chunk at least; the
        # second may have been in flight (sent again below, deduplicated by its event_id).
        assert scope.rows in (1000, 2000)
        report = loaded.sync()
        (after,) = loaded.state_show()
    assert report.ok and report.results[0].sent == 5000 - scope.rows
    assert after.rows == 5000

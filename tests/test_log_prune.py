"""The delivery log's retention prune is a directory listing (issue #18): each log file is
named after the newest time it holds (the project's clock, which tests move), so the prune
at the end of every sync opens none of the ~2,900 files a month of 15-minute syncs keeps.
Only a file from an older retl, whose name holds no time, is read (its footer)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.history.records import ACCEPTED
from reverse_etl.state import logfiles
from reverse_etl.state.base import LogBatch
from reverse_etl.state.logfiles import LOG_SCHEMA, LogSegment, log_files, logged_until, prune
from reverse_etl.state.store import LocalStateStore

T0 = dt.datetime(2026, 11, 1, 12, 0, 0, 250000)


def rows(*times: dt.datetime) -> pa.Table:
    n = len(times)
    return pa.table(
        {
            "run_id": ["r"] * n,
            "destination": ["d"] * n,
            "row_key": [f"k{i}" for i in range(n)],
            "event_id": [None] * n,
            "outcome": [ACCEPTED] * n,
            "code": pa.nulls(n, pa.int64()),
            "message": pa.nulls(n, pa.string()),
            "request_id": pa.nulls(n, pa.string()),
            "logged_at": pa.array(times, pa.timestamp("us")),
        },
        schema=LOG_SCHEMA,
    )


def write_segment(directory: Path, name: str, *times: dt.datetime) -> Path:
    segment = LogSegment(directory, name)
    segment.write(rows(*times))
    segment.commit()
    return segment.final


def no_opening(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    opened: list[Path] = []
    real = pq.read_metadata

    def read_metadata(path: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(Path(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pq, "read_metadata", read_metadata)
    return opened


def test_a_file_is_named_after_its_newest_time(tmp_path: Path) -> None:
    later = T0 + dt.timedelta(hours=1, microseconds=7)
    path = write_segment(tmp_path, "0001-42-0", later, T0)
    assert path.name == "0001-42-0.until-20261101T130000250007.parquet"
    assert logged_until(path) == later
    assert pq.read_metadata(path).metadata[logfiles.LOGGED_UNTIL] == later.isoformat().encode()


def test_the_prune_lists_the_files_and_opens_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = write_segment(tmp_path, "0001-42-0", T0)
    new = write_segment(tmp_path, "0002-42-0", T0 + dt.timedelta(days=10))
    opened = no_opening(monkeypatch)
    assert prune(tmp_path, T0 + dt.timedelta(days=5)) == 1
    assert log_files(tmp_path) == [new] and not old.exists()
    assert opened == []
    # Named by time, a file's contents are not read at all: even one that no longer reads
    # as Parquet goes when its time has passed.
    new.write_bytes(b"not parquet")
    assert prune(tmp_path, T0 + dt.timedelta(days=11)) == 1
    assert log_files(tmp_path) == [] and opened == []


def test_a_file_from_an_older_retl_is_pruned_by_its_footer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What an older retl wrote: the journal's name only, the time in the footer.
    legacy = tmp_path / "0001-42-0.parquet"
    write_segment(tmp_path, "0001-42-0", T0).replace(legacy)
    unreadable = tmp_path / "0002-42-0.parquet"
    unreadable.write_bytes(b"not parquet")
    kept = write_segment(tmp_path, "0003-42-0", T0 + dt.timedelta(days=10))
    opened = no_opening(monkeypatch)
    assert prune(tmp_path, T0 + dt.timedelta(days=5)) == 1
    assert not legacy.exists()
    assert unreadable.exists() and kept.exists()  # never deleted blindly
    assert sorted(opened) == [legacy, unreadable]


def test_a_journal_folded_again_replaces_an_older_retl_s_file(tmp_path: Path) -> None:
    """A journal an older retl folded, and died before deleting: folded again, its rows are
    in the new file only, never in two."""
    legacy = tmp_path / "0001-42-0.parquet"
    write_segment(tmp_path, "0001-42-0", T0).replace(legacy)
    again = write_segment(tmp_path, "0001-42-0", T0)
    assert log_files(tmp_path) == [again]


def test_a_sync_s_log_file_carries_the_project_s_clock(tmp_path: Path) -> None:
    """The store's clock (the project's: tests move it) stamps the journal's rows, and so
    the file's name: a prune on that clock deletes it when its time is past."""
    moved = dt.datetime(2030, 6, 1, 8, 30, tzinfo=dt.timezone.utc)
    engine = DuckDBEngine()
    store = LocalStateStore(engine, tmp_path / "state.duckdb", clock=moved.timestamp)
    try:
        log = LogBatch("run-1", ACCEPTED, ["k1"], ["e1"])
        store.record_acknowledged("d", "s", ["k1"], ["h1"], log)
        store.compact("d", "s")
        (path,) = log_files(store.log_dir)
        assert logged_until(path) == moved.replace(tzinfo=None)
        assert ".until-20300601T083000000000." in path.name
        store.prune_history(moved.replace(tzinfo=None))
        assert log_files(store.log_dir) == [path]  # not before its own time
        store.prune_history(moved.replace(tzinfo=None) + dt.timedelta(microseconds=1))
        assert log_files(store.log_dir) == []
    finally:
        store.close()
        engine.close()

"""Files retl writes for itself and reads back through DuckDB (the plan's rows, the fold's
spool) are read as the one file they are, wherever the project lives. DuckDB's
``read_parquet`` expands ``*``, ``?`` and ``[...]`` anywhere in a path, so a project in a
folder named ``a*b`` read the same file of a sibling folder ``aXb`` as well
(``engine.duckdb.file_literal``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
import pytest

from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.engine.file_paths import file_literal
from reverse_etl.project import Project

from .test_sync import SECRET, events_project


@pytest.mark.parametrize("name", ["a*b", "a?b", "a[x]b", "a[b"])
def test_a_file_literal_reads_that_file_alone(tmp_path: Path, name: str) -> None:
    ours, sibling = tmp_path / name, tmp_path / "aXb"
    for folder, value in ((ours, 1), (sibling, 2), (tmp_path / "axb", 3)):
        folder.mkdir(exist_ok=True)
        duckdb.sql(f"COPY (SELECT {value} AS v) TO '{folder / 'f.parquet'}'")
    engine = DuckDBEngine()
    assert engine.rows(f"SELECT v FROM read_parquet({file_literal(ours / 'f.parquet')})") == [(1,)]
    engine.close()


def _synced(tmp_path: Path, server: Any, monkeypatch: pytest.MonkeyPatch, rows: int) -> Path:
    """A project in a folder named ``a*b``, synced once."""
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    project = events_project(tmp_path / "a*b" / "p", server.base_url, rows=rows)
    with Project.load(project) as loaded:
        assert loaded.sync().results[0].sent == rows
    return project


def _sibling(tmp_path: Path, path: Path) -> Path:
    """The same path in the sibling folder ``aXb``, which ``a*b`` matches as a glob."""
    return tmp_path / "aXb" / path.relative_to(tmp_path / "a*b")


def test_a_project_in_a_folder_named_with_a_glob_folds_only_its_own_spool(
    server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _synced(tmp_path, server, monkeypatch, rows=50)
    # A sibling project whose fold spool has this process's name, with rows of its own.
    (journal,) = (project / ".retl").rglob("*.acks")
    decoy = _sibling(tmp_path, journal) / f".fold-{os.getpid()}.parquet"
    decoy.parent.mkdir(parents=True)
    duckdb.sql(
        "COPY (SELECT 'not-ours-' || i AS row_key, '3:x' AS row_hash, "
        "TIMESTAMP '2026-12-01' AS synced_at, i AS pos FROM range(7) t(i)) "
        f"TO '{decoy}'"
    )
    with Project.load(project) as loaded:
        report = loaded.sync(full_refresh=True)  # folds again: 50 entries through the spool
        (scope,) = loaded.state_show()
    assert report.ok and report.results[0].sent == 50
    assert scope.rows == 50
    assert decoy.exists()  # the sibling's file is neither read nor removed


def test_a_project_in_a_folder_named_with_a_glob_reads_only_its_own_delivery_log(
    server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _synced(tmp_path, server, monkeypatch, rows=5)
    with Project.load(project) as loaded:
        assert len(loaded.deliveries("order-1")) == 1
    # A sibling project with log files of the same names (a copy of ours).
    (log,) = (project / ".retl").rglob("*.log")
    files = sorted(log.iterdir())
    assert files
    twin = _sibling(tmp_path, log)
    twin.mkdir(parents=True)
    for file in files:
        (twin / file.name).write_bytes(file.read_bytes())
    with Project.load(project) as loaded:
        assert len(loaded.deliveries("order-1")) == 1

"""A plan or sync whose statements DuckDB reran on one thread (out of memory on all of them,
within the same limit) says so once, with the setting that avoids it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

import reverse_etl.engine.duckdb as duckdb_engine
from reverse_etl.project import Project
from reverse_etl.reporting.console import NullConsole
from reverse_etl.sandbox import SandboxServer

from .test_sync import SECRET, events_project

# The plan's encode of a destination's rows: the wide statement that runs beside the model.
_ENCODE = "__change_in AS __change"


def _two_destinations(root: Path, base_url: str) -> Path:
    """The events project with a second destination reading the same model."""
    project = events_project(root, base_url)
    dests = project / "destinations.yml"
    lines = dests.read_text(encoding="utf-8").splitlines()
    copy = [line.replace("  tiktok:", "  tiktok_copy:") for line in lines[1:]]
    dests.write_text("\n".join([*lines, *copy]) + "\n", encoding="utf-8")
    return project


def _encode_needs_one_thread(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on every encode runs out of memory on more than one thread, as a wide encode
    beside a large join does; returns the thread counts each encode was run with."""
    run_sql = duckdb_engine.run_sql
    runs: list[int] = []

    def short_of_memory(
        con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        if _ENCODE in sql:
            (threads,) = con.execute("SELECT current_setting('threads')").fetchone() or (1,)
            runs.append(int(threads))
            if int(threads) > 1:
                raise duckdb.OutOfMemoryException("could not allocate block of size 256.0 KiB")
        return run_sql(con, sql, params)

    monkeypatch.setattr(duckdb_engine, "run_sql", short_of_memory)
    return runs


def _notes(console: NullConsole) -> list[str]:
    return [line for line in console.lines if "memory" in line]


NOTE = (
    "warning: DuckDB ran out of memory at 200MB on 4 threads and reran 2 statement(s) on one "
    "thread (slower): set a higher warehouse.memory_limit in retl_project.yml to keep every "
    "thread"
)


def test_a_plan_rerun_on_one_thread_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _two_destinations(tmp_path / "p", "http://127.0.0.1:9")
    console = NullConsole()
    with Project.load(project, console=console) as loaded:
        loaded.workbench.execute("SET threads = 4")
        assert len(loaded.plan()) == 2
        assert _notes(console) == []  # a normal run says nothing
        runs = _encode_needs_one_thread(monkeypatch)
        plans = loaded.plan()
        assert loaded.workbench.single_threaded == 2 and not loaded.workbench.memory_raised
    assert runs == [4, 4, 1, 4, 4, 1]  # each destination's encode, out of core, one thread
    assert [p.rows_to_send for p in plans] == [5, 5]
    assert _notes(console) == [NOTE]


def test_a_sync_rerun_on_one_thread_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: SandboxServer
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    normal = NullConsole()
    with Project.load(_two_destinations(tmp_path / "a", server.base_url), console=normal) as p:
        assert p.sync().ok
    assert _notes(normal) == []
    console = NullConsole()
    with Project.load(_two_destinations(tmp_path / "b", server.base_url), console=console) as p:
        p.workbench.execute("SET threads = 4")
        _encode_needs_one_thread(monkeypatch)
        report = p.sync()
    assert report.ok and [r.rows_new for r in report.results] == [5, 5]
    assert _notes(console) == [NOTE]

"""The workbench's scratch files (the plan's rows as Parquet, reverse_etl/engine/scratch.py):
removed when the workbench closes, and by the next workbench over the same folder when the
process that wrote them died first (a SIGKILL mid-sync)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.engine.scratch import PREFIX, ScratchFiles
from reverse_etl.pipeline.plan import release_rows
from reverse_etl.project import Project

from .test_sync import copy_demo


def _dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


def test_files_are_named_after_the_process_and_removed_on_close(tmp_path: Path) -> None:
    scratch = ScratchFiles(tmp_path / "tmp")
    first, second = scratch.new("a", ".parquet"), scratch.new("b", ".parquet")
    assert first != second
    assert first.parent == tmp_path / "tmp" and first.parent.is_dir()
    assert first.name.startswith(f"{PREFIX}{os.getpid()}-")
    first.write_bytes(b"x")
    second.write_bytes(b"x")
    scratch.discard("a")
    assert not first.exists() and second.exists()
    scratch.close()
    assert not second.exists()
    assert (tmp_path / "tmp").is_dir()  # the folder is the workbench's spill folder: kept


def test_a_dead_process_s_files_are_removed_by_the_next_workbench(tmp_path: Path) -> None:
    folder = tmp_path / "tmp"
    folder.mkdir()
    orphan = folder / f"{PREFIX}{_dead_pid()}-0.parquet"
    ours = folder / f"{PREFIX}{os.getpid()}-999.parquet"
    other = folder / "duckdb_temp_storage-0.tmp"  # not a scratch file: never touched
    for path in (orphan, ours, other):
        path.write_bytes(b"x")
    engine = DuckDBEngine(temp_directory=folder)
    assert not orphan.exists()
    assert ours.exists() and other.exists()
    engine.close()


def test_without_a_folder_the_files_go_to_a_private_one_removed_on_close() -> None:
    scratch = ScratchFiles(None)
    path = scratch.new("a", ".parquet")
    path.write_bytes(b"x")
    folder = scratch.folder
    scratch.close()
    assert not folder.exists()


def test_a_plan_reads_its_rows_from_a_scratch_file_and_a_sync_leaves_none(
    tmp_path: Path,
) -> None:
    root = copy_demo(tmp_path)
    with Project.load(root) as project:
        (plan,) = project.plan(sandbox=True)
        folder = project.workbench.scratch.folder
        (path,) = folder.glob(f"{PREFIX}*.parquet")
        assert project.workbench.rows(
            f"SELECT count(*) FROM read_parquet('{path}') WHERE __payload IS NOT NULL"
        ) == [(plan.rows_to_send,)]
        assert plan.rows_to_send == 6
        release_rows(
            project.workbench, plan.rows_table
        )  # what a payload lookup does (Project.payload)
        assert not path.exists()
        assert not project.workbench.rows(
            f"SELECT 1 FROM duckdb_views() WHERE view_name = '{plan.rows_table}'"
        )
    assert not list(folder.glob(f"{PREFIX}*"))
    with Project.load(root) as project:
        report = project.sync(sandbox=True)
        folder = project.workbench.scratch.folder
    assert report.results[0].sent == 6
    assert folder == root / ".retl" / "tmp"
    assert not list(folder.glob(f"{PREFIX}*"))

"""The records of runs the lock refused (history/refused.py) are kept as long as the history
keeps its runs, then removed, so a schedule that keeps meeting a held lock does not pile
files up in the state folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest

from reverse_etl.history.records import RunRecord
from reverse_etl.history.refused import prune_refused, read_refused, write_refused

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.timezone.utc)


def _refused(run_id: str, started: dt.datetime) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        started_at=started,
        ended_at=started,
        command="retl sync",
        destinations=(),
        sent=0,
        rejected=0,
        skipped_invalid=0,
        failed=0,
        exit_code=1,
        retl_version="0",
        sandbox=False,
        refused="another retl sync is running on this state (pid 1 on h since x)",
    )


def test_records_older_than_the_retention_are_removed_and_newer_ones_kept(tmp_path: Path) -> None:
    old = write_refused(tmp_path, _refused("old", NOW - dt.timedelta(days=31)))
    new = write_refused(tmp_path, _refused("new", NOW - dt.timedelta(days=29)))
    (tmp_path / "unreadable.refused.json").write_text("{")  # not ours to judge: left
    prune_refused(tmp_path, (NOW - dt.timedelta(days=30)).replace(tzinfo=None))
    assert not old.exists() and new.exists()
    assert (tmp_path / "unreadable.refused.json").exists()
    assert [r.run_id for r in read_refused(tmp_path, NOW - dt.timedelta(days=365))] == ["new"]


def test_the_run_list_reads_only_the_newest_records(
    tmp_path: Path, make_project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout's state folder held 50,000 records: each list of the last 50 runs (the web
    page's Runs page) read every one, 14 seconds a page. The newest are read, told by their
    names, and a few more (runs of one second); a run looked up by id reads its own."""
    from reverse_etl.history import refused
    from reverse_etl.pipeline.history import runs_folder
    from reverse_etl.project import Project

    root = make_project(tmp_path, {"models/m.sql": "select 1 as x"})
    read: list[bytes] = []

    class Counting:
        dumps = staticmethod(orjson.dumps)
        JSONDecodeError = orjson.JSONDecodeError
        OPT_INDENT_2 = orjson.OPT_INDENT_2

        @staticmethod
        def loads(data: bytes) -> Any:
            read.append(data)
            return orjson.loads(data)

    def run_id(at: dt.datetime, rest: str = "aaaaaa") -> str:
        return at.strftime("%Y%m%dT%H%M%SZ-") + rest

    with Project.load(root) as p:
        start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=1)
        for i in range(40):
            at = start + dt.timedelta(seconds=i)
            write_refused(runs_folder(p), _refused(run_id(at), at))
        twin = start + dt.timedelta(seconds=38)  # a second run in the second of the next-newest
        write_refused(runs_folder(p), _refused(run_id(twin, "bbbbbb"), twin))
        monkeypatch.setattr(refused, "orjson", Counting)
        runs = p.runs(limit=2)
        assert [r.run_id for r in runs] == [
            run_id(start + dt.timedelta(seconds=39)),
            run_id(twin, "bbbbbb"),
        ]
        assert len(read) < 20  # of 41
        read.clear()
        oldest = run_id(start)
        detail = p.run_detail(oldest)
        assert detail is not None and detail.run.run_id == oldest
        assert len(read) == 1

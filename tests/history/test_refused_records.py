"""The records of runs the lock refused (history/refused.py) are kept as long as the history
keeps its runs, then removed, so a schedule that keeps meeting a held lock does not pile
files up in the state folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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

"""The lock's info file is read as data by `retl runs` and retl ui: a garbled one (by hand, a
disk's damage) names no run, or fewer details, and never fails the readers."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest

from reverse_etl.state.lock import SyncLock

HOST = socket.gethostname()
RUN = '{"run_id": "r1", "command": "retl sync", "started_at": '


def _holder(tmp_path: Path, text: str) -> object:
    state = tmp_path / "state.duckdb"
    state.with_name("state.duckdb.lock.info").write_text(text, encoding="utf-8")
    return SyncLock.holder(state)


@pytest.mark.parametrize(
    "text",
    [
        f"pid 99999999999999999999 on {HOST} since 2026-01-01T00:00:00+00:00\n",
        f"pid 1 on {HOST} since x\n" + "[" * 100_000 + "\n",
    ],
)
def test_a_garbled_info_file_names_no_run(tmp_path: Path, text: str) -> None:
    holder = _holder(tmp_path, text)
    assert holder is None or getattr(holder, "run_id", None) is None


def test_a_start_without_its_offset_is_not_said(tmp_path: Path) -> None:
    # the runs' starts are UTC's: a naive one failed `retl runs` (TypeError on sorting)
    holder = _holder(tmp_path, f'pid 1 on {HOST} since x\n{RUN}"2026-01-01T00:00:00"}}\n')
    assert getattr(holder, "run_id", None) == "r1"
    assert getattr(holder, "since", "?") is None
    aware = _holder(tmp_path, f'pid 1 on {HOST} since x\n{RUN}"2026-01-01T00:00:00+00:00"}}\n')
    assert getattr(aware, "since", None) == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    "since",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00", "2026-01-01T00:00:00", "x"],
)
def test_a_refusal_by_a_garbled_info_file_says_no_start(tmp_path: Path, since: str) -> None:
    """A start UTC cannot hold (year 1 east of UTC) raised OverflowError, a traceback,
    instead of the refusal that names the holder."""
    from reverse_etl.errors import LockHeldError

    state = tmp_path / "state.duckdb"
    with SyncLock(state):
        info = state.with_name("state.duckdb.lock.info")
        info.write_text(f"pid 1 on {HOST} since {since}\n", encoding="utf-8")
        with pytest.raises(LockHeldError) as caught, SyncLock(state):
            pass
    assert caught.value.held_since is None
    assert f"since {since})" in caught.value.message

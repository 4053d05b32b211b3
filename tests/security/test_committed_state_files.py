"""Files of the state folder a pull request committed: ``retl runs`` and ``retl ui`` read the
run history from ``.retl/``, and a checkout can hold anything there. A pipe (or a symbolic
link to a device) where a refused run's record, a run report, the lock's info file, a
delivery-log file or the sandbox's feed goes made ``retl runs``, and every page of
``retl ui`` that reads it, block forever (a link to ``/dev/zero`` grew without limit: 3.7 GB
in seconds). Each is now left out as unreadable, and the rest of the history still reads."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reverse_etl.project import Project
from reverse_etl.sandbox import feed as feed_module
from reverse_etl.sandbox.feed import feed_path, read_feed
from tests.test_sync import events_project

RECORDS = "20990101T000000Z-aaaaaa"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project synced once to the sandbox: one run in its history, with its report."""
    root = events_project(tmp_path_factory.mktemp("committed") / "p", "http://127.0.0.1:9")
    with Project.load(root) as p:
        assert p.sync(sandbox=True).results[0].sent == 5
    return root


def _finishes(fn: Callable[[], Any], pipes: list[Path]) -> Any:
    """``fn()``'s result; fails (rather than hangs) when it blocks on one of ``pipes``, then
    unblocks it (a writer opens and closes the pipe: the reader sees its end)."""
    found: list[Any] = []
    worker = threading.Thread(target=lambda: found.append(fn()), daemon=True)
    worker.start()
    worker.join(120)  # a guard against a hang, not a measure of speed
    blocked = worker.is_alive()
    for pipe in pipes:
        if blocked:
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
    worker.join(120)
    assert not blocked, "blocked on a pipe in the state folder"
    return found[0]


@pytest.fixture
def pipe(project: Path) -> Iterator[Callable[[Path], Path]]:
    made: list[Path] = []

    def make(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        made.append(path)
        return path

    yield make
    for path in made:
        path.unlink(missing_ok=True)


@pytest.mark.parametrize(
    "where",
    [
        f"runs/{RECORDS}.refused.json",
        f"runs/{RECORDS}.reset.json",
        "sandbox-state.duckdb.lock.info",
        f"sandbox-state.duckdb.log/x.until-{RECORDS[:15]}000000.parquet",
    ],
)
def test_a_pipe_in_the_state_folder_leaves_the_run_list_readable(
    project: Path, pipe: Callable[[Path], Path], where: str
) -> None:
    fifo = pipe(project / ".retl" / where)
    with Project.load(project) as p:
        runs = _finishes(p.runs, [fifo])
    assert [r.sent for r in runs] == [5]


def test_a_pipe_for_a_run_report_leaves_the_run_readable(
    project: Path, pipe: Callable[[Path], Path]
) -> None:
    with Project.load(project) as p:
        (run,) = p.runs()
        report = project / ".retl" / "runs" / f"{run.run_id}.json"
        kept = report.read_bytes()
        report.unlink()
        try:
            fifo = pipe(report)
            detail = _finishes(lambda: p.run_detail(run.run_id), [fifo])
        finally:
            report.unlink(missing_ok=True)
            report.write_bytes(kept)
    assert detail is not None and detail.error == () and detail.run.sent == 5


def test_a_pipe_for_the_sandbox_feed_shows_no_event(
    project: Path, pipe: Callable[[Path], Path]
) -> None:
    feed = feed_path(project / ".retl")
    aside = feed.with_name(feed.name + ".aside")
    if feed.exists():
        feed.replace(aside)
    try:
        fifo = pipe(feed)
        assert _finishes(lambda: read_feed(feed), [fifo]) == []
    finally:
        feed.unlink(missing_ok=True)
        if aside.exists():
            aside.replace(feed)


def test_a_feed_file_is_read_back_only_so_far(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A committed feed of one endless line was read whole, backwards, each time the page
    refreshed (every second), copying what it had read at each step. Lines past the last
    MAX_TAIL_BYTES are not read."""
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b'{"id": "a"}\n' + b"x" * (1024 * 1024) + b'\n{"id": "b"}\n{"id": "c"}\n')
    assert [e["id"] for e in read_feed(feed)] == ["c", "b", "a"]
    monkeypatch.setattr(feed_module, "MAX_TAIL_BYTES", 64 * 1024, raising=False)
    assert [e["id"] for e in read_feed(feed)] == ["c", "b"]

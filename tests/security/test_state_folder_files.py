"""The files of the state folder (``.retl/``) from an untrusted pull request: it can commit
any of them as a pipe (a read of it blocked: a CI job ran to its timeout), as a symbolic link
to a device, or as a symbolic link to a file outside the project (``~/.bashrc``), which retl
wrote through (the lock's info file, the unchanged-inputs record, DuckDB's write-ahead log).
Each read below is refused (or the optional file ignored), each write leaves the link's
target as it was."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pytest

from reverse_etl import project_files
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.errors import LockError, StateDamagedError, StateError
from reverse_etl.history.records import RunRecord
from reverse_etl.history.refused import read_refused, write_refused
from reverse_etl.pipeline.report import SyncReport, write_report
from reverse_etl.pipeline.runs import _said
from reverse_etl.pipeline.unchanged import CleanDiff
from reverse_etl.sandbox.feed import SandboxFeed, read_feed
from reverse_etl.state.lock import SyncLock
from reverse_etl.state.store import LocalStateStore
from tests.history.test_refused_records import _refused

T = TypeVar("T")
VICTIM = b"export PATH=$HOME/bin:$PATH\n"
SAFETY_NET_SECONDS = 30  # no timing assertion: the calls take milliseconds


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside the state folder that a pull request's link points at."""
    path = tmp_path / "home" / ".bashrc"
    path.parent.mkdir()
    path.write_bytes(VICTIM)
    return path


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "project" / ".retl"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def pipes() -> Iterator[list[Path]]:
    """The pipes a test made: a reader still blocked on one (the defect) is let go at the
    end, so that the failing test does not leave a thread blocked forever."""
    made: list[Path] = []
    yield made
    for pipe in made:
        with contextlib.suppress(OSError):
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))


def _pipe(path: Path, pipes: list[Path]) -> Path:
    os.mkfifo(path)
    pipes.append(path)
    return path


def _bounded(call: Callable[[], T]) -> T:
    """``call``'s result, run in a thread. The join's timeout is a safety net only: a call
    that blocks on a pipe fails the test instead of hanging the suite."""
    result: list[Any] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(call())
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=SAFETY_NET_SECONDS)
    if thread.is_alive():
        pytest.fail("the call blocked on a pipe of the state folder")
    if error:
        raise error[0]
    return result[0]


# --- project_files ------------------------------------------------------------------------


def test_open_regular_refuses_a_pipe_without_blocking(tmp_path: Path, pipes: list[Path]) -> None:
    pipe = _pipe(tmp_path / "p", pipes)
    with pytest.raises(OSError, match="not a regular file"):
        _bounded(lambda: project_files.open_regular(pipe))


def test_write_atomic_replaces_a_link_and_leaves_its_target(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "f.json"
    link.symlink_to(victim)
    project_files.write_atomic(link, b"{}")
    assert not link.is_symlink() and link.read_bytes() == b"{}"
    assert victim.read_bytes() == VICTIM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json", "home"]  # no temp left


def test_open_append_refuses_a_link_and_a_pipe(
    tmp_path: Path, victim: Path, pipes: list[Path]
) -> None:
    link = tmp_path / "feed.jsonl"
    link.symlink_to(victim)
    with pytest.raises(OSError, match="symbolic link"):
        project_files.open_append(link)
    pipe = _pipe(tmp_path / "p", pipes)
    with pytest.raises(OSError):
        _bounded(lambda: project_files.open_append(pipe))
    assert victim.read_bytes() == VICTIM


# --- the lock's info file -------------------------------------------------------------------


def test_the_lock_info_file_as_a_pipe_names_no_holder(state_dir: Path, pipes: list[Path]) -> None:
    state = state_dir / "state.duckdb"
    _pipe(state_dir / "state.duckdb.lock.info", pipes)
    assert _bounded(lambda: SyncLock.holder(state)) is None


def test_the_lock_info_file_as_a_link_to_a_device_names_no_holder(state_dir: Path) -> None:
    state = state_dir / "state.duckdb"
    (state_dir / "state.duckdb.lock.info").symlink_to("/dev/zero")
    assert SyncLock.holder(state) is None


def test_a_sync_does_not_write_through_a_linked_lock_info_file(
    state_dir: Path, victim: Path
) -> None:
    state = state_dir / "state.duckdb"
    info = state_dir / "state.duckdb.lock.info"
    info.symlink_to(victim)
    with SyncLock(state, ("r1", "sync")):
        assert "pid" in info.read_text(encoding="utf-8") and not info.is_symlink()
        holder = SyncLock.holder(state)
        assert holder is not None and holder.run_id == "r1"
    assert victim.read_bytes() == VICTIM


def test_a_folder_where_the_lock_s_info_file_goes_is_said_and_the_lock_let_go(
    state_dir: Path,
) -> None:
    """A pull request's folder where the lock's info file goes: one located message and its
    fix, as for the lock file itself (it was 'unexpected IsADirectoryError ... a bug in
    retl'), and the lock just taken is let go (it stayed held by the failed sync)."""
    state = state_dir / "state.duckdb"
    info = state_dir / "state.duckdb.lock.info"
    (info / "x").mkdir(parents=True)
    failed = SyncLock(state, ("r1", "sync"))
    with pytest.raises(LockError, match="a folder is where its info file goes") as raised:
        failed.__enter__()  # as `with` does: __exit__ is not called when it raises
    assert raised.value.hint is not None and "move that path away" in raised.value.hint
    (info / "x").rmdir()
    info.rmdir()
    with SyncLock(state, ("r2", "sync")):  # not held by the failed one (still referenced)
        holder = SyncLock.holder(state)
        assert holder is not None and holder.run_id == "r2"
    assert failed is not None


# --- the unchanged-inputs record ------------------------------------------------------------


def _clean(record: Path) -> CleanDiff:
    return CleanDiff(record, "k", "inputs", "state", [], [])


def test_the_unchanged_record_as_a_pipe_is_no_record(state_dir: Path, pipes: list[Path]) -> None:
    record = _pipe(state_dir / "state.duckdb.unchanged.json", pipes)
    assert _bounded(lambda: _clean(record).known_rows()) is None


def test_the_unchanged_record_is_not_written_through_a_link(state_dir: Path, victim: Path) -> None:
    record = state_dir / "state.duckdb.unchanged.json"
    record.symlink_to(victim)
    _clean(record).remember(7)
    assert victim.read_bytes() == VICTIM
    assert _clean(record).known_rows() == 7


def test_the_unchanged_record_is_not_written_through_a_linked_temp_file(
    state_dir: Path, victim: Path
) -> None:
    # the temporary file had a name a pull request could commit: the process's id
    record = state_dir / "state.duckdb.unchanged.json"
    (state_dir / f".{record.name}.{os.getpid()}.tmp").symlink_to(victim)
    _clean(record).remember(7)
    assert victim.read_bytes() == VICTIM
    assert _clean(record).known_rows() == 7


# --- run reports and the refused runs' records ----------------------------------------------


def test_a_run_report_is_not_written_through_a_linked_partial_file(
    state_dir: Path, victim: Path
) -> None:
    runs = state_dir / "runs"
    runs.mkdir()
    report = SyncReport(plans=[], sandbox=False, run_id="20260101T000000Z-abcdef")
    (runs / f".{report.run_id}.json.partial").symlink_to(victim)
    path = write_report(runs, report)
    assert victim.read_bytes() == VICTIM
    assert b"abcdef" in path.read_bytes()


def test_a_run_report_that_is_a_pipe_says_nothing(state_dir: Path, pipes: list[Path]) -> None:
    report = _pipe(state_dir / "r.json", pipes)
    assert _bounded(lambda: _said(report, state_dir.parent)) == ((), None)


def _run() -> RunRecord:
    return _refused("r-1", dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))


def test_a_refused_runs_record_is_not_written_through_a_linked_partial_file(
    state_dir: Path, victim: Path
) -> None:
    runs = state_dir / "runs"
    runs.mkdir()
    (runs / ".r-1.refused.json.partial").symlink_to(victim)
    write_refused(runs, _run())
    assert victim.read_bytes() == VICTIM
    assert [r.run_id for r in read_refused(runs, dt.datetime(2025, 1, 1))] == ["r-1"]


def test_a_refused_runs_record_that_is_a_pipe_is_left_out(
    state_dir: Path, pipes: list[Path]
) -> None:
    runs = state_dir / "runs"
    runs.mkdir()
    write_refused(runs, _run())
    _pipe(runs / "r-0.refused.json", pipes)
    found = _bounded(lambda: read_refused(runs, dt.datetime(2025, 1, 1)))
    assert [r.run_id for r in found] == ["r-1"]


# --- the sandbox's feed ---------------------------------------------------------------------


def test_the_feed_is_not_appended_through_a_link(state_dir: Path, victim: Path) -> None:
    feed = state_dir / "sandbox" / "feed.jsonl"
    feed.parent.mkdir()
    feed.symlink_to(victim)
    SandboxFeed(feed)._append(b'{"id": "x"}\n')
    assert victim.read_bytes() == VICTIM


def test_a_feed_that_is_a_pipe_reads_as_empty(state_dir: Path, pipes: list[Path]) -> None:
    feed = state_dir / "sandbox" / "feed.jsonl"
    feed.parent.mkdir()
    _pipe(feed, pipes)
    assert _bounded(lambda: read_feed(feed)) == []


# --- the state database's write-ahead log ---------------------------------------------------


def _make_state(path: Path) -> None:
    engine = DuckDBEngine()
    try:
        LocalStateStore(engine, path).close()
    finally:
        engine.close()


def _open(path: Path, read_only: bool) -> None:
    engine = DuckDBEngine()
    try:
        LocalStateStore(engine, path, read_only=read_only).close()
    finally:
        engine.close()


@pytest.mark.parametrize("read_only", [True, False])
def test_a_write_ahead_log_that_is_a_pipe_is_refused(
    state_dir: Path, pipes: list[Path], read_only: bool
) -> None:
    state = state_dir / "state.duckdb"
    _make_state(state)
    _pipe(state_dir / "state.duckdb.wal", pipes)
    with pytest.raises(StateDamagedError, match=r"state\.duckdb\.wal is not a regular file"):
        _bounded(lambda: _open(state, read_only))


def test_a_write_ahead_log_linked_outside_is_refused_and_not_written(
    state_dir: Path, victim: Path
) -> None:
    state = state_dir / "state.duckdb"
    _make_state(state)
    (state_dir / "state.duckdb.wal").symlink_to(victim)
    with pytest.raises(StateDamagedError, match="symbolic link"):
        _open(state, read_only=False)
    assert victim.read_bytes() == VICTIM


def test_a_state_file_linked_to_a_missing_file_outside_is_refused(
    state_dir: Path, tmp_path: Path
) -> None:
    state = state_dir / "state.duckdb"
    state.symlink_to(tmp_path / "elsewhere.duckdb")
    with pytest.raises(StateDamagedError, match="symbolic link") as raised:
        _open(state, read_only=False)
    assert not (tmp_path / "elsewhere.duckdb").exists()
    # a state a user linked to another disk: the hint moves it, it does not offer a reset,
    # which would send every row again
    assert raised.value.hint is not None and "state.path" in raised.value.hint
    assert "reset" not in raised.value.hint and "damaged" not in str(raised.value)


# --- the folders of the state folder --------------------------------------------------------
# A pull request can commit .retl/runs, .retl/tmp, state.duckdb.log/ ... as a symbolic link to
# a folder outside the project: retl would create files there and delete files from it (the
# delivery log's prune, the scratch files' cleanup, the refused runs' records' prune).


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the project that a pull request's link points at."""
    path = tmp_path / "elsewhere"
    path.mkdir()
    return path


def _linked(folder: Path, target: Path) -> Path:
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.symlink_to(target, target_is_directory=True)
    return folder


OLD_LOG = "00000000000000000001-1-0.until-20200101T000000000000.parquet"


def test_the_log_prune_does_not_delete_through_a_linked_folder(
    state_dir: Path, outside: Path
) -> None:
    from reverse_etl.state.logfiles import prune

    (outside / OLD_LOG).write_bytes(b"PAR1")  # judged old by its name
    log = _linked(state_dir / "state.duckdb.log", outside)
    with pytest.raises(StateError, match=r"state\.duckdb\.log in the state folder is a symbolic"):
        prune(log, dt.datetime(2026, 1, 1))
    assert (outside / OLD_LOG).exists()


def test_a_state_whose_log_or_journal_folder_is_a_link_is_refused(
    state_dir: Path, outside: Path
) -> None:
    state = state_dir / "state.duckdb"
    _make_state(state)
    for name in ("state.duckdb.log", "state.duckdb.acks"):
        link = _linked(state_dir / name, outside)
        with pytest.raises(StateError, match=rf"{name} in the state folder is a symbolic link"):
            _open(state, read_only=False)
        link.unlink()
    assert list(outside.iterdir()) == []


def test_a_journal_is_not_created_in_a_linked_folder(state_dir: Path, outside: Path) -> None:
    from reverse_etl.state.journal import JournalWriter

    acks = _linked(state_dir / "state.duckdb.acks", outside)
    with pytest.raises(StateError, match="symbolic link"):
        JournalWriter.create(acks, "tt", "scope")
    assert list(outside.iterdir()) == []


def test_dead_processes_scratch_files_are_not_removed_through_a_linked_folder(
    state_dir: Path, outside: Path
) -> None:
    from reverse_etl.engine.scratch import PREFIX, remove_orphans
    from tests.test_scratch_files import _dead_pid

    theirs = outside / f"{PREFIX}{_dead_pid()}-0.parquet"
    theirs.write_bytes(b"x")
    remove_orphans(_linked(state_dir / "tmp", outside))
    assert theirs.exists()


def test_duckdb_does_not_spill_into_a_linked_tmp_folder(state_dir: Path, outside: Path) -> None:
    tmp = _linked(state_dir / "tmp", outside)
    with pytest.raises(StateError, match=r"tmp in the state folder is a symbolic link"):
        DuckDBEngine(temp_directory=tmp).close()


def test_an_extension_is_not_copied_through_a_link(state_dir: Path, victim: Path) -> None:
    (state_dir / "tmp" / "extensions").mkdir(parents=True)
    dst = state_dir / "tmp" / "extensions" / "sqlite_scanner.duckdb_extension"
    dst.symlink_to(victim)
    engine = DuckDBEngine(temp_directory=state_dir / "tmp")
    try:
        engine._load_extension("sqlite")
    finally:
        engine.close()
    assert victim.read_bytes() == VICTIM
    assert not dst.is_symlink() and dst.stat().st_size > len(VICTIM)


def test_a_run_report_is_not_written_into_a_linked_runs_folder(
    state_dir: Path, outside: Path
) -> None:
    runs = _linked(state_dir / "runs", outside)
    report = SyncReport(plans=[], sandbox=False, run_id="20260101T000000Z-abcdef")
    with pytest.raises(StateError, match=r"runs in the state folder is a symbolic link"):
        write_report(runs, report)
    assert list(outside.iterdir()) == []


def test_refused_runs_records_are_not_pruned_through_a_linked_runs_folder(
    state_dir: Path, outside: Path
) -> None:
    from reverse_etl.history.refused import prune_refused

    write_refused(outside, _run())
    before = sorted(outside.iterdir())
    runs = _linked(state_dir / "runs", outside)
    with pytest.raises(StateError, match="symbolic link"):
        prune_refused(runs, dt.datetime(2027, 1, 1))
    assert sorted(outside.iterdir()) == before


def test_the_feed_is_not_written_into_a_linked_sandbox_folder(
    state_dir: Path, outside: Path
) -> None:
    sandbox = _linked(state_dir / "sandbox", outside)
    SandboxFeed(sandbox / "feed.jsonl")._append(b'{"id": "x"}\n')
    assert list(outside.iterdir()) == []


def _project(tmp_path: Path) -> Path:
    from tests.test_sync import copy_demo

    return copy_demo(tmp_path)


@pytest.mark.parametrize("name", project_files.STATE_SUBFOLDERS)
def test_loading_a_project_refuses_a_linked_folder_of_its_state_folder(
    tmp_path: Path, outside: Path, name: str
) -> None:
    from reverse_etl.project import Project

    root = _project(tmp_path)
    _linked(root / ".retl" / name, outside)
    with pytest.raises(StateError) as caught:
        Project.load(root)
    said = str(caught.value)
    assert f"{name.rsplit('/', 1)[-1]} in the state folder is a symbolic link" in said
    assert "delete it" in said and "state.path" in said


def test_loading_a_project_refuses_a_file_where_a_folder_of_the_state_folder_goes(
    tmp_path: Path,
) -> None:
    from reverse_etl.project import Project

    root = _project(tmp_path)
    (root / ".retl").mkdir()
    (root / ".retl" / "runs").write_bytes(b"")
    with pytest.raises(StateError, match="runs in the state folder is not a folder"):
        Project.load(root)


def test_loading_a_project_whose_state_folder_cannot_be_searched_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another user's .retl (mode 0700, say a CI user's): validate, compile and show need no
    # state and worked; the check at load made each stop with "permission denied". (The test
    # runs as root too, where the mode alone would not deny the look: the refusal is made so.)
    from reverse_etl.project import Project

    root = _project(tmp_path)
    state = root / ".retl"
    state.mkdir()
    real = os.lstat

    def denied(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if Path(path).parent == state or state in Path(path).parents:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(project_files.os, "lstat", denied)
    with Project.load(root) as project:
        assert project.state_dir == state


def test_a_state_folder_that_is_itself_a_link_to_an_allowed_folder_is_kept(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reverse_etl.engine.file_rule import ALLOWED_PATHS_ENV
    from reverse_etl.project import Project

    root = _project(tmp_path)
    (outside / "runs").mkdir()
    (root / ".retl").symlink_to(outside, target_is_directory=True)
    monkeypatch.setenv(ALLOWED_PATHS_ENV, str(outside))
    with Project.load(root) as project:
        assert project.state_dir.resolve() == outside.resolve()


# --- the delivery log's files ---------------------------------------------------------------


def test_a_log_segment_is_not_written_through_a_linked_partial_file(
    state_dir: Path, victim: Path
) -> None:
    from reverse_etl.state.logfiles import LOG_SCHEMA, LogSegment

    log = state_dir / "state.duckdb.log"
    log.mkdir()
    segment = LogSegment(log, "00000000000000000001-1-0")
    segment.partial.symlink_to(victim)
    row = {f.name: None for f in LOG_SCHEMA}
    row.update(run_id="r", logged_at=dt.datetime(2026, 1, 1))
    segment.write(pa.Table.from_pylist([row], schema=LOG_SCHEMA))
    segment.commit()
    assert victim.read_bytes() == VICTIM
    assert segment.final.is_file() and not segment.partial.exists()


def test_a_log_file_that_is_a_pipe_is_left_out_with_a_warning(
    state_dir: Path, pipes: list[Path]
) -> None:
    state = state_dir / "state.duckdb"
    _make_state(state)
    (state_dir / "state.duckdb.log").mkdir()
    _pipe(state_dir / "state.duckdb.log" / "old.parquet", pipes)  # no time in its name
    engine = DuckDBEngine()
    try:
        store = LocalStateStore(engine, state, read_only=True)
        try:
            _bounded(lambda: store.history_relation("delivery_log"))
            assert any("not a regular file" in w for w in store.warnings)
        finally:
            store.close()
    finally:
        engine.close()


def test_the_log_prune_does_not_read_a_pipe(state_dir: Path, pipes: list[Path]) -> None:
    from reverse_etl.state.logfiles import prune

    log = state_dir / "state.duckdb.log"
    log.mkdir()
    _pipe(log / "old.parquet", pipes)  # no time in its name: the footer would be read
    assert _bounded(lambda: prune(log, dt.datetime(2026, 1, 1))) == 0


def test_a_journal_that_is_a_pipe_is_not_read(state_dir: Path, pipes: list[Path]) -> None:
    from reverse_etl.state.journal import SUFFIX, journal_files

    acks = state_dir / "state.duckdb.acks"
    acks.mkdir()
    _pipe(acks / f"00000000000000000001-1-0{SUFFIX}", pipes)
    assert _bounded(lambda: journal_files(acks)) == []


def test_every_folder_retl_keeps_in_the_state_folder_is_checked(tmp_path: Path) -> None:
    """A folder a new feature keeps in the state folder must join STATE_SUBFOLDERS, or a
    pull request's link there goes unchecked until the place that uses it."""
    import inspect

    from reverse_etl.pipeline import stores
    from reverse_etl.pipeline.history import runs_folder
    from reverse_etl.project import Project
    from reverse_etl.sandbox.feed import feed_path

    root = _project(tmp_path)
    (root / ".retl").mkdir()
    with Project.load(root) as project:
        state = project.state_dir
        used = {runs_folder(project), feed_path(state).parent, project._spill_dir()}
        for sandbox in (False, True):
            engine = DuckDBEngine()
            try:
                file = stores.state_file(project, sandbox=sandbox)
                store = LocalStateStore(engine, file, read_only=True)
                used |= {store.journal_dir, store.log_dir}
                store.close()
            finally:
                engine.close()
    assert '"warehouse-state.acks"' in inspect.getsource(stores._warehouse_state)
    named = {p.relative_to(state).as_posix() for p in used} | {"warehouse-state.acks"}
    assert named | {"tmp/extensions"} == set(project_files.STATE_SUBFOLDERS)


# --- the files' permissions ------------------------------------------------------------------


@pytest.fixture
def group_umask() -> Iterator[int]:
    """A team's umask (002: the group may read and write what each member's retl writes)."""
    old = os.umask(0o002)
    try:
        yield 0o002
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_the_state_folder_s_files_take_the_umask_s_permissions_as_before(
    state_dir: Path, group_umask: int
) -> None:
    """A run report, a refused run's record, the lock's info file and the unchanged record
    are created as DuckDB creates the state file beside them (0666 less the umask), as they
    were before write_atomic: not 0600, which locked out the team's other members (`retl
    runs` showed no report; a sync stopped by another's lock could not name its holder)."""
    expected = 0o666 & ~group_umask
    runs = state_dir / "runs"
    runs.mkdir()
    report = write_report(runs, SyncReport(plans=[], sandbox=False, run_id="r-2"))
    refused = write_refused(runs, _run())
    state = state_dir / "state.duckdb"
    with SyncLock(state, ("r1", "sync")):
        info = _mode(state_dir / "state.duckdb.lock.info")
    record = state_dir / "state.duckdb.unchanged.json"
    _clean(record).remember(7)
    plain = state_dir / "plain.json"
    project_files.write_atomic(plain, b"{}")
    modes = {p.name: _mode(p) for p in (report, refused, record, plain)}
    assert modes == dict.fromkeys(modes, expected) and info == expected


def test_an_extensions_copy_has_the_mode_a_plain_copy_gives_it(state_dir: Path) -> None:
    """mkstemp made it 0600: another user's retl sharing the folder found it at its size
    and could not load it."""
    dst = state_dir / "tmp" / "extensions" / "sqlite_scanner.duckdb_extension"
    said = os.umask(0o022)
    try:
        engine = DuckDBEngine(temp_directory=state_dir / "tmp")
        try:
            engine._load_extension("sqlite")
        finally:
            engine.close()
    finally:
        os.umask(said)
    assert dst.stat().st_mode & 0o777 == 0o644

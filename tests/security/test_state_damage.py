"""Damaged state is said truthfully (issue #12, item 7).

A state file with random bytes in one block was reported as "in use by another retl process"
(the check looked for "lock" in DuckDB's message, and "in block at location" has one); a file
cut short surfaced as a raw IO error; `retl state reset` could not open either. A damaged
acknowledgement journal was dropped without a word. Now: a damaged or truncated file is
named as damaged with the way out, reset sets it aside (nothing deleted), a really locked
file is still "in use", and a damaged journal gives up what it can with a warning that says
what is lost and what will be sent again.

What DuckDB 1.5.5 raises, reproduced here: a duckdb.IOException in all four cases (locked,
overwritten block, cut short, not a DuckDB file), told apart by how the message starts.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.errors import EngineError, StateDamagedError, StateError
from reverse_etl.project import Project
from reverse_etl.state.store import LocalStateStore
from tests.conftest import CliResult
from tests.test_sync import events_project

ROWS = 3000
HEADER = 3 * 4096  # DuckDB's file header; the numbered blocks follow it
DAMAGED_HINT = "move it away or restore it; 'retl state reset --sandbox' starts over"

Cli = Callable[..., CliResult]


def _noise(n: int = 4096) -> bytes:
    return random.Random(12).randbytes(n)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project synced once to the sandbox: its state holds ROWS acknowledged keys."""
    root = events_project(tmp_path / "p", "http://127.0.0.1:9", rows=ROWS)
    with Project.load(root) as p:
        assert p.sync(sandbox=True).results[0].sent == ROWS
    return root


def _state(project: Path) -> Path:
    return project / ".retl" / "sandbox-state.duckdb"


def _block_offset(state: Path, table: str) -> int:
    """Where in the file the first data block of ``table`` starts (a block in use: random
    bytes in a free block would rightly go unnoticed)."""
    with duckdb.connect(str(state), read_only=True) as con:
        (size,) = con.execute("SELECT block_size FROM pragma_database_size()").fetchone() or (0,)
        rows = con.execute(
            f"SELECT block_id, block_offset FROM pragma_storage_info('{table}') "
            "WHERE block_id >= 0 ORDER BY block_id, block_offset LIMIT 1"
        ).fetchall()
    ((block, offset),) = rows
    return HEADER + int(block) * int(size) + int(offset)


def _overwrite(path: Path, offset: int, data: bytes) -> bytes:
    """Overwrite bytes of ``path`` in place; returns the damaged file's content."""
    content = bytearray(path.read_bytes())
    assert offset + len(data) <= len(content)
    content[offset : offset + len(data)] = data
    path.write_bytes(bytes(content))
    return bytes(content)


def _plan_rows_new(project: Path) -> int:
    with Project.load(project) as p:
        (plan,) = p.plan(sandbox=True)
    return plan.rows_new


def _assert_damaged(result: CliResult, state: Path) -> None:
    assert result.returncode == 1, result.stderr
    text = " ".join(result.stderr.split())
    # named relative to the project, as every file in it is
    assert f"error: {state.parent.name}/{state.name}: the state file is damaged" in text
    assert DAMAGED_HINT in text
    assert "in use" not in text and "Traceback" not in text


# --- (1) random bytes in one block -----------------------------------------------------------
@pytest.mark.parametrize("where", ["catalog", "data"])
def test_a_state_file_with_a_damaged_block_is_named_damaged_not_in_use(
    project: Path, cli: Cli, where: str
) -> None:
    state = _state(project)
    # The catalog's block is read on open (the message once said "in use"); the keys' data
    # block only by the diff (the message was DuckDB's raw IO error).
    offset = HEADER if where == "catalog" else _block_offset(state, "synced_rows")
    damaged = _overwrite(state, offset + 1024, _noise())
    for command in ("plan", "sync") if where == "data" else ("plan",):
        _assert_damaged(cli(command, "--sandbox", "--project-dir", project), state)
    assert state.read_bytes() == damaged  # nothing wrote into it

    if where == "data":
        only = ("state", "reset", "--sandbox", "--select", "tiktok", "--project-dir", project)
        partial = cli(*only)
        assert partial.returncode == 1
        assert "without --select sets the whole file aside" in partial.stderr
    reset = cli("state", "reset", "--sandbox", "--project-dir", project)
    assert reset.returncode == 0, reset.stderr
    (aside,) = state.parent.glob("sandbox-state.duckdb.damaged-*Z")  # not .acks
    assert aside.read_bytes() == damaged  # set aside as it was, not deleted
    assert f"moved it, as it was, to {aside}" in " ".join(reset.stderr.split())
    assert _plan_rows_new(project) == ROWS  # started over


# --- (1b) a readable DuckDB file that is not this retl's state ---------------------------
@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("UPDATE retl_state.meta SET value = 'abc' WHERE key = 'schema_version'", "'abc'"),
        ("DROP TABLE retl_state.meta", "but no meta"),
        ("ALTER TABLE retl_state.synced_rows DROP COLUMN row_hash", "synced_rows.row_hash"),
    ],
)
def test_a_state_file_of_another_shape_is_named_damaged_and_reset_sets_it_aside(
    project: Path, cli: Cli, change: str, why: str
) -> None:
    """Each was "unexpected ValueError ... (this is a bug in retl)", a binder error or
    "Sequence with name ack_seq already exists", and 'retl state reset' failed the same way
    (an audit): the only way out was to find and delete the file by hand."""
    state = _state(project)
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{state}' AS retl_state")
        con.execute(change)
    for command in ("plan", "sync"):
        result = cli(command, "--sandbox", "--project-dir", project)
        assert result.returncode == 1, result.stderr
        text = " ".join(result.stderr.split())
        said = f"error: {state.parent.name}/{state.name}: the state file is damaged or not retl's"
        assert said in text and why in text
        assert DAMAGED_HINT in text and "bug" not in text
    reset = cli("state", "reset", "--sandbox", "--project-dir", project)
    assert reset.returncode == 0, reset.stderr
    assert len(list(state.parent.glob("sandbox-state.duckdb.damaged-*Z"))) == 1
    assert _plan_rows_new(project) == ROWS  # started over


def test_a_damaged_delivery_log_file_is_left_out_of_the_history_with_a_warning(
    project: Path, cli: Cli
) -> None:
    """`retl runs` failed with DuckDB's "No magic bytes found at end of file" and a SQL
    excerpt (an audit): one damaged file hid the whole history."""
    logs = sorted((project / ".retl" / "sandbox-state.duckdb.log").glob("*.parquet"))
    assert logs
    logs[0].write_bytes(_noise(50))
    result = cli("runs", "--project-dir", project)
    assert result.returncode == 0, result.stderr
    assert f"{logs[0]}: a delivery log file is damaged" in " ".join(result.stderr.split())
    assert "move it away" in result.stderr and "magic bytes found at end" not in result.stderr
    assert "1 most recent run(s)" in result.stdout


# --- (2) cut short ---------------------------------------------------------------------------
def test_a_truncated_state_file_is_named_damaged(project: Path, cli: Cli) -> None:
    state = _state(project)
    state.write_bytes(state.read_bytes()[: _block_offset(state, "synced_rows") + 100])
    for command in ("plan", "sync"):
        result = cli(command, "--sandbox", "--project-dir", project)
        _assert_damaged(result, state)
        assert "cut short" in result.stderr
    assert cli("state", "reset", "--sandbox", "--project-dir", project).returncode == 0
    assert _plan_rows_new(project) == ROWS


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "it is not a DuckDB database"),
        (_noise(20_000), "it is not a DuckDB database"),
        (None, "it is not a DuckDB database"),  # a SQLite file: not handed to an extension
        ("truncated", "it is cut short"),
        ("catalog", "a block of it fails its checksum"),
        ("wal", "its .wal file is damaged"),
    ],
)
def test_every_kind_of_unreadable_file_is_damaged_for_the_store(
    tmp_path: Path, content: bytes | str | None, why: str
) -> None:
    path = tmp_path / "state.duckdb"
    engine = DuckDBEngine()
    store = LocalStateStore(engine, path)
    store.record_acknowledged("d", "s", ["k1"], ["h1"])
    store.close()
    if content is None:
        path.unlink()
        with sqlite3.connect(path) as con:
            con.execute("CREATE TABLE t (a)")
    elif content == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif content == "catalog":
        _overwrite(path, HEADER + 512, _noise())
    elif content == "wal":  # a write not yet checkpointed, then bytes overwritten in its log
        with duckdb.connect(str(path)) as con:
            con.execute("PRAGMA disable_checkpoint_on_shutdown")
            con.execute("INSERT INTO meta VALUES ('x', 'y')")
        wal = path.with_name(path.name + ".wal")
        _overwrite(wal, wal.stat().st_size // 2, _noise(64))
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    for read_only in (True, False):
        with pytest.raises(StateDamagedError) as caught:
            LocalStateStore(engine, path, read_only=read_only)
        assert caught.value.message == f"the state file is damaged: {why}"
        assert caught.value.file == path
    engine.close()


# --- (3) and (4) the acknowledgement journal -------------------------------------------------
@pytest.fixture
def unfolded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project whose sandbox sync acknowledged every row into its journal, and died before
    folding it (the fold is skipped): the journal file is the only record of the sends."""
    root = events_project(tmp_path / "p", "http://127.0.0.1:9", rows=ROWS)
    with monkeypatch.context() as m:
        m.setattr(LocalStateStore, "_fold_journals", lambda self: None)
        with Project.load(root) as p:
            assert p.sync(sandbox=True).results[0].sent == ROWS
    assert _plan_rows_new(root) == 0  # the journal counts
    yield root


def _journal(project: Path) -> Path:
    (file,) = (project / ".retl" / "sandbox-state.duckdb.acks").glob("*.arrows")
    return file


def _recovered(stderr: str) -> int:
    found = re.search(r"its first (\d+) entries were recovered", " ".join(stderr.split()))
    assert found is not None, stderr
    return int(found.group(1))


def test_a_journal_cut_mid_file_gives_up_its_readable_batches_with_a_warning(
    unfolded: Path, cli: Cli
) -> None:
    journal = _journal(unfolded)
    journal.write_bytes(journal.read_bytes()[: journal.stat().st_size // 2])

    plan = cli("plan", "--sandbox", "--project-dir", unfolded)
    assert plan.returncode == 0, plan.stderr
    recovered = _recovered(plan.stderr)
    assert 0 < recovered < ROWS
    assert "the entries after them (how many is unknown) could not be read" in plan.stderr
    assert "the platform deduplicates them by event_id within 48 hours" in plan.stderr
    assert _plan_rows_new(unfolded) == ROWS - recovered  # the recovered keys are not resent
    assert journal.exists()  # a plan changes nothing

    sync = cli("sync", "--sandbox", "--project-dir", unfolded, "--format", "json")
    assert sync.returncode == 0, sync.stderr
    document = json.loads(sync.stdout)  # the warning is in the document, stderr holds none
    warned = " ".join(w["message"] for w in document["warnings"])
    assert _recovered(warned) == recovered
    assert document["destinations"][0]["events"]["sent"] == ROWS - recovered
    kept = journal.with_name(journal.name + ".damaged")
    assert kept.exists() and not journal.exists()  # kept aside, not deleted; not folded twice
    assert f"the file was kept as {kept}" in " ".join(warned.split())
    assert _plan_rows_new(unfolded) == 0


def test_a_journal_of_pure_garbage_is_reported_and_the_run_goes_on(project: Path, cli: Cli) -> None:
    acks = project / ".retl" / "sandbox-state.duckdb.acks"
    acks.mkdir(exist_ok=True)
    garbage = acks / "00000000000000000001-1-0.arrows"
    garbage.write_bytes(_noise(10_000))
    for command in ("plan", "sync"):
        result = cli(command, "--sandbox", "--project-dir", project)
        assert result.returncode == 0, result.stderr
        text = " ".join(result.stderr.split())
        assert f"the acknowledgement journal {garbage} is damaged" in text
        assert "none of its entries could be read (an unknown number of lost)" in text
        assert "rows acknowledged in the interrupted run will be sent again" in text
    assert not garbage.exists() and garbage.with_name(garbage.name + ".damaged").exists()
    assert _plan_rows_new(project) == 0  # the folded state was untouched


# --- (5) a file really in use ----------------------------------------------------------------
_HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])  # read-write: DuckDB locks the file
print("holding", flush=True)
sys.stdin.read()
"""


@contextmanager
def _held(state: Path) -> Iterator[subprocess.Popen[str]]:
    """Another program (a DuckDB client) holding the state file read-write until the end."""
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(state)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        yield holder
        assert holder.stdin is not None
        holder.stdin.close()  # the holder lets go


def test_a_state_file_held_by_another_process_is_still_in_use(project: Path, cli: Cli) -> None:
    """A sync and a reset are refused (exit 75, reason in_use); the commands that only read
    the state read a copy of it, as while a retl sync holds it (they were refused too)."""
    state = _state(project)
    with _held(state) as holder:
        for command in (("sync",), ("state", "reset", "--yes")):
            result = cli(*command, "--sandbox", "--project-dir", project, "--format", "json")
            assert result.returncode == 75, result.stderr  # EX_TEMPFAIL, as the lock's
            text = " ".join(result.stderr.split())
            assert "is in use by another process" in text  # as before
            assert "damaged" not in text
            assert json.loads(result.stdout)["reason"] == "in_use"
        with pytest.raises(StateError, match="in use") as caught:
            LocalStateStore(DuckDBEngine(), state, read_only=True)
        assert not isinstance(caught.value, StateDamagedError)
        assert f"(PID {holder.pid})" in caught.value.message  # DuckDB names the holder
        # (retl runs reads the sandbox's state beside the real one)
        for command in (("plan", "--sandbox"), ("runs",), ("state", "show", "--sandbox")):
            result = cli(*command, "--project-dir", project)
            assert result.returncode == 0, (command, result.stderr)
            text = " ".join(result.stderr.split())
            assert f"another program has the state database open (PID {holder.pid})" in text
        assert _plan_rows_new(project) == 0  # the copy holds the acknowledged keys
        assert not list(state.parent.glob(f".{state.name}.read-*"))  # the copies are gone
    assert _plan_rows_new(project) == 0


def test_a_state_file_another_process_keeps_writing_is_in_use(
    project: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No copy taken while the file stood still (the holder kept writing it): exit 75, in
    use, as DuckDB said, not a copy that may mix two states."""
    from reverse_etl.state import store

    stamps = iter(range(1_000_000))
    monkeypatch.setattr(store, "_stamps", lambda path: (next(stamps),))
    monkeypatch.setattr(store.time, "sleep", lambda s: None)
    state = _state(project)
    with _held(state) as holder:
        result = cli("plan", "--sandbox", "--project-dir", project, "--format", "json")
        assert result.returncode == 75, result.stderr
        assert json.loads(result.stdout)["reason"] == "in_use"
        assert f"is in use by another process (PID {holder.pid})" in result.stderr


def test_a_damaged_warehouse_file_is_not_blamed_on_the_state(tmp_path: Path) -> None:
    """DuckDB's checksum error does not name the file: the state is blamed only when reading
    it hits the damage again."""
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE TABLE t AS SELECT i, 'v' || i AS v FROM range(20000) t(i)")
    _overwrite(warehouse, _block_offset(warehouse, "t") + 1024, _noise())
    engine = DuckDBEngine(warehouse)
    store = LocalStateStore(engine, tmp_path / "state.duckdb")
    with pytest.raises(EngineError, match="Corrupt database file") as caught:
        engine.rows("SELECT sum(hash(t)) FROM t")
    assert store.explain(caught.value) is None
    store.close()
    engine.close()


def test_a_pipe_as_the_state_file_is_named_not_waited_on(project: Path, cli: Cli) -> None:
    """Opening a FIFO read-only blocks until a writer comes: plan, state show and runs hung
    (a fuzz run). A pipe that some process writes to would unblock it: none does here, so
    without the check the open would never return (the test would time out, not pass)."""
    import os

    state = _state(project)
    state.unlink()
    os.mkfifo(state)
    for command in (("plan", "--sandbox"), ("state", "show", "--sandbox"), ("sync", "--sandbox")):
        result = cli(*command, "--project-dir", project)
        _assert_damaged(result, state)
        assert "not a regular file" in result.stderr
    assert cli("state", "reset", "--sandbox", "--project-dir", project).returncode == 0
    assert _plan_rows_new(project) == ROWS

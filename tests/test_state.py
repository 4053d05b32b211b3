"""Incremental syncs: the diff, commit on acknowledgement, crash safety and the lock."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.errors import StateError
from reverse_etl.pipeline.inputs import local_diff
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from reverse_etl.state.dedup import DedupWindow
from reverse_etl.state.diff import (
    Rows,
    all_rows_sql,
    classify_sql,
    fetch_sql,
    send_keys_sql,
)
from reverse_etl.state.store import ALIAS, LocalStateStore

from .conftest import cli_env, invoke_cli, kill_sync_midway, sync_held_midway
from .test_sync import NOW, SECRET, events_project

# --- the diff, as properties ------------------------------------------------------------------

rows_strategy = st.dictionaries(
    st.text("abcdef", min_size=1, max_size=4),
    st.text("0123456789", min_size=1, max_size=3),
    max_size=30,
)


def _diff(engine: DuckDBEngine, current: dict[str, str], synced: dict[str, str]) -> dict[str, str]:
    """Rows to send (key -> new/changed) for ``current`` rows against ``synced`` state."""
    engine.execute("CREATE OR REPLACE TEMP TABLE cur (k VARCHAR, h VARCHAR)")
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE st (row_key VARCHAR, row_hash VARCHAR, "
        "first_synced_at TIMESTAMP DEFAULT now()::TIMESTAMP)"
    )
    for k, h in current.items():
        engine.execute("INSERT INTO cur VALUES (?, ?)", [k, h])
    for k, h in synced.items():
        engine.execute("INSERT INTO st (row_key, row_hash) VALUES (?, ?)", [k, h])
    window = DedupWindow.at(0, 48 * 3600)
    table, unchanged, _ = local_diff(
        engine, Rows("SELECT * FROM cur", "k", "h"), "st", None, window
    )
    rows = engine.rows(f"SELECT __row_key, __change FROM {table}")
    changes = {k: c for k, c in rows}
    assert len(changes) == len(rows)  # no row twice
    assert unchanged + len(changes) == len(current)  # every row counted once
    return changes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(current=rows_strategy, synced=rows_strategy)
def test_diff_properties(current: dict[str, str], synced: dict[str, str]) -> None:
    engine = DuckDBEngine()
    try:
        # a state diffed against itself sends nothing
        assert _diff(engine, current, current) == {}
        changes = _diff(engine, current, synced)
        expected = {
            k: ("new" if k not in synced else "changed")
            for k, h in current.items()
            if synced.get(k) != h
        }
        assert changes == expected
        # applying the diff (recording what was sent) reproduces the current rows
        applied = {**synced, **{k: current[k] for k in changes}}
        assert {k: applied[k] for k in current} == current
        assert _diff(engine, current, applied) == {}
        # a full refresh sends everything
        full = engine.rows(f"SELECT count(*) FROM ({all_rows_sql('SELECT * FROM cur')})")
        assert full[0][0] == len(current)
    finally:
        engine.close()


local_rows = st.lists(
    st.tuples(st.none() | st.text("abc", min_size=1, max_size=2), st.text("01", max_size=2)),
    max_size=25,
)
local_state = st.dictionaries(st.text("abc", min_size=1, max_size=2), st.text("01", max_size=2))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(current=local_rows, synced=local_state)
@example(current=[("a", "1"), ("a", "1"), ("b", "0")], synced={"a": "1", "b": "0"})
def test_local_two_pass_diff_properties(
    current: list[tuple[str | None, str]], synced: dict[str, str]
) -> None:
    """The embedded diff (classify, keys to send, fetch): with duplicate and missing keys."""
    engine = DuckDBEngine()
    try:
        engine.execute("CREATE TEMP TABLE cur (i INT, k VARCHAR, h VARCHAR)")
        engine.execute("CREATE TEMP TABLE st (row_key VARCHAR, row_hash VARCHAR)")
        for i, (k, h) in enumerate(current):
            engine.execute("INSERT INTO cur VALUES (?, ?, ?)", [i, k, h])
        for k, h in synced.items():
            engine.execute("INSERT INTO st VALUES (?, ?)", [k, h])
        rows = Rows("SELECT * FROM cur", key="k", digest="h")
        engine.execute(f"CREATE TEMP TABLE c AS {classify_sql(rows.sql, 'st')}")
        engine.execute(f"CREATE TEMP TABLE w AS {send_keys_sql('c')}")
        fetched = engine.rows(f"SELECT i, __change FROM ({fetch_sql(rows, 'w')}) ORDER BY i")
        kept = engine.rows("SELECT coalesce(sum(__rows), 0) FROM w")[0][0]
        keys = [k for k, _ in current]
        expected = []
        for i, (k, h) in enumerate(current):
            if k is None:
                expected.append((i, "new"))
            elif keys.count(k) > 1 or synced.get(k) != h:
                change = "new" if k not in synced else "changed"
                expected.append((i, change if keys.count(k) == 1 else None))
        # a duplicate key's rows all come along (reported invalid); their change is any one
        dup = {k for k in keys if k is not None and keys.count(k) > 1}
        assert [(i, None if current[i][0] in dup else c) for i, c in fetched] == expected
        assert kept == sum(1 for _, e in expected) - keys.count(None)
    finally:
        engine.close()


# --- syncs against the emulator ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)


def model(rows: int, *, changed_every: int = 0, extra_rows: int = 0, value: str = "i") -> str:
    """``rows`` events; with ``changed_every`` n, every n-th row gets a different value."""
    v = (
        f"case when i % {changed_every} = 0 then {value} + 0.5 else {value} end"
        if (changed_every)
        else value
    )
    return (
        f"select 'Purchase' as event, 'o' || i as event_id, {NOW} as event_time, "
        f"{v} as value, 'USD' as currency from range({rows + extra_rows}) t(i)"
    )


def sync(project: Path) -> tuple[int, int]:
    with Project.load(project) as p:
        p.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05, max_attempts=3)
        report = p.sync()
    (r,) = report.results
    return r.sent, r.rows_unchanged


def test_second_run_sends_nothing_and_changes_are_sent_alone(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(tmp_path, server.base_url, select=model(2000))
    assert sync(project) == (2000, 0)
    assert sync(project) == (0, 2000)
    assert server.stats.track_requests == 2
    # 1% changed plus 30 new rows: exactly those are sent
    (project / "models" / "events.sql").write_text(
        model(2000, changed_every=100, extra_rows=30), encoding="utf-8"
    )
    with Project.load(project) as p:
        (plan,) = p.plan()
    assert (plan.rows_new, plan.rows_changed, plan.rows_unchanged) == (30, 20, 1980)
    assert sync(project) == (50, 1980)
    # the 30 new events are recorded; the 20 changed ones carry the same event_id, so the
    # emulator (like TikTok within 48 hours) counts them as duplicates of the first send
    recorded = [e["data"]["event_id"] for e in server.events()][2000:]
    assert sorted(recorded) == sorted(f"o{i}" for i in range(2000, 2030))
    assert server.stats.events_deduplicated == 20  # same event_id: TikTok dedups changed rows


def test_failed_requests_are_sent_by_the_next_run_and_nothing_else(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(tmp_path, server.base_url, select=model(5000))
    # the third request is refused for good (no permission): the run stops there
    server.faults.script(("delay", 0), ("delay", 0), ("code", 40001))
    with Project.load(project) as p:
        report = p.sync()
    (r,) = report.results
    assert not report.ok and r.error and "40001" in r.error
    first = server.stats.events_accepted
    assert 0 < first < 5000
    with Project.load(project) as p:
        (plan,) = p.plan()
    assert plan.rows_to_send == 5000 - first
    assert sync(project) == (5000 - first, first)
    assert server.stats.events_accepted == 5000
    assert server.stats.events_deduplicated == 0


@pytest.mark.slow
def test_sigkill_mid_sync_loses_nothing(server: SandboxServer, tmp_path: Path) -> None:
    project = events_project(tmp_path, server.base_url, select=model(20_000))
    # Killed once 6 requests were answered and the next 3 (thread_count) are in flight: the
    # sandbox holds them, so the kill lands there however loaded the machine is.
    before = kill_sync_midway(
        project, server, cli_env({"TIKTOK_ACCESS_TOKEN": SECRET}), after_requests=6, in_flight=3
    )
    assert before == 9000  # the 3 requests in flight landed after their sender died
    rerun = invoke_cli(
        "sync", "--project-dir", project, "--format", "json", env={"TIKTOK_ACCESS_TOKEN": SECRET}
    )
    assert rerun.returncode == 0, rerun.stderr
    doc = orjson.loads(rerun.stdout)
    sent = doc["destinations"][0]["events"]["sent"]
    # every event accepted at least once; resent exactly the 3 requests that were in flight
    assert server.stats.events_accepted == 20_000
    assert server.stats.events_deduplicated == 3 * 1000
    assert sent == 20_000 - before + server.stats.events_deduplicated
    with Project.load(project) as p:
        (info,) = p.state_show()
        (plan,) = p.plan()
    assert info.rows == 20_000
    assert plan.rows_to_send == 0


@pytest.mark.parametrize("what", ["folder", "dangling link"])
def test_a_lock_path_that_is_no_file_is_a_user_error(what: str, tmp_path: Path) -> None:
    """filelock raised IsADirectoryError or ELOOP there: exit 2, 'a bug in retl' (a fuzz
    run)."""
    from reverse_etl.errors import LockError
    from reverse_etl.state.lock import SyncLock

    state = tmp_path / "state.duckdb"
    lock = SyncLock(state)
    if what == "folder":
        lock.path.mkdir(parents=True)
    else:
        lock.path.symlink_to(tmp_path / "nowhere" / "x")
    with pytest.raises(LockError) as info, lock:
        pass
    (problem,) = info.value.problems
    assert problem.file == lock.path
    word = "a folder" if what == "folder" else "a symbolic link"
    assert f"cannot take the state's lock: {word} is where its lock file goes" in problem.message
    assert "move that path away" in (problem.hint or "")


@pytest.mark.slow
def test_a_second_concurrent_sync_is_refused(server: SandboxServer, tmp_path: Path) -> None:
    project = events_project(tmp_path, server.base_url, select=model(100))
    # The emulator holds the first sync's only request, so the first sync is certainly
    # mid-send (lock held) when the second starts, however loaded the machine is: it cannot
    # end before the test releases the request (or kills it).
    env = cli_env({"TIKTOK_ACCESS_TOKEN": SECRET})
    token = {"TIKTOK_ACCESS_TOKEN": SECRET}
    with sync_held_midway(project, server, env, after_requests=0, in_flight=1) as first:
        second = invoke_cli("sync", "--project-dir", project, env=token)
        as_json = invoke_cli("sync", "--project-dir", project, "--format", "json", env=token)
        # a reset takes the same lock (refused before it asks: --yes or not)
        reset = invoke_cli("state", "reset", "--project-dir", project, "--yes", "--format", "json")
        assert first.poll() is None  # still holding the lock
        # 75 (EX_TEMPFAIL): "skipped, another run is still going", not 1 ("your data")
        assert second.returncode == 75
        assert "another retl sync is running" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        assert "Traceback" not in second.stderr
        for result in (as_json, reset):
            assert result.returncode == 75, result.stderr
            doc = orjson.loads(result.stdout)
            assert (doc["ok"], doc["reason"]) == (False, "locked")
            assert doc["error"].startswith("another retl sync is running on this state (pid ")
        first.kill()
    # the killed holder does not block the next run
    again = invoke_cli("sync", "--project-dir", project, env={"TIKTOK_ACCESS_TOKEN": SECRET})
    assert again.returncode == 0, again.stderr
    # any other error keeps exit 1, with no reason
    project.joinpath("destinations.yml").write_text("destinations: [", encoding="utf-8")
    broken = invoke_cli("sync", "--project-dir", project, "--format", "json", env=token)
    assert broken.returncode == 1
    assert orjson.loads(broken.stdout)["reason"] is None


@pytest.mark.slow
def test_mapping_change_is_reported_with_the_rows_it_touches(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(tmp_path, server.base_url, select=model(100))
    sync(project)
    (project / "models" / "events.sql").write_text(
        model(100).replace("'USD' as currency", "'USD' as currency, 'x' as description"),
        encoding="utf-8",
    )
    out = invoke_cli("plan", "--project-dir", project, "--format", "json")
    doc = orjson.loads(out.stdout)["destinations"][0]
    assert doc["mapping_changed"] == {"changes": ["column 'description' added"], "rows_resent": 100}
    warned = [w["message"] for w in orjson.loads(out.stdout)["warnings"]]
    assert any("mapping changed since the last sync" in m for m in warned), warned


@pytest.mark.slow
def test_full_refresh_and_reset(server: SandboxServer, tmp_path: Path) -> None:
    project = events_project(tmp_path, server.base_url, select=model(50))
    sync(project)
    with Project.load(project) as p:
        assert p.plan(full_refresh=True)[0].rows_new == 50
        assert p.sync(full_refresh=True).results[0].sent == 50
        assert p.state_reset(["tiktok"]) == {"tiktok": 50}
        assert p.plan()[0].rows_new == 50
    reset = invoke_cli("state", "reset", "--project-dir", project)
    assert reset.returncode == 0 and "nothing to forget" in reset.stdout


def _hash_lengths(project: Path) -> set[int]:
    import duckdb

    with duckdb.connect(str(project / ".retl" / "state.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT DISTINCT length(row_hash) FROM synced_rows").fetchall()
        return {r[0] for r in rows}


def test_a_scope_keeps_the_row_hash_form_of_its_first_sync(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows synced by a retl that hashed with md5 (form 1) stay unchanged after the upgrade to
    a newer form; a scope starts the newest form only when it starts empty."""
    from reverse_etl.state.diff import FORM_MD5

    def nested(bump: int = 0) -> str:
        return (
            "select 'Purchase' as event, 'o' || i as event_id, "
            f"{NOW} as event_time, i as value, 'USD' as currency, "
            f"[{{'content_id': 'sku-' || i, 'quantity': 1 + (i = 7)::int * {bump}}}] "
            "as contents from range(40) t(i)"
        )

    project = events_project(tmp_path, server.base_url, select=nested())
    with monkeypatch.context() as older:  # what retl before form 2 wrote
        older.setattr(LocalStateStore, "new_scope_form", FORM_MD5)
        assert sync(project) == (40, 0)
    assert _hash_lengths(project) == {32}
    assert sync(project) == (0, 40)  # md5 kept: nothing looks changed
    (project / "models" / "events.sql").write_text(nested(bump=1))  # row 7's list changed
    assert sync(project) == (1, 39)
    with Project.load(project) as p:
        assert p.sync(full_refresh=True).results[0].sent == 40
    assert _hash_lengths(project) == {32}  # a full refresh keeps the scope's form
    with Project.load(project) as p:
        p.state_reset(["tiktok"])
    assert sync(project) == (40, 0)
    assert _hash_lengths(project) == {34}  # an empty scope starts with the exact form (3)
    assert sync(project) == (0, 40)
    (project / "models" / "events.sql").write_text(nested(bump=2))
    assert sync(project) == (1, 39)  # a change inside a list is a change in form 3 too


def test_sandbox_runs_keep_their_own_state(server: SandboxServer, tmp_path: Path) -> None:
    project = events_project(tmp_path, server.base_url, select=model(10))
    with Project.load(project) as p:
        assert p.sync(sandbox=True).results[0].sent == 10
        assert p.plan()[0].rows_new == 10  # the real destination still has everything to send
        assert p.plan(sandbox=True)[0].rows_new == 0


def test_run_reports_are_written_and_hold_no_secret(server: SandboxServer, tmp_path: Path) -> None:
    project = events_project(tmp_path, server.base_url, select=model(10))
    sync(project)
    (report,) = (project / ".retl" / "runs").glob("*.json")
    text = report.read_text(encoding="utf-8")
    doc = orjson.loads(text)
    assert doc["ok"] is True and doc["destinations"][0]["events"]["sent"] == 10
    assert SECRET not in text
    state_bytes = (project / ".retl" / "state.duckdb").read_bytes()
    assert SECRET.encode() not in state_bytes


def test_state_from_a_newer_retl_is_refused(tmp_path: Path) -> None:
    engine = DuckDBEngine()
    store = LocalStateStore(engine, tmp_path / "state.duckdb")
    engine.execute(f"UPDATE {ALIAS}.meta SET value = '99' WHERE key = 'schema_version'")
    store.close()
    with pytest.raises(StateError, match="newer retl"):
        LocalStateStore(engine, tmp_path / "state.duckdb")
    engine.close()


_DIE_AFTER_ACKS = """
import os, sys
from pathlib import Path
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.state.store import LocalStateStore
store = LocalStateStore(DuckDBEngine(), Path(sys.argv[1]))
store.record_acknowledged("d", "s", ["k1", "k3"], ["new1", "h3"])
store.record_acknowledged("d", "s", ["k4"], ["h4"])
os._exit(9)  # dies like SIGKILL: no close, no fold
"""


def _latest(engine: DuckDBEngine, store: LocalStateStore) -> list[tuple[str, str]]:
    return sorted(engine.rows(f"SELECT * FROM {store.latest_relation('d', 's')}"))


def test_a_journal_left_by_a_killed_run_counts_and_the_next_run_folds_it(tmp_path: Path) -> None:
    path = tmp_path / "state.duckdb"
    engine = DuckDBEngine()
    store = LocalStateStore(engine, path)
    store.record_acknowledged("d", "s", ["k1", "k2"], ["old1", "h2"])
    store.close()  # folded
    assert not list((tmp_path / "state.duckdb.acks").iterdir())
    done = subprocess.run([sys.executable, "-c", _DIE_AFTER_ACKS, str(path)], check=False)
    assert done.returncode == 9
    (journal,) = (tmp_path / "state.duckdb.acks").iterdir()
    expected = [("k1", "new1"), ("k2", "h2"), ("k3", "h3"), ("k4", "h4")]

    reader = LocalStateStore(engine, path, read_only=True)  # retl plan: sees the journal as is
    assert "arg_max" in reader.latest_relation("d", "s")
    assert _latest(engine, reader) == expected
    assert [i.rows for i in reader.all_scopes()] == [4]  # k1 counted once
    reader.close()
    assert journal.exists()  # a read-only open never folds

    saved = journal.read_bytes()
    writer = LocalStateStore(engine, path)  # the next sync folds it, in one transaction
    assert not journal.exists()
    assert "arg_max" not in writer.latest_relation("d", "s")  # one entry per key again
    assert _latest(engine, writer) == expected
    assert [i.rows for i in writer.all_scopes()] == [4]
    assert engine.rows(f"SELECT count(*) FROM {ALIAS}.synced_rows")[0][0] == 4
    writer.close()

    journal.write_bytes(saved)  # died between the fold's commit and the unlink
    again = LocalStateStore(engine, path)
    assert _latest(engine, again) == expected
    assert engine.rows(f"SELECT count(*) FROM {ALIAS}.synced_rows")[0][0] == 4
    again.close()
    engine.close()


def test_a_journal_torn_mid_batch_keeps_the_complete_batches(tmp_path: Path) -> None:
    path = tmp_path / "state.duckdb"
    done = subprocess.run([sys.executable, "-c", _DIE_AFTER_ACKS, str(path)], check=False)
    assert done.returncode == 9
    (journal,) = (tmp_path / "state.duckdb.acks").iterdir()
    journal.write_bytes(journal.read_bytes()[:-10])  # the last write only got half-way
    engine = DuckDBEngine()
    store = LocalStateStore(engine, path)
    # The torn batch was being recorded when the process died: it counts as in flight.
    assert _latest(engine, store) == [("k1", "new1"), ("k3", "h3")]
    store.close()
    journal.write_bytes(b"ARROW")  # torn inside the header: nothing in it counts
    store = LocalStateStore(engine, path)
    assert _latest(engine, store) == [("k1", "new1"), ("k3", "h3")]
    assert not journal.exists()
    store.close()
    engine.close()


def test_a_dirty_scope_from_an_older_retl_takes_the_newest_entry_until_compacted(
    tmp_path: Path,
) -> None:
    engine = DuckDBEngine()
    store = LocalStateStore(engine, tmp_path / "state.duckdb")
    # What retl before the journal left when a run died: two entries for k1, scope dirty.
    engine.execute(
        f"""INSERT INTO {ALIAS}.synced_rows
            (destination, scope, row_key, row_hash, synced_at, seq) VALUES
            ('d', 's', 'k1', 'old1', now()::TIMESTAMP, 1),
            ('d', 's', 'k2', 'h2', now()::TIMESTAMP, 2),
            ('d', 's', 'k1', 'new1', now()::TIMESTAMP, 3)"""
    )
    engine.execute(f"INSERT INTO {ALIAS}.dirty_scopes VALUES ('d', 's')")
    assert "arg_max" in store.latest_relation("d", "s")
    assert [i.rows for i in store.all_scopes()] == [2]  # k1 has two entries, counted once
    assert _latest(engine, store) == [("k1", "new1"), ("k2", "h2")]
    store.compact("d", "s")
    assert "arg_max" not in store.latest_relation("d", "s")
    assert _latest(engine, store) == [("k1", "new1"), ("k2", "h2")]
    store.close()
    engine.close()


def test_a_schema_1_state_left_by_a_run_that_died_is_read_newest_entry_first(
    tmp_path: Path,
) -> None:
    """A schema 1 state (retl before the dirty marks) appended each batch to the log and
    kept the newest entry per key only at the run's end: a run that died left several
    entries for a key, and no mark. Migrated, the scope was read as one entry per key: k1
    joined twice (the plan counted it changed and unchanged at once, ``state show`` counted
    3 keys), and no later fold cleaned it."""
    from reverse_etl.state.store import MIGRATIONS

    path = tmp_path / "state.duckdb"
    engine = DuckDBEngine()
    engine.execute(f"ATTACH '{path}' AS {ALIAS}")
    for sql in MIGRATIONS[0]:
        engine.execute(sql)
    engine.execute(f"INSERT INTO {ALIAS}.meta VALUES ('schema_version', '1')")
    engine.execute(
        f"""INSERT INTO {ALIAS}.synced_rows VALUES
            ('d', 's', 'k1', 'old1', TIMESTAMP '2026-01-01 10:00:00', 1),
            ('d', 's', 'k2', 'h2', TIMESTAMP '2026-01-01 10:00:00', 2),
            ('d', 's', 'k1', 'new1', TIMESTAMP '2026-01-02 10:00:00', 3),
            ('d', 'other', 'k1', 'h1', TIMESTAMP '2026-01-01 10:00:00', 4)"""
    )
    engine.execute(f"DETACH {ALIAS}")
    store = LocalStateStore(engine, path)  # migrated
    assert _latest(engine, store) == [("k1", "new1"), ("k2", "h2")]
    assert [(i.scope, i.rows) for i in store.all_scopes()] == [("other", 1), ("s", 2)]
    assert "arg_max" not in store.latest_relation("d", "other")  # one entry per key there
    store.compact("d", "s")  # the next sync that sends cleans it
    assert "arg_max" not in store.latest_relation("d", "s")
    assert _latest(engine, store) == [("k1", "new1"), ("k2", "h2")]
    first = engine.rows(f"SELECT first_synced_at FROM {ALIAS}.synced_rows WHERE row_key = 'k1'")
    assert [str(f) for (f,) in first] == ["2026-01-01 10:00:00"] * 2
    store.close()
    engine.close()


def test_plan_on_a_fresh_project_spills_to_disk_under_a_small_memory_limit(
    tmp_path: Path,
) -> None:
    """Before any sync made ``.retl``, the plan's rows and DuckDB's spill files go to a
    private folder outside the project (a plan promises no change to it), and spilling there
    works (DuckDB creates only the last directory of its temp path)."""
    project = events_project(tmp_path / "p", "http://127.0.0.1:9", rows=400_000)
    (project / "retl_project.yml").write_text("warehouse:\n  type: duckdb\n  memory_limit: 64MB\n")
    assert not (project / ".retl").exists()
    with Project.load(project) as loaded:
        (plan,) = loaded.plan()
        bench = loaded.workbench
        folder = bench.scratch.folder
        assert not folder.is_relative_to(project)
        (spill,) = bench.rows("SELECT current_setting('temp_directory')")[0]
        assert Path(spill) == folder
        # The plan's 400,000 payloads in a table: more than 64 MB, so DuckDB spills them.
        bench.execute(f"CREATE TEMP TABLE copied AS SELECT __payload FROM {plan.rows_table}")
        (count,) = bench.rows("SELECT count(*) FROM copied")[0]
        spilled = bench.rows("SELECT sum(temporary_storage_bytes) FROM duckdb_memory()")[0][0]
    assert plan.rows_to_send == 400_000 and plan.rows_invalid == 0
    assert count == 400_000
    assert spilled > 0
    assert not (project / ".retl").exists()
    assert not folder.exists()


def test_a_resync_whose_state_outgrows_memory_joins_only_keys_and_hashes(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model's wide columns must stay out of the diff's join with the state: the model
    side of that join is its key and row hash alone (retl before the two-pass diff joined
    every column, and its memory grew with the model's width).

    Proved on the SQL that joins the state, not by sitting at the edge of a memory limit:
    that edge moves with the machine (DuckDB's buffers grow with its thread count: this plan
    needed 48MB with 2 threads and more than 56MB with 4), and the full-row join of this
    model also fits in 64MB. The plan still runs under a limit, pinned to 2 threads, with a
    margin of more than 2x over what it needs."""
    import sqlglot
    from sqlglot import exp

    wide = (
        "select 'Purchase' as event, 'order-' || repeat('x', 90) || i as event_id, "
        "{now} as event_time, i * 1.0 + (case when i % 100 = 0 then {bump} else 0 end) as "
        "value, 'USD' as currency, 'https://shop.example.com/' || repeat('p', 300) || i as "
        "page_url, repeat('Mozilla/5.0 ', 20) || i as user_agent from range(200000) t(i)"
    )
    project = events_project(tmp_path, server.base_url, select=wide.format(now=NOW, bump=0))
    assert sync(project) == (200_000, 0)
    (project / "retl_project.yml").write_text("warehouse:\n  type: duckdb\n  memory_limit: 128MB\n")
    (project / "models" / "events.sql").write_text(wide.format(now=NOW, bump=1))
    statements: list[str] = []
    materialize = DuckDBEngine.materialize

    def recorded(engine: DuckDBEngine, sql: str) -> str:
        statements.append(sql)
        return materialize(engine, sql)

    monkeypatch.setattr(DuckDBEngine, "materialize", recorded)
    with Project.load(project) as loaded:
        loaded.workbench.execute("SET threads = 2")
        (plan,) = loaded.plan()
    assert (plan.rows_new, plan.rows_changed, plan.rows_unchanged) == (0, 2000, 198_000)

    def model_side_of_state_joins(sql: str) -> list[list[str]]:
        """The columns of the relation joined with the state, per join on the state."""
        sides = []
        for join in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Join):
            if ALIAS not in join.this.sql():
                continue
            select = join.parent_select
            assert select is not None
            source = select.args.get("from_") or select.args["from"]
            assert isinstance(source.this, exp.Subquery)
            sides.append(source.this.this.named_selects)
        return sides

    joins = [side for sql in statements for side in model_side_of_state_joins(sql)]
    assert joins == [["__row_key", "__row_hash"]]


def test_a_fold_that_dies_midway_leaves_a_correct_state_and_the_next_fold_cleans_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reverse_etl.state.store as store_module

    path = tmp_path / "state.duckdb"
    engine = DuckDBEngine()
    store = LocalStateStore(engine, path)
    store.record_acknowledged("d", "s", ["k1", "k2"], ["old1", "h2"])
    store.compact("d", "s")
    store.record_acknowledged("d", "s", ["k1"], ["new1"])
    store.record_acknowledged("d", "s", ["k3"], ["h3"])

    chunks = store_module._chunks

    def die_after_one(reader: Any, rows: int) -> Iterator[Any]:
        yield next(chunks(reader, rows))
        raise OSError("disk full")

    monkeypatch.setattr(store_module, "FOLD_ROWS", 1)  # one transaction per batch
    monkeypatch.setattr(store_module, "_chunks", die_after_one)
    with pytest.raises(OSError, match="disk full"):
        store.compact("d", "s")
    # k1 has its old and its new entry now: the scope is dirty, so the newest one wins.
    assert "arg_max" in store.latest_relation("d", "s")
    assert _latest(engine, store) == [("k1", "new1"), ("k2", "h2")]
    monkeypatch.setattr(store_module, "_chunks", chunks)
    store.close()  # folds the journal, which is still there, again: now completely
    again = LocalStateStore(engine, path)
    assert "arg_max" not in again.latest_relation("d", "s")
    assert _latest(engine, again) == [("k1", "new1"), ("k2", "h2"), ("k3", "h3")]
    assert engine.rows(f"SELECT count(*) FROM {ALIAS}.synced_rows")[0][0] == 3
    again.close()
    engine.close()


def test_the_fold_holds_no_journal_entries_while_duckdb_inserts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk of journal entries is written to the fold's spool and let go before DuckDB
    inserts it: held through the insert, the chunk and its contiguous copy set the peak of a
    200k first sync (issue #18). Arrow's allocations at each insert show what is held."""
    import pyarrow as pa

    import reverse_etl.state.store as store_module

    engine = DuckDBEngine()
    store = LocalStateStore(engine, tmp_path / "state.duckdb")
    rows = 60_000
    for start in range(0, rows, 1_000):
        span = range(start, start + 1_000)
        store.record_acknowledged(
            "d", "s", [f"order-{i:012d}" for i in span], [f"3:{i:032x}" for i in span]
        )
    held: list[int] = []
    run_sql = store_module.run_sql

    def measured(cur: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        if sql.lstrip().startswith(f"INSERT INTO {ALIAS}.synced_rows"):
            held.append(pa.total_allocated_bytes())
        return run_sql(cur, sql, *args, **kwargs)

    monkeypatch.setattr(store_module, "run_sql", measured)
    monkeypatch.setattr(store_module, "FOLD_ROWS", 24_000)  # two whole chunks and a last one
    before = pa.total_allocated_bytes()
    store.compact("d", "s")
    assert len(held) == 3
    # A chunk is 2.8 MB of entries, 5.6 MB with its copy; what is left at each insert is the
    # journal reader's 1 MB buffer and its last batch.
    assert max(held) - before < 1_500_000, [h - before for h in held]
    assert engine.rows(f"SELECT count(*) FROM {ALIAS}.synced_rows")[0][0] == rows
    store.close()
    engine.close()


def test_a_project_that_outgrows_the_automatic_memory_limit_runs_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reverse_etl.engine.duckdb import MemoryPolicy
    from reverse_etl.reporting.console import NullConsole

    # The automatic policy, scaled down: 16MB first, 1GB when a statement needs it.
    small = MemoryPolicy(limit="16MB", fallback="1GB")
    monkeypatch.setattr(MemoryPolicy, "from_config", classmethod(lambda cls, value: small))
    # One ~47 MB string that DuckDB cannot spill, used by every row.
    model = (
        "with agg as (select string_agg(i::varchar, ',') as s from range(6000000) t(i)) "
        "select 'Purchase' as event, 'order-' || i as event_id, "
        f"{NOW} - i as event_time, (select length(s) from agg) * 0 + i as value, "
        "'USD' as currency from range(5) t(i)"
    )
    project = events_project(tmp_path / "p", "http://127.0.0.1:9", select=model)
    console = NullConsole()
    with Project.load(project, console=console) as loaded:
        (plan,) = loaded.plan()
        assert loaded.workbench.memory_raised
    assert plan.rows_to_send == 5
    warnings = [line for line in console.lines if "memory" in line]
    assert warnings == [
        "warning: DuckDB needed more than 16MB for this project and was given 1GB: set "
        "warehouse.memory_limit in retl_project.yml to choose the limit yourself"
    ]


def test_the_fold_appends_whole_row_groups() -> None:
    """Fold transactions of exactly FOLD_ROWS entries (two DuckDB row groups): partly filled
    row groups would make the next checkpoint rewrite the table."""
    import pyarrow as pa

    from reverse_etl.state.store import FOLD_ROWS, _chunks

    assert FOLD_ROWS % 122_880 == 0
    schema = pa.schema([("pos", pa.int64())])
    batches = [
        pa.record_batch([pa.array(range(i * 7, i * 7 + 7))], schema=schema) for i in range(10)
    ]
    out = list(_chunks(pa.RecordBatchReader.from_batches(schema, batches), 20))
    assert [t.num_rows for t in out] == [20, 20, 20, 10]
    assert [v for t in out for v in t.column("pos").to_pylist()] == list(range(70))

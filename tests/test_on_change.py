"""Send-once events: ``on_change`` and TikTok's 48-hour deduplication window.

TikTok drops a repeat of an ``event_id`` for 48 hours after it first received it and counts a
later repeat as a new conversion. Each acknowledged key keeps the time of its first
acknowledgement; a clock moved by the test (no sleeping) carries runs past the window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import orjson
import pytest

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.errors import UsageError
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from reverse_etl.state.store import ALIAS, SCHEMA_VERSION, LocalStateStore

from .conftest import CliResult, RunCli

if TYPE_CHECKING:
    from reverse_etl.state.dedup import ResendImpact
from .test_sync import NOW, SECRET, events_project

HOUR = 3600.0
T0 = 1_900_000_000.0  # a fixed wall clock: the test moves it


class Clock:
    """A wall clock in Unix seconds that only the test moves."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)


def model(bump: int = 0, rows: int = 10) -> str:
    """``rows`` events; ``bump`` changes the value of rows 0 and 5."""
    return (
        f"select 'Purchase' as event, 'o' || i as event_id, {NOW} as event_time, "
        f"i + (case when i % 5 = 0 then {bump} else 0 end) as value, 'USD' as currency "
        f"from range({rows}) t(i)"
    )


def write(project: Path, *, bump: int = 0, on_change: str | None = None) -> None:
    (project / "models" / "events.sql").write_text(model(bump))
    dests = project / "destinations.yml"
    lines = [ln for ln in dests.read_text().splitlines() if "on_change" not in ln]
    if on_change is not None:
        lines.append(f"    on_change: {on_change}")
    dests.write_text("\n".join(lines) + "\n")


def run(project: Path, clock: Clock, **kw: object) -> tuple[int, int, int, int]:
    """(sent, changed re-sent, changed not re-sent, double counted) of one sync at ``clock``."""
    with Project.load(project) as p:
        p.clock = clock
        p.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05, max_attempts=3)
        report = p.sync(**kw)  # type: ignore[arg-type]
    assert report.ok, report.to_dict()
    (r,) = report.results
    return r.sent, r.rows_changed, r.rows_changed_not_resent, r.rows_double_counted


def plan(project: Path, clock: Clock, **kw: object) -> dict[str, object]:
    with Project.load(project) as p:
        p.clock = clock
        (one,) = p.plan(**kw)  # type: ignore[arg-type]
    return one.to_dict()


def test_a_change_inside_48_hours_is_resent_and_one_after_is_not(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(tmp_path, server.base_url, select=model())
    clock = Clock()
    assert run(project, clock) == (10, 0, 0, 0)

    clock.now = T0 + 47 * HOUR  # inside the window: TikTok drops the repeat, no harm
    write(project, bump=1)
    assert run(project, clock) == (2, 2, 0, 0)

    # 49 hours after the FIRST acknowledgement (2 after the resend): a resend would be counted
    # as a second conversion, so the default holds the changed rows back and says why.
    clock.now = T0 + 49 * HOUR
    write(project, bump=2)
    doc = plan(project, clock)
    rows = doc["rows"]
    assert isinstance(rows, dict)
    assert (rows["changed"], rows["changed_not_resent"], rows["unchanged"]) == (0, 2, 8)
    assert rows["total"] == 10 and rows["to_send"] == 0
    assert doc["on_change"] == "resend_within_dedup_window"
    assert doc["changed_not_resent_reason"] == (
        "changed after TikTok's dedup window (48 h): not re-sent"
    )
    assert run(project, clock) == (0, 0, 2, 0)
    # Not recorded as sent: the stored hash stays, so the rows are reported again next run.
    assert run(project, clock) == (0, 0, 2, 0)
    # ...until the row is back to what TikTok has: then it is simply unchanged.
    write(project, bump=1)
    assert plan(project, clock)["rows"] == {**rows, "changed_not_resent": 0, "unchanged": 10}


def test_a_change_in_the_window_s_last_half_hour_is_held_back(
    server: SandboxServer, tmp_path: Path
) -> None:
    """Judged when the run plans, sent up to a send's length later: a change at hour 47:45
    was resent, and a send that took a quarter of an hour landed after hour 48, where TikTok
    counts it twice. Held back from half an hour before the window ends (a resend inside it
    changes nothing at TikTok)."""
    project = events_project(tmp_path, server.base_url, select=model())
    clock = Clock()
    assert run(project, clock) == (10, 0, 0, 0)
    clock.now = T0 + 47 * HOUR + 45 * 60
    write(project, bump=1)
    assert run(project, clock) == (0, 0, 2, 0)
    clock.now = T0 + 47 * HOUR + 25 * 60  # (a clock set back) before the margin: resent
    assert run(project, clock) == (2, 2, 0, 0)


def test_resend_always_sends_and_counts_what_tiktok_counts_twice(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(tmp_path, server.base_url, select=model())
    clock = Clock()
    assert run(project, clock) == (10, 0, 0, 0)
    clock.now = T0 + 72 * HOUR
    write(project, bump=1, on_change="resend")
    assert run(project, clock) == (2, 2, 0, 2)  # sent, and TikTok counts both twice
    clock.now = T0 + 73 * HOUR
    write(project, bump=2, on_change="resend")
    assert run(project, clock) == (2, 2, 0, 2)  # the first time stays T0 after a resend


def test_skip_sends_no_changed_row_even_inside_the_window(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(tmp_path, server.base_url, select=model())
    clock = Clock()
    assert run(project, clock) == (10, 0, 0, 0)
    clock.now = T0 + HOUR
    write(project, bump=1, on_change="skip")
    doc = plan(project, clock)
    assert doc["changed_not_resent_reason"] == "changed: not re-sent (on_change: skip)"
    assert run(project, clock) == (0, 0, 2, 0)
    (project / "models" / "events.sql").write_text(model(bump=1, rows=12))
    assert run(project, clock) == (2, 0, 2, 0)  # new rows still go out


def test_full_refresh_reports_and_asks_before_counting_events_twice(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(tmp_path, server.base_url, select=model())
    clock = Clock()
    run(project, clock)
    clock.now = T0 + 50 * HOUR
    (project / "models" / "events.sql").write_text(model(rows=12))  # 2 new keys
    rows = plan(project, clock, full_refresh=True)["rows"]
    assert isinstance(rows, dict)
    assert (rows["new"], rows["resent"], rows["double_counted"]) == (12, 10, 10)

    asked: list[ResendImpact] = []

    def refuse(impact: ResendImpact) -> bool:
        asked.append(impact)
        return False

    with Project.load(project) as p:
        p.clock = clock
        with pytest.raises(UsageError, match="not confirmed"):
            p.sync(full_refresh=True, confirm=refuse)
    assert asked[0].resent == {"tiktok": 10} and asked[0].double_counted == {"tiktok": 10}
    assert server.stats.track_requests == 1  # nothing was sent
    # A library call without ``confirm`` never asks.
    assert run(project, clock, full_refresh=True) == (12, 0, 0, 10)


def _schema_2_state(path: Path) -> None:
    """A state as the retl before first acknowledgement times (schema 2) wrote it."""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.execute("CREATE SEQUENCE ack_seq")
        con.execute(
            """CREATE TABLE synced_rows (destination VARCHAR NOT NULL, scope VARCHAR NOT NULL,
               row_key VARCHAR NOT NULL, row_hash VARCHAR NOT NULL,
               synced_at TIMESTAMP NOT NULL, seq BIGINT NOT NULL)"""
        )
        con.execute(
            """CREATE TABLE destinations (destination VARCHAR NOT NULL, scope VARCHAR NOT NULL,
               event_source_id VARCHAR, mapping_fingerprint VARCHAR, mapping JSON,
               last_sync_at TIMESTAMP, last_run_id VARCHAR, PRIMARY KEY (destination, scope))"""
        )
        con.execute(
            "CREATE TABLE dirty_scopes (destination VARCHAR NOT NULL, "
            "scope VARCHAR NOT NULL, PRIMARY KEY (destination, scope))"
        )
        con.execute("INSERT INTO meta VALUES ('schema_version', '2')")
        con.execute(
            """INSERT INTO synced_rows VALUES
               ('d', 's', 'k1', 'h1', TIMESTAMP '2024-01-01 10:00:00', 1),
               ('d', 's', 'k2', 'h2', TIMESTAMP '2024-01-02 11:00:00', 2)"""
        )


def test_a_read_only_open_of_a_schema_2_state_reads_an_upgraded_copy(tmp_path: Path) -> None:
    """`plan` after an upgrade: it reads the old file through a migrated copy, changes
    nothing, and leaves no copy behind."""
    path = tmp_path / "state.duckdb"
    _schema_2_state(path)
    before = path.read_bytes()
    engine = DuckDBEngine(temp_directory=tmp_path / "tmp")
    store = LocalStateStore(engine, path, read_only=True)
    latest = store.latest_relation("d", "s", with_first=True)
    assert sorted(
        engine.rows(f"SELECT row_key, CAST(first_synced_at AS VARCHAR) FROM {latest}")
    ) == [("k1", "2024-01-01 10:00:00"), ("k2", "2024-01-02 11:00:00")]
    store.close()
    assert path.read_bytes() == before
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_schema_2_state_file_migrates_with_first_ack_equal_to_last(tmp_path: Path) -> None:
    """A schema-2 state built with its own SQL: rows unchanged, and each key's first time
    is its last one."""
    path = tmp_path / "state.duckdb"
    _schema_2_state(path)
    engine = DuckDBEngine()
    store = LocalStateStore(engine, path, read_only=False)
    assert engine.rows(f"SELECT value FROM {ALIAS}.meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)
    ]
    got = engine.rows(
        f"SELECT row_key, row_hash, CAST(synced_at AS VARCHAR), seq, "
        f"CAST(first_synced_at AS VARCHAR) FROM {ALIAS}.synced_rows ORDER BY seq"
    )
    assert got == [
        ("k1", "h1", "2024-01-01 10:00:00", 1, "2024-01-01 10:00:00"),
        ("k2", "h2", "2024-01-02 11:00:00", 2, "2024-01-02 11:00:00"),
    ]
    # A resend of k1 updates its hash and last time, never its first time.
    store.record_acknowledged("d", "s", ["k1"], ["h1b"])
    store.compact("d", "s")
    latest = store.latest_relation("d", "s", with_first=True)
    assert sorted(
        engine.rows(f"SELECT row_key, row_hash, CAST(first_synced_at AS VARCHAR) FROM {latest}")
    ) == [
        ("k1", "h1b", "2024-01-01 10:00:00"),
        ("k2", "h2", "2024-01-02 11:00:00"),
    ]
    store.close()
    engine.close()


def _age_state(project: Path, hours: int) -> None:
    """Make every acknowledgement ``hours`` old (the CLI runs on the real clock)."""
    with duckdb.connect(str(project / ".retl" / "state.duckdb")) as con:
        con.execute(
            f"UPDATE synced_rows SET first_synced_at = first_synced_at - INTERVAL {hours} HOUR"
        )


@pytest.mark.slow
def test_cli_full_refresh_and_reset_refuse_without_a_terminal_unless_yes(
    server: SandboxServer, tmp_path: Path, run_cli: RunCli, cli: Callable[..., CliResult]
) -> None:
    project = events_project(tmp_path, server.base_url, select=model())
    env = {"TIKTOK_ACCESS_TOKEN": SECRET}
    assert run(project, Clock(time.time())) == (10, 0, 0, 0)
    _age_state(project, 72)
    refused = run_cli("sync", "--full-refresh", "--project-dir", project, env=env)  # a pipe
    assert refused.returncode == 1
    message = " ".join(refused.stderr.split())
    assert "--full-refresh sends again 10 event(s) TikTok acknowledged before" in message
    assert "TikTok will count 10 of them twice" in message
    assert "pass --yes" in message
    assert server.stats.track_requests == 1  # nothing was sent
    done = run_cli(
        "sync", "--full-refresh", "--yes", "--format", "json", "--project-dir", project, env=env
    )
    assert done.returncode == 0, done.stderr
    document = orjson.loads(done.stdout)
    (dest,) = document["destinations"]
    assert dest["events"]["sent"] == 10 and dest["rows"]["double_counted"] == 10
    # what --yes confirmed is in the document a CI job reads, as the text output says it
    confirmed = [w["message"] for w in document["warnings"] if "confirmed by --yes" in w["message"]]
    assert confirmed == [
        "--full-refresh sends again 10 event(s) TikTok acknowledged before; TikTok will count "
        "10 of them twice (first acknowledged more than 48 hours ago, outside the deduplication "
        "window) (confirmed by --yes)"
    ]

    reset = cli("state", "reset", "--project-dir", project)
    assert reset.returncode == 1
    assert "state reset makes the next sync send again 10 event(s)" in " ".join(
        reset.stderr.split()
    )
    reset = cli("state", "reset", "--yes", "--format", "json", "--project-dir", project)
    assert reset.returncode == 0, reset.stderr
    reset_document = orjson.loads(reset.stdout)
    assert reset_document["rows_forgotten"] == {"tiktok": 10}
    [warning] = reset_document["warnings"]
    assert warning["message"].startswith("state reset makes the next sync send again 10")


def test_a_clock_set_back_at_a_resend_does_not_move_the_first_acknowledgement(
    server: SandboxServer, tmp_path: Path
) -> None:
    """A key's first acknowledgement is its first entry's, whatever the clock read at a later
    one: a clock set back 100 hours at a resend made the local state take that reading (the
    earliest time, not the first entry's), so a change an hour after the first send was held
    back as outside the window, and a full refresh counted it twice."""
    project = events_project(tmp_path, server.base_url, select=model())
    clock = Clock(T0 + 100 * HOUR)
    assert run(project, clock) == (10, 0, 0, 0)
    clock.now = T0  # set back (a wrong clock, fixed later): the resend is acknowledged "then"
    write(project, bump=1, on_change="resend")
    assert run(project, clock) == (2, 2, 0, 0)
    clock.now = T0 + 101 * HOUR  # an hour after the first send: inside the window
    write(project, bump=2)
    assert run(project, clock) == (2, 2, 0, 0)  # not held back, not counted twice
    doc = plan(project, clock, full_refresh=True)
    assert doc["rows"]["double_counted"] == 0  # type: ignore[index]

"""The delivery log and the run history: written with the acknowledgements, so they agree
with what the emulator received, also after a SIGKILL; bounded by retention."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pytest

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.history.records import ACCEPTED, REJECTED, SKIPPED_INVALID
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from reverse_etl.state.journal import _ACK_FIELDS, JournalWriter
from reverse_etl.state.store import LocalStateStore
from tests.conftest import cli_env, invoke_cli, invoke_in_process, kill_sync_midway
from tests.test_sync import NOW, SECRET, events_project


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)


def model(rows: int, *, invalid_every: int = 0) -> str:
    """``rows`` events; with ``invalid_every`` n, every n-th row has no event name (invalid)."""
    event = (
        f"case when i % {invalid_every} = 3 then null else 'Purchase' end"
        if invalid_every
        else "'Purchase'"
    )
    return (
        f"select {event} as event, 'o' || i as event_id, {NOW} as event_time, "
        f"i as value, 'USD' as currency from range({rows}) t(i)"
    )


def log_rows(project: Path) -> list[tuple[str, str, str | None, str, int | None, str | None]]:
    """The delivery log as a reader outside retl sees it: the Parquet files of the state."""
    files = sorted((project / ".retl" / "state.duckdb.log").glob("*.parquet"))
    if not files:
        return []
    con = duckdb.connect()
    try:
        return con.execute(
            "SELECT run_id, row_key, event_id, outcome, code, message FROM read_parquet(?)",
            [[str(f) for f in files]],
        ).fetchall()
    finally:
        con.close()


def sync(project: Path, clock: float | None = None) -> None:
    with Project.load(project) as p:
        p.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05, max_attempts=4)
        if clock is not None:
            p.clock = lambda: clock
        p.sync()


def test_the_log_agrees_with_the_emulator_after_rejections_retries_and_skips(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(
        tmp_path,
        server.base_url,
        select=model(2500, invalid_every=500),
        extra="skip_invalid_record: true",
    )
    # a 503 and a rate limit (both retried), then a request whose events 5 and 17 are refused
    server.faults.script(("http", 503), ("code", 40100), ("partial", [5, 17]))
    with Project.load(project) as p:
        p.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05, max_attempts=4)
        report = p.sync()
    (r,) = report.results
    assert r.retries >= 2 and r.rejected == 2 and r.rows_invalid == 5
    rows = log_rows(project)
    by_outcome = Counter(row[3] for row in rows)
    assert by_outcome == {ACCEPTED: r.sent, REJECTED: 2, SKIPPED_INVALID: 5}
    received = {e["data"]["event_id"] for e in server.events()}
    accepted = {row[2] for row in rows if row[3] == ACCEPTED}
    assert accepted == received and len(received) == 2500 - 5 - 2
    # each row's event id is its own (the key is the event id here): found ahead of sending,
    # the ids stay in step with the keys through the partial answer's take
    assert all(row[1] == row[2] for row in rows if row[3] in (ACCEPTED, REJECTED))
    rejected = [row for row in rows if row[3] == REJECTED]
    assert {row[4] for row in rejected} == {40002}
    assert not {row[2] for row in rejected} & received
    skipped = sorted(row[1] for row in rows if row[3] == SKIPPED_INVALID)
    assert skipped == sorted(f"o{i}" for i in range(3, 2500, 500))
    assert all("event" in (row[5] or "") for row in rows if row[3] == SKIPPED_INVALID)
    assert {row[0] for row in rows} == {report.run_id}
    # the run history holds the same counts; `retl runs show` lists the refused rows
    with Project.load(project) as p:
        (run,) = p.runs()
        detail = p.run_detail(report.run_id[:12])
    assert (run.sent, run.rejected, run.skipped_invalid, run.exit_code) == (r.sent, 2, 5, 0)
    assert detail is not None and detail.not_accepted_total == 7
    (dest,) = detail.destinations
    assert (dest.sent, dest.rejected, dest.skipped_invalid) == (r.sent, 2, 5)


@pytest.mark.slow
def test_the_log_agrees_with_the_emulator_after_a_sigkill_and_a_rerun(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(tmp_path, server.base_url, select=model(20_000))
    before = kill_sync_midway(
        project, server, cli_env({"TIKTOK_ACCESS_TOKEN": SECRET}), after_requests=6, in_flight=3
    )
    assert before == 9000
    rerun = invoke_cli(
        "sync", "--project-dir", project, "--format", "json", env={"TIKTOK_ACCESS_TOKEN": SECRET}
    )
    assert rerun.returncode == 0, rerun.stderr
    rerun_id = orjson.loads(rerun.stdout)["run_id"]
    rows = log_rows(project)
    accepted = Counter(row[2] for row in rows if row[3] == ACCEPTED)
    # every event the emulator took is logged as accepted, once: the 3 requests in flight at
    # the kill reached the emulator, but the dead run never saw their answers (it logged
    # nothing for them), and the rerun sent them again and logged them
    assert set(accepted) == {e["data"]["event_id"] for e in server.events()}
    assert len(accepted) == 20_000 and set(accepted.values()) == {1}
    by_run = Counter(row[0] for row in rows if row[3] == ACCEPTED)
    assert by_run[rerun_id] == 20_000 - 6000
    assert server.stats.events_deduplicated == 3000  # what the rerun resent
    # the killed run is in the history as interrupted, with what its journal acknowledged
    with Project.load(project) as p:
        runs = p.runs()
    assert [r.run_id == rerun_id for r in runs] == [True, False]
    killed = runs[1]
    assert killed.status == "interrupted" and killed.exit_code is None
    assert killed.sent == 6000 and runs[0].sent == 20_000 - 6000
    listed = invoke_in_process("runs", "--project-dir", project)
    assert "interrupted" in listed.stdout and rerun_id in listed.stdout


def test_history_older_than_the_retention_is_pruned(server: SandboxServer, tmp_path: Path) -> None:
    project = events_project(tmp_path, server.base_url, select=model(10), extra="")
    (project / "retl_project.yml").write_text("history:\n  retention_days: 7\n", encoding="utf-8")
    start = time.time()
    sync(project, start)
    (project / "models" / "events.sql").write_text(model(12), encoding="utf-8")
    sync(project, start + 6 * 86400)  # 6 days later: the first run is still kept
    with Project.load(project) as p:
        assert len(p.runs()) == 2
    (project / "models" / "events.sql").write_text(model(13), encoding="utf-8")
    sync(project, start + 8 * 86400)  # 8 days after the first: it goes, with its log rows
    with Project.load(project) as p:
        runs = p.runs()
        assert len(runs) == 2
        assert {d.event_id for d in p.deliveries("o0")} == set()  # sent by the first run only
        (late,) = p.deliveries("o12")
    assert late.outcome == ACCEPTED
    assert {row[0] for row in log_rows(project)} == {r.run_id for r in runs}


def test_a_pii_key_is_logged_hashed_and_found_by_its_raw_value(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(
        tmp_path,
        server.base_url,
        select=(
            "{{ config(primary_key='email') }} select 'Purchase' as event, "
            f"{NOW} as event_time, 'person' || i || '@example.com' as email "
            "from range(3) t(i)"
        ),
    )
    sync(project)
    keys = {row[1] for row in log_rows(project)}
    assert len(keys) == 3 and all(k.startswith("sha256:") for k in keys)
    found = invoke_in_process("runs", "find", "person1@example.com", "--project-dir", project)
    assert found.returncode == 0, found.stderr
    assert "accepted" in found.stdout and "sha256:" in found.stdout
    assert "@example.com" not in found.stdout
    shown = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    assert "@example.com" not in shown.stdout and SECRET not in shown.stdout


def test_retl_runs_lists_shows_and_finds(server: SandboxServer, tmp_path: Path) -> None:
    project = events_project(tmp_path, server.base_url, select=model(30))
    sync(project)
    (project / "models" / "events.sql").write_text(model(31), encoding="utf-8")
    sync(project)
    listed = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    assert listed.returncode == 0, listed.stderr
    runs = orjson.loads(listed.stdout)["runs"]
    assert [r["events"]["sent"] for r in runs] == [1, 30]  # newest first
    assert all(r["status"] == "ok" and r["exit_code"] == 0 for r in runs)
    shown = invoke_in_process("runs", "show", runs[1]["run_id"], "--project-dir", project)
    assert shown.returncode == 0, shown.stderr
    assert "tiktok" in shown.stdout and "30" in shown.stdout
    found = invoke_in_process("runs", "find", "o30", "--project-dir", project, "--format", "json")
    (delivery,) = orjson.loads(found.stdout)["deliveries"]
    assert delivery["run_id"] == runs[0]["run_id"] and delivery["outcome"] == ACCEPTED
    assert delivery["request_id"]
    by_event_id = invoke_in_process("runs", "find", "o7", "--project-dir", project)
    assert runs[1]["run_id"] in by_event_id.stdout
    missing = invoke_in_process("runs", "show", "nope", "--project-dir", project)
    assert missing.returncode == 1 and "no run 'nope'" in missing.stderr
    assert "Traceback" not in missing.stderr
    ambiguous = invoke_in_process("runs", "show", "2", "--project-dir", project)
    assert ambiguous.returncode == 1 and "matches 2 runs" in ambiguous.stderr


def test_dbt_source_names_every_column_of_the_tables(server: SandboxServer, tmp_path: Path) -> None:
    import yaml

    project = events_project(tmp_path, server.base_url, select=model(3))
    sync(project)
    printed = invoke_in_process("runs", "--dbt-source", "--project-dir", project)
    assert printed.returncode == 0, printed.stderr
    # YAML is all it prints: asked for JSON, it says so (it printed YAML, exit 0: an audit)
    as_json = invoke_in_process(
        "runs", "--dbt-source", "--format", "json", "--project-dir", project
    )
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["ok"] is False
    (source,) = yaml.safe_load(printed.stdout)["sources"]
    assert "state.duckdb" in printed.stdout
    con = duckdb.connect(str(project / ".retl" / "state.duckdb"), read_only=True)
    try:
        for table in source["tables"]:
            files = table.get("meta", {}).get("external_location")
            relation = f"read_parquet('{files}')" if files else table["name"]
            real = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
            assert [c["name"] for c in table["columns"]] == real
    finally:
        con.close()
    assert [t["name"] for t in source["tables"]] == ["runs", "run_destinations", "delivery_log"]


def test_a_journal_from_an_older_retl_folds_as_acknowledged_rows(tmp_path: Path) -> None:
    """A journal left by a killed run of the retl before the log (four columns)."""
    from reverse_etl.engine.duckdb import DuckDBEngine

    state = tmp_path / "state.duckdb"
    folder = state.with_name(state.name + ".acks")
    folder.mkdir()
    schema = pa.schema(_ACK_FIELDS, metadata={"destination": "d", "scope": "s"})
    with (
        pa.OSFile(str(folder / f"{0:020d}-1-0.arrows"), "wb") as f,
        pa.ipc.new_stream(f, schema) as w,
    ):
        w.write_batch(
            pa.record_batch(
                [
                    pa.array(["k1", "k2"]),
                    pa.array(["h1", "h2"]),
                    pa.array([dt.datetime(2026, 1, 1)] * 2, pa.timestamp("us")),
                    pa.array([1, 2], pa.int64()),
                ],
                schema=schema,
            )
        )
    engine = DuckDBEngine()
    store = LocalStateStore(engine, state)
    try:
        latest = engine.rows(f"SELECT * FROM {store.latest_relation('d', 's')} ORDER BY 1")
        assert latest == [("k1", "h1"), ("k2", "h2")]
        log = store.history_relation("delivery_log")
        assert engine.rows(f"SELECT count(*) FROM {log}") == [(0,)]
    finally:
        store.close()
        engine.close()
    assert JournalWriter  # the writer of today appends the log columns (other tests)


def test_log_accepted_false_keeps_only_the_rows_not_accepted(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(
        tmp_path, server.base_url, select=model(1500), extra="skip_invalid_record: true"
    )
    (project / "retl_project.yml").write_text("history:\n  log_accepted: false\n", encoding="utf-8")
    server.faults.script(("partial", [3]))
    sync(project)
    rows = log_rows(project)
    assert [row[3] for row in rows] == [REJECTED]
    with Project.load(project) as p:
        (run,) = p.runs()
    assert (run.sent, run.rejected) == (1499, 1)  # the history still counts them


def test_a_journal_folded_twice_logs_its_rows_once(tmp_path: Path) -> None:
    """A crash after the fold committed but before the journal was deleted: the next run
    folds it again, and the log file is written again under the same name."""
    import shutil

    from reverse_etl.engine.duckdb import DuckDBEngine
    from reverse_etl.state.base import LogBatch

    state = tmp_path / "state.duckdb"
    engine = DuckDBEngine()
    store = LocalStateStore(engine, state)
    log = LogBatch("run-1", ACCEPTED, ["k1", "k2"], ["e1", "e2"], request_id="req-1")
    store.record_acknowledged("d", "s", ["k1", "k2"], ["h1", "h2"], log)
    store.record_outcomes("d", "s", LogBatch("run-1", REJECTED, ["k3"], ["e3"], "bad", 40002))
    (journal,) = store.journal_dir.glob("*.arrows")
    store._journals[("d", "s")].close()
    kept = tmp_path / "kept.arrows"
    shutil.copy(journal, kept)
    store.close()
    engine.close()
    assert not journal.exists()
    shutil.copy(kept, journal)  # as if the run died between the commit and the unlink
    engine = DuckDBEngine()
    store = LocalStateStore(engine, state)
    try:
        rows = engine.rows(
            f"SELECT row_key, event_id, outcome, code, request_id "
            f"FROM {store.history_relation('delivery_log')} ORDER BY row_key"
        )
        latest = engine.rows(f"SELECT * FROM {store.latest_relation('d', 's')} ORDER BY 1")
    finally:
        store.close()
        engine.close()
    assert rows == [
        ("k1", "e1", ACCEPTED, None, "req-1"),
        ("k2", "e2", ACCEPTED, None, "req-1"),
        ("k3", "e3", REJECTED, 40002, None),
    ]
    assert latest == [("k1", "h1"), ("k2", "h2")]  # the rejected row is not acknowledged


def test_an_event_id_with_a_quote_or_backslash_is_found_in_new_and_older_logs(
    server: SandboxServer, tmp_path: Path
) -> None:
    # The log stores the event id as sent. A retl before 2ad0f1e stored it as it appears
    # inside the JSON payload (a quote as \", a backslash as \\): both are found by the id
    # as typed. (Control characters make an event id invalid, so no other escape occurs.)
    project = events_project(
        tmp_path,
        server.base_url,
        select=(
            "{{ config(primary_key='order_id') }} select 'Purchase' as event, "
            "'ord-' || i as order_id, 'e\"' || i || '\\x' as event_id, "
            f"{NOW} as event_time from range(2) t(i)"
        ),
    )
    sync(project)
    typed = 'e"1\\x'
    assert typed in {row[2] for row in log_rows(project)}

    def found() -> list[str]:
        with Project.load(project) as p:
            return [d.key for d in p.deliveries(typed)]

    assert found() == ["ord-1"]
    (log,) = (project / ".retl" / "state.duckdb.log").glob("*.parquet")
    con = duckdb.connect()
    try:  # the log as the older retl wrote it
        con.execute(
            "COPY (SELECT * REPLACE (replace(replace(event_id, '\\', '\\\\'), '\"', '\\\"') "
            "AS event_id) FROM read_parquet(?)) TO '" + str(log) + ".old' (FORMAT parquet)",
            [str(log)],
        )
    finally:
        con.close()
    Path(f"{log}.old").replace(log)
    assert 'e\\"1\\\\x' in {row[2] for row in log_rows(project)}
    assert found() == ["ord-1"]

"""A model may not call DuckDB's functions that change the session retl runs it in, write its
files or read the run's log (models/sql_text.SESSION_FUNCTIONS): validate passed them, and
``plan --sandbox`` then printed a profile of each of its statements (``enable_profiling()``),
wrote one into the project (``enable_profiling(save_location='profile.json')``) or aborted
(``enable_logging(storage='file', ...)`` with ``write_log()``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.models.sql_text import SESSION_FUNCTIONS, session_call

DESTINATIONS = """
destinations:
  shop:
    type: tiktok_events
    model: events
    event_source_id: CPIXEL
"""

COLUMNS = (
    "'e1' as event_id, 'Purchase' as event, now() as event_time, 'a@b.c' as email, "
    "'https://x.y/' as page_url"
)


@pytest.fixture(autouse=True)
def _beside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("call", "called"),
    [
        ("enable_profiling(save_location = 'profile.json', format = 'json')", "enable_profiling"),
        ("enable_profiling()", "enable_profiling"),
        (
            "enable_logging(storage = 'file', storage_path = 'data/logs'), "
            "(select write_log('x', level := 'error'))",
            "enable_logging",
        ),
        ("checkpoint()", "checkpoint"),
        ("(select count(*) as n from duckdb_logs)", "duckdb_logs"),
        ('"FORCE_CHECKPOINT" /* quoted */ ()', "force_checkpoint"),
    ],
)
@pytest.mark.parametrize("command", [("validate",), ("plan", "--sandbox"), ("show", "events")])
def test_a_model_may_not_change_the_session(
    tmp_path: Path, make_project, cli, call: str, called: str, command: tuple[str, ...]
) -> None:
    root = make_project(
        tmp_path / "p",
        {
            "models/events.sql": f"select {COLUMNS}\nfrom {call}",
            "destinations.yml": DESTINATIONS,
        },
    )
    result = cli(*command, "--project-dir", root)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, said
    assert "Traceback" not in said
    assert "Query Profiling Information" not in said
    assert f"models/events.sql:2: a model may not call {called}():" in said, said
    assert "remove the call" in said
    assert not (root / "profile.json").exists()
    assert not (root / "data" / "logs").exists()


@pytest.mark.parametrize("name", sorted(SESSION_FUNCTIONS))
def test_each_listed_function_is_found_when_called(name: str) -> None:
    assert session_call(f"select 1 as a,\n  b from t, {name}('x')") == (name, 2)


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("select 'enable_profiling()' as q", None),  # a string
        ("select checkpoint, log_count from t", None),  # columns of those names
        ("select * from t as write_log(a)", None),  # an alias's columns
        ("select enable_profiling_count(1) as n", None),  # another name
        ("select sleep_ms, pg_sleep from t", None),  # columns
        ("select 1 as a\nwhere sleep_ms(100000) is null", ("sleep_ms", 2)),  # stalls the run
        ("select pg_catalog.pg_sleep(100) as a", ("pg_sleep", 1)),
        ("select *\nfrom system.main.duckdb_logs", ("duckdb_logs", 2)),  # the view
        ("select *\nfrom system.main.enable_logging()", ("enable_logging", 2)),
        # SQL sqlglot cannot tokenize: any mention before a parenthesis, or of the view
        ("select a\nfrom checkpoint() where b = 'open", ("checkpoint", 2)),
        ("select a\nfrom duckdb_logs where b = 'open", ("duckdb_logs", 2)),
    ],
)
def test_a_call_is_told_from_a_string_or_a_column(sql: str, found: tuple[str, int] | None) -> None:
    assert session_call(sql) == found

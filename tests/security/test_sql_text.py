"""A model may not call DuckDB's functions that run SQL given as text (models/sql_text.py):
the SQL in the string is seen by no check of what a model reads, and DuckDB allows the whole
data/ folder, its hidden files too (an audit: query('... read_text(''data/.hidden'') ...')
sent data/.hidden as event_id through a validate that passed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.models.sql_text import sql_text_call

SENTINEL = "SENTINEL-sqltext-7d21"

DESTINATIONS = """
destinations:
  shop:
    type: tiktok_events
    model: events
    event_source_id: CPIXEL
"""

COLUMNS = "'Purchase' as event, now() as event_time, 'a@b.c' as email, 'https://x.y/' as page_url"


@pytest.fixture(autouse=True)
def _beside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("reader", "called"),
    [
        ("query('select content as v from read_text(''data/.hidden'')')", "query"),
        ("query_table('data/.hidden.csv')", "query_table"),
        (
            "json_execute_serialized_sql(json_serialize_sql("
            "'select content as v from read_text(''data/.hidden'')'))",
            "json_execute_serialized_sql",
        ),
        (
            "\"QUERY\" /* quoted */ ('select content as v from read_text(''data/.hidden'')')",
            "query",
        ),
        ("system.main.query('select content as v from read_text(''data/.hidden'')')", "query"),
    ],
)
@pytest.mark.parametrize("command", [("validate",), ("plan", "--sandbox"), ("show", "events")])
def test_a_model_may_not_run_sql_given_as_text(
    tmp_path: Path, make_project, cli, reader: str, called: str, command: tuple[str, ...]
) -> None:
    column = "a" if called == "query_table" else "v"
    root = make_project(
        tmp_path / "p",
        {
            "models/events.sql": f"select {COLUMNS}, {column}::varchar as event_id\nfrom {reader}",
            "destinations.yml": DESTINATIONS,
            "data/ok.csv": "a\n1\n",
        },
    )
    (root / "data" / ".hidden").write_text(f"{SENTINEL}\n")
    (root / "data" / ".hidden.csv").write_text(f"a\n{SENTINEL}\n")
    result = cli(*command, "--project-dir", root)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, said
    assert SENTINEL not in said, said
    assert "Traceback" not in said
    assert (
        f"models/events.sql:2: a model may not call {called}(): it runs SQL given as text" in said
    )
    assert "write that query in the model itself" in said, said


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("select 'the query (beta)' as q", None),  # a string
        ("select * from t as query(a)", None),  # an alias's columns
        ("select query_count(1) as n, queryx(2)", None),  # other names
        ("select 1 as a,\n  2 as b from\n query_table ('t')", ("query_table", 3)),
        ("select json_serialize_plan('select 1') as p", ("json_serialize_plan", 1)),
        # a CTE named query, after another or with its column list: no call
        ("with a as (select 1),\n query(b) as (select 2) select * from query", None),
        ("with a as (select 1), query(b, c) as not materialized (from a) select 1", None),
        ("with recursive query(n) as ((select 1)) select * from query", None),
        # an alias's column list after a call is no CTE: the call is one
        ('select * from query_table("t") as materialized (x)', ("query_table", 1)),
    ],
)
def test_a_call_is_told_from_a_string_or_an_alias(sql: str, found: tuple[str, int] | None) -> None:
    assert sql_text_call(sql) == found

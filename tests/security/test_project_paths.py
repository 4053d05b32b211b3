"""A model's relative file paths are the project's, whatever folder retl runs in: DuckDB looks
for a relative path in the folder it runs in first, so the literals a model gives its file
readers are made paths in the project before it runs (engine/file_paths.project_paths)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.engine.file_paths import project_paths

SENTINEL = "SENTINEL-outside-7d1e2"
DESTINATIONS = """
destinations:
  shop:
    type: tiktok_events
    model: events
    event_source_id: CPIXEL
"""


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select * from read_csv('data/x.csv', delim=';')", "read_csv('/p/data/x.csv', delim=';')"),
        ("select * from READ_CSV_AUTO('x.csv')", "READ_CSV_AUTO('/p/x.csv')"),
        (
            "select * from read_parquet(['a.parquet', 'b.parquet'])",
            "['/p/a.parquet', '/p/b.parquet']",
        ),
        ("select * from parquet_scan('d/*.parquet')", "parquet_scan('/p/d/*.parquet')"),
        (
            "select * from read_json_auto('j.json'), read_ndjson('n.json')",
            "'/p/j.json'), read_ndjson('/p/n.json')",
        ),
        (
            "select * from read_text('t.txt') join read_blob('b.bin') on true",
            "read_text('/p/t.txt') join read_blob('/p/b.bin')",
        ),
        ("select *\nfrom 'data/x.csv' as t", "select *\nfrom '/p/data/x.csv' as t"),
        ("select * from read_csv('it''s.csv')", "read_csv('/p/it''s.csv')"),
        ("select * from read_csv('../up.csv')", "read_csv('/p/../up.csv')"),
        # the readers of a file's metadata, or of its name, take a path first too
        ("select * from sniff_csv('data/x.csv')", "sniff_csv('/p/data/x.csv')"),
        ("select * from parquet_metadata('x.parquet')", "parquet_metadata('/p/x.parquet')"),
        ("select * from parquet_schema('x.parquet')", "parquet_schema('/p/x.parquet')"),
        ("select * from parquet_file_metadata('x.pq')", "parquet_file_metadata('/p/x.pq')"),
        ("select * from parquet_full_metadata('x.pq')", "parquet_full_metadata('/p/x.pq')"),
        ("select * from parquet_kv_metadata('x.pq')", "parquet_kv_metadata('/p/x.pq')"),
        ("select * from parquet_bloom_probe('x.pq', 'a', 1)", "parquet_bloom_probe('/p/x.pq', 'a'"),
        ("select * from read_json_objects_auto('j.json')", "read_json_objects_auto('/p/j.json')"),
        ("select * from read_duckdb('w.duckdb')", "read_duckdb('/p/w.duckdb')"),
        ("select * from read_xlsx('data/x.xlsx')", "read_xlsx('/p/data/x.xlsx')"),
        ("select * from glob('data/*.csv')", "glob('/p/data/*.csv')"),
    ],
)
def test_relative_literals_given_to_readers_become_the_projects(sql: str, expected: str) -> None:
    assert expected in project_paths(sql, Path("/p"))


@pytest.mark.parametrize(
    "sql",
    [
        "select * from read_csv('/abs/x.csv')",
        "select * from read_parquet('s3://bucket/x.parquet')",
        "select * from read_csv('https://example.com/x.csv')",
        "select * from read_csv('~/x.csv')",
        "select * from read_csv('data/' || 'x.csv')",  # built at run time: refused if shadowed
        "select 'data/x.csv' as path, * from \"data/t\"",  # a value, a quoted table name
        "select * from read_csv(",  # not SQL sqlglot reads: DuckDB judges it as written
    ],
)
def test_other_text_stays_as_written(sql: str) -> None:
    assert project_paths(sql, Path("/p")) == sql


def test_the_projects_glob_characters_are_escaped_not_the_models() -> None:
    sql = "-- read 'x'\nselect * from read_csv('data/*.csv')  -- ok\n"
    assert project_paths(sql, Path("/p/a*b")) == (
        "-- read 'x'\nselect * from read_csv('/p/a[*]b/data/*.csv')  -- ok\n"
    )


def _project(make_project, root: Path, reader: str) -> Path:
    model = f"select a from {reader}"
    make_project(
        root,
        {
            "models/events.sql": model,
            "destinations.yml": DESTINATIONS,
            "data/ok.csv": "a\nPROJECT-ROW\n",
            "data/more.csv": "a\nPROJECT-MORE\n",
        },
    )
    return root


@pytest.mark.parametrize("running", ["own_data", "no_data"])
@pytest.mark.parametrize(
    ("reader", "rows"),
    [
        ("read_csv('data/ok.csv')", ["PROJECT-ROW"]),
        ("'data/ok.csv'", ["PROJECT-ROW"]),
        ("read_csv('data/*.csv')", ["PROJECT-ROW", "PROJECT-MORE"]),
        ("read_csv(['data/ok.csv', 'data/more.csv'])", ["PROJECT-ROW", "PROJECT-MORE"]),
    ],
)
def test_a_model_reads_the_projects_file_from_any_folder(
    tmp_path: Path, make_project, cli, monkeypatch: pytest.MonkeyPatch, running, reader, rows
) -> None:
    job = tmp_path / "job"
    job.mkdir()
    if running == "own_data":  # the folder retl runs in has a data/ok.csv of its own
        (job / "data").mkdir()
        (job / "data" / "ok.csv").write_text("a\nJOB-ROW\n")
        (job / "data" / "more.csv").write_text("a\nJOB-MORE\n")
    root = _project(make_project, tmp_path / "proj", reader)
    monkeypatch.chdir(job)
    result = cli("show", "events", "--project-dir", root)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert all(row in result.stdout for row in rows), out
    assert "JOB-" not in out


@pytest.mark.parametrize(
    "reader", ["read_csv('../outside.csv')", "read_csv('data/../../outside.csv')"]
)
def test_a_path_out_of_the_project_is_still_refused(
    tmp_path: Path, make_project, cli, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    job = tmp_path / "job"
    (job / "data").mkdir(parents=True)
    (job / "data" / "ok.csv").write_text("a\nJOB-ROW\n")
    (tmp_path / "outside.csv").write_text(f"a\n{SENTINEL}\n")  # ../ of the project
    (job / "outside.csv").write_text(f"a\n{SENTINEL}\n")  # ../ of data/ from the job
    root = _project(make_project, tmp_path / "proj", reader)
    monkeypatch.chdir(job)
    result = cli("show", "events", "--project-dir", root)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert SENTINEL not in out and "Traceback" not in out, out
    assert "may not read" in out and "RETL_ALLOWED_PATHS" in out, out
    assert "a data of its own" not in out, out  # the rule's reason, not the folder's


def test_a_path_built_at_run_time_keeps_the_refusal(
    tmp_path: Path, make_project, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = tmp_path / "job"
    (job / "data").mkdir(parents=True)
    (job / "data" / "ok.csv").write_text("a\nJOB-ROW\n")
    root = _project(make_project, tmp_path / "proj", "read_csv('data/' || 'ok.csv')")
    monkeypatch.chdir(job)
    result = cli("show", "events", "--project-dir", root)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "JOB-ROW" not in out and "run retl from the project folder" in out, out


def test_from_the_project_folder_the_text_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader's filename column keeps the path as written, as before."""
    from reverse_etl.engine.duckdb import DuckDBEngine

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ok.csv").write_text("a\n1\n")
    sql = "select filename from read_text('data/ok.csv')"
    engine = DuckDBEngine(file_search_path=tmp_path)
    try:
        monkeypatch.chdir(tmp_path)
        assert engine.project_paths(sql) == sql
        assert engine.rows(engine.project_paths(sql)) == [("data/ok.csv",)]
        monkeypatch.chdir(tmp_path / "data")
        assert engine.project_paths(sql) == sql.replace("'data/", f"'{tmp_path}/data/")
    finally:
        engine.close()


@pytest.mark.parametrize(
    "sql",
    [
        "select * from 'orders'",  # DuckDB reads a quoted name with no '.' or '/' as a table's
        "with orders as (select 1 as a) select * from 'orders'",
    ],
)
def test_a_quoted_table_name_is_no_path(sql: str) -> None:
    """A review (S15): ``FROM 'orders'`` (a CTE's, or a warehouse table's) became
    ``FROM '/p/orders'``, and the model failed: 'Table with name /p/orders does not exist'."""
    assert project_paths(sql, Path("/p")) == sql


def test_a_model_reading_a_cte_by_its_quoted_name_runs(
    tmp_path: Path, make_project, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sql = "with orders as (select 41 + 1 as a) select * from 'orders'"
    root = make_project(tmp_path / "p", {"models/m.sql": sql})
    result = cli("show", "m", "--project-dir", root)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 0, said
    assert "42" in said, said

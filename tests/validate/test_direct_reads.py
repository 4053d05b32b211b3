"""A model that reads a project file directly (``read_csv('data/x.csv')``, as dbt-duckdb
users write): validate learns its columns by a DESCRIBE of the read, as it does a file
source's; plan and sync then run it. A URL, a missing file or a refused one keeps a clear
error naming the model's file and line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.project import Project
from reverse_etl.scaffold import init_project
from reverse_etl.validation import validate_project
from tests.conftest import MakeProject

DESTINATIONS = """
destinations:
  tiktok_web:
    type: tiktok_events
    model: events
    auth_method: access_token
    access_token: "{{ env_var('TIKTOK_ACCESS_TOKEN') }}"
    event_source_id: CPIXEL
"""
SELECT = (
    "select 'Purchase' as event, cast(id as varchar) as event_id, ts as event_time, "
    "email, total as value, 'USD' as currency, page as page_url\n"
)
CSV = "id,ts,email,total,page\n1,2026-12-01 10:00:00,a@example.com,12.5,https://x.example/a\n"


def _project(root: Path, make_project: MakeProject, read: str) -> Path:
    make_project(
        root,
        {
            "retl_project.yml": "name: direct\n",
            "destinations.yml": DESTINATIONS,
            "models/events.sql": SELECT + f"from {read}\n",
            "data/orders.csv": CSV,
            "data/semi.csv": CSV.replace(",", ";"),
            "data/more/orders_2.csv": CSV.replace("1,", "2,", 1),
        },
    )
    con = duckdb.connect()
    parquet = root / "data" / "orders.parquet"
    con.execute(
        f"COPY (SELECT * FROM read_csv('{root / 'data' / 'orders.csv'}')) TO '{parquet}'"
        " (FORMAT parquet)"
    )
    con.close()
    return root


def _validate(root: Path, **kwargs: Any) -> Any:
    with Project.load(root) as project:
        (result,) = validate_project(project, (), **kwargs)
    return result


@pytest.mark.parametrize(
    "read",
    [
        "read_csv('data/orders.csv')",
        "read_csv('data/semi.csv', delim = ';', header = true)",
        "read_parquet('data/orders.parquet') as o",
        "read_csv(['data/orders.csv', 'data/more/orders_2.csv'])",
        "read_csv('data/**/orders*.csv')",
        "'data/orders.parquet'",
    ],
)
def test_a_direct_read_of_project_files_is_described(
    read: str, tmp_path: Path, make_project: MakeProject
) -> None:
    result = _validate(_project(tmp_path / "p", make_project, read))
    assert result.ok(strict=True), [d.problem.message for d in result.diagnostics]
    types = {c.column: c.type for c in result.columns}
    assert types["event_time"] == "TIMESTAMP"
    assert types["value"] == "DOUBLE"
    assert types["email"] == "VARCHAR"
    assert [t.origin for t in result.tables] == ["file"]


def test_the_readers_literal_options_are_kept(tmp_path: Path, make_project: MakeProject) -> None:
    read = "read_csv('data/orders.csv', types = {'total': 'DECIMAL(12,2)', 'id': 'VARCHAR'})"
    result = _validate(_project(tmp_path / "p", make_project, read))
    assert result.ok(strict=True), [d.problem.message for d in result.diagnostics]
    types = {c.column: c.type for c in result.columns}
    assert types["value"] == "DECIMAL(12, 2)"


def test_a_misspelt_column_of_a_direct_read_is_named_with_the_nearest(
    tmp_path: Path, make_project: MakeProject
) -> None:
    root = _project(tmp_path / "p", make_project, "read_csv('data/orders.csv')")
    model = root / "models" / "events.sql"
    model.write_text(model.read_text().replace("total as value", "totl as value"))
    result = _validate(root)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [d.rule for d in errors] == ["unknown-column"]
    problem = errors[0].problem
    assert "'totl'" in problem.message and "did you mean 'total'" in str(problem.hint)


def test_only_describe_runs_once_per_read_and_offline_too(
    tmp_path: Path, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path / "p", make_project, "read_csv('data/orders.csv')")
    seen: list[str] = []
    original = DuckDBEngine.rows

    def spy(self: DuckDBEngine, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        seen.append(sql)
        return original(self, sql, params)

    monkeypatch.setattr(DuckDBEngine, "rows", spy)
    result = _validate(root, offline=True)
    assert result.ok(strict=True)
    (query,) = seen
    assert query == f"DESCRIBE SELECT * FROM read_csv('{root}/data/orders.csv')"


@pytest.mark.parametrize(
    ("read", "said", "hint"),
    [
        ("read_csv('data/ordres.csv')", "data/ordres.csv does not exist", "'data/orders.csv'"),
        ("read_csv('data/none_*.csv')", "no file matches data/none_*.csv", None),
        ("read_csv('nowhere/x.csv')", "nowhere/x.csv does not exist", "nowhere/ does not exist"),
        (
            "read_parquet('s3://bucket/x.parquet')",
            "s3://bucket/x.parquet is behind a URL, which validate does not read",
            "declare the file as a source",
        ),
        (
            "read_csv('data/orders.csv', delim = getenv('D'))",
            "only a read whose arguments are all literals is described",
            "declare the file as a source",
        ),
    ],
)
def test_a_read_not_described_says_why_at_the_models_line(
    read: str, said: str, hint: str | None, tmp_path: Path, make_project: MakeProject
) -> None:
    root = _project(tmp_path / "p", make_project, read)
    result = _validate(root)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [d.rule for d in errors] == ["unknown-table"]
    problem = errors[0].problem
    assert problem.file == root / "models" / "events.sql" and problem.line == 2
    assert "directly: its columns are unknown: " + said in problem.message
    if hint is not None:
        assert hint in str(problem.hint)


def test_a_refused_file_keeps_the_refusal(tmp_path: Path, make_project: MakeProject) -> None:
    (tmp_path / "outside.csv").write_text(CSV, encoding="utf-8")
    root = _project(tmp_path / "p", make_project, "read_csv('../outside.csv')")
    result = _validate(root)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [d.rule for d in errors] == ["unknown-table"]
    assert errors[0].problem.message.startswith("retl may not read ../outside.csv")
    assert errors[0].problem.line == 2


@pytest.mark.parametrize(
    "reader", ["glob", "sniff_csv", "parquet_metadata", "parquet_schema", "read_csv"]
)
def test_a_refused_read_of_any_duckdb_reader_keeps_the_refusal(
    reader: str, tmp_path: Path, make_project: MakeProject
) -> None:
    """Each of engine/file_paths.READERS is a direct read (glob, sniff_csv, parquet_metadata
    … were not: the refusal was lost, and only their columns were said unknown)."""
    (tmp_path / "outside.csv").write_text(CSV, encoding="utf-8")
    root = _project(tmp_path / "p", make_project, f"{reader}('../outside.csv')")
    result = _validate(root)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [d.rule for d in errors] == ["unknown-table"]
    assert errors[0].problem.message.startswith("retl may not read ../outside.csv")
    assert errors[0].problem.line == 2


def _feed(root: Path) -> list[Any]:
    lines = (root / ".retl" / "sandbox" / "feed.jsonl").read_text().splitlines()
    return [json.loads(line)["data"] for line in lines]


def test_the_init_project_syncs_a_direct_read_as_its_source(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIKTOK_ACCESS_TOKEN", raising=False)
    sent = []
    for name, read in (
        ("source", None),
        ("direct", "read_csv('data/orders.csv')"),
    ):
        root = tmp_path / name
        init_project(root)
        model = root / "models" / "purchase_events.sql"
        if read is not None:
            model.write_text(model.read_text().replace("{{ source('shop', 'orders') }}", read))
        plan = cli("plan", "--sandbox", "--project-dir", root)
        assert plan.returncode == 0, plan.stdout + plan.stderr
        synced = cli("sync", "--sandbox", "--yes", "--project-dir", root)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        sent.append(_feed(root))
    assert len(sent[0]) == 3
    assert sent[1] == sent[0]


@pytest.mark.parametrize("pattern", ["data/*.csv", "data/**/*.csv", "data/*"])
def test_a_pattern_matching_a_hidden_file_is_not_described(
    pattern: str, tmp_path: Path, make_project: MakeProject
) -> None:
    # DuckDB's patterns match hidden files: the header of data/.secret.csv (or of a file
    # under data/.hidden/) was said in validate's output (a column name)
    root = _project(tmp_path / "p", make_project, f"read_csv('{pattern}')")
    (root / "data" / ".secret.csv").write_text("SECRET_TOKEN_abc,x\n1,2\n", encoding="utf-8")
    (root / "data" / ".hidden").mkdir()
    (root / "data" / ".hidden" / "h.csv").write_text("HIDDEN_abc,x\n1,2\n", encoding="utf-8")
    model = root / "models" / "events.sql"
    model.write_text("select *\n" + model.read_text().split("\n", 1)[1])
    result = _validate(root)
    said = " ".join(f"{d.problem.message} {d.problem.hint}" for d in result.diagnostics) + " ".join(
        c.column for c in result.columns
    )
    assert "SECRET" not in said and "HIDDEN" not in said
    errors = [d for d in result.diagnostics if d.rule == "unknown-table"]
    assert len(errors) == 1
    assert "matches a file models may not read" in errors[0].problem.message
    assert ".secret" not in errors[0].problem.message

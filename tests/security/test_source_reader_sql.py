"""A source's ``external_location`` given as a reader call (``read_csv('x.csv', delim=';')``)
goes into a model's SQL as written, after the check of the model's one statement (which reads
the source as a table's name): it must be one reader call and nothing else. A pull request's
``read_csv('data/ok.csv'); COPY (...) TO 'data/pwn.csv'; SELECT * FROM read_csv('data/ok.csv')``
ran three statements in validate's DESCRIBE and in the model, writing into the project."""

from __future__ import annotations

from pathlib import Path

import pytest

DESTINATIONS = """
destinations:
  shop:
    type: tiktok_events
    model: events
    event_source_id: CPIXEL
"""


def _project(make_project, root: Path, location: str) -> Path:
    quoted = location.replace("'", "''")
    project_yml = f"""
    sources:
      - name: ext
        tables:
          - name: rows
            config:
              external_location: '{quoted}'
    """
    make_project(
        root,
        {
            "models/events.sql": "select * from {{ source('ext', 'rows') }}",
            "destinations.yml": DESTINATIONS,
            "data/ok.csv": "a\n1\n",
            "retl_project.yml": project_yml,
        },
    )
    return root


@pytest.mark.parametrize(
    "location",
    [
        "read_csv('{ok}'); COPY (SELECT 42 AS a) TO '{pwn}'; SELECT * FROM read_csv('{ok}')",
        # a comment would swallow the model's own text (and a ';' in a string of it)
        "read_csv('{ok}') --",
        "read_csv('{ok}') /*",
        "read_csv('{ok}') x, (SELECT 1 AS b)",
    ],
)
@pytest.mark.parametrize("command", ["validate", "show", "plan"])
def test_a_source_reader_is_one_call_and_nothing_else(
    tmp_path, make_project, cli, monkeypatch, location, command
):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "p"
    pwn = root / "data" / "pwn.csv"
    _project(make_project, root, location.format(pwn=pwn, ok=root / "data" / "ok.csv"))
    args = [command, "events"] if command == "show" else [command]
    result = cli(*args, "--project-dir", root)
    out = result.stdout + result.stderr
    assert not pwn.exists(), out
    assert result.returncode == 1, out
    assert "Traceback" not in out
    assert "one call of a reader" in out


def test_a_reader_call_with_options_still_reads(tmp_path, make_project, cli, monkeypatch):
    root = _project(make_project, tmp_path / "p", "read_csv('data/ok.csv', header = true)")
    monkeypatch.chdir(root)  # validate describes a reader call's relative path from here
    shown = cli("show", "events", "--project-dir", root)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    validated = cli("validate", "--project-dir", root)  # the model is no event: its errors
    assert "a       -        BIGINT" in validated.stdout, validated.stdout + validated.stderr
    assert "one call of a reader" not in validated.stdout + validated.stderr


@pytest.mark.parametrize(
    "location", ["data/{name:>10000000}.csv", "data/{name.__class__}.csv", "data/{name!r}.csv"]
)
def test_a_location_fills_in_plain_names_only(tmp_path, make_project, cli, monkeypatch, location):
    """``{name}`` is filled in as dbt-duckdb fills it; a width (``{name:>1000000000}`` built
    7 GB from a pull request's retl_project.yml) or an attribute is refused, not built."""
    monkeypatch.chdir(tmp_path)
    root = _project(make_project, tmp_path / "p", location)
    result = cli("show", "events", "--project-dir", root)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out
    assert "may name {name} or {identifier} in braces" in out
    assert len(out) < 10_000


def test_a_location_names_its_table(tmp_path, make_project, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = _project(make_project, tmp_path / "p", "data/{name}.csv")
    (root / "data" / "rows.csv").write_text("b\n2\n")
    result = cli("show", "events", "--project-dir", root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "b" in result.stdout

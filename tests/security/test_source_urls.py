"""A source's external_location that is a URL stays a URL: it was joined onto the project's
path (/proj/https:/example.com/x.csv), a confusing local path, and a file: URL never followed
the rule on which files models may read (an audit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.config.project import TableDecl
from reverse_etl.models.sources import _reader

SENTINEL = "SENTINEL-url-5e0a"

DESTINATIONS = """
destinations:
  shop:
    type: tiktok_events
    model: events
    event_source_id: CPIXEL
"""


@pytest.fixture(autouse=True)
def _beside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _show(tmp_path: Path, make_project, cli, location: str) -> str:
    root = tmp_path / "p"
    project_yml = (
        "name: p\nsources:\n  - name: ext\n    tables:\n      - name: t\n        config:\n"
        f"          external_location: '{location.format(root=root, tmp=tmp_path)}'\n"
    )
    make_project(
        root,
        {
            "models/events.sql": "select * from {{ source('ext', 't') }}",
            "destinations.yml": DESTINATIONS,
            "retl_project.yml": project_yml,
            "data/ok.csv": "a\nFROM-THE-PROJECT\n",
        },
    )
    (root / "data" / ".hidden.csv").write_text(f"a\n{SENTINEL}\n")
    (tmp_path / "outside.csv").write_text(f"a\n{SENTINEL}\n")
    result = cli("show", "events", "--project-dir", root)
    said = " ".join((result.stdout + result.stderr).split())
    assert SENTINEL not in said and "Traceback" not in said, said
    assert "/file:" not in said and "/https:" not in said, said  # never joined onto a path
    return said if result.returncode == 0 else "FAILED " + said


@pytest.mark.parametrize(
    "location", ["https://example.com/x.csv", "s3://bucket/x.parquet", "HTTP://example.com/x"]
)
def test_a_remote_url_is_kept_and_refused_by_name(tmp_path, make_project, cli, location):
    said = _show(tmp_path, make_project, cli, location)
    assert said.startswith("FAILED"), said
    assert f"retl may not read {location}: the local DuckDB reads no remote files" in said, said


def test_a_file_url_in_the_project_reads_the_file(tmp_path, make_project, cli):
    said = _show(tmp_path, make_project, cli, "file://{root}/data/ok.csv")
    assert "FROM-THE-PROJECT" in said, said


@pytest.mark.parametrize(
    "location",
    [
        "file://{root}/data/.hidden.csv",
        "file://{tmp}/outside.csv",
        "file://localhost{tmp}/outside.csv",
    ],
)
def test_a_file_url_follows_the_rule_of_a_path(tmp_path, make_project, cli, location):
    said = _show(tmp_path, make_project, cli, location)
    assert said.startswith("FAILED"), said
    assert "external_location: source('ext', 't'): retl may not read file:" in said, said


def test_a_url_goes_to_the_reader_as_written() -> None:
    table = TableDecl(name="t")
    assert _reader("s3a://b/x.parquet", table, Path("/proj")) == "read_parquet('s3a://b/x.parquet')"
    assert _reader("file:///d/x.csv", table, Path("/proj")).startswith("read_csv('/d/x.csv'")
    assert _reader("file:x.csv", table, Path("/proj")).startswith("read_csv('/proj/x.csv'")


@pytest.mark.parametrize(
    "location",
    ["data/*.csv", "data/.hid?en.csv", "file:data/*.csv", "file://{root}/data/*.csv"],
)
def test_a_pattern_matching_a_hidden_file_is_refused_at_the_key(
    tmp_path, make_project, cli, location
):
    """DuckDB's patterns match hidden files too: a pattern as external_location (a path or a
    file: URL) read data/.hidden.csv, past the rule a model's own read_csv() follows."""
    said = _show(tmp_path, make_project, cli, location)
    assert said.startswith("FAILED"), said
    shown = location.format(root=tmp_path / "p")
    # refused at the key (a pattern reaching a hidden file, or itself naming one)
    assert f"external_location: source('ext', 't'): retl may not read {shown}" in said, said
    assert SENTINEL not in said


def test_a_pattern_matching_only_visible_files_reads_them(tmp_path, make_project, cli):
    said = _show(tmp_path, make_project, cli, "data/o?.csv")
    assert "FROM-THE-PROJECT" in said, said


@pytest.mark.parametrize("location", ["file:data/ok.csv", "file://{root}/data/ok.csv"])
def test_a_file_url_without_columns_is_described_as_its_path(tmp_path, make_project, cli, location):
    """validate describes a file: URL's file as it does a path's (it said 'the columns of
    table ext.t are unknown ... its file could not be read', and validate and plan failed)."""
    root = tmp_path / "p"
    project_yml = (
        "name: p\nsources:\n  - name: ext\n    tables:\n      - name: t\n        config:\n"
        f"          external_location: '{location.format(root=root)}'\n"
    )
    model = (
        "select 'Purchase' as event, now() as event_time, 'a@b.c' as email, "
        "'https://x.y/' as page_url, a as event_id from {{ source('ext', 't') }}"
    )
    make_project(
        root,
        {
            "models/events.sql": model,
            "destinations.yml": DESTINATIONS,
            "retl_project.yml": project_yml,
            "data/ok.csv": "a\nFROM-THE-PROJECT\n",
        },
    )
    result = cli("validate", "--project-dir", root)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 0, said
    assert "could not be read" not in said and "Traceback" not in said, said


@pytest.mark.parametrize(
    ("location", "refused"),
    [
        ("read_csv('data/.hidden.csv')", "data/.hidden.csv"),
        ("read_csv(['data/ok.csv', 'data/.hidden.csv'], union_by_name = true)", "data/.hidden.csv"),
        ("read_csv('file:data/.hidden.csv')", "file:data/.hidden.csv"),
        ("read_csv('{tmp}/outside.csv')", "{tmp}/outside.csv"),
        ("read_csv('data/*.csv', union_by_name = true)", "data/*.csv"),
        (
            "read_csv('data/ok.csv', names = (select list(a) from read_csv('data/.hidden.csv')))",
            "data/.hidden.csv",
        ),
    ],
)
def test_a_reader_calls_paths_follow_the_rule_of_a_path(
    tmp_path, make_project, cli, location, refused
):
    """A reader call as external_location read any file DuckDB allows, hidden ones in data/
    too: its paths (a list, a pattern, a nested reader's) follow the rule of a path."""
    said = _show(tmp_path, make_project, cli, location.replace("'", "''"))
    assert said.startswith("FAILED"), said
    shown = refused.format(tmp=tmp_path)
    assert f"external_location: source('ext', 't'): retl may not read {shown}" in said, said


def test_a_reader_call_of_project_files_reads_them(tmp_path, make_project, cli):
    said = _show(tmp_path, make_project, cli, "read_csv([''data/ok.csv''], delim = '','')")
    assert "FROM-THE-PROJECT" in said, said

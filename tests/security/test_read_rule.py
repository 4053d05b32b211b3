"""Every command that runs a model refuses what validate refuses about the files it reads
(models/read_rule.py): a hidden file by its path or by a pattern that matches one, a path
built when the model runs, and the same through a source's external_location that is a
reader call or a pattern. An audit: ``retl show`` printed data/.hidden (DuckDB allows the
whole data/ folder, and its patterns match hidden files), and an external_location
``read_text('data/.hidden')`` was checked by no command."""

from __future__ import annotations

from pathlib import Path

import pytest

SENTINEL = "SENTINEL-readrule-5c0e"

DESTINATIONS = """
destinations:
  shop:
    type: tiktok_events
    model: events
    event_source_id: CPIXEL
"""

COLUMNS = "'Purchase' as event, now() as event_time, 'a@b.c' as email, 'https://x.y/' as page_url"
COMMANDS = [("validate",), ("plan", "--sandbox"), ("show", "events")]


@pytest.fixture(autouse=True)
def _beside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # run from another folder than the project's


def _said(result) -> str:
    return " ".join((result.stdout + result.stderr).split())


def _project(make_project, root: Path, files: dict[str, str]) -> Path:
    root = make_project(root, {"destinations.yml": DESTINATIONS, "data/ok.csv": "a\n1\n", **files})
    (root / "data" / ".hidden").write_text(f"{SENTINEL}\n")
    return root


@pytest.mark.parametrize(
    ("reader", "said"),
    [
        ("read_text('data/.hidden')", "retl may not read data/.hidden"),
        ("read_text(['data/ok.csv', 'data/.hidden'])", "retl may not read data/.hidden"),
        ("read_text('data/*')", "retl may not read data/*: the pattern matches a file models"),
        ("read_text('data/' || '.hidden')", "retl may not read data/.hidden"),
        (
            "read_text(getenv('HOME') || '/.hidden')",
            "retl may not read the files of read_text(getenv('HOME') || '/.hidden'): its path "
            "is built",
        ),
    ],
)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_model_reads_no_hidden_file_in_any_command(
    tmp_path: Path, make_project, cli, reader: str, said: str, command: tuple[str, ...]
) -> None:
    sql = f"select {COLUMNS}, content as event_id\nfrom {reader}"
    root = _project(make_project, tmp_path / "p", {"models/events.sql": sql})
    result = cli(*command, "--project-dir", root)
    out = _said(result)
    assert result.returncode == 1, out
    assert SENTINEL not in out, out
    assert "Traceback" not in out
    assert f"models/events.sql:2: {said}" in out, out
    assert "models read files in the project's folders only" in out, out


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("\"read_text('data/.hidden')\"", "retl may not read data/.hidden"),
        ("\"read_text('data/*')\"", "retl may not read data/*: the pattern matches"),
        ("data/*", "retl may not read data/*: the pattern matches"),
    ],
)
@pytest.mark.parametrize("where", ["retl_project.yml", "models/sources.yml"])
@pytest.mark.parametrize("command", COMMANDS)
def test_an_external_location_reads_no_hidden_file(
    tmp_path: Path,
    make_project,
    cli,
    location: str,
    said: str,
    where: str,
    command: tuple[str, ...],
) -> None:
    sources = f"""
sources:
  - name: s
    tables:
      - name: t
        meta:
          external_location: {location}
        columns:
          - name: content
            data_type: varchar
"""
    model = f"select {COLUMNS}, content as event_id from {{{{ source('s', 't') }}}}"
    files = {
        "models/events.sql": model,
        where: ("name: p\n" if where == "retl_project.yml" else "version: 2\n") + sources.lstrip(),
    }
    root = _project(make_project, tmp_path / "p", files)
    result = cli(*command, "--project-dir", root)
    out = _said(result)
    assert result.returncode == 1, out
    assert SENTINEL not in out, out
    assert "Traceback" not in out
    assert f"{where}:7 sources[0].tables[0].meta.external_location" in out, out
    assert f"source('s', 't'): {said}" in out, out


@pytest.mark.parametrize(
    "reader",
    [
        "read_csv('data/*.csv')",
        "read_csv(['data/ok.csv', 'data/ok.csv'])",
        "read_csv('data/ok.csv', delim = ',', header = true)",
        "read_csv('parts/*/*.csv', hive_partitioning = true)",
        "'data/ok.csv'",
    ],
)
def test_reads_of_the_projects_files_still_run(
    tmp_path: Path, make_project, cli, reader: str
) -> None:
    sql = f"select {COLUMNS}, a::varchar as event_id\nfrom {reader}"
    root = _project(
        make_project, tmp_path / "p", {"models/events.sql": sql, "parts/k=1/x.csv": "a\n1\n"}
    )
    result = cli("show", "events", "--project-dir", root)
    assert result.returncode == 0, _said(result)
    assert "events: " in _said(result)


@pytest.mark.parametrize("command", [("plan", "--sandbox"), ("show", "events")])
def test_sql_no_parser_reads_says_its_syntax_error_and_reads_nothing(
    tmp_path: Path, make_project, cli, command: tuple[str, ...]
) -> None:
    # sqlglot cannot read it, nor can DuckDB: it runs nothing, so its syntax error is said
    # (not a refusal of its read, which sent the user looking at the wrong thing).
    sql = f"select {COLUMNS}, content as event_id\nfrom read_text('data/.hidden') where ("
    root = _project(make_project, tmp_path / "p", {"models/events.sql": sql})
    result = cli(*command, "--project-dir", root)
    out = _said(result)
    assert result.returncode == 1, out
    assert SENTINEL not in out, out
    assert "syntax error" in out.lower(), out
    assert "Traceback" not in out


@pytest.mark.parametrize("table", ['"data/"."env.csv"', '"data/".env.csv', '"data/"."env"."csv"'])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_qualified_name_that_is_a_hidden_file_is_refused(
    tmp_path: Path, make_project, cli, table: str, command: tuple[str, ...]
) -> None:
    """DuckDB reads a qualified name no database holds as the file its parts name joined by
    dots: FROM "data/"."env.csv" printed data/.env.csv (an audit), a read no check saw, since
    only an unqualified quoted name was taken for a file. validate and plan stop before at
    its unknown columns; show runs it."""
    sql = f"select {COLUMNS}, v as event_id\nfrom {table}"
    root = _project(make_project, tmp_path / "p", {"models/events.sql": sql})
    (root / "data" / ".env.csv").write_text(f"v\n{SENTINEL}\n")
    result = cli(*command, "--project-dir", root)
    out = _said(result)
    assert result.returncode == 1, out
    assert SENTINEL not in out, out
    if command[0] == "show":  # validate (and plan, which validates first) cannot type it
        assert "models/events.sql:2: retl may not read data/.env.csv" in out, out
    # a qualified name of a file that is no hidden one still reads it
    (root / "models" / "events.sql").write_text(
        f'select {COLUMNS}, a as event_id\nfrom "data/ok".csv'
    )
    assert "retl may not read" not in _said(cli("show", "events", "--project-dir", root))


def test_a_source_whose_schema_and_table_make_a_hidden_file_is_refused(
    tmp_path: Path, make_project, cli
) -> None:
    """A source with no external_location is the relation "schema"."table": schema 'data/'
    and table 'env.csv' read data/.env.csv through DuckDB's dotted join (an audit)."""
    sources = "sources:\n  - name: s\n    schema: 'data/'\n    tables:\n      - name: env.csv\n"
    sql = f"select {COLUMNS}, v as event_id\nfrom {{{{ source('s', 'env.csv') }}}}"
    root = _project(
        make_project,
        tmp_path / "p",
        {"retl_project.yml": f"name: p\n{sources}", "models/events.sql": sql},
    )
    (root / "data" / ".env.csv").write_text(f"v\n{SENTINEL}\n")
    result = cli("show", "events", "--project-dir", root)
    out = _said(result)
    assert result.returncode == 1, out
    assert SENTINEL not in out, out
    assert "retl may not read data/.env.csv" in out, out


@pytest.mark.parametrize("command", COMMANDS)
def test_a_qualified_name_of_a_hidden_file_in_the_project_s_folder_is_refused_at_its_line(
    tmp_path: Path, make_project, cli, command: tuple[str, ...]
) -> None:
    """FROM ".env"."csv" (no /) reads the project's own .env.csv: refused at the model's
    line, as "data/"."env.csv" is, not only when the query ran (a message with no line)."""
    sql = f'select {COLUMNS}, v as event_id\nfrom ".env"."csv"'
    root = _project(make_project, tmp_path / "p", {"models/events.sql": sql})
    (root / ".env.csv").write_text(f"v\n{SENTINEL}\n")
    result = cli(*command, "--project-dir", root)
    out = _said(result)
    assert result.returncode == 1, out
    assert SENTINEL not in out, out
    if command[0] == "show":
        assert "models/events.sql:2: retl may not read .env.csv" in out, out

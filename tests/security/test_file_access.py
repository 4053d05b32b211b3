"""A model is SQL from a pull request too: it reads files in the project's own folders, never
hidden ones (.git holds CI credentials) nor anything outside, unless whoever runs retl lists a
folder in RETL_ALLOWED_PATHS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SENTINEL = "SENTINEL-file-4c81d"

DESTINATIONS = """
destinations:
  shop:
    type: tiktok_events
    model: events
    event_source_id: CPIXEL
"""


@pytest.fixture(autouse=True)
def _beside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """These run from a folder beside the project, not from the repository's root, whose own
    data/ a model's relative read would meet first (refused: see the last test)."""
    monkeypatch.chdir(tmp_path)


def _project(make_project, root: Path, model: str, project_yml: str | None = None) -> Path:
    files = {"models/events.sql": model, "destinations.yml": DESTINATIONS, "data/ok.csv": "a\n1\n"}
    if project_yml is not None:
        files["retl_project.yml"] = project_yml
    make_project(root, files)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text(f"[http]\n\textraheader = {SENTINEL}\n")
    (root / ".env").write_text(f"TOKEN={SENTINEL}\n")
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A secret file outside the project, as ~/.config/... would be."""
    folder = tmp_path / "home" / ".config"
    folder.mkdir(parents=True)
    (folder / "credentials.csv").write_text(f"token\n{SENTINEL}\n")
    return folder


def _refused(result, path_hint: str) -> None:
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert SENTINEL not in out
    assert "Traceback" not in out
    assert path_hint in out
    assert "RETL_ALLOWED_PATHS" in out


@pytest.mark.parametrize(
    "reader",
    [
        "read_text('{outside}/credentials.csv')",
        "read_csv('{outside}/credentials.csv')",
        "read_text('.git/config')",
        "read_text('{root}/.git/config')",
        "read_text('.env')",
        "read_text('data/../.git/config')",
        "read_blob('{root}/.env')",
    ],
)
def test_a_model_cannot_read_outside_the_projects_folders(
    tmp_path, make_project, cli, outside, reader
):
    root = tmp_path / "p"
    sql = f"select * from {reader.format(outside=outside, root=root)}"
    _project(make_project, root, sql)
    result = cli("show", "events", "--project-dir", root)
    _refused(result, "may not read")


def test_a_link_out_of_the_project_is_no_way_around(tmp_path, make_project, cli, outside):
    root = _project(
        make_project, tmp_path / "p", "select * from read_csv('linked/credentials.csv')"
    )
    (root / "linked").symlink_to(outside, target_is_directory=True)
    result = cli("show", "events", "--project-dir", root)
    _refused(result, "may not read")


def test_a_link_inside_a_folder_that_leads_out_is_refused(tmp_path, make_project, cli, outside):
    sql = "select * from read_csv('data/nested/creds.csv')"
    root = _project(make_project, tmp_path / "p", sql)
    (root / "data" / "nested").mkdir()
    (root / "data" / "nested" / "creds.csv").symlink_to(outside / "credentials.csv")
    result = cli("show", "events", "--project-dir", root)
    _refused(result, "data/nested/creds.csv is a symbolic link out of the project")
    # a link that stays inside the project is fine
    (root / "data" / "nested" / "creds.csv").unlink()
    (root / "data" / "nested" / "creds.csv").symlink_to(root / "data" / "ok.csv")
    assert cli("show", "events", "--project-dir", root).returncode == 0


def test_the_projects_own_folders_are_readable(tmp_path, make_project, cli):
    root = _project(make_project, tmp_path / "p", "select * from read_csv('data/ok.csv')")
    result = cli("show", "events", "--project-dir", root)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_source_outside_the_project_needs_retl_allowed_paths(
    tmp_path, make_project, cli, outside
):
    project_yml = f"""
    sources:
      - name: ext
        tables:
          - name: creds
            config:
              external_location: {outside}/credentials.csv
    """
    root = _project(
        make_project, tmp_path / "p", "select * from {{ source('ext', 'creds') }}", project_yml
    )
    for command in (["show", "events"], ["validate"], ["plan"]):
        result = cli(*command, "--project-dir", root)
        assert SENTINEL not in result.stdout + result.stderr
        if command[0] == "show":
            _refused(result, str(outside))
    # whoever runs retl (a CI job's environment, not the project) may allow the folder
    allowed = cli("show", "events", "--project-dir", root, env={"RETL_ALLOWED_PATHS": str(outside)})
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert SENTINEL in allowed.stdout


@pytest.mark.parametrize(
    ("project_yml", "key"),
    [
        ("state:\n  path: {outside}\n", "state.path"),
        ("state:\n  path: ../.git\n", "state.path"),  # a work tree's .git: CI credentials
        ("state:\n  path: .\n", "state.path"),  # the project itself: its .git and .env
        ("state:\n  path: models/..\n", "state.path"),
        ("warehouse:\n  type: duckdb\n  path: {outside}/w.duckdb\n", "warehouse.path"),
        (
            "warehouse:\n  type: duckdb\n  attach:\n    - {{name: a, type: sqlite, "
            "path: {outside}/a.sqlite}}\n",
            "warehouse.attach[0].path",
        ),
    ],
)
def test_the_state_folder_and_attached_files_stay_in_the_project(
    tmp_path, make_project, cli, project_yml, key
):
    """A pull request's retl_project.yml chose them: state.path ~/.config/retl made the OAuth
    credentials file readable by models (the state folder is one DuckDB may read) and put
    the state and reports outside; an attached SQLite file anywhere was read (an audit)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    root = _project(
        make_project,
        repo / "p",
        "select 1 as a",
        "name: p\n" + project_yml.format(outside=outside),
    )
    result = cli("validate", "--project-dir", root, env={"RETL_ALLOWED_PATHS": ""})
    assert result.returncode == 1
    said = " ".join(result.stderr.split())
    assert re.search(rf"retl_project\.yml:\d+ {re.escape(key)}: ", said), said
    assert "RETL_ALLOWED_PATHS" in said
    if "{outside}" in project_yml:  # allowed by whoever runs retl: no longer refused
        allowed = cli("validate", "--project-dir", root, env={"RETL_ALLOWED_PATHS": str(outside)})
        assert "is outside" not in allowed.stderr


def test_a_database_beside_the_project_in_its_git_work_tree_may_be_attached(
    tmp_path, make_project, cli
):
    """docs/dbt.md's layout: the dbt project's file beside retl's, in one repository."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "analytics").mkdir()
    import duckdb

    duckdb.connect(str(repo / "analytics" / "dev.duckdb")).close()
    root = make_project(
        repo / "retl",
        {
            "models/events.sql": "select 1 as a",
            "destinations.yml": DESTINATIONS,
            "retl_project.yml": "name: p\nwarehouse:\n  type: duckdb\n"
            "  path: ../analytics/dev.duckdb\n",
        },
    )
    result = cli("compile", "--project-dir", root, env={"RETL_ALLOWED_PATHS": ""})
    assert result.returncode == 0, result.stderr


def test_a_loop_of_links_is_a_file_that_cannot_be_read_not_a_crash(tmp_path, make_project, cli):
    """Path.resolve() raises RuntimeError on a loop (Python 3.11): plan and show crashed
    with exit 2 where validate said the model cannot be read."""
    root = _project(make_project, tmp_path / "p", "select * from read_csv('data/ok.csv')")
    (root / "data" / "loop.csv").symlink_to("loop.csv")  # a loop in a folder models read
    assert cli("show", "events", "--project-dir", root).returncode == 0
    (root / "models" / "loop.sql").symlink_to("loop.sql")  # and a model that is one
    for args in (("plan", "--sandbox"), ("show", "events"), ("validate",)):
        result = cli(*args, "--project-dir", root)
        said = result.stdout + result.stderr
        assert result.returncode == 1, said
        assert "models/loop.sql: cannot read model" in said and "unexpected" not in said


def test_a_folder_outside_the_project_is_not_listed_nor_probed(
    tmp_path, make_project, cli, outside
):
    """A missing source file's 'did you mean' listed the folder it named, anywhere: a pull
    request's external_location ~/.ssh/x printed "did you mean '~/.ssh/id_rsa'?" (or
    "files there: ..."); and a file outside was said refused when it existed, 'does not
    exist' or 'columns unknown' when it did not: validate told which files the machine has."""
    (outside / "sibling.csv").write_text("a\n1\n")
    project_yml = f"""
    sources:
      - name: ext
        tables:
          - name: near
            config:
              external_location: {outside}/credentials.cs
          - name: gone
            config:
              external_location: {outside}/no_such_folder/x.csv
    """
    sql = (
        "select * from {{ source('ext', 'near') }}, {{ source('ext', 'gone') }}, "
        f"read_csv('{outside}/nothing_here.csv')"
    )
    root = _project(make_project, tmp_path / "p", sql, project_yml)
    for command in (["validate"], ["validate", "--offline"], ["plan", "--sandbox"]):
        result = cli(*command, "--project-dir", root)
        said = " ".join((result.stdout + result.stderr).split())
        assert result.returncode == 1, said
        assert "credentials.csv" not in said and "sibling.csv" not in said, said
        assert "does not exist" not in said and "files there" not in said, said
        assert f"may not read {outside}/credentials.cs" in said, said
        assert f"may not read {outside}/no_such_folder/x.csv" in said, said
        if command[0] == "validate":  # a model's own reader: refused, as a file that exists
            assert f"may not read {outside}/nothing_here.csv" in said, said


@pytest.mark.parametrize(
    ("link", "target", "reader"),
    [
        ("env", ".env", "read_text('env')"),
        ("gitdir", ".git", "read_text('gitdir/config')"),
        ("cfg", ".git/config", "read_text('{root}/cfg')"),
    ],
)
def test_a_link_at_the_projects_top_to_a_hidden_file_is_refused(
    tmp_path, make_project, cli, link, target, reader
):
    """A pull request may hold a link (git keeps them): 'cfg -> .git/config' at the project's
    top stays in the project, so it was listed as a file models may read, and DuckDB, which
    reads an allowed path's link through, allowed .git/config itself (the CI token)."""
    root = tmp_path / "p"
    _project(make_project, root, "select content from " + reader.format(root=root))
    (root / link).symlink_to(target)
    result = cli("show", "events", "--project-dir", root)
    said = result.stdout + result.stderr
    assert SENTINEL not in said
    assert result.returncode == 1, said
    assert "may not read" in said and "Traceback" not in said, said


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "literal"),
    [
        ("select * from read_text('creds/key.txt')", True),
        ("select * from read_csv('data/ok.csv')", True),
        ("select * from read_text('creds/' || 'key.txt')", False),
        ("select * from read_csv(concat('data/', 'ok.csv'))", False),
    ],
)
def test_a_relative_read_never_reads_the_folder_retl_runs_in(
    tmp_path: Path, make_project, model: str, literal: bool
) -> None:
    """DuckDB looks for a relative path in the folder retl runs in before the project: run
    with --project-dir from a CI job's folder, a model read that folder's creds/key.txt (its
    own creds/ empty) or data/ok.csv in place of the project's (allowed as written). A path
    written as a literal is made the project's (tests/security/test_project_paths.py); one
    built at run time is refused."""
    from tests.conftest import invoke_cli

    job = tmp_path / "job"
    (job / "creds").mkdir(parents=True)
    (job / "creds" / "key.txt").write_text(f"TOKEN={SENTINEL}\n")
    (job / "data").mkdir()
    (job / "data" / "ok.csv").write_text("a\nFROM-THE-JOB-FOLDER\n")
    root = _project(make_project, job / "proj", model)
    (root / "creds").mkdir()
    (root / "creds" / "key.txt").write_text("mine\n")
    result = invoke_cli("show", "events", "--project-dir", "proj", cwd=job)
    out = result.stdout + result.stderr
    assert SENTINEL not in out and "FROM-THE-JOB-FOLDER" not in out, out
    assert "Traceback" not in out, out
    if literal:
        assert result.returncode == 0, out
        assert "mine" in result.stdout or "1" in result.stdout, out
    else:
        assert result.returncode == 1, out
        assert "run retl from the project folder" in out, out
    # From the project folder itself, the same model reads the project's file.
    mine = invoke_cli("show", "events", cwd=root)
    assert mine.returncode == 0, mine.stderr
    assert SENTINEL not in mine.stdout and ("mine" in mine.stdout or "1" in mine.stdout)


def test_the_reason_a_relative_read_is_refused_is_each_engines_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One engine run beside a folder with a data/ of its own says so; another, run from its
    project, says what it always said (a first version kept the names in a module-wide set,
    so a later engine's refusal of 'data/../.git/config' blamed the running folder)."""
    from reverse_etl.engine.duckdb import DuckDBEngine
    from reverse_etl.errors import EngineError

    job = tmp_path / "job"
    for root in (job, job / "proj"):
        (root / "data").mkdir(parents=True)
        (root / "data" / "x.csv").write_text("a\n1\n")
    (job / "proj" / ".git").mkdir()
    (job / "proj" / ".git" / "config").write_text(f"{SENTINEL}\n")
    said = []
    for cwd in (job, job / "proj"):
        monkeypatch.chdir(cwd)
        engine = DuckDBEngine(file_search_path=job / "proj")
        engine.restrict_files([job / "proj" / "data"])
        with pytest.raises(EngineError) as refused:
            engine.rows("select * from read_text('data/../.git/config')")
        engine.close()
        said.append(str(refused.value))
    assert "read from the folder retl runs in" in said[0] and SENTINEL not in said[0]
    assert "read from the folder retl runs in" not in said[1] and "RETL_ALLOWED_PATHS" in said[1]

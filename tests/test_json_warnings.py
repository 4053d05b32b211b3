"""Warnings with ``--format json`` are in the document (stderr stays empty), and every
located message names a project file as the project spells it (``models/m.sql:1``)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from reverse_etl.engine.hosts import unguarded_host
from reverse_etl.engine.pg_dsn import dsn_host
from reverse_etl.errors import Problem

PROJECT = {"retl_project.yml": "name: t\nwarehouse:\n  type: duckdb\n"}
RENAMED_KEY = "{{ config(unique_key='id') }}\nselect 1 as id\n"


def test_compile_json_holds_the_warnings_stderr_none(tmp_path, make_project, cli):
    root = make_project(tmp_path, {**PROJECT, "models/m.sql": RENAMED_KEY})
    result = cli("compile", "--project-dir", root, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    document = json.loads(result.stdout)
    assert document["warnings"] == [
        {
            "message": "config(unique_key=...) is read as primary_key (retl's name for the key "
            "of a row)",
            "file": "models/m.sql",
            "line": 1,
            "key": None,
            "hint": "write primary_key= to silence this warning",
            "severity": "warning",
        }
    ]


def test_an_error_document_holds_the_warnings_before_it(tmp_path, make_project, cli):
    files = {**PROJECT, "models/m.sql": RENAMED_KEY, "models/n.sql": "select {{ nope }} as a"}
    root = make_project(tmp_path, files)
    result = cli("compile", "--project-dir", root, "--format", "json", "--select", "m")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert [p["file"] for p in document["problems"]] == ["models/n.sql"]
    assert document["warnings"] == []  # the graph stopped before any model's warning


def test_text_warnings_and_errors_name_files_inside_the_project(tmp_path, make_project, cli):
    root = make_project(tmp_path, {**PROJECT, "models/m.sql": RENAMED_KEY})
    result = cli("compile", "--project-dir", root)
    assert result.returncode == 0, result.stderr
    assert "warning: models/m.sql:1: config(unique_key=...)" in result.stderr
    assert str(tmp_path) not in result.stderr

    (root / "models" / "m.sql").write_text("select {{ nope }} as a\n")
    result = cli("compile", "--project-dir", root)
    assert result.returncode == 1
    assert result.stderr.startswith("error: models/m.sql:1: undefined name: 'nope'")


def test_problem_outside_the_project_keeps_its_whole_path(tmp_path):
    outside = tmp_path / "elsewhere.csv"
    problem = Problem("x", file=outside, line=2)
    assert problem.shown_from(tmp_path / "project") is problem
    assert problem.shown_from(tmp_path).render() == "elsewhere.csv:2: x"


@pytest.fixture
def ci_job(monkeypatch, tmp_path):
    """A CI job's environment: CI set, no allow-list, no pgpass file."""
    monkeypatch.setenv("CI", "true")
    for name in ("RETL_ALLOWED_HOSTS", "PGPASSWORD", "PGHOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))


def test_ci_without_allowed_hosts_warns_of_a_remote_host_given_a_password(ci_job):
    problem = unguarded_host("db.example.com", key="warehouse.host", password=True)
    assert problem is not None and problem.severity == "warning"
    assert "db.example.com" in problem.message and "RETL_ALLOWED_HOSTS" in problem.message
    assert problem.hint is not None and "RETL_ALLOWED_HOSTS=db.example.com" in problem.hint
    assert problem.key == "warehouse.host"


@pytest.mark.parametrize(
    ("host", "env", "password"),
    [
        ("localhost", {}, True),
        ("127.0.0.1", {}, True),
        ("::1", {}, True),
        ("/var/run/postgresql", {}, True),
        (None, {}, True),  # libpq's default: the local socket
        ("db.example.com", {}, False),  # no password anywhere
        ("db.example.com", {"RETL_ALLOWED_HOSTS": "db.example.com"}, True),
        ("db.example.com", {"CI": None}, True),  # not a CI job
        ("db.example.com", {"CI": "false"}, True),
    ],
)
def test_no_warning_when_nothing_is_at_stake(ci_job, monkeypatch, host, env, password):
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    assert unguarded_host(host, key="warehouse.host", password=password) is None


def test_libpq_passwords_count_and_only_remote_hosts_are_named(ci_job, monkeypatch, tmp_path):
    monkeypatch.setenv("PGPASSWORD", "s3cret-pw")
    problem = unguarded_host("localhost,db.example.com", key="warehouse.host", password=False)
    assert problem is not None
    assert "s3cret-pw" not in problem.render()
    assert "localhost" not in problem.render()
    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text("*:*:*:*:pw\n")
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    assert unguarded_host("10.0.0.5", key="k", password=False) is not None


@pytest.mark.parametrize("where", ["PGSERVICEFILE", "HOME", "PGSYSCONFDIR"])
def test_a_services_password_in_its_service_file_counts(ci_job, monkeypatch, tmp_path, where):
    """A dsn's ``service=prod`` whose password only its service file holds: libpq sends it to
    the service's host, so the job is warned as for PGPASSWORD."""
    monkeypatch.delenv("PGSERVICEFILE", raising=False)
    monkeypatch.delenv("PGSYSCONFDIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    folder = tmp_path / "conf"
    folder.mkdir()
    (tmp_path / "home").mkdir()
    service = "# services\n[other]\nhost=x\n\n[prod]\nhost=db.example.com\npassword=s3cret-pw\n"
    name = {"HOME": "home/.pg_service.conf", "PGSYSCONFDIR": "conf/pg_service.conf"}
    path = tmp_path / name.get(where, "conf/services")
    path.write_text(service)
    if where != "HOME":
        monkeypatch.setenv(where, str(path if where == "PGSERVICEFILE" else folder))
    host = dsn_host("service=prod dbname=x")
    problem = unguarded_host(host, key="warehouse.attach.pg", password=False)
    assert problem is not None and "s3cret-pw" not in problem.render()
    # a service without a password (or another service's) hands none
    assert unguarded_host("service:other", key="k", password=False) is None
    assert unguarded_host("service:missing", key="k", password=False) is None


@pytest.mark.parametrize("host", ["foo.localhost", "localhost.localdomain", "db.localhost"])
def test_only_localhost_itself_is_this_machine(ci_job, host):
    """libpq asks the resolver for foo.localhost, which may ask DNS: a remote host."""
    problem = unguarded_host(host, key="warehouse.host", password=True)
    assert problem is not None and host in problem.message


def test_project_warns_once_before_it_connects(ci_job, monkeypatch, tmp_path, make_project):
    monkeypatch.setenv("PGPASSWORD", "s3cret-pw")
    project = """
        name: t
        warehouse:
          type: postgres
          host: db.example.com
          dbname: x
          user: retl
          password: "{{ env_var('PGPASSWORD') }}"
        """
    root = make_project(tmp_path, {"retl_project.yml": project, "models/m.sql": "select 1 as a"})
    from reverse_etl.project import Project
    from reverse_etl.reporting.console import NullConsole

    console = NullConsole()
    with Project.load(root, console=console) as p:
        _ = p.engine  # opened, not connected
        _ = p.engine
    warnings = [line for line in console.lines if line.startswith("warning:")]
    assert warnings == [
        "warning: retl_project.yml:4 warehouse.host: a password goes to db.example.com, and "
        "RETL_ALLOWED_HOSTS is not set in this CI job: a pull request that changes the host "
        "would receive it (set RETL_ALLOWED_HOSTS=db.example.com in the job's environment, not "
        "in the project; see docs/ci.md)"
    ]


def test_a_path_leaving_the_project_through_dotdot_keeps_its_whole_path(tmp_path):
    # dbt: {project_dir: ../dbt} names <project>/../dbt/target/manifest.json: shown as
    # '../dbt/...' it read as a path from wherever retl runs, and it is outside the project.
    root = tmp_path / "project"
    manifest = root / ".." / "dbt" / "target" / "manifest.json"
    problem = Problem("manifest.json is not a JSON object", file=manifest)
    assert problem.shown_from(root) is problem
    assert Problem("x", file=root).shown_from(root).file == root
    inside = Problem("x", file=root / "models" / "m.sql", line=1)
    assert inside.shown_from(root).render() == "models/m.sql:1: x"


def test_dbt_manifest_outside_the_project_is_named_whole(tmp_path, make_project, cli):
    files = {**PROJECT, "models/m.sql": "select 1 as a"}
    root = make_project(tmp_path / "retl", files)
    with (root / "retl_project.yml").open("a") as f:
        f.write("dbt:\n  project_dir: ../dbt\n")
    (tmp_path / "dbt" / "target").mkdir(parents=True)
    (tmp_path / "dbt" / "target" / "manifest.json").write_text("[1]")
    result = cli("compile", "--project-dir", root, "--format", "json")
    assert result.returncode == 1
    [problem] = json.loads(result.stdout)["problems"]
    assert problem["file"] == str(root / ".." / "dbt" / "target" / "manifest.json")


def test_a_url_password_with_a_bare_at_is_not_named_as_the_host(
    ci_job, monkeypatch, tmp_path, make_project, cli
):
    # postgresql://r:s3cret@pw-tail@host/db: libpq reads the host 'pw-tail@host', which the
    # warning named (and RETL_ALLOWED_HOSTS's refusal): the password's end, in the CI log.
    monkeypatch.setenv("ATT_PW", "s3cret@pw-tail")
    project = """
        name: t
        warehouse:
          type: duckdb
          attach:
            - name: crm
              type: postgres
              dsn: "postgresql://r:{{ env_var('ATT_PW') }}@db.example.invalid:5432/w"
        """
    root = make_project(tmp_path, {"retl_project.yml": project, "models/m.sql": "select 1 as a"})
    for allowed in (None, "db.example.invalid"):
        env = {"RETL_ALLOWED_HOSTS": allowed} if allowed else {}
        if allowed:
            monkeypatch.setenv("RETL_ALLOWED_HOSTS", allowed)
        result = cli("show", "m", "--project-dir", root, "--format", "json", env=env)
        assert result.returncode == 1
        assert "pw-tail" not in result.stdout + result.stderr
        document = json.loads(result.stdout)
        assert "%40" in document["error"]
        assert document["warnings"] == []


@pytest.mark.parametrize(
    ("raised", "code", "said"),
    [
        (OSError(28, "No space left on device"), 1, "error: the disk is full"),  # ENOSPC
        (KeyboardInterrupt(), 130, "error: interrupted"),
        (RuntimeError("boom"), 2, "error: unexpected RuntimeError: boom"),
    ],
)
def test_an_error_after_the_document_leaves_stdout_one_document(
    tmp_path, make_project, cli, monkeypatch, raised, code, said
):
    # The document is printed inside `with project`: closing the project may still fail
    # (a full disk when the state is saved, a Ctrl-C). Its error printed a second document.
    from reverse_etl.project import Project

    root = make_project(tmp_path, {**PROJECT, "models/m.sql": "select 1 as a"})

    def fail(self):
        raise raised

    monkeypatch.setattr(Project, "close", fail)
    result = cli("compile", "--project-dir", root, "--format", "json")
    assert result.returncode == code
    document = json.loads(result.stdout)  # one document: the command's
    assert document["ok"] is True and [m["name"] for m in document["models"]] == ["m"]
    assert said in result.stderr  # the error is still said


def test_a_warning_the_library_logs_goes_into_the_json_document_an_error_does_not(
    tmp_path: Path,
) -> None:
    """The library's logged warnings (a secret's whitespace, a credentials file's mode) are
    said as the command's other warnings are; a logged error (the sandbox handler's
    traceback) is not turned into one."""
    from reverse_etl.cli.output import Output, _logged_warnings
    from reverse_etl.reporting.console import JsonConsole
    from reverse_etl.secrets import PROBLEM_ATTR

    console = JsonConsole()
    out = Output("json", False, console, False, root=tmp_path)
    located = Problem("had whitespace", file=tmp_path / "destinations.yml", line=3, key="k")
    with _logged_warnings(out):
        logging.getLogger("reverse_etl.secrets").warning("x", extra={PROBLEM_ATTR: located})
        logging.getLogger("reverse_etl.destinations").warning("warning: file %s", "/c.json")
        logging.getLogger("reverse_etl.sandbox").error("sandbox handler failed")
    logging.getLogger("reverse_etl.destinations").warning("after the command")
    assert [(p.message, p.file) for p in console.warnings] == [
        ("had whitespace", "destinations.yml"),
        ("file /c.json", None),
    ]


def test_a_secret_s_whitespace_is_said_by_every_command_of_a_process(
    tmp_path: Path, make_project, cli, monkeypatch, server
) -> None:
    """The warning was given once per process and setting: a second command in the same
    process (a test run, a library user's loop) did not say it."""
    from tests.conftest import SANDBOX_TOKEN

    monkeypatch.setenv("PADDED_TOKEN", SANDBOX_TOKEN + "\n")
    destinations = (
        "destinations:\n"
        "  tt:\n"
        "    type: tiktok_events\n"
        "    model: m\n"
        "    access_token: \"{{ env_var('PADDED_TOKEN') }}\"\n"
        "    event_source_id: CSANDBOXDEMOPIXEL001\n"
        f"    api_base_url: {server.base_url}\n"
    )
    model = (
        "select 'e-1' as event_id, 'Purchase' as event, 1700000000 as event_time, "
        "'https://x.example/p' as page_url, 'a@example.com' as email"
    )
    root = make_project(
        tmp_path, {**PROJECT, "models/m.sql": model, "destinations.yml": destinations}
    )
    for _ in range(2):
        result = cli("sync", "--yes", "--full-refresh", "--project-dir", root)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "had whitespace around it" in result.stderr
        assert SANDBOX_TOKEN not in result.stdout + result.stderr

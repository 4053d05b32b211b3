"""The ``retl`` command as a user runs it: a real process, pipes, exit codes."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import pytest

from reverse_etl import __version__
from reverse_etl.project import Project

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory, run_cli) -> Path:
    """One ``retl init`` project shared by the read-only tests of this module."""
    root = tmp_path_factory.mktemp("cli") / "shop"
    result = run_cli("init", root)
    assert result.returncode == 0, result.stderr
    return root


def first_order_day(root: Path) -> str:
    """The day of the first sample order (``retl init`` dates them before the day it runs)."""
    return (root / "data" / "orders.csv").read_text().splitlines()[1].split(",")[4].split()[0]


def assert_no_ansi(*texts: str) -> None:
    for text in texts:
        assert not ANSI.search(text), repr(text[:200])
        assert "\x1b" not in text


@pytest.mark.slow
def test_version(run_cli) -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout == f"retl {__version__}\n"
    assert result.stderr == ""


@pytest.mark.slow
def test_init_prints_what_it_created_and_next_step(tmp_path, run_cli) -> None:
    root = tmp_path / "new"
    result = run_cli("init", root)
    assert result.returncode == 0, result.stderr
    created = [line.removeprefix("created ") for line in result.stdout.splitlines()[:-1]]
    assert sorted(created) == sorted(
        str(root / p)
        for p in [
            "retl_project.yml",
            "destinations.yml",
            "models/purchase_events.sql",
            "data/orders.csv",
            ".gitignore",
        ]
    )
    assert result.stdout.splitlines()[-1] == (
        f"next: cd {shlex.quote(str(root))} && retl show purchase_events"
    )
    assert_no_ansi(result.stdout, result.stderr)


@pytest.mark.slow
def test_compile_text(initialised, run_cli) -> None:
    result = run_cli("compile", "--project-dir", initialised)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("-- purchase_events (models/purchase_events.sql)\n")
    assert f"read_csv('{initialised / 'data' / 'orders.csv'}', header = true" in result.stdout
    assert "'total': 'decimal(12,2)'" in result.stdout
    assert "where total >= 0" in result.stdout
    assert result.stderr == ""
    assert_no_ansi(result.stdout)


@pytest.mark.slow
def test_compile_json_is_one_document(initialised, run_cli) -> None:
    result = run_cli("compile", "--project-dir", initialised, "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # raises on anything besides one document
    assert document["ok"] is True
    (model,) = document["models"]
    assert model["name"] == "purchase_events"
    assert model["path"] == "models/purchase_events.sql"  # as validate's model_file
    assert model["upstream"] == []
    assert "read_csv(" in model["sql"]
    assert result.stderr == ""


@pytest.mark.slow
def test_show_text_is_a_plain_table(initialised, run_cli) -> None:
    result = run_cli("show", "purchase_events", "--project-dir", initialised, "-n", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "purchase_events: 2 row(s)"
    assert lines[1].split() == [
        "event",
        "(string)",
        "event_id",
        "(string)",
        "event_time",
        "(timestamp[us])",
        "email",
        "(string)",
        "phone",
        "(string)",
        "external_id",
        "(string)",
        "value",
        "(decimal128(12,",
        "2))",
        "currency",
        "(string)",
        "order_id",
        "(string)",
        "page_url",
        "(string)",
    ]
    assert set(lines[2].replace(" ", "")) == {"-"}
    assert lines[3].split()[:4] == [
        "Purchase",
        "order-1001",
        first_order_day(initialised),
        "10:15:00",
    ]
    assert "42.50" in lines[3]
    assert len(lines) == 5
    assert_no_ansi(result.stdout, result.stderr)


@pytest.mark.slow
def test_show_json_is_one_document(initialised, run_cli) -> None:
    result = run_cli(
        "show", "purchase_events", "--project-dir", initialised, "--format", "json", "--limit", "1"
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["model"] == "purchase_events"
    assert {c["name"]: c["type"] for c in document["columns"]}["value"] == "decimal128(12, 2)"
    assert document["rows"] == [
        {
            "event": "Purchase",
            "event_id": "order-1001",
            "event_time": f"{first_order_day(initialised)}T10:15:00",
            "email": " Alice@Example.com ",
            "phone": "+1 212 555 0101",
            "external_id": "cust-1",
            "value": "42.50",
            "currency": "USD",
            "order_id": "1001",
            "page_url": "https://shop.example/p/socks",
        }
    ]
    assert result.stderr == ""


@pytest.mark.slow
def test_errors_in_json_mode_keep_stdout_one_document(initialised, run_cli) -> None:
    result = run_cli("show", "purchase_event", "--project-dir", initialised, "--format", "json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["error"] == "no model named 'purchase_event'"
    assert document["problems"][0]["hint"] == "did you mean 'purchase_events'?"
    assert result.stderr.startswith("error: ")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "key", "error"),
    [
        (("plan", "--format", "json", "--bogus"), "--bogus", "No such option: --bogus"),
        (("plan", "--format=json", "--select"), "--select", "requires an argument"),
        (("runs", "--format", "json", "--limit", "x"), "--limit", "Invalid value for '--limit'"),
    ],
)
def test_a_usage_error_in_json_mode_is_a_json_document_too(args, key, error, run_cli) -> None:
    """click stops at a usage error before any option is read: stdout had nothing for a
    script reading it, only click's text on stderr. Now it is said as every other error of
    --format json is: the document, and one 'error:' line on stderr (not click's usage)."""
    result = run_cli(*args)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False and error in document["error"]
    assert document["problems"][0]["key"] == key
    assert result.stderr.startswith(f"error: {key}: ") and error in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Usage:" not in result.stderr


@pytest.mark.slow
def test_a_usage_error_s_json_quotes_no_argument_and_follows_the_last_format(run_cli) -> None:
    """A mistyped --vars '{token: X}' (unquoted) leaves X as an extra argument, which click
    quotes back: not into a document CI keeps. --format text after --format json: text."""
    result = run_cli("plan", "--format", "json", "--vars", "{token:", "SECRET-arg-51c")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"] == "Got unexpected extra argument(s)"
    assert "SECRET-arg-51c" not in result.stdout
    assert "SECRET-arg-51c" not in result.stderr  # nor in the CI log
    assert result.stderr.startswith("error: Got unexpected extra argument(s)")
    text = run_cli("plan", "--format", "json", "--format", "text", "--bogus")
    assert text.returncode == 1 and text.stdout == ""


@pytest.mark.slow
def test_a_usage_error_s_text_quotes_no_argument(run_cli) -> None:
    """The same mistyped --vars in text mode: click's usage block and its Error: line, but
    the extra argument is not quoted back into the CI log (it was: only JSON hid it)."""
    result = run_cli("plan", "--vars", "{token:", "SECRET-arg-61a")
    assert result.returncode == 1
    assert "SECRET-arg-61a" not in result.stdout + result.stderr
    assert "Usage: " in result.stderr and " plan [OPTIONS]" in result.stderr
    assert "Error: Got unexpected extra argument(s)" in result.stderr
    unknown = run_cli("plan", "--bogus")  # an unknown option is still named
    assert unknown.returncode == 1 and "No such option: --bogus" in unknown.stderr


@pytest.mark.slow
def test_retl_alone_prints_its_help_without_a_traceback(run_cli) -> None:
    """`retl` with no argument at all: the --format scan of the command line raised
    ValueError on an empty one (zip strict), a traceback instead of the help."""
    result = run_cli()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert " [OPTIONS] COMMAND [ARGS]" in result.stdout + result.stderr
    assert "sync" in result.stdout + result.stderr


@pytest.mark.slow
def test_init_refuses_to_overwrite(tmp_path, run_cli) -> None:
    root = tmp_path / "shop"
    (root / "models").mkdir(parents=True)
    mine = root / "models" / "purchase_events.sql"
    mine.write_text("select 'mine' as x\n")
    result = run_cli("init", root)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr == (
        f"error: {mine}: {mine} already exists (retl init never overwrites files: "
        "choose an empty or new directory)\n"
    )
    assert mine.read_text() == "select 'mine' as x\n"
    assert not (root / "retl_project.yml").exists()


@pytest.mark.slow
def test_select_unknown_model_with_did_you_mean(initialised, run_cli) -> None:
    result = run_cli("compile", "--project-dir", initialised, "--select", "purchase_event")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: --select: no model or destination named 'purchase_event' (did you mean "
        "'purchase_events'?)\n"
    )
    assert_no_ansi(result.stderr)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "yaml"], "error: --format must be 'text' or 'json', not 'yaml'\n"),
        (
            ["--vars", "{a: [1"],
            "error: --vars: --vars is not valid YAML at column 7: expected ',' "
            "or ']', but got '<stream end>' (e.g. --vars '{name: value}')\n",
        ),
        (
            ["--select", "nope,purchase_events"],
            "error: --select: no model or destination named 'nope'",
        ),
    ],
)
def test_bad_options_are_user_errors(args, message, initialised, cli) -> None:
    result = cli("compile", "--project-dir", initialised, *args)
    assert result.returncode == 1
    assert result.stderr.startswith(message)
    assert len(result.stderr.splitlines()) == 1


def test_negative_limit(initialised, cli) -> None:
    result = cli("show", "purchase_events", "--project-dir", initialised, "--limit", "-1")
    assert result.returncode == 1
    assert result.stderr == "error: --limit: --limit must be 0 or more\n"


@pytest.mark.slow
def test_debug_traceback_on_user_error_has_no_colour_on_a_pipe(tmp_path, make_project, run_cli):
    root = make_project(tmp_path, {"models/m.sql": "select {{ nope }} as a"})
    result = run_cli("compile", "--project-dir", root, "--debug")
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "error: models/m.sql:1: undefined name: 'nope' is undefined" in (result.stderr)
    assert_no_ansi(result.stdout, result.stderr)


def _explode(self, *args, **kwargs):
    token = os.environ["TIKTOK_ACCESS_TOKEN"]  # a local the traceback must not show
    raise RuntimeError(f"internal failure after {len(token)} chars")


def test_unexpected_exception_exits_2_and_points_to_debug(initialised, cli, monkeypatch):
    monkeypatch.setattr(Project, "compile", _explode)
    result = cli(
        "compile",
        "--project-dir",
        initialised,
        env={"TIKTOK_ACCESS_TOKEN": "super-secret-token-123"},
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: unexpected RuntimeError: internal failure after 22 chars (this is a bug in "
        "retl; rerun with --debug for the traceback and report it)\n"
    )
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback_without_local_values(initialised, cli, monkeypatch):
    monkeypatch.setattr(Project, "compile", _explode)
    result = cli(
        "compile",
        "--project-dir",
        initialised,
        "--debug",
        env={"TIKTOK_ACCESS_TOKEN": "super-secret-token-123"},
    )
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert "in _explode" in result.stderr
    assert "RuntimeError: internal failure after 22 chars" in result.stderr
    assert "super-secret-token-123" not in result.stderr
    assert "super-secret-token-123" not in result.stdout
    # rich's locals panel would print "token = '...'" and "self = <...Project...>".
    assert "token = '" not in result.stderr
    assert "<reverse_etl.project.Project object" not in result.stderr


def _explode_quoting_a_row(self, *args, **kwargs):
    raise ValueError("could not read 'Alice.Smith@example.com' nor '+447911123456'")


def test_debug_traceback_masks_the_personal_data_an_exception_quotes(initialised, cli, monkeypatch):
    """--debug shows the traceback, but an exception quoting a row's value (an e-mail address,
    a phone number) shows it masked, as every error line does."""
    monkeypatch.setattr(Project, "compile", _explode_quoting_a_row)
    result = cli("compile", "--project-dir", initialised, "--debug")
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert "ValueError: could not read" in result.stderr
    assert "Alice.Smith@example.com" not in result.stderr
    assert "+447911123456" not in result.stderr


def test_unexpected_exception_in_json_mode(initialised, cli, monkeypatch) -> None:
    monkeypatch.setattr(Project, "compile", _explode)
    result = cli(
        "compile",
        "--project-dir",
        initialised,
        "--format",
        "json",
        env={"TIKTOK_ACCESS_TOKEN": "x"},
    )
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["error"] == "unexpected RuntimeError"
    assert document["warnings"] == []
    (problem,) = document["problems"]  # the keys of every error document (README)
    assert problem["message"] == "unexpected RuntimeError"
    assert "bug in retl" in problem["hint"]
    assert "internal failure" not in result.stdout


def _ctrl_c(*args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt


def test_interrupted_json_document_has_the_error_documents_keys(
    initialised, cli, monkeypatch
) -> None:
    """A CI step that reads ``problems`` of the document of a stopped run (a job's timeout)
    finds them, as in every other error document."""
    monkeypatch.setattr(Project, "compile", _ctrl_c)
    result = cli("compile", "--project-dir", initialised, "--format", "json")
    assert result.returncode == 130
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["error"] == "interrupted"
    assert [p["message"] for p in document["problems"]] == ["interrupted"]
    assert document["report_file"] is None


def _leak(self, *args, **kwargs):
    import duckdb

    raise duckdb.ConversionException("Could not convert string 'Jane Quixote' to INT32")


def _python_bug(self, *args, **kwargs):
    return None.name  # 'NoneType' object has no attribute 'name': kept, it locates the bug


def test_an_unexpected_engine_error_s_quoted_values_are_masked(initialised, cli, monkeypatch):
    """A raw engine error that a bug let through printed the row's value whole on the 'a bug
    in retl' line."""
    monkeypatch.setattr(Project, "compile", _leak)
    result = cli("compile", "--project-dir", initialised)
    assert result.returncode == 2
    assert "Jane" not in result.stderr and "Quixote" not in result.stderr
    assert result.stderr.startswith("error: unexpected ")
    assert "(this is a bug in retl; rerun with --debug" in result.stderr


def test_an_unexpected_python_error_keeps_its_names(initialised, cli, monkeypatch):
    monkeypatch.setattr(Project, "compile", _python_bug)
    result = cli("compile", "--project-dir", initialised)
    assert result.returncode == 2
    assert "'NoneType' object has no attribute 'name'" in result.stderr


_TOKEN = "xoxb-123456789012-1234567890123-TopSecretTail"


def _secret_in_bug(self, *args, **kwargs):
    from reverse_etl.secrets import register

    register(_TOKEN)
    raise RuntimeError(f"request with token {_TOKEN} failed")


def test_an_unexpected_error_s_secret_is_masked_whole(initialised, cli, monkeypatch):
    """The values were masked before the secrets: the token's digit runs became <redacted>,
    and the rest of the token, no longer the secret scrub looks for, was printed."""
    monkeypatch.setattr(Project, "compile", _secret_in_bug)
    result = cli("compile", "--project-dir", initialised)
    assert result.returncode == 2
    assert "TopSecretTail" not in result.stderr and "xoxb" not in result.stderr
    assert "request with token" in result.stderr

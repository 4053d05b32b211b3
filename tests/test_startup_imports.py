"""The light commands import only what they need (issue #18): `retl --version`, `--help` and
`init` start without DuckDB, Arrow, pydantic, sqlglot, phonenumbers, httpx or rich.

An import check in a fresh interpreter, never a timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "duckdb",
    "pyarrow",
    "numpy",
    "pydantic",
    "sqlglot",
    "phonenumbers",
    "httpx",
    "rich",
    "jinja2",
    "yaml",
    "psycopg",
    "reverse_etl.project",
    "reverse_etl.sandbox",
)
# Typer (0.29) coerces a subcommand's options through pydantic's TypeAdapter, so any
# `retl <command> ...`, `--help` included, imports pydantic; `init` also checks its template
# with the TikTok settings model.
SUBCOMMAND_MAY_IMPORT = {"pydantic"}
INIT_MAY_IMPORT = {"pydantic", "yaml"}

PROBE = """
import json, sys
args, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
from reverse_etl.cli.app import main
sys.argv = ["retl", *args]
code = None
try:
    main()
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m in heavy if m in sys.modules)
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def imported_by(args: list[str], cwd: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=120,
    )
    assert proc.stderr.strip(), proc.stdout
    result: dict[str, object] = json.loads(proc.stderr.strip().splitlines()[-1])
    return result


@pytest.mark.slow
@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_version_and_help_import_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    result = imported_by(args, tmp_path)
    assert result["code"] in (0, None)
    assert result["loaded"] == []


@pytest.mark.slow
@pytest.mark.parametrize("command", ["validate", "sync"])
def test_a_command_s_help_imports_nothing_heavy(command: str, tmp_path: Path) -> None:
    result = imported_by([command, "--help"], tmp_path)
    assert result["code"] in (0, None)
    assert set(result["loaded"]) <= SUBCOMMAND_MAY_IMPORT, result["loaded"]


@pytest.mark.slow
def test_init_imports_only_the_settings_model(tmp_path: Path) -> None:
    result = imported_by(["init", str(tmp_path / "p")], tmp_path)
    assert result["code"] in (0, None)
    assert (tmp_path / "p" / "destinations.yml").exists()
    assert set(result["loaded"]) <= INIT_MAY_IMPORT, result["loaded"]


@pytest.mark.slow
def test_the_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    # The check can fail: `retl validate` opens a project (here a missing one) with the facade.
    result = imported_by(["validate", "--project-dir", str(tmp_path / "none")], tmp_path)
    assert result["code"] == 1
    assert {"duckdb", "pyarrow", "reverse_etl.project"} <= set(result["loaded"])

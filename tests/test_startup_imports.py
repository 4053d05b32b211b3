"""The light commands import only what they need (issue #18): `retl --version`, `--help` and
`init` start without DuckDB, Arrow, pydantic, sqlglot, phonenumbers, httpx or rich (`--version`
without typer either); `retl validate` without the run path (Arrow, numpy, httpx, the state,
delivery, the sandbox), and without DuckDB when no source needs it (declared sources, and CSV
files whose header is their declaration, as the demo's).

An import check in a fresh interpreter, never a timing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

HEAVY = (
    "duckdb",
    "pyarrow",
    "numpy",
    "filelock",
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
    "reverse_etl.pipeline.runner",
    "reverse_etl.delivery",
    "reverse_etl.state.store",
)
# Typer (0.29) coerces a subcommand's options through pydantic's TypeAdapter, so any
# `retl <command> ...`, `--help` included, imports pydantic; `init` also checks its template
# with the TikTok settings model.
SUBCOMMAND_MAY_IMPORT = {"pydantic"}
INIT_MAY_IMPORT = {"pydantic", "yaml"}
# Validation itself: the config models, YAML, the Jinja sandbox, sqlglot and the facade.
VALIDATE_MAY_IMPORT = {"pydantic", "yaml", "jinja2", "sqlglot", "reverse_etl.project"}
# Models and sources declared with their columns: nothing to DESCRIBE, no file, no warehouse.
DECLARED_PROJECT = {
    "retl_project.yml": """name: declared
sources:
  - name: shop
    tables:
      - name: orders
        columns:
          - {name: order_id, data_type: varchar}
          - {name: ordered_at, data_type: timestamp}
          - {name: email, data_type: varchar}
          - {name: total, data_type: "decimal(10,2)"}
""",
    "models/purchases.sql": """select order_id as event_id, 'Purchase' as event,
  ordered_at as event_time, email, total as value, 'USD' as currency
from {{ source('shop', 'orders') }}
""",
    "destinations.yml": """destinations:
  tiktok_purchases:
    type: tiktok_events
    model: purchases
    access_token: "{{ env_var('TIKTOK_ACCESS_TOKEN') }}"
    event_data_source: WEB
    event_source_id: CDEMOSHOPPIXEL000001
""",
}

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
@pytest.mark.parametrize("offline", [[], ["--offline"]])
def test_validate_of_declared_sources_imports_no_engine_and_no_run_path(
    offline: list[str], tmp_path: Path
) -> None:
    for name, text in DECLARED_PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = imported_by(["validate", "--project-dir", str(tmp_path), *offline], tmp_path)
    assert result["code"] == 0, result
    assert set(result["loaded"]) <= VALIDATE_MAY_IMPORT, result["loaded"]


@pytest.mark.slow
def test_validate_of_the_demo_reads_its_csv_headers_without_duckdb(tmp_path: Path) -> None:
    # The demo's sources are CSV files whose headers are their declared columns: no DuckDB
    # to DESCRIBE them (schemas.py), and default_phone_region is known without phonenumbers
    # (config/phone_region.py). Arrow and numpy come with reading rows, which validate never
    # does.
    demo = tmp_path / "demo"
    demo.mkdir()
    for name in ("retl_project.yml", "destinations.yml", "models", "data"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, demo / name)
    result = imported_by(["validate", "--project-dir", str(demo)], tmp_path)
    assert result["code"] == 0, result
    assert set(result["loaded"]) <= VALIDATE_MAY_IMPORT, result["loaded"]


@pytest.mark.slow
def test_validate_of_an_init_project_imports_no_engine(tmp_path: Path) -> None:
    assert imported_by(["init", str(tmp_path / "p")], tmp_path)["code"] in (0, None)
    result = imported_by(["validate", "--project-dir", str(tmp_path / "p")], tmp_path)
    assert result["code"] == 0, result
    assert set(result["loaded"]) <= VALIDATE_MAY_IMPORT, result["loaded"]


# Through the process entry point (the `retl` script, `python -m reverse_etl`), as a user runs
# it: `--version` alone is answered before typer is imported; after any command, the garbage
# collector the entry point paused during the start-up is running again (cli/collector.py).
ENTRY_PROBE = """
import atexit, gc, json, sys
args, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def report():
    loaded = sorted(m for m in heavy if m in sys.modules)
    print(json.dumps({"loaded": loaded, "gc": gc.isenabled()}), file=sys.stderr)
atexit.register(report)
sys.argv = ["retl", *args]
from reverse_etl.cli.entry import main
main()
"""


def through_entry(args: list[str], cwd: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", ENTRY_PROBE, json.dumps(args), json.dumps([*HEAVY, "typer"])],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stderr.strip().splitlines()[-1])
    result["stdout"] = proc.stdout
    return result


@pytest.mark.slow
def test_version_through_the_entry_point_imports_not_even_typer(tmp_path: Path) -> None:
    from reverse_etl.__about__ import __version__

    result = through_entry(["--version"], tmp_path)
    assert result["stdout"] == f"retl {__version__}\n"
    assert result["loaded"] == []


@pytest.mark.slow
def test_a_command_runs_with_the_garbage_collector_on(tmp_path: Path) -> None:
    result = through_entry(["init", str(tmp_path / "p")], tmp_path)
    assert result["gc"] is True
    result = through_entry(["validate", "--project-dir", str(tmp_path / "p")], tmp_path)
    assert result["gc"] is True


def test_validate_s_default_dialect_is_the_workbench_s() -> None:
    from reverse_etl.engine.duckdb import DuckDBEngine
    from reverse_etl.validation.run import WORKBENCH_DIALECT

    assert DuckDBEngine.dialect == WORKBENCH_DIALECT


@pytest.mark.slow
@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_a_reader_gone_away_is_exit_1_without_a_word(args: list[str], tmp_path: Path) -> None:
    # `retl --version | true`: the fast path answers as click does for every other command.
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "reverse_etl", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            check=False,
            timeout=120,
        )
    finally:
        os.close(write)
    assert (proc.returncode, proc.stderr) == (1, b"")


def test_the_plan_s_sample_masking_loads_no_emulator() -> None:
    """The plan's samples mask with ``sandbox.feed.mask_pii``; the sandbox package's
    ``__init__`` imported the whole emulator and ``http.server`` with it (43 ms of every
    sync's serial path). Its names are read lazily now; an import check, never a timing."""
    code = (
        "import sys, json\n"
        "from reverse_etl.sandbox.feed import mask_pii\n"
        "from reverse_etl.sandbox import DEMO_PIXEL_CODE\n"
        "print(json.dumps([m for m in ('reverse_etl.sandbox.server', 'http.server',"
        " 'reverse_etl.sandbox.faults') if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert json.loads(out.stdout) == []

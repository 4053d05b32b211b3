"""The code's own promises: lint, format, strict typing, import boundaries, docs in sync."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from reverse_etl.destinations.tiktok import docs

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "reverse_etl"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, check=False
    )


CODE_DIRS = [d for d in ("reverse_etl", "tests", "bench", "examples") if (REPO / d).is_dir()]


def test_ruff_lint_and_format() -> None:
    lint = run("ruff", "check", *CODE_DIRS)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = run("ruff", "format", "--check", *CODE_DIRS)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_mypy_strict() -> None:
    result = run("mypy", "--no-incremental")
    assert result.returncode == 0, result.stdout + result.stderr


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(
                node.module.split(".")[0]
                if not node.module.startswith("reverse_etl")
                else node.module
            )
    return names


@pytest.mark.parametrize(
    ("library", "allowed"),
    [
        ("duckdb", ("engine/", "state/")),
        ("httpx", ("destinations/tiktok/client.py",)),
        ("psycopg", ("engine/postgres.py",)),
        ("rich", ("reporting/", "cli/")),
        ("typer", ("cli/",)),
    ],
)
def test_driver_imports_stay_in_their_modules(library: str, allowed: tuple[str, ...]) -> None:
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if library in _imports(p) and not str(p.relative_to(PACKAGE)).startswith(allowed)
    ]
    assert offenders == []


def test_nothing_imports_the_cli() -> None:
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if not str(p.relative_to(PACKAGE)).startswith("cli/")
        and any(i.startswith("reverse_etl.cli") for i in _imports(p))
        and p.name != "__main__.py"
    ]
    assert offenders == []


def test_tiktok_docs_tables_match_the_catalog() -> None:
    text = (REPO / "docs" / "tiktok.md").read_text(encoding="utf-8")
    assert docs.render(text) == text, (
        "docs/tiktok.md is stale: run python -m reverse_etl.destinations.tiktok.docs docs/tiktok.md"
    )
    for param in ("email", "event_time", "lead_id", "app_id", "contents"):
        assert f"`{param}`" in text

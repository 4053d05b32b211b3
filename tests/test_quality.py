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
        (
            "httpx",
            (
                "destinations/tiktok/client.py",
                "destinations/meta/client.py",
                "destinations/shared/http.py",
                "notify/",
            ),
        ),
        (
            "psycopg",
            ("engine/postgres.py", "engine/pg_copy.py", "engine/pg_dsn.py", "engine/pg_reads.py"),
        ),
        ("pyspark", ("engine/spark.py", "engine/spark_retry.py")),
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


def _modules(path: Path, text: str | None = None) -> set[str]:
    """Every reverse_etl module ``path`` imports (lazy ones too), relative imports resolved,
    and for ``from a import b`` both ``a`` and ``a.b`` (``b`` may be a module)."""
    package = list(path.relative_to(REPO).parts[:-1])
    source = path.read_text(encoding="utf-8") if text is None else text
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            out.add(module)
            out.update(f"{module}.{a.name}" for a in node.names)
    return {m for m in out if m.startswith("reverse_etl")}


def _files(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


PLATFORMS = sorted(
    d.name
    for d in (PACKAGE / "destinations").iterdir()
    if d.is_dir() and (d / "__init__.py").exists() and d.name != "shared"
)


def test_there_are_platforms_to_keep_apart() -> None:
    assert {"tiktok", "meta"} <= set(PLATFORMS)


@pytest.mark.parametrize("folder", ["state", "delivery", "validation", "pipeline"])
def test_the_run_path_imports_no_platform(folder: str) -> None:
    """They talk to the Destination contract (destinations/base.py): a platform is one
    folder plus one registry line."""
    offenders = [
        f"{p.relative_to(PACKAGE)} imports {m}"
        for p in _files(folder)
        for m in _modules(p)
        if any(m.startswith(f"reverse_etl.destinations.{name}") for name in PLATFORMS)
    ]
    assert offenders == []


def test_a_platform_is_known_only_to_its_folder_the_registry_and_the_cli() -> None:
    """``cli/`` may name a platform for a platform's own command (``retl auth tiktok``);
    the sandbox emulates each platform beside its own vocabulary; ``scaffold.py`` writes a
    TikTok starter project."""
    allowed_everywhere = ("destinations/registry.py", "cli/", "sandbox/", "scaffold.py")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = str(path.relative_to(PACKAGE))
        if rel.startswith(allowed_everywhere):
            continue
        for name in PLATFORMS:
            if rel.startswith(f"destinations/{name}/"):
                continue
            offenders += [
                f"{rel} imports {m}"
                for m in _modules(path)
                if m.startswith(f"reverse_etl.destinations.{name}")
            ]
    assert offenders == []


def test_only_the_cli_imports_the_facade() -> None:
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if not str(p.relative_to(PACKAGE)).startswith(("cli/", "ui/"))
        and p.name not in ("__init__.py", "__main__.py", "project.py")
        and "reverse_etl.project" in _modules(p)
    ]
    assert offenders == []


def test_the_sandbox_imports_no_delivery_or_state() -> None:
    offenders = [
        f"{p.relative_to(PACKAGE)} imports {m}"
        for p in _files("sandbox")
        for m in _modules(p)
        if m.startswith(("reverse_etl.delivery", "reverse_etl.state"))
    ]
    assert offenders == []


def test_the_boundary_checks_see_lazy_and_relative_imports() -> None:
    """The checks above would pass vacuously if ``_modules`` missed an import form."""
    found = _modules(
        PACKAGE / "state" / "probe.py",
        "def f() -> None:\n    from reverse_etl.destinations.tiktok import vocab\n"
        "from ..destinations import registry\n",
    )
    assert "reverse_etl.destinations.tiktok.vocab" in found
    assert "reverse_etl.destinations.registry" in found


def test_tiktok_docs_tables_match_the_catalog() -> None:
    text = (REPO / "docs" / "tiktok.md").read_text(encoding="utf-8")
    assert docs.render(text) == text, (
        "docs/tiktok.md is stale: run python -m reverse_etl.destinations.tiktok.docs docs/tiktok.md"
    )
    for param in ("email", "event_time", "lead_id", "app_id", "contents"):
        assert f"`{param}`" in text


_PARSES = ("parse", "parse_one", "transpile", "maybe_parse")


def test_every_module_that_has_sqlglot_read_sql_installs_the_sqlglot_fixes() -> None:
    """sqlglot alone reads ``INTERVAL '1 day 02:00:03'`` as one day, and refuses
    ``json_object('k', a = b)`` (reverse_etl/sqlglot_fixes.py): a module that calls its
    parser imports the fixes, in the function that parses when it imports sqlglot there
    (lazily), else at its top."""
    parsing, missing = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parses = any(
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _PARSES
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("sqlglot", "exp")
            for node in ast.walk(tree)
        )
        if not parses:
            continue
        name = str(path.relative_to(PACKAGE))
        parsing.append(name)
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        if "reverse_etl.sqlglot_fixes" not in imported:
            missing.append(name)
    assert missing == []
    # The check sees the modules it is about.
    assert {"engine/postgres.py", "engine/spark.py", "columns/infer.py"} <= set(parsing)

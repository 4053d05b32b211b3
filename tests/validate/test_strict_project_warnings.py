"""`retl validate --strict` fails on every warning it gives: the destinations' diagnostics and
the warnings given while the project was read (a model's dbt-only `config()` key, a `--vars`
key no model reads), which are outside the destinations' counts. Without --strict they stay
warnings (exit 0)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def clean_project(tmp_path_factory: pytest.TempPathFactory, run_cli) -> Path:
    root = tmp_path_factory.mktemp("strict") / "shop"
    assert run_cli("init", root).returncode == 0
    return root


def _with_dbt_config(clean_project: Path, tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(clean_project, root)
    model = next((root / "models").glob("*.sql"))
    text = model.read_text()
    model.write_text("{{ config(materialized='table') }}\n" + text)
    return root


def test_a_clean_project_passes_strict(clean_project: Path, cli) -> None:
    result = cli("validate", "--strict", "--project-dir", clean_project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_project_warning_fails_strict_text(clean_project: Path, tmp_path: Path, cli) -> None:
    root = _with_dbt_config(clean_project, tmp_path)
    loose = cli("validate", "--project-dir", root)
    assert loose.returncode == 0, loose.stdout + loose.stderr
    assert "materialized" in loose.stderr
    assert "1 reading the project" in loose.stdout
    strict = cli("validate", "--strict", "--project-dir", root)
    assert strict.returncode == 1
    assert "validate FAILED" in strict.stdout
    assert "1 reading the project (--strict: warnings fail)" in strict.stdout


def test_a_project_warning_fails_strict_json(clean_project: Path, tmp_path: Path, cli) -> None:
    root = _with_dbt_config(clean_project, tmp_path)
    loose = cli("validate", "--format", "json", "--project-dir", root)
    doc = json.loads(loose.stdout)
    assert loose.returncode == 0 and doc["ok"] is True
    assert any("materialized" in w["message"] for w in doc["warnings"])
    strict = cli("validate", "--strict", "--format", "json", "--project-dir", root)
    doc = json.loads(strict.stdout)
    assert strict.returncode == 1
    assert doc["ok"] is False and doc["strict"] is True


def test_an_unread_var_fails_strict(clean_project: Path, cli) -> None:
    result = cli(
        "validate", "--strict", "--vars", '{"nobody_reads": 1}', "--project-dir", clean_project
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "nobody_reads" in result.stderr


def test_an_error_document_keeps_its_warnings(clean_project: Path, tmp_path: Path, cli) -> None:
    """A project that fails to load: validate's JSON error document is shaped as every
    command's (its ``warnings``), whatever console counted the warnings."""
    root = _with_dbt_config(clean_project, tmp_path)
    (root / "models" / "broken.sql").write_text("select {{ 1 + }}")
    result = cli("validate", "--format", "json", "--project-dir", root)
    doc = json.loads(result.stdout)
    assert result.returncode == 1
    assert doc["ok"] is False and "Jinja syntax error" in doc["error"]
    assert doc["warnings"] == []

"""A ref() to a dbt model the manifest does not list (a new dbt model, a manifest left from an
older `dbt compile`) said "models are the .sql files' stems", as if no dbt project were
attached: the error now names the manifest it looked in and the command that refreshes it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.dbt.builders import manifest, manifest_node


def _project(root: Path, dbt: bool) -> Path:
    (root / "models").mkdir(parents=True)
    text = "name: shop\n" + ("dbt:\n  project_dir: analytics\n" if dbt else "")
    (root / "retl_project.yml").write_text(text, encoding="utf-8")
    (root / "models" / "m.sql").write_text("select * from {{ ref('new_orders') }}\n")
    target = root / "analytics" / "target"
    target.mkdir(parents=True)
    (target / "manifest.json").write_text(json.dumps(manifest(manifest_node("customers"))))
    return root


def test_a_ref_missing_from_the_manifest_names_it_and_dbt_compile(tmp_path: Path, cli) -> None:
    result = cli("compile", "--project-dir", str(_project(tmp_path, dbt=True)))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "ref('new_orders'): no model named 'new_orders' (neither a .sql file under " in (
        result.stderr
    )
    assert "analytics/target/manifest.json: if dbt has it, run `dbt compile`" in result.stderr


def test_without_dbt_the_hint_is_unchanged(tmp_path: Path, cli) -> None:
    result = cli("compile", "--project-dir", str(_project(tmp_path, dbt=False)))
    assert result.returncode == 1
    assert "(models are the .sql files' stems)" in result.stderr
    assert "manifest" not in result.stderr

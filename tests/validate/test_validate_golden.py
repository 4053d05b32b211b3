"""Golden cases: one directory per case under cases/ (a project: retl_project.yml,
destinations.yml, models/) and its expected.json, the whole ``retl validate --format json``
document. ``REGENERATE=1 pytest tests/validate`` rewrites the expected files; review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reverse_etl.project import Project
from reverse_etl.validation import document, validate_project
from reverse_etl.validation.result import RULES

CASES = Path(__file__).parent / "cases"
REGENERATE = os.environ.get("REGENERATE") == "1"
NAMES = sorted(p.name for p in CASES.iterdir() if (p / "destinations.yml").is_file())
# Rules that need something a static case cannot hold (a broken warehouse file): see
# test_validate_schemas.py; a second platform's catalog: see test_foreign.py.
# source-table needs a PostgreSQL server: tests/warehouse/test_validate_absent_table_pg.py
ELSEWHERE = {"schemas-unavailable", "other-destination", "source-table"}


def run_case(name: str) -> dict[str, object]:
    with Project.load(CASES / name) as project:
        # a warehouse server's project: as a pull request's job checks it, with no server
        offline = project.config.warehouse.type != "duckdb"
        return document(validate_project(project, (), offline=offline), strict=False)


@pytest.mark.parametrize("name", NAMES)
def test_golden_case(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # No token anywhere: validation must not need one.
    monkeypatch.delenv("TIKTOK_ACCESS_TOKEN", raising=False)
    got = run_case(name)
    expected_file = CASES / name / "expected.json"
    if REGENERATE:
        expected_file.write_text(json.dumps(got, indent=2) + "\n", encoding="utf-8")
    assert expected_file.is_file(), f"no expected.json: run REGENERATE=1 pytest {__file__}"
    assert got == json.loads(expected_file.read_text(encoding="utf-8"))


def test_every_rule_has_a_golden_case() -> None:
    seen = {
        d["rule"]
        for name in NAMES
        for dest in json.loads((CASES / name / "expected.json").read_text())["destinations"]
        for d in dest["diagnostics"]
    }
    assert set(RULES) - ELSEWHERE - seen == set()
    assert seen <= set(RULES)

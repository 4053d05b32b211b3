"""Warnings with ``--format json`` are in the document (stderr stays empty), and every
located message names a project file as the project spells it (``models/m.sql:1``)."""

from __future__ import annotations

import json

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

"""Sources declared in dbt's properties files under models/ (config/model_sources.py): read as
those of retl_project.yml are, and every message about them names their own file and line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reverse_etl.errors import ConfigError
from reverse_etl.project import Project
from tests.conftest import MakeProject

ORDERS_CSV = """
order_id,email,total,ordered_at
1001,ada@example.com,42.50,2026-11-20 10:00:00
1002,bob@example.com,19.99,2026-11-21 11:30:00
"""

SOURCES = """
version: 2
sources:
  - name: shop
    description: the shop's tables
    schema: "{{ var('shop_schema') }}"
    tables:
      - name: orders
        config:
          external_location: data/orders.csv
        columns:
          - name: order_id
            data_type: bigint
            data_tests: [unique, not_null]
          - {name: email, data_type: varchar}
          - {name: total, data_type: "decimal(12,2)"}
          - {name: ordered_at, data_type: timestamp}
models:
  - name: events
    description: dbt's keys beside sources are dbt's, left alone
"""

MODEL = """
{{ config(primary_key='event_id') }}
select order_id::varchar as event_id, 'Purchase' as event, ordered_at as event_time,
       email, total as value, 'USD' as currency, 'https://shop.example/' as page_url
from {{ source('shop', 'orders') }}
"""

DESTINATIONS = """
destinations:
  tiktok_web:
    type: tiktok_events
    model: events
    access_token: "{{ env_var('TIKTOK_ACCESS_TOKEN') }}"
    event_source_id: CPIXEL
"""


def _project(root: Path, make_project: MakeProject, *, in_models: bool) -> Path:
    files = {
        "data/orders.csv": ORDERS_CSV,
        "models/events.sql": MODEL,
        "destinations.yml": DESTINATIONS,
        "retl_project.yml": "name: shop\nvars: {shop_schema: shop}\n",
    }
    if in_models:
        files["models/staging/_sources.yml"] = SOURCES
    else:
        # retl_project.yml defines the vars: its own templates do not read them
        declared = SOURCES.replace("version: 2\n", "").replace("{{ var('shop_schema') }}", "shop")
        files["retl_project.yml"] = "name: shop\n" + declared.split("models:")[0].lstrip("\n")
    return make_project(root, files)


def test_a_properties_file_declares_sources_as_retl_project_yml_does(
    tmp_path: Path, make_project: MakeProject
) -> None:
    there = _project(tmp_path / "models_yml", make_project, in_models=True)
    here = _project(tmp_path / "project_yml", make_project, in_models=False)
    with Project.load(there) as a, Project.load(here) as b:
        # var() in a properties file reads the project's vars, as in dbt
        assert a.sources.qualified_name("shop", "orders") == '"shop"."orders"'
        (ca,) = a.compile(["events"])
        (cb,) = b.compile(["events"])
        assert ca.sql == cb.sql.replace(str(here), str(there))
        (va,) = a.validate()
        (vb,) = b.validate()
        assert va.ok(strict=True), va
        assert [(t.table, t.origin) for t in va.tables] == [(t.table, t.origin) for t in vb.tables]
        # the declared types were read: decimal(12,2) as the value's type
        assert [(r.column, r.type) for r in va.columns] == [(r.column, r.type) for r in vb.columns]
        assert ("value", "DECIMAL(12, 2)") in [(r.column, r.type) for r in va.columns]
        (pa,) = a.plan(sandbox=True)
        (pb,) = b.plan(sandbox=True)
    assert (pa.rows_new, pa.rows_invalid) == (pb.rows_new, pb.rows_invalid) == (2, 0)
    assert pa.samples == pb.samples


def test_a_source_declared_twice_names_both_places(
    tmp_path: Path, make_project: MakeProject
) -> None:
    root = _project(tmp_path, make_project, in_models=True)
    (root / "models" / "other.yaml").write_text(
        "sources:\n  - name: other\n  - name: shop\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as info:
        Project.load(root).compile(["events"])
    (problem,) = info.value.problems  # files are read in path order: other.yaml first
    assert problem.file == root / "models" / "staging" / "_sources.yml"
    assert (problem.line, problem.key) == (3, "sources[0].name")
    assert "also in models/other.yaml:3" in problem.message


def test_a_wrong_key_names_the_properties_file_and_its_line(
    tmp_path: Path, make_project: MakeProject
) -> None:
    root = _project(tmp_path, make_project, in_models=True)
    path = root / "models" / "staging" / "_sources.yml"
    path.write_text(path.read_text().replace("    tables:", "    tabels:"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Project.load(root).compile(["events"])
    (problem,) = info.value.problems
    assert problem.file == path
    assert (problem.line, problem.key) == (6, "sources[0].tabels")
    assert "did you mean 'tables'" in (problem.hint or "")


def test_a_missing_file_and_a_bad_type_are_located_in_the_properties_file(
    tmp_path: Path, make_project: MakeProject
) -> None:
    root = _project(tmp_path, make_project, in_models=True)
    path = root / "models" / "staging" / "_sources.yml"
    text = path.read_text().replace("data/orders.csv", "data/order.csv")
    path.write_text(text.replace("decimal(12,2)", "decimal(12,"), encoding="utf-8")
    with Project.load(root) as project:
        (result,) = project.validate()
    located = {(p.file, p.line, p.key) for p in (d.problem for d in result.diagnostics)}
    assert (path, 9, "sources[0].tables[0].config.external_location") in located
    assert (path, 15, "sources[0].tables[0].columns[2].data_type") in located


def test_an_unknown_source_says_where_sources_may_be_declared(
    tmp_path: Path, make_project: MakeProject
) -> None:
    root = _project(tmp_path, make_project, in_models=True)
    (root / "models" / "staging" / "_sources.yml").unlink()
    with pytest.raises(Exception, match="properties file under models/"):
        Project.load(root).compile(["events"])


def test_files_without_sources_hidden_files_and_empty_files_are_left_alone(
    tmp_path: Path, make_project: MakeProject
) -> None:
    root = _project(tmp_path, make_project, in_models=True)
    (root / "models" / "schema.yml").write_text(
        "version: 2\nmodels:\n  - name: events\n", encoding="utf-8"
    )
    (root / "models" / "empty.yml").write_text("", encoding="utf-8")
    hidden = root / "models" / ".drafts"
    hidden.mkdir()
    (hidden / "broken.yml").write_text("sources: [{nme: x}]\n", encoding="utf-8")
    with Project.load(root) as project:
        (compiled,) = project.compile(["events"])
    assert "orders.csv" in compiled.sql


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_a_link_to_a_file_outside_the_project_is_not_read(
    tmp_path: Path, make_project: MakeProject
) -> None:
    root = _project(tmp_path / "p", make_project, in_models=True)
    outside = tmp_path / "outside.yml"
    outside.write_text("sources:\n  - name: leaked\n    tables: [{name: secret}]\n")
    (root / "models" / "linked.yml").symlink_to(outside)
    with pytest.raises(ConfigError) as info:
        Project.load(root).compile(["events"])
    (problem,) = info.value.problems
    assert problem.file == root / "models" / "linked.yml"
    assert "outside the project" in problem.message


def test_a_secret_variable_is_refused_in_a_properties_file(
    tmp_path: Path, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ACCT_X is what destinations.yml's access_token reads (a plain name, no TOKEN in it):
    # a source's schema named after it would put the token in the SQL and its errors.
    monkeypatch.setenv("ACCT_X", "tok-very-secret-123")
    root = _project(tmp_path, make_project, in_models=True)
    destinations = root / "destinations.yml"
    destinations.write_text(
        destinations.read_text().replace("TIKTOK_ACCESS_TOKEN", "ACCT_X"), encoding="utf-8"
    )
    path = root / "models" / "staging" / "_sources.yml"
    text = path.read_text().replace(
        "    schema: \"{{ var('shop_schema') }}\"\n",
        "    schema: \"{{ env_var('ACCT_X') }}\"\n",
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Project.load(root).compile(["events"])
    text_of_error = str(info.value) + repr(info.value.problems)
    assert "tok-very-secret-123" not in text_of_error
    (problem,) = info.value.problems
    assert (problem.file, problem.line) == (path, 5)
    assert "ACCT_X" in problem.message


@pytest.mark.parametrize(
    ("location", "says"),
    [
        ("data/{schema}.csv", "may name {name} or {identifier} in braces, not {schema}"),
        ("read_csv('data/orders.csv'); select 1", "one call of a reader"),
    ],
)
def test_a_bad_location_is_said_where_it_is_written(
    tmp_path: Path, make_project: MakeProject, location: str, says: str
) -> None:
    root = _project(tmp_path, make_project, in_models=True)
    path = root / "models" / "staging" / "_sources.yml"
    path.write_text(
        path.read_text()
        .replace("data/orders.csv", location.replace("'", "''"))
        .replace("external_location: ", "external_location: '")
        .replace(".csv\n", ".csv'\n")
        .replace("select 1\n", "select 1'\n"),
        encoding="utf-8",
    )
    with pytest.raises(Exception) as info:
        Project.load(root).compile(["events"])
    text = str(info.value)
    assert says in text
    assert "models/staging/_sources.yml:9 sources[0].tables[0].config.external_location" in text


@pytest.mark.parametrize("in_models", [True, False])
def test_dbt_jinja_in_a_sources_description_or_test_is_left_as_written(
    tmp_path: Path, make_project: MakeProject, in_models: bool
) -> None:
    # dbt renders these with its own Jinja ({{ doc('orders') }}); retl ignores them: a
    # dbt project's sources, pasted or read from models/*.yml, were refused as "template
    # not allowed"
    root = _project(tmp_path, make_project, in_models=in_models)
    path = root / ("models/staging/_sources.yml" if in_models else "retl_project.yml")
    text = path.read_text(encoding="utf-8")
    text = text.replace("description: the shop's tables", "description: '{{ doc(\"shop\") }}'")
    text = text.replace(
        "data_tests: [unique, not_null]",
        "description: \"{{ doc('order_id') }}\"\n"
        "            data_tests:\n"
        "              - unique:\n"
        "                  config: {where: \"ordered_at > '{{ var('start') }}'\"}",
    )
    path.write_text(text, encoding="utf-8")
    with Project.load(root) as project:
        (compiled,) = project.compile(["events"])
        (src,) = project.sources.sources.values()
    assert "orders.csv" in compiled.sql
    assert src.description == '{{ doc("shop") }}'


def test_a_link_out_of_the_project_is_refused_whether_its_target_exists_or_not(
    tmp_path: Path, make_project: MakeProject
) -> None:
    # Said only of an existing target, a pull request's models/probe.yml -> ~/.ssh/id_rsa
    # learnt whether that file is there on the machine validating it.
    said = []
    for target in ("exists.txt", "missing.txt"):
        root = _project(tmp_path / target.split(".")[0], make_project, in_models=True)
        (tmp_path / "exists.txt").write_text("x\n")
        (root / "models" / "probe.yml").symlink_to(tmp_path / target)
        with pytest.raises(ConfigError) as info:
            Project.load(root).compile(["events"])
        (problem,) = info.value.problems
        said.append((problem.file.relative_to(root), problem.message, problem.hint))
    assert said[0] == said[1]
    assert "outside the project" in said[0][1]


def test_a_link_to_nothing_or_a_loop_of_links_in_models_is_left_alone(
    tmp_path: Path, make_project: MakeProject
) -> None:
    root = _project(tmp_path, make_project, in_models=True)
    models = root / "models"
    (models / "gone.yml").symlink_to(models / "removed.yml")
    (models / "a.yml").symlink_to(models / "b.yml")
    (models / "b.yml").symlink_to(models / "a.yml")
    with Project.load(root) as project:
        assert list(project.sources.sources) == ["shop"]


def test_a_brace_in_a_location_is_not_said_to_be_written_as_two(
    tmp_path: Path, make_project: MakeProject
) -> None:
    # The hint said "{{ for a brace": the YAML reads {{ as a template, refused
    def said(location: str) -> str:
        root = _project(tmp_path / str(len(list(tmp_path.iterdir()))), make_project, in_models=True)
        path = root / "models" / "staging" / "_sources.yml"
        written = path.read_text().replace("data/orders.csv", location)
        path.write_text(written, encoding="utf-8")
        with pytest.raises(Exception) as info:
            Project.load(root).compile(["events"])
        return str(info.value) + " " + str(getattr(info.value, "hint", "") or "")

    braces = said("\"read_csv('data/{name}.csv', columns = {'a': 'INT'})\"")
    assert "no other brace" in braces
    assert "{{" not in braces
    # what the old hint advised is no way out
    assert "template not allowed" in said(
        "\"read_csv('data/{name}.csv', columns = {{'a': 'INT'}})\""
    )


def test_a_properties_file_that_names_no_sources_is_not_parsed(
    tmp_path: Path, make_project: MakeProject
) -> None:
    # dbt's file, not retl's concern: not even its YAML (a big schema.yml took seconds)
    root = _project(tmp_path, make_project, in_models=True)
    (root / "models" / "schema.yml").write_text("models:\n  - name: [unclosed\n")
    with Project.load(root) as project:
        assert list(project.sources.sources) == ["shop"]

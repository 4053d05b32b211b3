"""``targets:`` in retl_project.yml, picked by ``--target`` or ``RETL_TARGET``: each replaces
``warehouse:`` and ``state:``, and models see ``target.name`` and ``target.type``."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from reverse_etl.errors import ConfigError, UsageError
from reverse_etl.project import Project

TARGET_ENV = "RETL_TARGET"
PROJECT = """
    name: targets_demo
    warehouse:
      type: duckdb
      path: dev/warehouse.duckdb
    targets:
      dev: {}
      prod:
        warehouse: {path: prod/warehouse.duckdb}
        state: {path: .retl-prod}
"""

MODEL = """
    {{ config(primary_key='event_id') }}
    select 'Purchase' as event, order_id as event_id, now() - interval 1 hour as event_time,
           email, 'https://shop.example/p' as page_url,
           '{{ target.name }}' as "properties.target", '{{ target.type }}' as "properties.kind"
    from warehouse.main.orders
    {% if target.name == 'dev' %}limit 1{% endif %}
"""

DESTINATIONS = """
    destinations:
      tiktok:
        type: tiktok_events
        model: purchases
        access_token: "{{ env_var('TIKTOK_ACCESS_TOKEN') }}"
        event_data_source: WEB
        target_event_source: ID
        event_source_id: CPIXEL
"""


def _warehouse(path: Path, emails: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create table orders (order_id varchar, email varchar)")
        for i, email in enumerate(emails):
            con.execute("insert into orders values (?, ?)", [f"{path.parent.name}-{i}", email])


@pytest.fixture
def project(tmp_path: Path, make_project, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(TARGET_ENV, raising=False)
    root = make_project(
        tmp_path / "p",
        {
            "retl_project.yml": PROJECT,
            "models/purchases.sql": MODEL,
            "destinations.yml": DESTINATIONS,
        },
    )
    _warehouse(root / "dev" / "warehouse.duckdb", ["dev1@example.com", "dev2@example.com"])
    _warehouse(root / "prod" / "warehouse.duckdb", ["p1@example.com", "p2@example.com"])
    return root


def _preview(root: Path, target: str | None = None) -> list[dict[str, object]]:
    with Project.load(root, target=target) if target else Project.load(root) as p:
        preview = p.preview("purchases")
    return [dict(zip(preview.columns, row, strict=True)) for row in preview.rows]


def test_the_first_target_is_the_default_and_models_see_its_name(project) -> None:
    rows = _preview(project)
    assert [(r["event_id"], r["properties.target"], r["properties.kind"]) for r in rows] == [
        ("dev-0", "dev", "duckdb")
    ]
    with Project.load(project) as p:
        assert (p.target.name, p.target.type) == ("dev", "duckdb")
        assert p.state_dir == project / ".retl"


def test_target_option_overrides_warehouse_and_state(project) -> None:
    rows = _preview(project, "prod")
    assert [(r["event_id"], r["properties.target"]) for r in rows] == [
        ("prod-0", "prod"),
        ("prod-1", "prod"),
    ]
    with Project.load(project, target="prod") as p:
        assert p.state_dir == project / ".retl-prod"
        assert p.config.warehouse.path == "prod/warehouse.duckdb"  # type: ignore[union-attr]


def test_default_target_key_then_env_then_option(project, monkeypatch) -> None:
    yml = project / "retl_project.yml"
    yml.write_text(yml.read_text() + "default_target: prod\n")
    assert _preview(project)[0]["properties.target"] == "prod"
    monkeypatch.setenv(TARGET_ENV, "dev")
    assert _preview(project)[0]["properties.target"] == "dev"
    assert _preview(project, "prod")[0]["properties.target"] == "prod"


def test_each_target_keeps_its_own_state(project, cli) -> None:
    dev = cli("sync", "--project-dir", project, "--sandbox", "--format", "json")
    assert dev.returncode == 0, dev.stderr
    prod = cli(
        "sync", "--project-dir", project, "--sandbox", "--target", "prod", "--format", "json"
    )
    assert prod.returncode == 0, prod.stderr
    sent = [
        [d["events"]["sent"] for d in json.loads(r.stdout)["destinations"]] for r in (dev, prod)
    ]
    assert sent == [[1], [2]]  # prod's state did not know dev's rows
    assert (project / ".retl" / "sandbox-state.duckdb").is_file()
    assert (project / ".retl-prod" / "sandbox-state.duckdb").is_file()
    shown = cli(
        "state", "show", "--project-dir", project, "--sandbox", "-t", "prod", "--format", "json"
    )
    assert json.loads(shown.stdout)["destinations"][0]["rows_sent"] == 2


def test_compile_shows_the_target_in_the_sql(project, cli) -> None:
    result = cli("compile", "--project-dir", project, "--target", "prod")
    assert result.returncode == 0, result.stderr
    assert "'prod' as \"properties.target\"" in result.stdout
    assert "limit 1" not in result.stdout
    env = cli("compile", "--project-dir", project, env={TARGET_ENV: "dev"})
    assert "'dev' as \"properties.target\"" in env.stdout and "limit 1" in env.stdout


def test_an_unknown_target_is_a_located_error_with_did_you_mean(project, cli) -> None:
    with pytest.raises(ConfigError) as info:
        Project.load(project, target="prd")
    problem = info.value.problems[0]
    assert (problem.file, problem.line, problem.key) == (
        project / "retl_project.yml",
        5,
        "targets",
    )
    assert problem.message == "--target prd: no target named 'prd'"
    assert problem.hint == "did you mean 'prod'?"
    result = cli("plan", "--project-dir", project, env={TARGET_ENV: "staging"})
    assert result.returncode == 1
    assert result.stderr == (
        "error: retl_project.yml:5 targets: RETL_TARGET staging: no target "
        "named 'staging' (targets: dev, prod)\n"
    )


def test_an_unknown_default_target_is_a_config_error(project) -> None:
    yml = project / "retl_project.yml"
    yml.write_text(yml.read_text() + "default_target: staging\n")
    with pytest.raises(ConfigError) as info:
        Project.load(project)
    problem = info.value.problems[0]
    assert (problem.line, problem.key) == (10, "default_target")
    assert problem.message == "no target named 'staging' (targets: dev, prod)"


def test_target_without_targets_declared(tmp_path, make_project, monkeypatch) -> None:
    monkeypatch.delenv(TARGET_ENV, raising=False)
    root = make_project(tmp_path, {"models/m.sql": "select '{{ target.name }}' as t"})
    with Project.load(root) as p:
        assert p.target.name == "default"
        assert "'default' as t" in p.compile()[0].sql
    with pytest.raises(UsageError) as info:
        Project.load(root, target="prod")
    assert info.value.message == "--target prod: retl_project.yml declares no targets"
    monkeypatch.setenv(TARGET_ENV, "prod")
    with pytest.raises(UsageError) as env_info:
        Project.load(root)
    assert env_info.value.key == TARGET_ENV
    assert "unset RETL_TARGET" in (env_info.value.hint or "")


def test_a_target_can_switch_the_warehouse_kind(tmp_path, make_project, monkeypatch) -> None:
    """A prod target on PostgreSQL: loading it needs no server (nothing connects until a
    model runs), and models see its type."""
    monkeypatch.delenv(TARGET_ENV, raising=False)
    root = make_project(
        tmp_path,
        {
            "retl_project.yml": """
                targets:
                  dev: {warehouse: {type: duckdb}}
                  prod:
                    warehouse: {type: postgres, host: db.internal, dbname: analytics}
                    state: {location: warehouse, schema: retl_prod}
                """,
            "models/m.sql": "select '{{ target.type }}' as kind",
        },
    )
    with Project.load(root, target="prod") as p:
        assert (p.target.name, p.target.type) == ("prod", "postgres")
        assert p.config.state.location == "warehouse"
        assert "'postgres' as kind" in p.compile()[0].sql

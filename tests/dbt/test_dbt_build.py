"""A real dbt project (dbt-core + dbt-duckdb) built in the test, then read with DbtArtifacts.

dbt runs as a subprocess: the ``dbt`` next to this interpreter, or the executable named by
``RETL_DBT``, else a virtualenv of its own that the test makes once from the package index.
The dbt project itself needs no network: it has no packages, and version checks and usage
statistics are off.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from reverse_etl.dbt import DbtArtifacts, target_dir_for

FILES = {
    "dbt_project.yml": """
        name: shop
        version: "1.0"
        profile: shop
        config-version: 2
    """,
    "seeds/raw_orders.csv": """
        order_id,email,amount,ordered_at
        1,A@Example.com,10.50,2024-01-01 10:00:00
        2,b@example.com,20.00,2024-01-02 11:00:00
    """,
    "models/stg_orders.sql": """
        {{ config(materialized='ephemeral') }}
        select order_id, lower(email) as email, amount, ordered_at from {{ ref('raw_orders') }}
    """,
    "models/orders.sql": """
        select order_id, email, cast(amount as decimal(12, 2)) as amount, ordered_at
        from {{ ref('stg_orders') }}
    """,
    "models/order_totals.sql": """
        {{ config(materialized='table') }}
        select email, sum(amount) as total from {{ ref('orders') }} group by email
    """,
    "models/schema.yml": """
        version: 2
        models:
          - name: orders
            columns:
              - name: order_id
                data_type: integer
                data_tests: [not_null]
              - name: email
                data_type: varchar
              - name: ordered_at
    """,
}


@dataclass(frozen=True)
class Built:
    project: Path
    before_docs: DbtArtifacts
    after_docs: DbtArtifacts


# dbt-core 1.11 pins pathspec<0.13 while mypy 2 needs pathspec>=1: dbt gets a virtualenv of
# its own, made once per machine from the package index (about 30 s) and reused after.
DBT_REQUIREMENTS = ("dbt-core~=1.11.0", "dbt-duckdb~=1.11.0", f"duckdb=={duckdb.__version__}")


def _dbt_venv() -> str:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "retl-tests"
    venv = cache / (
        "dbt-" + "-".join(r.replace("~=", "").replace("==", "") for r in DBT_REQUIREMENTS)
    )
    dbt = venv / "bin" / "dbt"
    if not dbt.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        done = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", *DBT_REQUIREMENTS],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            pytest.fail(f"could not install dbt for the test:\n{done.stdout}\n{done.stderr}")
    return str(dbt)


def _dbt_executable() -> str:
    configured = os.environ.get("RETL_DBT")
    if configured:
        return configured
    beside = shutil.which("dbt", path=str(Path(sys.executable).parent))
    return beside or _dbt_venv()


def _run_dbt(dbt: str, project: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="false", DBT_USE_COLORS="false")
    cmd = [dbt, *args, "--no-version-check", "--project-dir", ".", "--profiles-dir", "."]
    done = subprocess.run(
        cmd, cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    dbt = _dbt_executable()
    project = tmp_path_factory.mktemp("dbt_project")
    for rel, text in FILES.items():
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    profile = {"type": "duckdb", "path": str(project / "dev.duckdb"), "threads": 1}
    profiles = {"shop": {"target": "dev", "outputs": {"dev": profile}}}
    (project / "profiles.yml").write_text(json.dumps(profiles), encoding="utf-8")  # JSON is YAML
    _run_dbt(dbt, project, "build")
    before = DbtArtifacts.load(target_dir_for(project))
    _run_dbt(dbt, project, "docs", "generate")
    return Built(project, before, DbtArtifacts.load(target_dir_for(project)))


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_relations_of_a_real_dbt_build(built: Built) -> None:
    dbt = built.after_docs
    assert dbt.adapter_type == "duckdb"
    assert dbt.project_name == "shop"
    assert dbt.schema_version >= 12
    assert dbt.model_names() == ["order_totals", "orders", "raw_orders", "stg_orders"]
    # dbt-duckdb names the database after the file's stem: dev.duckdb -> "dev".
    assert dbt.relation("orders") == '"dev"."main"."orders"'
    assert dbt.relation("order_totals") == '"dev"."main"."order_totals"'
    assert dbt.relation("raw_orders") == '"dev"."main"."raw_orders"'
    assert dbt.relation("stg_orders") is None  # ephemeral: nothing in the warehouse


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_column_types_from_declarations_then_from_the_catalog(built: Built) -> None:
    assert built.before_docs.catalog_columns is None
    assert built.before_docs.columns("orders") == {"order_id": "integer", "email": "varchar"}
    assert built.after_docs.columns("orders") == {
        "order_id": "INTEGER",
        "email": "VARCHAR",
        "amount": "DECIMAL(12,2)",
        "ordered_at": "TIMESTAMP",
    }
    assert built.after_docs.columns("order_totals") == {
        "email": "VARCHAR",
        "total": "DECIMAL(38,2)",
    }
    assert built.after_docs.columns("raw_orders") == {
        "order_id": "INTEGER",
        "email": "VARCHAR",
        "amount": "DOUBLE",
        "ordered_at": "TIMESTAMP",
    }


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_relations_resolve_when_the_file_is_attached_under_its_stem(built: Built) -> None:
    relation = built.after_docs.relation("orders")
    assert relation is not None
    con = duckdb.connect()
    try:
        # dbt-duckdb's views name their inputs with the catalog (dev.main.raw_orders), so
        # the file must be attached as "dev", never under another alias.
        con.execute(f"ATTACH '{built.project / 'dev.duckdb'}' AS other (READ_ONLY)")
        with pytest.raises(duckdb.Error, match='Catalog "dev" does not exist'):
            con.execute("SELECT count(*) FROM other.main.orders").fetchall()
        con.execute("DETACH other")
        con.execute(f"ATTACH '{built.project / 'dev.duckdb'}' AS dev (READ_ONLY)")
        rows = con.execute(f"SELECT email, amount FROM {relation} ORDER BY order_id").fetchall()
    finally:
        con.close()
    assert [(email, str(amount)) for email, amount in rows] == [
        ("a@example.com", "10.50"),
        ("b@example.com", "20.00"),
    ]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_retl_model_selects_from_a_dbt_model(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reverse_etl.project import Project

    # the dbt project is in no git work tree shared with this one: its folder is allowed
    monkeypatch.setenv("RETL_ALLOWED_PATHS", str(built.project))

    retl = tmp_path / "retl"
    (retl / "models").mkdir(parents=True)
    (retl / "retl_project.yml").write_text(
        f"warehouse:\n  type: duckdb\n  path: {built.project / 'dev.duckdb'}\n"
        f"dbt:\n  project_dir: {built.project}\n",
        encoding="utf-8",
    )
    (retl / "models" / "purchases.sql").write_text(
        "select 'Purchase' as event, 'order-' || order_id as event_id, "
        "ordered_at as event_time, email, amount as value, 'USD' as currency, "
        "'https://shop.example/checkout' as page_url "
        "from {{ ref('orders') }}",
        encoding="utf-8",
    )
    (retl / "destinations.yml").write_text(
        "destinations:\n  t:\n    type: tiktok_events\n    model: purchases\n"
        "    auth_method: access_token\n    access_token: x\n    event_source_id: P\n",
        encoding="utf-8",
    )
    with Project.load(retl) as project:
        (compiled,) = project.compile(["purchases"])
        assert '"dev"."main"."orders"' in compiled.sql  # the relation dbt built
        (result,) = project.validate()
        assert result.ok(strict=True), result.problems
        types = {c.column: c.type for c in result.columns}
        assert types["value"].upper().startswith("DECIMAL(12, 2)")  # dbt's catalog type
        report = project.sync(sandbox=True)
    assert report.ok and report.results[0].sent == 2


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_refs_to_ephemeral_and_package_qualified_dbt_models(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reverse_etl.errors import ModelError
    from reverse_etl.project import Project

    monkeypatch.setenv("RETL_ALLOWED_PATHS", str(built.project))

    retl = tmp_path / "retl"
    (retl / "models").mkdir(parents=True)
    (retl / "retl_project.yml").write_text(
        f"warehouse: {{path: {built.project / 'dev.duckdb'}}}\n"
        f"dbt: {{project_dir: {built.project}}}\n",
        encoding="utf-8",
    )
    (retl / "models" / "a.sql").write_text("select * from {{ ref('shop', 'orders') }}")
    (retl / "models" / "b.sql").write_text("select * from {{ ref('stg_orders') }}")
    with Project.load(retl) as project, pytest.raises(ModelError) as info:
        project.compile()
    (problem,) = info.value.problems
    assert problem.file == retl / "models" / "b.sql"
    assert "ephemeral" in problem.message and "view or table" in str(problem.hint)
    (retl / "models" / "b.sql").unlink()
    with Project.load(retl) as project:
        assert len(project.preview("a").rows) == 2

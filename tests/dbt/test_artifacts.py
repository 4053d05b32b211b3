"""DbtArtifacts on hand-written manifests and catalogs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reverse_etl.dbt import DbtArtifacts, target_dir_for
from reverse_etl.errors import ConfigError

from .builders import catalog, manifest, manifest_node
from .conftest import WriteArtifacts


def test_relation_is_the_manifests_relation_name(write_artifacts: WriteArtifacts) -> None:
    target = write_artifacts(
        manifest(
            manifest_node("orders"),
            manifest_node("raw_orders", resource_type="seed", materialized="seed"),
            manifest_node("orders_snapshot", resource_type="snapshot", schema="snapshots"),
        )
    )
    dbt = DbtArtifacts.load(target)
    assert dbt.relation("orders") == '"dev"."main"."orders"'
    assert dbt.relation("raw_orders") == '"dev"."main"."raw_orders"'
    assert dbt.relation("orders_snapshot") == '"dev"."snapshots"."orders_snapshot"'
    assert dbt.relation("nope") is None
    assert (dbt.project_name, dbt.adapter_type, dbt.schema_version) == ("shop", "duckdb", 12)


def test_relation_is_built_from_parts_when_the_manifest_has_none(
    write_artifacts: WriteArtifacts,
) -> None:
    legacy = manifest_node("orders", alias='ord"ers', relation=None)
    no_db = manifest_node("customers", relation=None)
    no_db["database"] = None
    del no_db["relation_name"]
    dbt = DbtArtifacts.load(write_artifacts(manifest(legacy, no_db, version=9)))
    assert dbt.relation("orders") == '"dev"."main"."ord""ers"'
    assert dbt.relation("customers") == '"main"."customers"'


def test_model_names_lists_refable_nodes_only(write_artifacts: WriteArtifacts) -> None:
    test_node = manifest_node("not_null_orders_id", resource_type="test")
    op = manifest_node("on_run_end", resource_type="operation")
    target = write_artifacts(
        manifest(
            manifest_node("orders"),
            manifest_node("raw_orders", resource_type="seed"),
            manifest_node("stg", materialized="ephemeral"),
            test_node,
            op,
        )
    )
    assert DbtArtifacts.load(target).model_names() == ["orders", "raw_orders", "stg"]


def test_ephemeral_models_are_known_but_have_no_relation(write_artifacts: WriteArtifacts) -> None:
    dbt = DbtArtifacts.load(
        write_artifacts(manifest(manifest_node("stg", materialized="ephemeral")))
    )
    assert dbt.relation("stg") is None
    node = dbt.node("stg")
    assert node is not None
    assert node.materialized == "ephemeral"


def test_the_root_projects_node_wins_a_name_clash(write_artifacts: WriteArtifacts) -> None:
    target = write_artifacts(
        manifest(
            manifest_node("orders", package="stripe", schema="stripe"),
            manifest_node("orders"),
            manifest_node("charges", package="stripe", schema="stripe"),
            manifest_node("charges", package="zendesk", schema="zendesk"),
        )
    )
    dbt = DbtArtifacts.load(target)
    assert dbt.relation("orders") == '"dev"."main"."orders"'
    assert dbt.relation("orders", package="stripe") == '"dev"."stripe"."orders"'
    # Two packages and no root node: the first in the manifest, as dbt's own lookup does.
    assert dbt.relation("charges") == '"dev"."stripe"."charges"'
    assert dbt.relation("charges", package="zendesk") == '"dev"."zendesk"."charges"'
    assert dbt.relation("charges", package="shop") is None
    assert dbt.model_names() == ["charges", "orders"]


def test_versioned_models_resolve_to_the_latest_version(write_artifacts: WriteArtifacts) -> None:
    target = write_artifacts(
        manifest(
            manifest_node("dim", version=1, latest_version=1, alias="dim_v1"),
            manifest_node("dim", version=2, latest_version=1, alias="dim_v2"),
            manifest_node("fct", version="1", alias="fct_v1"),
            manifest_node("fct", version="10", alias="fct_v10"),
            manifest_node("fct", version="2", alias="fct_v2"),
        )
    )
    dbt = DbtArtifacts.load(target)
    assert dbt.relation("dim") == '"dev"."main"."dim_v1"'  # latest_version, not the highest
    assert dbt.relation("dim", version=2) == '"dev"."main"."dim_v2"'
    assert dbt.relation("dim", version="2") == '"dev"."main"."dim_v2"'
    assert dbt.relation("dim", version=3) is None
    assert dbt.relation("fct") == '"dev"."main"."fct_v10"'  # no latest_version: the highest
    assert dbt.model_names() == ["dim", "fct"]


def test_columns_come_from_the_catalog_in_column_order(write_artifacts: WriteArtifacts) -> None:
    target = write_artifacts(
        manifest(manifest_node("orders", columns={"order_id": "int", "email": None})),
        catalog(
            {"model.shop.orders": {"order_id": "INTEGER", "email": "VARCHAR", "ts": "TIMESTAMP"}}
        ),
    )
    (target / "catalog.json").write_text(  # dbt writes columns in any order, with an index
        json.dumps(
            {
                "metadata": {},
                "nodes": {
                    "model.shop.orders": {
                        "columns": {
                            "ts": {"type": "TIMESTAMP", "index": 3, "name": "ts"},
                            "order_id": {"type": "INTEGER", "index": 1, "name": "order_id"},
                            "email": {"type": "VARCHAR", "index": 2, "name": "email"},
                        }
                    }
                },
            }
        ),
        encoding="utf-8",
    )
    cols = DbtArtifacts.load(target).columns("orders")
    assert cols == {"order_id": "INTEGER", "email": "VARCHAR", "ts": "TIMESTAMP"}
    assert list(cols) == ["order_id", "email", "ts"]


def test_columns_fall_back_to_declared_data_types(write_artifacts: WriteArtifacts) -> None:
    target = write_artifacts(
        manifest(
            manifest_node("orders", columns={"order_id": "integer", "email": None, "amt": "dec"}),
            manifest_node("customers", columns={"id": "integer"}),
            manifest_node("events", columns={"id": None}),
        ),
        catalog({"model.shop.customers": {"id": "BIGINT"}}),  # orders built after docs generate
    )
    dbt = DbtArtifacts.load(target)
    assert dbt.columns("orders") == {"order_id": "integer", "amt": "dec"}
    assert dbt.columns("customers") == {"id": "BIGINT"}
    assert dbt.columns("events") is None
    assert dbt.columns("nope") is None


def test_columns_without_a_catalog_use_the_manifest(write_artifacts: WriteArtifacts) -> None:
    dbt = DbtArtifacts.load(write_artifacts(manifest(manifest_node("o", columns={"id": "int"}))))
    assert dbt.catalog_columns is None
    assert dbt.columns("o") == {"id": "int"}


@pytest.mark.parametrize("version", [9, 10, 11, 12, 13])
def test_manifest_schema_versions_from_v9_on_are_read(
    write_artifacts: WriteArtifacts, version: int
) -> None:
    dbt = DbtArtifacts.load(write_artifacts(manifest(manifest_node("o"), version=version)))
    assert dbt.schema_version == version
    assert dbt.relation("o") == '"dev"."main"."o"'


def test_an_old_manifest_is_an_error_with_the_fix(write_artifacts: WriteArtifacts) -> None:
    target = write_artifacts(manifest(manifest_node("o"), version=8))
    with pytest.raises(ConfigError) as info:
        DbtArtifacts.load(target)
    assert info.value.file == target / "manifest.json"
    assert "v8" in info.value.message
    assert info.value.hint is not None
    assert "upgrade dbt to 1.5" in info.value.hint


def test_a_missing_manifest_says_to_run_dbt_compile(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        DbtArtifacts.load(tmp_path / "target")
    assert info.value.file == tmp_path / "target" / "manifest.json"
    assert "run `dbt compile` or `dbt build`" in str(info.value)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('{\n  "metadata": {},\n  "nodes": {,}\n}', "manifest.json is not valid JSON", 3),
        ("", "manifest.json is not valid JSON", 1),
        ("[1, 2]", "manifest.json is not a JSON object", None),
        ('{"nodes": {}}', "not a dbt manifest: metadata.dbt_schema_version is missing", None),
    ],
)
def test_an_unreadable_manifest_is_an_error_naming_the_file(
    write_artifacts: WriteArtifacts, text: str, message: str, line: int | None
) -> None:
    target = write_artifacts(text)
    with pytest.raises(ConfigError) as info:
        DbtArtifacts.load(target)
    assert info.value.file == target / "manifest.json"
    assert info.value.message.startswith(message)
    assert info.value.line == line
    assert "dbt compile" in (info.value.hint or "")


def test_a_catalog_passed_as_the_manifest_is_refused(write_artifacts: WriteArtifacts) -> None:
    target = write_artifacts(catalog({}))
    with pytest.raises(ConfigError, match=r"not a dbt manifest: .*/catalog/v1\.json"):
        DbtArtifacts.load(target)


def test_manifest_without_nodes_is_an_error(write_artifacts: WriteArtifacts) -> None:
    bad = manifest()
    del bad["nodes"]
    with pytest.raises(ConfigError, match="no 'nodes' object"):
        DbtArtifacts.load(write_artifacts(bad))


@pytest.mark.parametrize("text", ["{not json", '{"metadata": {}}'])
def test_an_unreadable_catalog_is_an_error_naming_it(
    write_artifacts: WriteArtifacts, text: str
) -> None:
    target = write_artifacts(manifest(manifest_node("o")), text)
    with pytest.raises(ConfigError) as info:
        DbtArtifacts.load(target)
    assert info.value.file == target / "catalog.json"
    assert "dbt docs generate" in (info.value.hint or "")


def test_target_dir_follows_dbt_project_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    assert target_dir_for(tmp_path) == tmp_path / "target"
    (tmp_path / "dbt_project.yml").write_text("name: shop\ntarget-path: build\n", encoding="utf-8")
    assert target_dir_for(tmp_path) == tmp_path / "build"
    monkeypatch.setenv("DBT_TARGET_PATH", "/abs/out")
    assert target_dir_for(tmp_path) == Path("/abs/out")


def test_an_unreadable_dbt_project_file_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    (tmp_path / "dbt_project.yml").write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        target_dir_for(tmp_path)
    assert info.value.file == tmp_path / "dbt_project.yml"

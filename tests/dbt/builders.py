"""Hand-written dbt artifacts: the smallest manifests and catalogs with the shapes dbt writes
(checked against dbt-core 1.11 with dbt-duckdb)."""

from __future__ import annotations

from typing import Any


def manifest_node(
    name: str,
    *,
    package: str = "shop",
    resource_type: str = "model",
    relation: str | None = "",
    materialized: str = "view",
    version: Any = None,
    latest_version: Any = None,
    columns: dict[str, str | None] | None = None,
    schema: str = "main",
    alias: str | None = None,
) -> dict[str, Any]:
    """One manifest node as dbt 1.8+ writes it; ``relation=""`` means dbt's usual name."""
    alias = alias or name
    uid = f"{resource_type}.{package}.{name}" + (f".v{version}" if version is not None else "")
    if relation == "":
        relation = None if materialized == "ephemeral" else f'"dev"."{schema}"."{alias}"'
    node: dict[str, Any] = {
        "unique_id": uid,
        "name": name,
        "package_name": package,
        "resource_type": resource_type,
        "database": "dev",
        "schema": schema,
        "alias": alias,
        "relation_name": relation,
        "config": {"materialized": materialized, "enabled": True},
        "columns": {
            col: {"name": col, "data_type": dtype, "description": ""}
            for col, dtype in (columns or {}).items()
        },
    }
    if version is not None:
        node["version"] = version
        node["latest_version"] = latest_version
    return node


def manifest(*nodes: dict[str, Any], version: int = 12, project: str = "shop") -> dict[str, Any]:
    return {
        "metadata": {
            "dbt_schema_version": f"https://schemas.getdbt.com/dbt/manifest/v{version}.json",
            "dbt_version": "1.11.16",
            "project_name": project,
            "adapter_type": "duckdb",
        },
        "nodes": {n["unique_id"]: n for n in nodes},
        "sources": {},
        "disabled": {},
    }


def catalog(entries: dict[str, dict[str, str]]) -> dict[str, Any]:
    """``entries``: unique_id -> column -> type, written with dbt's 1-based ``index``."""
    return {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json"},
        "nodes": {
            uid: {
                "unique_id": uid,
                "metadata": {"type": "VIEW", "schema": "main", "name": uid.split(".")[-1]},
                "columns": {
                    col: {"type": typ, "index": i, "name": col, "comment": None}
                    for i, (col, typ) in enumerate(cols.items(), start=1)
                },
                "stats": {},
            }
            for uid, cols in entries.items()
        },
        "sources": {},
        "errors": None,
    }

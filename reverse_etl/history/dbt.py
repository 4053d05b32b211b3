"""``retl runs --dbt-source``: a dbt sources.yml for the history tables, where they live."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from reverse_etl.history.tables import COLUMN_DOCS

if TYPE_CHECKING:
    from reverse_etl.config.project import ProjectConfig

DESCRIPTIONS = {
    "runs": "One row per retl sync: when, what, the outcome counts and the exit code.",
    "run_destinations": "One row per destination of a run: counts and match coverage.",
    "delivery_log": "One row per row sent, rejected, failed or skipped, per run.",
}


def dbt_source_yaml(config: ProjectConfig, project_dir: Path) -> str:
    """The YAML, with a comment saying how dbt reaches the tables (an attached DuckDB file,
    or the warehouse schema)."""
    warehouse = config.state.location == "warehouse"
    source: dict[str, object] = {
        "name": "retl",
        "description": "retl's run history and delivery log "
        f"(kept {config.history.retention_days} days: history.retention_days).",
    }
    if warehouse:
        source["schema"] = config.state.schema_
        how = f"# The tables are in the warehouse schema {config.state.schema_}.\n"
    else:
        state = (project_dir / config.state.path / "state.duckdb").resolve()
        source["database"] = "retl_state"
        source["schema"] = "main"
        how = (
            "# The tables are in retl's state file. With dbt-duckdb, attach it read-only in\n"
            "# profiles.yml (under your output):\n"
            "#   attach:\n"
            f"#     - path: {state}\n"
            "#       alias: retl_state\n"
            "#       read_only: true\n"
            "# delivery_log is Parquet files beside it (meta.external_location below).\n"
            "# (sandbox runs keep their own: sandbox-state.duckdb and sandbox-state.duckdb.log)\n"
        )
    tables: list[dict[str, object]] = []
    for table, columns in COLUMN_DOCS.items():
        entry: dict[str, object] = {"name": table, "description": DESCRIPTIONS[table]}
        if table == "delivery_log" and not warehouse:
            # Local state: the log is Parquet files beside the state file (dbt-duckdb reads
            # a source's external_location).
            files = (project_dir / config.state.path / "state.duckdb.log" / "*.parquet").resolve()
            entry["meta"] = {"external_location": str(files)}
        entry["columns"] = [{"name": c, "description": d} for c, d in columns.items()]
        tables.append(entry)
    source["tables"] = tables
    body = yaml.safe_dump(
        {"version": 2, "sources": [source]}, sort_keys=False, width=100, allow_unicode=True
    )
    return how + body

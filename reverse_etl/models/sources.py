"""source('src', 'table') -> SQL relation, from the sources declared in retl_project.yml.

A table with ``external_location`` (dbt-duckdb's convention, in ``meta`` or ``config``) is read
from a file with DuckDB's readers; any other table is a schema-qualified name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reverse_etl.config.project import SourceDecl, TableDecl
from reverse_etl.config.suggest import did_you_mean
from reverse_etl.models.compile import quote_ident


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def external_location(source: SourceDecl, table: TableDecl) -> str | None:
    for holder in (table.config, table.meta, source.config, source.meta):
        loc = holder.get("external_location")
        if loc:
            return str(loc).format(name=table.name, identifier=table.identifier or table.name)
    return None


def _reader(location: str, table: TableDecl, project_dir: Path) -> str:
    if "(" in location:  # already an expression, e.g. read_csv('x.csv', delim=';')
        return location
    path = Path(location)
    if not path.is_absolute():
        path = project_dir / path
    lower = path.name.lower()
    text = sql_string(str(path))
    typed = {c.name: c.data_type for c in table.columns if c.data_type}
    if lower.endswith((".parquet", ".pq")):
        return f"read_parquet({text})"
    if lower.endswith((".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz")):
        return f"read_json_auto({text})"
    if typed:
        types = ", ".join(f"{sql_string(k)}: {sql_string(v)}" for k, v in typed.items())
        return f"read_csv({text}, header = true, types = {{{types}}})"
    return f"read_csv({text}, header = true)"


class SourceCatalog:
    """Declared sources, resolvable by name."""

    def __init__(self, sources: Sequence[SourceDecl], project_dir: Path) -> None:
        self.sources = {s.name: s for s in sources}
        self.project_dir = project_dir

    def lookup(self, source_name: str, table_name: str) -> tuple[SourceDecl, TableDecl]:
        src = self.sources.get(source_name)
        if src is None:
            hint = did_you_mean(source_name, self.sources) or (
                "declare it under 'sources:' in retl_project.yml"
            )
            raise LookupError(f"source('{source_name}', '{table_name}'): unknown source", hint)
        for table in src.tables:
            if table.name == table_name:
                return src, table
        hint = did_you_mean(table_name, [t.name for t in src.tables]) or (
            f"add it under the '{source_name}' source's tables in retl_project.yml"
        )
        raise LookupError(
            f"source('{source_name}', '{table_name}'): source has no table '{table_name}'", hint
        )

    def relation(self, source_name: str, table_name: str) -> str:
        """SQL for the engine: a file reader for external tables, else a qualified name."""
        src, table = self.lookup(source_name, table_name)
        location = external_location(src, table)
        if location is not None:
            return _reader(location, table, self.project_dir)
        return self.qualified_name(source_name, table_name)

    def qualified_name(self, source_name: str, table_name: str) -> str:
        """The table's name as schema-qualified SQL (what static validation resolves)."""
        src, table = self.lookup(source_name, table_name)
        parts = [src.database] if src.database else []
        parts += [src.schema_name, table.identifier or table.name]
        return ".".join(quote_ident(p) for p in parts)

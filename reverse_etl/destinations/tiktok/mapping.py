"""Model columns -> TikTok payload paths, through the catalog. Pure: no data, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reverse_etl.config.suggest import closest
from reverse_etl.destinations.tiktok.catalog import CATALOG, OPEN_OBJECTS, Catalog, ParamSpec


@dataclass(frozen=True)
class MappedColumn:
    """A column and where it goes. ``param`` is None for custom ``properties.*`` columns."""

    column: str
    path: tuple[str, ...]
    param: ParamSpec | None


@dataclass(frozen=True)
class ColumnIssue:
    column: str
    message: str
    hint: str | None = None
    severity: str = "error"


@dataclass(frozen=True)
class ColumnMapping:
    columns: tuple[MappedColumn, ...]
    issues: tuple[ColumnIssue, ...]

    def by_param(self) -> dict[str, MappedColumn]:
        return {m.param.name: m for m in self.columns if m.param is not None}

    def has(self, param: str) -> bool:
        return param in self.by_param()


def map_columns(
    names: Sequence[str], source: str, *, catalog: Catalog = CATALOG, ignore: Sequence[str] = ()
) -> ColumnMapping:
    """Map output column names for an event source (WEB, APP, OFFLINE, CRM)."""
    mapped: list[MappedColumn] = []
    issues: list[ColumnIssue] = []
    seen_paths: dict[tuple[str, ...], str] = {}
    seen_names: set[str] = set()
    for name in names:
        if name in ignore:
            continue
        if name in seen_names:
            issues.append(
                ColumnIssue(
                    name, "column name appears more than once", "alias one of them differently"
                )
            )
            continue
        seen_names.add(name)
        spec = catalog.lookup(name)
        if spec is not None:
            path = spec.path
            if source not in spec.sources:
                issues.append(
                    ColumnIssue(
                        name,
                        f"'{spec.name}' does not apply to {source} events "
                        f"(only {', '.join(sorted(spec.sources))})",
                        "it is sent anyway; remove the column if TikTok rejects it",
                        severity="warning",
                    )
                )
        elif "." in name and name.split(".", 1)[0] in OPEN_OBJECTS and name.split(".", 1)[1]:
            path = tuple(name.split("."))
        else:
            suggestions = closest(name, catalog.column_names())
            hint = (
                "did you mean " + " or ".join(f"'{s}'" for s in suggestions) + "?"
                if suggestions
                else 'custom properties go in columns named "properties.<name>"'
            )
            issues.append(ColumnIssue(name, f"'{name}' is not a TikTok parameter", hint))
            continue
        if path in seen_paths:
            issues.append(
                ColumnIssue(
                    name,
                    f"maps to {'.'.join(path)}, as does column '{seen_paths[path]}'",
                    "keep one of them",
                )
            )
            continue
        seen_paths[path] = name
        mapped.append(MappedColumn(name, path, spec))
    return ColumnMapping(tuple(mapped), tuple(issues))


def key_only_columns(key_columns: Sequence[str], *, catalog: Catalog = CATALOG) -> list[str]:
    """Primary-key columns that are not TikTok parameters: used for keys, never sent."""
    return [
        c
        for c in key_columns
        if catalog.lookup(c) is None and c.split(".", 1)[0] not in OPEN_OBJECTS
    ]

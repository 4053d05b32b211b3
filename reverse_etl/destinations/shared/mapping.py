"""Model column names -> payload paths through a catalog: the loop every platform shares.

A platform's ``mapping.py`` adds what is its own (TikTok's per-source warnings, Meta's
recommended companions). Pure: no data, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from reverse_etl.config.suggest import closest
from reverse_etl.destinations.catalog import Catalog, ColumnIssue, MappedColumn, ParamSpec

SpecCheck = Callable[[str, ParamSpec], "ColumnIssue | None"]


def map_names(
    names: Sequence[str],
    catalog: Catalog,
    *,
    platform: str,
    custom: Callable[[str], tuple[str, ...] | None],
    custom_hint: str,
    ignore: Sequence[str] = (),
    check: SpecCheck | None = None,
) -> tuple[list[MappedColumn], list[ColumnIssue]]:
    """Each name to its parameter's path (or to the path ``custom`` gives a custom column, a
    key under an open object). Unknown names get did-you-mean from the catalog; a repeated name
    and two columns for one path get an issue each. ``check`` may add an issue about a known
    parameter (the column is still mapped)."""
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
        custom_path = custom(name) if spec is None else None
        if spec is not None:
            path = spec.path
            issue = check(name, spec) if check is not None else None
            if issue is not None:
                issues.append(issue)
        elif custom_path is not None:
            path = custom_path
        else:
            suggestions = closest(name, catalog.column_names())
            hint = (
                "did you mean " + " or ".join(f"'{s}'" for s in suggestions) + "?"
                if suggestions
                else custom_hint
            )
            issues.append(ColumnIssue(name, f"'{name}' is not a {platform} parameter", hint))
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
    return mapped, issues

"""Model columns -> Meta payload paths, through the catalog. Pure: no data, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reverse_etl.destinations.catalog import (
    Catalog,
    ColumnIssue,
    ColumnMapping,
    MappedColumn,
)
from reverse_etl.destinations.meta.catalog import CATALOG, CONTENT_FIELDS, OPEN_OBJECTS
from reverse_etl.destinations.shared.mapping import map_names
from reverse_etl.destinations.shared.sql import is_list

if TYPE_CHECKING:
    import pyarrow as pa  # imported where rows are handled: validate starts without it (#18)

__all__ = [
    "ColumnIssue",
    "ColumnMapping",
    "MappedColumn",
    "contents_key_issues",
    "key_only_columns",
    "map_columns",
]


def map_columns(
    names: Sequence[str], source: str, *, catalog: Catalog = CATALOG, ignore: Sequence[str] = ()
) -> ColumnMapping:
    """Map output column names for a destination whose action_source is ``source``."""
    mapped, issues = map_names(
        names,
        catalog,
        platform="Meta",
        custom=lambda name: tuple(name.split(".", 1)) if _is_custom(name) else None,
        custom_hint='custom properties go in columns named "custom_data.<name>"',
        ignore=ignore,
    )
    params = {m.param.name for m in mapped if m.param is not None}
    issues += _missing_companions(params, source)
    return ColumnMapping(tuple(mapped), tuple(issues))


def _is_custom(name: str) -> bool:
    """``custom_data.my_field``: one level only (``custom_data.a.value`` was sent as
    ``custom_data.value``, beside or as Meta's own field)."""
    head, _, rest = name.partition(".")
    return head in OPEN_OBJECTS and bool(rest) and "." not in rest


def _missing_companions(params: set[str], source: str) -> list[ColumnIssue]:
    """Columns Meta recommends beside the ones present (warnings: the events still go)."""
    if source == "website" and "user_agent" in params and "ip" not in params:
        return [
            ColumnIssue(
                "",
                "no ip column: Meta recommends client_ip_address with client_user_agent on "
                "website events",
                "add `... AS ip`, the visitor's IP address (never hashed)",
                severity="warning",
                rule="missing-recommended",
            )
        ]
    return []


def contents_key_issues(mapping: ColumnMapping, schema: pa.Schema) -> list[ColumnIssue]:
    """Keys of a contents column's structs that are not content keys: they are left out."""
    import pyarrow as pa

    out: list[ColumnIssue] = []
    for m in mapping.columns:
        if m.param is None or m.param.name != "contents":
            continue
        t = schema.field(m.column).type
        if not is_list(t):
            continue
        if not pa.types.is_struct(t.value_type):
            continue
        unknown = [f.name for f in t.value_type if f.name not in CONTENT_FIELDS]
        if unknown:
            issues_hint = "content keys: " + ", ".join(k for k in CONTENT_FIELDS)
            out.append(
                ColumnIssue(
                    m.column,
                    "contents keys " + ", ".join(f"'{k}'" for k in unknown) + " are not Meta "
                    "content fields: they are left out",
                    issues_hint,
                    severity="warning",
                    rule="contents-key",
                )
            )
    return out


def key_only_columns(key_columns: Sequence[str], *, catalog: Catalog = CATALOG) -> list[str]:
    """Primary-key columns that are not Meta parameters: used for keys, never sent."""
    return [c for c in key_columns if catalog.lookup(c) is None and not _is_custom(c)]

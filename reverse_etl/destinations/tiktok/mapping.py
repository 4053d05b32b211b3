"""Model columns -> TikTok payload paths, through the catalog. Pure: no data, no I/O."""

from __future__ import annotations

from collections.abc import Sequence

from reverse_etl.destinations.catalog import (
    Catalog,
    ColumnIssue,
    ColumnMapping,
    MappedColumn,
    ParamSpec,
)
from reverse_etl.destinations.shared.mapping import map_names
from reverse_etl.destinations.tiktok.catalog import CATALOG, OPEN_OBJECTS

__all__ = [
    "ColumnIssue",
    "ColumnMapping",
    "MappedColumn",
    "key_only_columns",
    "map_columns",
]


def map_columns(
    names: Sequence[str], source: str, *, catalog: Catalog = CATALOG, ignore: Sequence[str] = ()
) -> ColumnMapping:
    """Map output column names for an event source (WEB, APP, OFFLINE, CRM).

    A parameter the source does not carry (the catalog's ``sources``: a ttclid on OFFLINE) is
    left out of the mapping, so it is not sent, with a warning: TikTok's docs list it for other
    sources only (the reference's §11: ttclid and ttp web only, ip and user_agent web and app,
    external_id web and crm), so on this one it is ignored at best, and is no match key."""

    def not_for_source(name: str, spec: ParamSpec) -> ColumnIssue | None:
        if source in spec.sources:
            return None
        return ColumnIssue(
            name,
            f"'{spec.name}' does not apply to {source} events "
            f"(TikTok reads it on {', '.join(sorted(spec.sources))} only): not sent",
            "remove the column from the model",
            severity="warning",
        )

    mapped, issues = map_names(
        names,
        catalog,
        platform="TikTok",
        custom=_custom_path,
        custom_hint='custom properties go in columns named "properties.<name>"',
        ignore=ignore,
        check=not_for_source,
    )
    mapped = [m for m in mapped if m.param is None or source in m.param.sources]
    issues += _contents_conflicts(mapped)
    issues += _missing_companions({m.param.name for m in mapped if m.param is not None}, source)
    return ColumnMapping(tuple(mapped), tuple(issues))


def _custom_path(name: str) -> tuple[str, ...] | None:
    """A custom property (``properties.my_field``): sent under its object, as named. One
    level only: ``properties.meta.value`` was sent as ``properties.value``, beside (or as)
    TikTok's own field; such a column is not a parameter (say so, with the form to use)."""
    head, _, rest = name.partition(".")
    return (head, rest) if head in OPEN_OBJECTS and rest and "." not in rest else None


def _contents_conflicts(mapped: Sequence[MappedColumn]) -> list[ColumnIssue]:
    """content_id & co. become the single contents item only when there is no contents
    column: beside one, which item they belong to would be a guess."""
    if not any(m.param is not None and m.param.name == "contents" for m in mapped):
        return []
    return [
        ColumnIssue(
            m.column,
            f"TikTok reads {m.param.name} only inside contents, and the model has a contents "
            "column",
            f"did you mean the '{m.param.name}' key of each contents item? "
            f"list({{'{m.param.name}': ..., 'quantity': ...}}) AS contents",
            rule="contents-key",
        )
        for m in mapped
        if m.param is not None and m.param.folded
    ]


def _missing_companions(params: set[str], source: str) -> list[ColumnIssue]:
    """Columns the source expects beside the ones present (warnings: the events still go)."""
    out = []
    if source == "WEB" and "page_url" not in params:
        out.append(
            ColumnIssue(
                "",
                "no page_url column: TikTok expects page.url on WEB events",
                "add `... AS page_url`, the URL where the event happened",
                severity="warning",
                rule="missing-recommended",
            )
        )
    if source == "APP" and "idfa" in params and "att_status" not in params:
        out.append(
            ColumnIssue(
                "idfa",
                "sent without an att_status column: TikTok cannot tell whether the user "
                "allowed tracking",
                "add `... AS att_status` (AUTHORIZED, DENIED, NOT_DETERMINED, RESTRICTED or "
                "NOT_APPLICABLE)",
                severity="warning",
                rule="missing-recommended",
            )
        )
    return out


def key_only_columns(key_columns: Sequence[str], *, catalog: Catalog = CATALOG) -> list[str]:
    """Primary-key columns that are not TikTok parameters: used for keys, never sent."""
    return [
        c
        for c in key_columns
        if catalog.lookup(c) is None and c.split(".", 1)[0] not in OPEN_OBJECTS
    ]

"""Columns meant for another platform: one model may feed several destinations.

A model that feeds TikTok and Meta carries Meta-only columns (``first_name``, ``fbc`` …) that
TikTok has no parameter for. Such a column is not a typo: it is left out of this
destination's mapping (``ignore=``) and said in a note. A name no registered catalog knows
keeps its did-you-mean error. ``retl validate`` and a sync both call :func:`foreign_columns`,
so they leave out the same columns.
"""

from __future__ import annotations

from collections.abc import Sequence

from reverse_etl.destinations.base import ColumnRules
from reverse_etl.destinations.catalog import Catalog

# (platform, catalog) of the other registered destination types (registry.other_catalogs).
OtherCatalogs = Sequence[tuple[str, Catalog]]


def foreign_columns(
    names: Sequence[str], rules: ColumnRules, others: OtherCatalogs, *, keys: Sequence[str] = ()
) -> dict[str, str]:
    """Column -> the platform whose parameter it is, for the columns of ``names`` that
    ``rules`` does not know (no parameter, not under an open object, not in ``keys``, the
    key columns) and another catalog does; the first catalog of ``others`` that knows a
    column names it."""
    out: dict[str, str] = {}
    for name in names:
        if name in out or name in keys or knows(rules, name):
            continue
        for platform, catalog in others:
            if in_catalog(catalog, name):
                out[name] = platform
                break
    return out


def knows(rules: ColumnRules, name: str) -> bool:
    """``name`` is a parameter of ``rules`` or a custom key of one of its open objects."""
    if rules.catalog.lookup(name) is not None:
        return True
    head, _, rest = name.partition(".")
    return bool(rest) and head in rules.open_objects


def in_catalog(catalog: Catalog, name: str) -> bool:
    """``name`` is a column ``catalog`` maps: a parameter (flat, alias or dotted), one of its
    payload objects built as a STRUCT column (Meta's ``user_data``), or a key under one (a
    TikTok custom property ``properties.<name>``: the other platform's own validation says
    whether that key is one it takes)."""
    if catalog.lookup(name) is not None:
        return True
    head = name.partition(".")[0]
    return any(len(p.path) > 1 and p.path[0] == head for p in catalog.params)


def foreign_message(column: str, platform: str, rules: ColumnRules) -> str:
    """The note's text: ``column first_name: a Meta parameter, not sent to TikTok``."""
    return f"column {column}: a {platform} parameter, not sent to {rules.platform}"

"""Generate docs/tiktok.md's tables from the catalog and the settings model.

``python -m reverse_etl.destinations.tiktok.docs docs/tiktok.md`` rewrites the text between the
``<!-- generated:NAME -->`` and ``<!-- end:NAME -->`` markers; a test fails when they drift.
"""

from __future__ import annotations

import sys

from reverse_etl.destinations.shared.docs import cell, column_names, masked_list, settings_table
from reverse_etl.destinations.shared.docs import main as run_main
from reverse_etl.destinations.shared.docs import render as render_tables
from reverse_etl.destinations.tiktok.catalog import CATALOG, CONTENT_KEYS, Hashing
from reverse_etl.destinations.tiktok.config import TikTokConfig

_SOURCE_ORDER = ("WEB", "APP", "OFFLINE", "CRM")


def parameters_table() -> str:
    return settings_table(TikTokConfig)


def columns_table() -> str:
    rows = [
        "| column | payload path | type | sources | hashing | notes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for p in CATALOG.params:
        names = column_names(p)
        sources = ", ".join(s for s in _SOURCE_ORDER if s in p.sources)
        notes = p.doc
        if p.required_for:
            notes += (
                " Required for " + ", ".join(s for s in _SOURCE_ORDER if s in p.required_for) + "."
            )
        if p.allowed is not None and len(p.allowed) <= 10:
            notes += " One of: " + ", ".join(sorted(p.allowed)) + "."
        if p.multi:
            notes += " One value or a list."
        hashing = "-" if p.hashing is Hashing.NONE else p.hashing.value
        path = f"properties.contents[0].{p.path[-1]}" if p.folded else p.dotted
        rows.append(
            f"| {names} | `{path}` | {p.kind.value} | {sources} | {hashing} | {cell(notes)} |"
        )
    return "\n".join(rows)


def contents_table() -> str:
    rows = ["| key | type | notes |", "| --- | --- | --- |"]
    rows += [f"| `{k.name}` | {k.kind.value} | {cell(k.doc)} |" for k in CONTENT_KEYS]
    return "\n".join(rows)


GENERATED = {
    "parameters": parameters_table,
    "columns": columns_table,
    "contents": contents_table,
    "masked": lambda: masked_list(CATALOG),
}


def render(text: str) -> str:
    """``text`` with every generated block refreshed."""
    return render_tables(text, GENERATED)


def main(argv: list[str]) -> int:
    return run_main(argv, "docs/tiktok.md", GENERATED)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

"""Generate docs/meta.md's tables from the catalog and the settings model.

``python -m reverse_etl.destinations.meta.docs docs/meta.md`` rewrites the text between the
``<!-- generated:NAME -->`` and ``<!-- end:NAME -->`` markers; a test fails when they drift.
"""

from __future__ import annotations

import sys

from reverse_etl.destinations.catalog import Hashing
from reverse_etl.destinations.meta.catalog import ALL, CATALOG, CONTENT_FIELDS, CONTENT_KEYS
from reverse_etl.destinations.meta.config import MetaConfig
from reverse_etl.destinations.shared.docs import cell, column_names, masked_list, settings_table
from reverse_etl.destinations.shared.docs import main as run_main
from reverse_etl.destinations.shared.docs import render as render_tables


def parameters_table() -> str:
    return settings_table(MetaConfig)


def columns_table() -> str:
    rows = [
        "| column | payload path | type | hashing | notes |",
        "| --- | --- | --- | --- | --- |",
    ]
    for p in CATALOG.params:
        names = column_names(p)
        notes = p.doc
        if p.required_for == ALL:
            notes += " Required."
        elif p.required_for:
            notes += " Required for " + ", ".join(sorted(p.required_for)) + " events."
        if p.allowed is not None and len(p.allowed) <= 10:
            notes += " One of: " + ", ".join(sorted(p.allowed)) + "."
        if p.multi:
            notes += " One value or a list."
        hashing = "-" if p.hashing is Hashing.NONE else p.hashing.value
        rows.append(f"| {names} | `{p.dotted}` | {p.kind.value} | {hashing} | {cell(notes)} |")
    return "\n".join(rows)


def contents_table() -> str:
    rows = ["| key | sent as | type | notes |", "| --- | --- | --- | --- |"]
    for k in CONTENT_KEYS:
        target = CONTENT_FIELDS.get(k.name)
        sent = f"`{target}`" if target else "-"
        rows.append(f"| `{k.name}` | {sent} | {k.kind.value} | {cell(k.doc)} |")
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
    return run_main(argv, "docs/meta.md", GENERATED)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

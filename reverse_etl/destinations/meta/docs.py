"""Generate docs/meta.md's tables from the catalog and the settings model.

``python -m reverse_etl.destinations.meta.docs docs/meta.md`` rewrites the text between the
``<!-- generated:NAME -->`` and ``<!-- end:NAME -->`` markers; a test fails when they drift.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from reverse_etl.destinations.catalog import Hashing
from reverse_etl.destinations.meta.catalog import ALL, CATALOG, CONTENT_FIELDS, CONTENT_KEYS
from reverse_etl.destinations.meta.config import MetaConfig


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("``", "`").replace("|", "\\|")


def parameters_table() -> str:
    rows = ["| key | default | description |", "| --- | --- | --- |"]
    for name, field in MetaConfig.model_fields.items():
        default = "required" if field.is_required() else repr(field.default)
        if field.default is None and not field.is_required():
            default = "-"
        rows.append(f"| `{name}` | {_cell(default)} | {_cell(field.description or '')} |")
    return "\n".join(rows)


def columns_table() -> str:
    rows = [
        "| column | payload path | type | hashing | notes |",
        "| --- | --- | --- | --- | --- |",
    ]
    for p in CATALOG.params:
        names = ", ".join(f"`{n}`" for n in (p.name, *p.aliases))
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
        rows.append(f"| {names} | `{p.dotted}` | {p.kind.value} | {hashing} | {_cell(notes)} |")
    return "\n".join(rows)


def contents_table() -> str:
    rows = ["| key | sent as | type | notes |", "| --- | --- | --- | --- |"]
    for k in CONTENT_KEYS:
        target = CONTENT_FIELDS.get(k.name)
        sent = f"`{target}`" if target else "-"
        rows.append(f"| `{k.name}` | {sent} | {k.kind.value} | {_cell(k.doc)} |")
    return "\n".join(rows)


GENERATED = {
    "parameters": parameters_table,
    "columns": columns_table,
    "contents": contents_table,
}


def render(text: str) -> str:
    """``text`` with every generated block refreshed."""
    for name, fn in GENERATED.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n)(?:.*?\n)?(<!-- end:{name} -->)", re.S)
        table = fn()

        def fill(m: re.Match[str], table: str = table) -> str:
            return m.group(1) + table + "\n" + m.group(2)

        text = pattern.sub(fill, text)
    return text


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "docs/meta.md")
    path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

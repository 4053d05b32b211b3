"""Generate docs/tiktok.md's tables from the catalog and the settings model.

``python -m reverse_etl.destinations.tiktok.docs docs/tiktok.md`` rewrites the text between the
``<!-- generated:NAME -->`` and ``<!-- end:NAME -->`` markers; a test fails when they drift.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from reverse_etl.destinations.tiktok.catalog import CATALOG, CONTENT_KEYS, Hashing
from reverse_etl.destinations.tiktok.config import TikTokConfig

_SOURCE_ORDER = ("WEB", "APP", "OFFLINE", "CRM")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("``", "`").replace("|", "\\|")


def parameters_table() -> str:
    rows = ["| key | default | description |", "| --- | --- | --- |"]
    for name, field in TikTokConfig.model_fields.items():
        default = "required" if field.is_required() else repr(field.default)
        if field.default is None:
            default = "-"
        rows.append(f"| `{name}` | {_cell(default)} | {_cell(field.description or '')} |")
    return "\n".join(rows)


def columns_table() -> str:
    rows = [
        "| column | payload path | type | sources | hashing | notes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for p in CATALOG.params:
        names = ", ".join(f"`{n}`" for n in (p.name, *p.aliases))
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
            f"| {names} | `{path}` | {p.kind.value} | {sources} | {hashing} | {_cell(notes)} |"
        )
    return "\n".join(rows)


def contents_table() -> str:
    rows = ["| key | type | notes |", "| --- | --- | --- |"]
    rows += [f"| `{k.name}` | {k.kind.value} | {_cell(k.doc)} |" for k in CONTENT_KEYS]
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
    path = Path(argv[1] if len(argv) > 1 else "docs/tiktok.md")
    path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

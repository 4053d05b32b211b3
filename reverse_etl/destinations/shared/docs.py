"""Docs tables generated from a platform's settings model and catalog: the shared parts.

A platform's ``docs.py`` names its tables; ``python -m reverse_etl.destinations.<platform>.docs
docs/<platform>.md`` rewrites the text between ``<!-- generated:NAME -->`` and
``<!-- end:NAME -->``, and a test fails when they drift.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import BaseModel

from reverse_etl.config.docstrings import field_doc
from reverse_etl.destinations.catalog import Catalog, ParamSpec

Tables = Mapping[str, Callable[[], str]]


def cell(text: str) -> str:
    """Text for one Markdown table cell."""
    return " ".join(text.split()).replace("``", "`").replace("|", "\\|")


def column_names(p: ParamSpec) -> str:
    """The column names that feed ``p``, for a table's column cell: its name, its aliases and
    its payload path when that is a flat name too (Meta's ``event_name``: a column so named
    maps to ``event``, as the catalog indexes every payload path)."""
    names = [p.name, *p.aliases]
    if "." not in p.dotted and p.dotted not in names:
        names.append(p.dotted)
    return ", ".join(f"`{n}`" for n in names)


def masked_list(catalog: Catalog) -> str:
    """The columns whose values ``ParamSpec.masked`` masks where retl prints a payload."""
    names = [f"`{p.name}`" for p in catalog.params if p.masked]
    return (
        "Masked where retl prints a payload (`retl plan`'s samples, text and JSON, `retl show "
        "--payload`, `retl ui`'s Plan and Test events pages) unless the value is a SHA-256: "
        + ", ".join(names)
        + ". Shown as their first character and `***` (`198.51.100.23` -> `1***`); the hashed "
        "ones are shown as sent."
    )


def settings_table(model: type[BaseModel]) -> str:
    """Every destinations.yml key of a settings model: default and description."""
    rows = ["| key | default | description |", "| --- | --- | --- |"]
    for name, field in model.model_fields.items():
        default = "required" if field.is_required() else repr(field.default)
        if field.default is None and not field.is_required():
            default = "-"
        rows.append(f"| `{name}` | {cell(default)} | {cell(field_doc(model, name) or '')} |")
    return "\n".join(rows)


def render(text: str, tables: Tables) -> str:
    """``text`` with every generated block refreshed."""
    for name, fn in tables.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n)(?:.*?\n)?(<!-- end:{name} -->)", re.S)
        table = fn()

        def fill(m: re.Match[str], table: str = table) -> str:
            return m.group(1) + table + "\n" + m.group(2)

        text = pattern.sub(fill, text)
    return text


def main(argv: list[str], default: str, tables: Tables) -> int:
    """Rewrite the generated blocks of the file named by ``argv[1]`` (else ``default``)."""
    path = Path(argv[1] if len(argv) > 1 else default)
    path.write_text(render(path.read_text(encoding="utf-8"), tables), encoding="utf-8")
    return 0

"""Rendering of facade results for people (console) or machines (one JSON document)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from reverse_etl.cli.output import Output
from reverse_etl.project import Preview


def cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def render_preview(out: Output, preview: Preview) -> None:
    if out.format == "json":
        out.json(
            {
                "ok": True,
                "model": preview.model,
                "columns": [{"name": n, "type": t} for n, t in zip(preview.columns, preview.types, strict=True)],
                "rows": [dict(zip(preview.columns, r, strict=True)) for r in preview.rows],
            }
        )
        return
    header = [f"{n} ({t})" for n, t in zip(preview.columns, preview.types, strict=True)]
    out.console.table(
        f"{preview.model}: {len(preview.rows)} row(s)",
        header,
        [[cell(v) for v in row] for row in preview.rows],
    )

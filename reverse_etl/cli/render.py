"""Rendering of facade results for people (console) or machines (one JSON document)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from reverse_etl.cli.output import Output
from reverse_etl.plan import DestinationPlan
from reverse_etl.project import Preview
from reverse_etl.report import SyncReport
from reverse_etl.state.store import ScopeInfo


def cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def render_preview(out: Output, preview: Preview) -> None:
    if out.format == "json":
        out.json(
            {
                "ok": True,
                "model": preview.model,
                "columns": [
                    {"name": n, "type": t}
                    for n, t in zip(preview.columns, preview.types, strict=True)
                ],
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


def render_plan(out: Output, plans: list[DestinationPlan]) -> None:
    if out.format == "json":
        out.json({"ok": True, "destinations": [p.to_dict() for p in plans]})
        return
    rows = [
        [
            p.name,
            str(p.rows_total),
            str(p.rows_new),
            str(p.rows_changed),
            str(p.rows_unchanged),
            str(p.rows_invalid),
            str(p.rows_to_send),
        ]
        for p in plans
    ]
    title = "plan (nothing is sent)" + (
        " - full refresh" if any(p.full_refresh for p in plans) else ""
    )
    out.console.table(
        title,
        ["destination", "rows", "new", "changed", "unchanged", "invalid", "to send"],
        rows,
    )

    for p in plans:
        if p.invalid_rows:
            more = p.rows_invalid - len(p.invalid_rows)
            out.console.table(
                f"{p.name}: invalid rows" + (f" (first {len(p.invalid_rows)})" if more else ""),
                ["key", "reason"],
                [[str(r.key), r.reason] for r in p.invalid_rows],
            )
        for reason, n in p.invalid_reasons[:5]:
            out.console.warning(f"{p.name}: {n} invalid row(s): {reason}")
        for reason, n in p.warning_reasons[:3]:
            out.console.warning(f"{p.name}: {n} row(s): {reason}")
        for w in p.warnings:
            out.console.warning(f"{p.name}: {w.render()}")
        for sample in p.samples[:2]:
            out.console.info(f"{p.name} sample event: " + orjson.dumps(sample).decode())


def render_sync(out: Output, report: SyncReport) -> None:
    if out.format == "json":
        out.json(report.to_dict())
        return
    rows = [
        [
            r.destination,
            str(r.sent),
            str(r.rows_unchanged),
            str(r.rows_invalid),
            str(r.rejected),
            str(r.failed + r.not_attempted),
            f"{r.duration:.1f}s",
            "ok" if r.ok else "FAILED",
        ]
        for r in report.results
    ]
    title = "sync summary" + (" (sandbox: nothing reached TikTok)" if report.sandbox else "")
    columns = [
        "destination",
        "sent",
        "unchanged",
        "invalid",
        "rejected",
        "failed",
        "time",
        "status",
    ]
    out.console.table(title, columns, rows)
    for r in report.results:
        how = "" if r.event_source_how in (None, "configured") else f" ({r.event_source_how})"
        out.console.info(
            f"{r.destination}: event source {r.event_source} {r.event_source_id or '?'}{how}"
        )
    for r in report.results:
        for reason, n in r.invalid_reasons[:5]:
            out.console.warning(f"{r.destination}: skipped {n} invalid row(s): {reason}")
        for row in r.rejected_rows[:5]:
            out.console.warning(f"{r.destination}: rejected by TikTok: key {row.key}: {row.reason}")
        if r.error:
            out.console.warning(f"{r.destination}: {r.error}")


def render_state(out: Output, scopes: list[ScopeInfo], path: Path) -> None:
    if out.format == "json":
        out.json(
            {
                "ok": True,
                "state_file": str(path),
                "destinations": [
                    {
                        "destination": s.destination,
                        "scope": s.scope,
                        "rows_sent": s.rows,
                        "event_source_id": s.event_source_id,
                        "mapping_fingerprint": s.mapping_fingerprint,
                        "last_sync_at": s.last_sync_at.isoformat() if s.last_sync_at else None,
                    }
                    for s in scopes
                ],
            }
        )
        return
    if not scopes:
        out.console.info(f"nothing sent yet ({path})")
        return
    out.console.table(
        f"state ({path})",
        ["destination", "event source", "rows sent", "last sync (UTC)"],
        [
            [s.destination, s.scope, str(s.rows), cell(s.last_sync_at) if s.last_sync_at else "-"]
            for s in scopes
        ],
    )

"""Test events: what the sandbox emulator received (``retl sandbox`` or ``sync --sandbox``),
newest first, each with its verdict, dedup hit and test_event_code; refreshed live by
``static/app.js``, which polls ``/api/test-events`` and rebuilds the table the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from .html import Html, badge, esc, join, page, when

if TYPE_CHECKING:
    from .app import UiApp

HEADERS = (
    "received",
    "platform",
    "source",
    "event",
    "event_id",
    "verdict",
    "dedup hit",
    "test_event_code",
    "problem",
    "payload",
)
VERDICT_KIND = {"accepted": "ok", "duplicate": "warn", "rejected": "bad"}


def events_page(app: UiApp) -> Html:
    records = app.test_events()
    rows = "".join(row(r) for r in records) or empty_row()
    head = "".join(f"<th>{esc(h)}</th>" for h in HEADERS)
    newest = esc(records[0].get("id", "")) if records else ""
    body = join(
        [
            "<p>Events the local emulators received, newest first: start <code>retl sandbox"
            "</code> in this project (or run <code>retl sync --sandbox</code>) and send.</p>",
            '<p id="feed-status" class="status">live: waiting for the first refresh</p>',
            f'<table id="test-events" data-feed-url="/api/test-events" data-newest="{newest}">'
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>",
        ]
    )
    return page("Test events", "events", app.title, body, script=True)


def row(r: dict[str, Any]) -> str:
    """One event as a table row (app.js builds the same from the JSON)."""
    if "omitted" in r:
        text = f"... and {r['omitted']} more events of this request (not shown)"
        return (
            f'<tr data-id="{esc(r.get("id"))}"><td>{esc(when(r.get("at")))}</td>'
            f'<td colspan="{len(HEADERS) - 1}">{esc(text)}</td></tr>'
        )
    verdict = str(r.get("verdict"))
    payload = orjson.dumps(r.get("data"), option=orjson.OPT_INDENT_2).decode()
    cells = [
        when(r.get("at")),
        r.get("platform"),
        r.get("source"),
        r.get("event"),
        r.get("event_id"),
        badge(verdict, VERDICT_KIND.get(verdict, "note")),
        "yes" if verdict == "duplicate" else "no",
        r.get("test_event_code") or "",
        r.get("problem") or "",
        Html(f"<details><summary>show</summary><pre>{esc(payload)}</pre></details>"),
    ]
    return (
        f'<tr data-id="{esc(r.get("id"))}">'
        + "".join(f"<td>{esc(c)}</td>" for c in cells)
        + "</tr>"
    )


def empty_row() -> str:
    return f'<tr class="empty"><td colspan="{len(HEADERS)}">No events received yet.</td></tr>'

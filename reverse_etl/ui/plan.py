"""The Plan page: what the next sync would send, computed when asked (the models run, no
network call, no state change), with counts and sample payloads."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from reverse_etl.destinations.shared.text import percent
from reverse_etl.errors import RetlError
from reverse_etl.pipeline.plan import DestinationPlan
from reverse_etl.pipeline.plan_warnings import plan_warnings
from reverse_etl.sandbox.feed import mask_pii

from .html import Html, esc, join, link, notes_box, page, problems_box, table, warnings_box

if TYPE_CHECKING:
    from .app import UiApp

COUNTED = (
    "total",
    "valid",
    "invalid",
    "new",
    "changed",
    "unchanged",
    "to_send",
    "changed_not_resent",
)


def plan_page(app: UiApp, query: dict[str, str]) -> Html:
    sandbox = query.get("sandbox") == "1"
    choose = join(
        [
            "<p>The plan runs the models and compares them with the state: nothing is sent "
            "and nothing is written.</p>",
            '<p class="actions">',
            link("/plan?compute=1&sandbox=1", "Plan against the sandbox state", id="plan-sandbox"),
            link("/plan?compute=1", "Plan against the live state", id="plan-live"),
            "</p>",
        ]
    )
    if query.get("compute") != "1":
        return page("Plan", "plan", app.title, choose)
    try:
        plans = app.call(lambda p: p.plan(sandbox=sandbox))
        result = join(plan_section(p, app.project.dir) for p in plans)
    except RetlError as exc:
        result = problems_box(exc, app.project.dir)
    kind = "sandbox" if sandbox else "live"
    body = join([choose, f'<h2 id="plan-result">Next {kind} sync</h2>', result])
    return page("Plan", "plan", app.title, body)


def plan_section(plan: DestinationPlan, root: Path | None = None) -> Html:
    """One destination's plan: its counts, the warnings and the notes ``retl plan`` says of
    it (each at its file, line and key, relative to the project ``root``), invalid rows by
    reason and sample payloads."""
    doc = plan.to_dict()
    rows: dict[str, Any] = doc["rows"]
    counts = table(
        [c.replace("_", " ") for c in COUNTED],
        [[rows.get(c) for c in COUNTED]],
        table_id=f"plan-counts-{plan.name}",
    )
    coverage = plan.match_keys.coverage if plan.match_keys is not None else None
    reasons = table(
        ("why rows are invalid", "rows"),
        [(r["reason"], r["rows"]) for r in doc["invalid_reasons"]],
        empty="No invalid rows.",
    )
    samples = [f'<pre class="payload">{esc(_pretty(mask_pii(s)))}</pre>' for s in doc["samples"]]
    return join(
        [
            f'<section class="plan" data-destination="{esc(plan.name)}">',
            f"<h3>{esc(plan.name)} <small>model {esc(doc['model'])}</small></h3>",
            counts,
            warnings_box(plan_warnings(plan), root),
            notes_box(plan.notes, root),
            f"<p>Match-key coverage of the rows to send: {esc(percent(coverage))}</p>",
            reasons,
            f"<h4>Sample payloads ({len(samples)}, hashed as sent)</h4>",
            *(samples or ['<p class="empty">Nothing to send.</p>']),
            "</section>",
        ]
    )


def _pretty(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()

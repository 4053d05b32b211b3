"""Destinations: the list, and per destination its model, the column -> platform-field
mapping with each column's validation status, and match-key coverage over time."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reverse_etl.destinations.shared.text import percent
from reverse_etl.errors import RetlError
from reverse_etl.history.records import RunDestinationRecord
from reverse_etl.validation.result import DestinationValidation

from .charts import Series, line_chart
from .html import (
    Html,
    badge,
    destination_href,
    destination_named,
    join,
    link,
    page,
    problems_box,
    table,
    when,
)

if TYPE_CHECKING:
    from .app import UiApp

HISTORY_SHOWN = 100
STATUS_KIND = {"ok": "ok", "error": "bad", "warning": "warn", "note": "note"}


def list_page(app: UiApp) -> Html:
    configs = app.call(lambda p: p.destinations)
    rows = [
        (link(destination_href(d.name), d.name, class_="dest-link"), d.type, d.model)
        for d in configs
    ]
    body = table(
        ("destination", "type", "model"),
        rows,
        table_id="destinations",
        empty="No destinations in destinations.yml.",
    )
    return page("Destinations", "destinations", app.title, body)


def destination_page(app: UiApp, name: str) -> Html:
    from .app import NotFound

    configs = {d.name: d for d in app.call(lambda p: p.destinations)}
    named = destination_named(configs, name)  # by its name, or a masked one's key
    if named is None:
        raise NotFound(f"no destination {name} in destinations.yml")
    config, name = configs[named], named
    history = app.call(lambda p: p.destination_history(name, limit=HISTORY_SHOWN))
    try:
        found = app.call(lambda p: p.validate([f"destination:{name}"]))
        mapping = mapping_section(found[0], app.project.dir) if found else Html("")
    except RetlError as exc:  # the model does not compile: the rest of the page still helps
        mapping = problems_box(exc, app.project.dir)
    facts = table(("type", "model"), [(config.type, config.model)], table_id="destination-facts")
    body = join(
        [
            facts,
            "<h2>Match-key coverage over time</h2>",
            coverage_chart(history),
            "<h2>Events per run</h2>",
            counts_chart(history),
            "<h2>Mapping: model column → platform field</h2>",
            mapping,
        ]
    )
    return page(f"Destination {name}", "destinations", app.title, body)


def coverage_chart(history: list[RunDestinationRecord]) -> Html:
    """Coverage is reported where the destination measures it: runs without it are gaps."""
    return Html(
        line_chart(
            chart_id="coverage-chart",
            title="Match-key coverage",
            x_labels=[_short(h) for h in history],
            series=[Series("coverage", [h.match_coverage for h in history])],
            x_title="run, by end time (UTC)",
            y_title="rows sent with a strong match key",
            y_format=percent,
            y_max=1.0,
            point_titles=[f"run {h.run_id}" for h in history],
        )
    )


def counts_chart(history: list[RunDestinationRecord]) -> Html:
    return Html(
        line_chart(
            chart_id="destination-runs-chart",
            title="Events per run",
            x_labels=[_short(h) for h in history],
            series=[
                Series("sent", [h.sent for h in history]),
                Series("rejected", [h.rejected for h in history]),
                Series("failed", [h.failed for h in history]),
            ],
            x_title="run, by end time (UTC)",
            y_title="events",
            point_titles=[f"run {h.run_id}" for h in history],
        )
    )


def mapping_section(v: DestinationValidation, root: Path | None = None) -> Html:
    """The mapping table and the diagnostics, each at its file (relative to the project
    ``root``), line and key, as ``retl validate`` says them."""
    rows = [
        (
            c.column,
            c.field or "(not sent)",
            c.role,
            c.type,
            badge(c.status, STATUS_KIND.get(c.status, "note")),
        )
        for c in v.columns
    ]
    diagnostics = [
        (
            badge(d.severity, STATUS_KIND.get(d.severity, "note")),
            d.column or "",
            d.rule,
            d.problem.shown_from(root).location(),
            d.problem.message,
            d.problem.hint or "",
        )
        for d in v.diagnostics
    ]
    return join(
        [
            f"<p>Event source: {_code(v.event_source)}; checked statically, as "
            "<code>retl validate</code> does.</p>",
            table(("column", "platform field", "role", "type", "status"), rows, table_id="mapping"),
            "<h3>Diagnostics</h3>",
            table(
                ("severity", "column", "rule", "where", "message", "hint"),
                diagnostics,
                table_id="diagnostics",
                empty="No problems found.",
            ),
        ]
    )


def _code(text: str) -> str:
    from .html import esc

    return f"<code>{esc(text)}</code>"


def _short(h: RunDestinationRecord) -> str:
    return when(h.ended_at)[5:19]

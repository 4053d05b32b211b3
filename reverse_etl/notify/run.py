"""Notify every configured webhook about a finished sync: what the facade calls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from reverse_etl.config.project import WebhookConfig
from reverse_etl.errors import RetlError
from reverse_etl.history.records import RunDestinationRecord
from reverse_etl.notify.message import slack_message
from reverse_etl.notify.post import post_message
from reverse_etl.notify.triggers import alerts_for
from reverse_etl.pipeline.report import SyncReport
from reverse_etl.reporting.console import Console
from reverse_etl.secrets import scrub

# ``Project.destination_history``: a destination's runs, oldest first.
History = Callable[[str, int], Sequence[RunDestinationRecord]]


def notify_run(
    project: str,
    webhooks: Sequence[WebhookConfig],
    report: SyncReport,
    *,
    failed: bool,
    history: History | None,
    console: Console,
    root: Path | None = None,
) -> int:
    """Call each webhook that ``report`` concerns; returns how many took their message.
    Never raises for a webhook: a failure is a console warning naming the webhook (by
    ``name`` or ``notify[N]``), never its URL; files inside ``root`` (the project) relative
    to it."""
    previous = _previous_coverage(history, report.run_id, console)
    delivered = 0
    for index, webhook in enumerate(webhooks):
        label = webhook.name or f"notify[{index}]"
        if report.sandbox and not webhook.sandbox:
            continue
        alerts = alerts_for(report, webhook, previous, failed=failed)
        if not alerts:
            continue
        try:
            url = webhook.url.reveal()
        except RetlError as exc:  # its variable is not set here
            console.warning(
                f"webhook {label} was not called: {exc.problems[0].shown_from(root).render()}"
            )
            continue
        why = post_message(url, slack_message(project, report, alerts))
        if why is None:
            delivered += 1
        else:
            console.warning(scrub(f"webhook {label} was not notified: {why}"))
    return delivered


def _previous_coverage(
    history: History | None, run_id: str, console: Console
) -> Callable[[str], float | None]:
    """A destination's match coverage in its run before ``run_id`` (read once, when asked)."""
    cache: dict[str, float | None] = {}

    def previous(destination: str) -> float | None:
        if history is None:
            return None
        if destination not in cache:
            try:
                runs = [r for r in history(destination, 3) if r.run_id != run_id]
            except RetlError as exc:  # an unreadable history costs the comparison only
                console.warning(f"match coverage not compared: {exc.message}")
                runs = []
            cache[destination] = runs[-1].match_coverage if runs else None
        return cache[destination]

    return previous

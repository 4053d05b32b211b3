"""The webhook message: Slack-compatible JSON (``text`` for notifications and clients without
blocks, ``blocks`` for the layout), also read by Mattermost, Rocket.Chat, Teams workflows and
generic JSON endpoints. No secret (scrubbed) and no PII (counts, names and reasons only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reverse_etl.destinations.shared.text import percent
from reverse_etl.notify.triggers import (
    COVERAGE_DROP,
    FAILURE,
    REFUSED,
    REJECTIONS,
    STUCK,
    Alert,
)
from reverse_etl.pipeline.report import SyncReport
from reverse_etl.pipeline.send import DestinationResult
from reverse_etl.secrets import scrub_data

MAX_REASON = 400  # a Slack section's text is capped at 3000 characters; reasons stay short
_TITLES = {
    FAILURE: "failed",
    REJECTIONS: "events rejected",
    COVERAGE_DROP: "match coverage dropped",
    REFUSED: "refused",
    STUCK: "blocked: the last sync may be hung",
}


def slack_message(project: str, report: SyncReport, alerts: Sequence[Alert]) -> dict[str, Any]:
    """One message for one run: a headline, one section per alert with the destination's
    counts, and the run id."""
    kinds = list(dict.fromkeys(_TITLES[a.kind] for a in alerts))
    where = " (sandbox)" if report.sandbox else ""
    headline = f"retl: project {project}{where}, sync {', '.join(kinds)} (run {report.run_id})"
    results = {r.destination: r for r in report.results}
    blocks: list[dict[str, Any]] = [_text_section(f"*{_escape(headline)}*")]
    for alert in alerts:
        name = alert.destination or "the run"
        lines = [f"*{_escape(name)}*: {_TITLES[alert.kind]}", _escape(_clip(alert.reason))]
        section = _text_section("\n".join(lines))
        counts = results.get(alert.destination or "")
        if counts is not None:
            section["fields"] = _count_fields(counts)
        blocks.append(section)
    run = f"run `{report.run_id}`: `retl runs show {report.run_id}` says more"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": run}]})
    summary = "; ".join(f"{a.destination or 'the run'}: {_clip(a.reason, 160)}" for a in alerts)
    message = {"text": _escape(f"{headline}: {summary}"), "blocks": blocks}
    result: dict[str, Any] = scrub_data(message)
    return result


def _count_fields(r: DestinationResult) -> list[dict[str, str]]:
    counts = [
        ("Sent", str(r.sent)),
        ("Rejected", str(r.rejected)),
        ("Failed", str(r.failed + r.not_attempted)),
        ("Invalid rows", str(r.rows_invalid)),
    ]
    coverage = r.match_keys.coverage if r.match_keys is not None else None
    if coverage is not None:
        counts.append(("Match coverage", percent(coverage)))
    return [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in counts]


def _text_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _clip(text: str, limit: int = MAX_REASON) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    # Slack's mrkdwn reads &, < and > as markup (<url|label> links, <!channel> pings).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""What about a finished sync deserves a webhook call: a failure, too many rejected events, a
drop in match coverage since the destination's previous run, and (for a webhook that asks) a
run refused because the last sync still held the state. Pure: values in, values out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from reverse_etl.config.project import WebhookConfig
from reverse_etl.destinations.shared.text import percent
from reverse_etl.pipeline.report import SyncReport, masked
from reverse_etl.pipeline.send import DestinationResult

FAILURE: Final = "failure"
REJECTIONS: Final = "rejections"
COVERAGE_DROP: Final = "coverage_drop"
# A run that never ran (exit 75: the state was locked or in use), never a failure: a
# 15-minute schedule whose sync takes 40 minutes would alert every 15 minutes.
REFUSED: Final = "refused"
# A refused run whose lock's holder has held the state longer than the webhook's
# ``stuck_after``: that sync may be hung, and refuses every run after it. Said to the
# webhooks that hear of failures (the schedule has stopped delivering).
STUCK: Final = "stuck"

# The destination's match coverage (0..1) in its previous run, or None (no previous run, or
# it reported none).
PreviousCoverage = Callable[[str], float | None]


@dataclass(frozen=True)
class Alert:
    """One reason to call a webhook, about one destination (None: the run as a whole)."""

    kind: str  # FAILURE / REJECTIONS / COVERAGE_DROP / REFUSED
    destination: str | None
    reason: str


def alerts_for(
    report: SyncReport,
    webhook: WebhookConfig,
    previous_coverage: PreviousCoverage,
    *,
    failed: bool,
) -> list[Alert]:
    """The alerts of ``report`` that ``webhook`` subscribes to (its ``on:``). ``failed``: the
    sync ended on an error (raised), beyond what its results say. A refused run is no
    failure: only a webhook with ``refused`` in its ``on:`` hears of it."""
    wanted: set[str] = set(webhook.on)
    if report.refused is not None:
        return _refused_alerts(report, report.refused, webhook, wanted)
    alerts: list[Alert] = []
    for r in report.results:
        alerts += _destination_alerts(r, webhook, previous_coverage)
    if (failed or report.error is not None) and not any(a.kind == FAILURE for a in alerts):
        done = {r.destination for r in report.results}
        waiting = [p.name for p in report.plans if p.name not in done]
        alerts.append(
            Alert(
                FAILURE,
                ", ".join(waiting) or None,
                masked(report.error) or "the sync stopped on an unexpected error",
            )
        )
    return [a for a in alerts if a.kind in wanted]


def _refused_alerts(
    report: SyncReport, refused: str, webhook: WebhookConfig, wanted: set[str]
) -> list[Alert]:
    """A run the lock refused: ``refused`` for a webhook that asks for it; ``stuck`` (to the
    webhooks of ``failure``) once the holder has held the state ``stuck_after`` or longer."""
    alerts: list[Alert] = []
    held, limit = report.lock_held_for, webhook.stuck_limit
    if FAILURE in wanted and held is not None and limit is not None and held >= limit:
        why = (
            f"{masked(refused)}: it has held the state for {_duration(held)} (stuck_after: "
            f"{webhook.stuck_after}), and every run refuses until it ends; if it is hung, stop "
            "it (a killed sync releases the lock; its acknowledged events are kept)"
        )
        alerts.append(Alert(STUCK, None, why))
    if REFUSED in wanted:
        why = f"{masked(refused)}: nothing was done; the next run goes ahead"
        alerts.append(Alert(REFUSED, None, why))
    return alerts


def _duration(span: dt.timedelta) -> str:
    """``2 h 05 min``, ``45 min`` or ``3 d 4 h``: how long a lock was held, for a person."""
    minutes = int(span.total_seconds()) // 60
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _destination_alerts(
    r: DestinationResult, webhook: WebhookConfig, previous_coverage: PreviousCoverage
) -> list[Alert]:
    out: list[Alert] = []
    if r.error is not None or r.failed or r.not_attempted:
        reason = r.error or (
            f"{r.failed} event(s) failed and {r.not_attempted} were not attempted: the next "
            "sync sends them again"
        )
        out.append(Alert(FAILURE, r.destination, reason))
    limit = webhook.rejections_limit(r.sent + r.rejected)
    if r.rejected > limit:
        out.append(
            Alert(
                REJECTIONS,
                r.destination,
                f"{r.platform or 'the platform'} rejected {r.rejected} event(s) (more than "
                f"rejections_above: {webhook.rejections_above})",
            )
        )
    now = r.match_keys.coverage if r.match_keys is not None else None
    before = previous_coverage(r.destination) if now is not None else None
    if now is not None and before is not None:
        drop = (before - now) * 100
        if drop >= webhook.coverage_drop_points:
            out.append(
                Alert(
                    COVERAGE_DROP,
                    r.destination,
                    f"match coverage fell from {percent(before)} to {percent(now)} since the "
                    f"previous run ({drop:.1f} points; coverage_drop_points: "
                    f"{webhook.coverage_drop_points:g})",
                )
            )
    return out

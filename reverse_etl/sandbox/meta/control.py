"""``/_sandbox/meta/*``: read Meta counters and events, set Meta faults, make pixels known.

Plain JSON (JSONL for events), no Graph envelope. ``POST /_sandbox/reset`` resets Meta too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from reverse_etl.sandbox.envelope import ApiError, ApiRequest, Response

from .faults import MetaFaultPlan
from .recorder import ACCEPTED
from .sandbox import VERDICTS, MetaSandbox

MetaControl = Callable[[MetaSandbox, ApiRequest], Response]


def summary(meta: MetaSandbox, req: ApiRequest) -> Response:
    """Meta counters (as under ``"meta"`` in ``/_sandbox/summary``) and pending faults."""
    return _json({**meta.stats.snapshot(), "faults_pending": meta.faults.pending})


def events(meta: MetaSandbox, req: ApiRequest) -> Response:
    """Recorded events as JSONL: accepted ones, or ``?verdict=all`` (or ``duplicate``,
    ``rejected``, comma-separated) for more; ``?test=true|false`` keeps one kind."""
    flag = req.query.get("test")
    if flag not in (None, "true", "false"):
        return _json({"error": "test must be true or false"}, 400)
    wanted = req.query.get("verdict", ACCEPTED)
    verdicts = VERDICTS if wanted == "all" else frozenset(wanted.split(","))
    if not verdicts <= VERDICTS:
        return _json({"error": f"verdict must be all or any of {', '.join(sorted(VERDICTS))}"}, 400)
    test = None if flag is None else flag == "true"
    body = b"".join(meta.recorder.jsonl(test=test, verdicts=verdicts))
    return Response(200, body, "application/x-ndjson")


def get_faults(meta: MetaSandbox, req: ApiRequest) -> Response:
    """The Meta fault plan, with only the unconsumed script entries."""
    return _json(meta.faults.plan().to_json())


def set_faults(meta: MetaSandbox, req: ApiRequest) -> Response:
    """Replace the Meta fault plan with the JSON body (see :meth:`MetaFaultPlan.from_json`)."""
    try:
        plan = MetaFaultPlan.from_json(req.json())
    except (ValueError, TypeError, ApiError) as exc:
        return _json({"error": str(exc)}, 400)
    meta.faults.set_plan(plan)
    return _json(plan.to_json())


def pixels(meta: MetaSandbox, req: ApiRequest) -> Response:
    """The known pixel IDs (tokens are never shown)."""
    return _json({"pixels": meta.world.pixels()})


def add_pixel(meta: MetaSandbox, req: ApiRequest) -> Response:
    """Make ``{"pixel_id": "…"}`` known, for runs against a standalone ``retl sandbox``."""
    try:
        pixel_id = req.json().get("pixel_id")
        if not isinstance(pixel_id, str):
            raise ValueError("pixel_id must be a string of digits")
        meta.add_pixel(pixel_id)
    except (ValueError, ApiError) as exc:
        return _json({"error": str(exc)}, 400)
    return _json({"pixels": meta.world.pixels()})


ROUTES: dict[tuple[str, str], MetaControl] = {
    ("GET", "/_sandbox/meta/summary"): summary,
    ("GET", "/_sandbox/meta/events"): events,
    ("GET", "/_sandbox/meta/faults"): get_faults,
    ("POST", "/_sandbox/meta/faults"): set_faults,
    ("GET", "/_sandbox/meta/pixels"): pixels,
    ("POST", "/_sandbox/meta/pixels"): add_pixel,
}


def _json(value: Any, status: int = 200) -> Response:
    return Response(status, orjson.dumps(value))

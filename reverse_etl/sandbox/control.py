"""``/_sandbox/*``: read counters and events, set faults, reset. Plain JSON, no envelope."""

from __future__ import annotations

from typing import Any

import orjson

from .context import SandboxContext
from .envelope import ApiError, ApiRequest, Response
from .faults import FaultPlan

CONTROL_PREFIX = "/_sandbox/"


def summary(ctx: SandboxContext, req: ApiRequest) -> Response:
    """TikTok's counters (see :meth:`SandboxStats.snapshot`) plus the pending fault script
    length; Meta's are at ``/_sandbox/meta/summary``."""
    counters = ctx.stats.snapshot()
    counters.pop("meta", None)
    return _json({**counters, "faults_pending": ctx.faults.pending})


def events(ctx: SandboxContext, req: ApiRequest) -> Response:
    """Recorded events as JSONL; ``?test=true`` or ``?test=false`` keeps one kind."""
    flag = req.query.get("test")
    if flag not in (None, "true", "false"):
        return _json({"error": "test must be true or false"}, 400)
    test = None if flag is None else flag == "true"
    return Response(200, b"".join(ctx.recorder.jsonl(test=test)), "application/x-ndjson")


def get_faults(ctx: SandboxContext, req: ApiRequest) -> Response:
    """The current fault plan, with only the unconsumed script entries."""
    return _json(ctx.faults.plan().to_json())


def set_faults(ctx: SandboxContext, req: ApiRequest) -> Response:
    """Replace the fault plan with the JSON body (see :meth:`FaultPlan.from_json`)."""
    try:
        plan = FaultPlan.from_json(req.json())
    except (ValueError, TypeError, ApiError) as exc:
        return _json({"error": str(exc)}, 400)
    ctx.faults.set_plan(plan)
    return _json(plan.to_json())


def reset(ctx: SandboxContext, req: ApiRequest) -> Response:
    """Forget events, dedup history, counters and faults (TikTok's and Meta's); the worlds
    stay as they are."""
    ctx.recorder.reset()
    ctx.stats.reset()
    ctx.faults.clear()
    ctx.meta.reset()
    return _json({"reset": True})


def world(ctx: SandboxContext, req: ApiRequest) -> Response:
    """The world's advertisers and event sources (no tokens or secrets)."""
    return _json(ctx.world.snapshot())


def _json(value: Any, status: int = 200) -> Response:
    return Response(status, orjson.dumps(value))

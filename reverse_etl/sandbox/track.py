"""``POST /open_api/v1.3/event/track/``: faults, checks, deduplication, recording."""

from __future__ import annotations

import time
from typing import Any

import orjson

from reverse_etl.destinations.tiktok.vocab import CODE_NO_PERMISSION, CODE_OK, CODE_PARTIAL_OK

from .context import SandboxContext, run_api
from .envelope import ApiError, ApiRequest, Response, envelope, invalid
from .faults import PARTIAL_MESSAGE, CodeFault, DelayFault, DropFault, HttpFault, PartialFault
from .validation import INVALID_SOURCE_ID, EventValidator, check_top_level

_SOURCE_LABELS = {
    "web": "pixel code",
    "app": "app id",
    "offline": "offline event set id",
    "crm": "CRM event set id",
}


def handle_track(ctx: SandboxContext, req: ApiRequest) -> Response | None:
    """Apply latency and the next fault, then process; None means drop the connection."""
    ctx.faults.wait_released()
    fault = ctx.faults.next_fault()
    latency = ctx.faults.latency_seconds
    if latency:
        time.sleep(latency)
    if fault is not None:
        if isinstance(fault, DelayFault):
            ctx.stats.fault("delay")
            time.sleep(fault.seconds)
        elif isinstance(fault, CodeFault):
            ctx.stats.fault("code")
            ctx.stats.rejected(fault.code)
            feed_rejected(ctx, req, fault.code, fault.text())
            return envelope(fault.code, fault.text(), now=ctx.options.clock())
        elif isinstance(fault, PartialFault):
            ctx.stats.fault("partial")
            with ctx.track_lock:
                return partial_track(ctx, req, fault)
        elif isinstance(fault, HttpFault):
            ctx.stats.fault("http")
            return gateway_error(fault.status, fault.retry_after)
        else:
            assert isinstance(fault, DropFault)
            ctx.stats.fault("drop")
            return None
    # One track request at a time past this point: under the GIL parallel parsing gains
    # nothing, and it keeps several parsed batches alive at once, which makes the garbage
    # collector work much harder (measured: ~30% less CPU for the same traffic).
    with ctx.track_lock:
        return run_api(ctx, req, track)


def track(ctx: SandboxContext, req: ApiRequest) -> object:
    """Validate a whole request (any bad event rejects all), then record its new events."""
    try:
        body = checked_body(ctx, req)
    except ApiError as exc:
        feed_rejected(ctx, req, exc.code, exc.message)
        raise
    events: list[Any] = body["data"]
    test_event_code = body.get("test_event_code")
    source, source_id = body["event_source"], body["event_source_id"]
    new, duplicates = ctx.recorder.accept(source, source_id, test_event_code, events, req.body)
    ctx.stats.accepted(len(events), new, duplicates, test_event_code is not None)
    return {}


def partial_track(ctx: SandboxContext, req: ApiRequest, fault: PartialFault) -> Response:
    """Like :func:`track`, but the events at ``fault.indices`` fail: the rest are recorded and
    the answer is 20001, listing the failed events (or not: ``fault.listed``)."""
    now = ctx.options.clock()
    try:
        body = checked_body(ctx, req)
    except ApiError as exc:
        ctx.stats.rejected(exc.code)
        feed_rejected(ctx, req, exc.code, exc.message)
        return envelope(exc.code, exc.message, None, http_status=exc.http_status, now=now)
    events: list[Any] = body["data"]
    failed = sorted(i for i in fault.indices if i < len(events))
    if failed and ctx.feed is not None:
        refused = {**body, "data": [events[i] for i in failed]}
        ctx.feed.tiktok(now, refused, rejected=(fault.code, fault.text()))
    kept = [event for i, event in enumerate(events) if i not in fault.indices]
    if not failed:  # the script named no event of this request: a plain success
        kept = events
    elif not kept:  # nothing accepted: TikTok answers with the error itself
        ctx.stats.rejected(fault.code)
        return envelope(fault.code, fault.text(), None, now=now)
    test_event_code = body.get("test_event_code")
    source, source_id = body["event_source"], body["event_source_id"]
    raw = orjson.dumps({**body, "data": kept})
    new, duplicates = ctx.recorder.accept(source, source_id, test_event_code, kept, raw)
    ctx.stats.accepted(len(kept), new, duplicates, test_event_code is not None)
    if not failed:
        return envelope(CODE_OK, "OK", {}, now=now)
    ctx.stats.rejected(CODE_PARTIAL_OK)
    data = None
    if fault.listed:
        data = {
            "failed_events": [
                {
                    "index": i,
                    "event_id": events[i].get("event_id") if type(events[i]) is dict else None,
                    "code": fault.code,
                    "message": f"data.{i}: {fault.text()}",
                }
                for i in failed
            ]
        }
    return envelope(CODE_PARTIAL_OK, PARTIAL_MESSAGE, data, now=now)


def checked_body(ctx: SandboxContext, req: ApiRequest) -> dict[str, Any]:
    """The request's body once the token, top-level fields, event source and (unless turned
    off) every event passed TikTok's checks; raises the ApiError TikTok would answer."""
    allowed = ctx.authenticate(req)
    body = req.json()
    error = check_top_level(body)
    if error is not None:
        raise invalid(error)
    source: str = body["event_source"]
    source_id: str = body["event_source_id"]
    owner = ctx.world.source_owner(source, source_id)
    if owner is None:
        raise invalid(INVALID_SOURCE_ID)
    if owner not in allowed:
        raise ApiError(
            CODE_NO_PERMISSION,
            f"No permission to operate {_SOURCE_LABELS[source]}: {source_id}. "
            "You must be an admin or operator of this advertiser account.",
        )
    events: list[Any] = body["data"]
    if ctx.options.validate:
        validator = EventValidator(source, ctx.options, ctx.options.clock())
        # A body without the bytes "null" cannot hold a JSON null: skip the deep scan.
        error = validator.check_all(events, b"null" in req.body)
        if error is not None:
            raise invalid(error)
    return body


def feed_rejected(ctx: SandboxContext, req: ApiRequest, code: int, message: str) -> None:
    """Tell the test-events feed (if any) that this request's events were refused."""
    if ctx.feed is None:
        return
    try:
        body = orjson.loads(req.body) if req.body else {}
    except orjson.JSONDecodeError:
        body = {}
    ctx.feed.tiktok(
        ctx.options.clock(), body if isinstance(body, dict) else {}, rejected=(code, message)
    )


def gateway_error(status: int, retry_after: float | None) -> Response:
    """An nginx-style HTML error page, as TikTok's gateway sends for 5xx."""
    reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}.get(
        status, "Error"
    )
    title = f"{status} {reason}"
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()
    headers: tuple[tuple[str, str], ...] = ()
    if retry_after is not None:
        seconds = int(retry_after) if float(retry_after).is_integer() else retry_after
        headers = (("Retry-After", str(seconds)),)
    return Response(status, body, "text/html", headers)

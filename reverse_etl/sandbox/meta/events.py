"""``POST /{version}/{pixel_id}/events``: the Conversions API endpoint, in Graph's order.

1. A token in the URL query string is refused (code 190) and counted as a security violation
   (see ``auth.py``): URLs end up in proxy and access logs.
2. The next Meta fault, latency, and any hold apply (before anything is read, like a gateway).
3. Token: ``Authorization: Bearer`` (or ``OAuth``) header, else the body's ``access_token``
   (JSON or form). Missing or unknown: code 190, HTTP 400 with ``WWW-Authenticate``.
4. Pixel: unknown, or not granted to the token: code 100, subcode 33, naming the ID.
5. Body: ``data`` a list of 1-1000 events, ``test_event_code`` and ``partner_agent`` strings.
6. Every event is validated; the first bad one rejects the whole request (code 100, with
   ``error_user_msg`` naming ``data[i]``). A scripted invalid event or a poisoned
   ``event_id`` rejects the same way.
7. Otherwise the events are recorded and deduplicated, and the answer is
   ``{"events_received", "messages", "fbtrace_id"}``.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any
from urllib.parse import parse_qsl

import orjson

from reverse_etl.sandbox.envelope import ApiRequest, Response
from reverse_etl.sandbox.faults import DelayFault, DropFault, HttpFault

from .auth import authorize, refuse_token_in_query
from .errors import EventProblem, GraphError, invalid_request, success, unknown_object
from .faults import GraphFault, InvalidEventFault, MetaFault, poisoned_index
from .sandbox import MetaSandbox
from .validation import MetaEventValidator
from .vocab import CODE_SERVICE_UNAVAILABLE, CODE_UNKNOWN, MAX_EVENTS_PER_REQUEST, SUB_SCRIPTED

_FORM = "application/x-www-form-urlencoded"


def handle_events(
    meta: MetaSandbox, req: ApiRequest, api_version: str, pixel_id: str
) -> Response | None:
    """Answer one events request, or raise the GraphError to answer; None means drop the
    connection without answering."""
    refuse_token_in_query(meta, req)
    if req.method != "POST":
        raise unknown_object(req.method, pixel_id)
    fault = _apply_fault(meta)
    if isinstance(fault, DropFault):
        return None
    body = _parse_body(req)
    authorize(meta, req, body, pixel_id)
    if body is None:
        raise invalid_request("The request body is not a JSON object or a form.")
    events, test_event_code = _checked_body(body)
    now = meta.clock()
    problem = _problem(meta, events, now, fault)
    if problem is not None:
        problems = {problem.index: problem.reason}
        if meta.options.validate:
            validator = MetaEventValidator(meta.options, now)
            problems |= {i: p.reason for i, p in validator.problems(events).items()}
        meta.recorder.reject(
            now=now,
            pixel_id=pixel_id,
            api_version=api_version,
            test_event_code=test_event_code,
            events=events,
            problems=problems,
        )
        raise problem.error()
    new, duplicates = meta.recorder.accept(
        now=now,
        window=meta.options.dedup_window_seconds,
        pixel_id=pixel_id,
        api_version=api_version,
        test_event_code=test_event_code,
        events=events,
    )
    meta.stats.accepted(pixel_id, len(events), new, duplicates, test_event_code is not None)
    return success(len(events), api_version)


def _apply_fault(meta: MetaSandbox) -> MetaFault | None:
    """Wait out a hold and the latency, then act on the next fault: raise the Graph error it
    answers, or return it when it acts later (a drop, an invalid event), else None."""
    meta.faults.wait_released()
    fault = meta.faults.next_fault()
    latency = meta.faults.latency_seconds
    if latency:
        time.sleep(latency)
    if isinstance(fault, DelayFault):
        meta.stats.fault("delay")
        time.sleep(fault.seconds)
        return None
    if isinstance(fault, GraphFault):
        meta.stats.fault("graph")
        raise fault.error()
    if isinstance(fault, HttpFault):
        meta.stats.fault("http")
        raise _server_error(fault)
    if isinstance(fault, DropFault):
        meta.stats.fault("drop")
    return fault


def _server_error(fault: HttpFault) -> GraphError:
    """Graph answers 5xx with its JSON error body, transient, code 1 (500) or 2 (others)."""
    headers: tuple[tuple[str, str], ...] = ()
    if fault.retry_after is not None:
        seconds = fault.retry_after
        headers = (("Retry-After", str(int(seconds) if seconds.is_integer() else seconds)),)
    if fault.status == 500:
        code, message = CODE_UNKNOWN, "An unknown error occurred"
    else:
        code, message = CODE_SERVICE_UNAVAILABLE, "Service temporarily unavailable"
    return GraphError(code, message, http_status=fault.status, is_transient=True, headers=headers)


def _problem(
    meta: MetaSandbox, events: list[Any], now: float, fault: MetaFault | None
) -> EventProblem | None:
    """The event that rejects this request: invalid, scripted invalid, or poisoned."""
    if meta.options.validate:
        problem = MetaEventValidator(meta.options, now).first_problem(events)
        if problem is not None:
            return problem
    if isinstance(fault, InvalidEventFault) and fault.index < len(events):
        meta.stats.fault("invalid_event")
        return EventProblem(fault.index, fault.subcode, fault.reason)
    poisoned = poisoned_index(events, meta.faults.poisoned)
    if poisoned is not None:
        meta.stats.fault("poison")
        return EventProblem(poisoned, SUB_SCRIPTED, "event_id is poisoned in the sandbox")
    return None


def _parse_body(req: ApiRequest) -> dict[str, Any] | None:
    """The body as a dict (JSON object, or a form whose ``data`` is JSON), else None."""
    if req.headers.get("content-type", "").split(";")[0].strip().lower() == _FORM:
        try:
            form: dict[str, Any] = dict(parse_qsl(req.body.decode(), keep_blank_values=True))
        except UnicodeDecodeError:
            return None
        if isinstance(form.get("data"), str):
            # Unparsable data stays a string: "data must be a list", once the token is checked.
            with contextlib.suppress(orjson.JSONDecodeError):
                form["data"] = orjson.loads(form["data"])
        return form
    try:
        value = orjson.loads(req.body) if req.body else None
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _checked_body(body: dict[str, Any]) -> tuple[list[Any], str | None]:
    """``data`` and ``test_event_code``, once the request-level rules hold."""
    data = body.get("data")
    if data is None:
        raise invalid_request("The parameter data is required")
    if not isinstance(data, list):
        raise invalid_request("param data must be an array of server events")
    if not data:
        raise invalid_request("param data must contain at least 1 event")
    if len(data) > MAX_EVENTS_PER_REQUEST:
        raise invalid_request(
            f"param data holds {len(data)} events; at most {MAX_EVENTS_PER_REQUEST} per request"
        )
    for key in ("test_event_code", "partner_agent"):
        if key in body and (not isinstance(body[key], str) or not body[key]):
            raise invalid_request(f"param {key} must be a non-empty string")
    test_event_code = body.get("test_event_code")
    return data, test_event_code

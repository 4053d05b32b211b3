"""Event-source management endpoints: pixels, offline and CRM event sets, apps."""

from __future__ import annotations

import math
from typing import Any

from reverse_etl.destinations.tiktok.vocab import CODE_NOT_FOUND

from .context import (
    SandboxContext,
    id_list,
    int_param,
    iso_time,
    optional_bool,
    optional_str,
    params,
    required_id,
    required_str,
)
from .envelope import ApiError, ApiRequest, invalid
from .world import MAX_CRM_SETS_PER_ADVERTISER, EventSet, Pixel

MAX_PIXEL_NAME = 40
MAX_CRM_NAME = 40
_PIXEL_ORDERS = ("EARLIEST_CREATE", "LATEST_CREATE")


def _advertiser(ctx: SandboxContext, req: ApiRequest) -> tuple[str, Any]:
    allowed = ctx.authenticate(req)
    values = params(req)
    return ctx.authorize(allowed, required_id(values, "advertiser_id")), values


def pixel_list(ctx: SandboxContext, req: ApiRequest) -> object:
    """``GET pixel/list/``: substring ``name`` filter, exact ``code``/``pixel_id``, pages."""
    advertiser_id, q = _advertiser(ctx, req)
    page = int_param(q, "page", 1, 1)
    page_size = int_param(q, "page_size", 10, 1, 20)
    order_by = q.get("order_by", "EARLIEST_CREATE")
    if order_by not in _PIXEL_ORDERS:
        raise invalid(f"Invalid value for order_by: must be one of {', '.join(_PIXEL_ORDERS)}.")
    name, code, pixel_id = q.get("name"), q.get("code"), q.get("pixel_id")
    pixels = [
        p
        for p in ctx.world.pixels(advertiser_id)
        if (not name or name in p.pixel_name)
        and (code is None or p.pixel_code == code)
        and (pixel_id is None or p.pixel_id == pixel_id)
    ]
    if order_by == "LATEST_CREATE":
        pixels.reverse()
    start = (page - 1) * page_size
    return {
        "pixels": [_pixel_json(p) for p in pixels[start : start + page_size]],
        "page_info": {
            "page": page,
            "page_size": page_size,
            "total_number": len(pixels),
            "total_page": math.ceil(len(pixels) / page_size),
        },
    }


def pixel_create(ctx: SandboxContext, req: ApiRequest) -> object:
    """``POST pixel/create/``: ``pixel_name`` required, at most 40 characters."""
    advertiser_id, body = _advertiser(ctx, req)
    name = required_str(body, "pixel_name", max_length=MAX_PIXEL_NAME)
    optional_str(body, "partner_name")
    pixel = ctx.world.add_pixel(advertiser_id, name)
    return {"pixel_id": pixel.pixel_id, "pixel_code": pixel.pixel_code, "pixel_name": name}


def offline_create(ctx: SandboxContext, req: ApiRequest) -> object:
    """``POST offline/create/``: ``name`` and ``description`` required (as in TikTok's SDK)."""
    advertiser_id, body = _advertiser(ctx, req)
    name = required_str(body, "name")
    description = optional_str(body, "description")
    if description is None:
        raise invalid("description: Missing data for required field.")
    auto_tracking = optional_bool(body, "auto_tracking") or False
    event_set = ctx.world.add_offline_set(
        advertiser_id, name, description=description, auto_tracking=auto_tracking
    )
    return {"event_set_id": event_set.event_set_id}


def offline_get(ctx: SandboxContext, req: ApiRequest) -> object:
    """``GET offline/get/``: exact ``name`` and ``event_set_ids`` filters."""
    advertiser_id, q = _advertiser(ctx, req)
    sets = _filtered(
        ctx.world.event_sets("offline", advertiser_id), q.get("name"), id_list(q, "event_set_ids")
    )
    return {"event_set_list": [_offline_json(s) for s in sets]}


def offline_update(ctx: SandboxContext, req: ApiRequest) -> object:
    """``POST offline/update/``: change name, description or auto_tracking."""
    advertiser_id, body = _advertiser(ctx, req)
    event_set_id = required_id(body, "event_set_id")
    updated = ctx.world.update_offline_set(
        advertiser_id,
        event_set_id,
        name=optional_str(body, "name"),
        description=optional_str(body, "description"),
        auto_tracking=optional_bool(body, "auto_tracking"),
    )
    if updated is None:
        raise _no_such_set(event_set_id)
    return _offline_json(updated)


def offline_delete(ctx: SandboxContext, req: ApiRequest) -> object:
    """``POST offline/delete/``."""
    advertiser_id, body = _advertiser(ctx, req)
    event_set_id = required_id(body, "event_set_id")
    if not ctx.world.delete_offline_set(advertiser_id, event_set_id):
        raise _no_such_set(event_set_id)
    return {}


def crm_list(ctx: SandboxContext, req: ApiRequest) -> object:
    """``GET crm/list/``: exact ``name`` (1-40 chars), ``event_set_ids`` (at most 50)."""
    advertiser_id, q = _advertiser(ctx, req)
    name = optional_str(q, "name", max_length=MAX_CRM_NAME)
    ids = id_list(q, "event_set_ids", max_items=MAX_CRM_SETS_PER_ADVERTISER)
    sets = _filtered(ctx.world.event_sets("crm", advertiser_id), name, ids)
    return {
        "crm_event_sets": [
            {"event_set_id": s.event_set_id, "name": s.name, "create_time": iso_time(s.create_time)}
            for s in sets
        ]
    }


def app_list(ctx: SandboxContext, req: ApiRequest) -> object:
    """``GET app/list/``."""
    advertiser_id, _ = _advertiser(ctx, req)
    return {
        "apps": [
            {"app_id": a.app_id, "app_name": a.app_name, "advertiser_id": a.advertiser_id}
            for a in ctx.world.apps(advertiser_id)
        ]
    }


def _filtered(sets: list[EventSet], name: str | None, ids: list[str] | None) -> list[EventSet]:
    # Both filters given means their intersection, as /crm/list/ documents.
    return [
        s
        for s in sets
        if (name is None or s.name == name) and (ids is None or s.event_set_id in ids)
    ]


def _pixel_json(p: Pixel) -> dict[str, Any]:
    return {
        "pixel_id": p.pixel_id,
        "pixel_code": p.pixel_code,
        "pixel_name": p.pixel_name,
        "pixel_setup_mode": "DEVELOPER",
        "create_time": iso_time(p.create_time),
        "events": [],
    }


def _offline_json(s: EventSet) -> dict[str, Any]:
    return {
        "event_set_id": s.event_set_id,
        "name": s.name,
        "advertiser_id": s.advertiser_id,
        "description": s.description,
        "auto_tracking": s.auto_tracking,
        "create_time": iso_time(s.create_time),
        "update_time": iso_time(s.update_time),
    }


def _no_such_set(event_set_id: str) -> ApiError:
    return ApiError(CODE_NOT_FOUND, f"Offline event set {event_set_id} does not exist.")

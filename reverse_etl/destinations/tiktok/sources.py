"""Turn the configured event source (pixel, offline/CRM event set, app) into the ID TikTok needs.

A destination names its event source in one of three ways (``target_event_source``):

* ``ID``   - ``event_source_id`` is used as written, without a network call;
* ``NAME`` - the source is looked up by its exact name in the advertiser's account;
* ``NEW``  - looked up by name, and created if it does not exist yet (WEB and OFFLINE only,
  because TikTok has no create API for CRM event sets or apps).

The list endpoints filter names loosely (the pixel filter is a substring match) and TikTok does not
promise unique names, so matching is always exact and done here, and several matches are an
error rather than a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from reverse_etl.destinations.tiktok.vocab import API_VERSION, EVENT_SOURCES
from reverse_etl.errors import ConfigError, Problem, TerminalDestinationError

DataSource = Literal["WEB", "APP", "OFFLINE", "CRM"]
Target = Literal["ID", "NAME", "NEW"]

TARGETS: Final = ("ID", "NAME", "NEW")
CREATABLE_SOURCES: Final = ("WEB", "OFFLINE")
MAX_PIXEL_NAME_LENGTH: Final = 40
MAX_NAME_FILTER_LENGTH: Final = 40
PIXEL_PAGE_SIZE: Final = 20  # the API's maximum: fewer round trips for big accounts
# A guard against a server whose page_info never ends; 500 pages is 10 000 pixels. A listing
# longer than that with no match is an error (``_past_the_cap``), never "not found".
MAX_PAGES: Final = 500
OFFLINE_DESCRIPTION: Final = "Created by retl"

_BASE: Final = f"/open_api/{API_VERSION}"
PIXEL_LIST_PATH: Final = f"{_BASE}/pixel/list/"
PIXEL_CREATE_PATH: Final = f"{_BASE}/pixel/create/"
OFFLINE_GET_PATH: Final = f"{_BASE}/offline/get/"
OFFLINE_CREATE_PATH: Final = f"{_BASE}/offline/create/"
CRM_LIST_PATH: Final = f"{_BASE}/crm/list/"
APP_LIST_PATH: Final = f"{_BASE}/app/list/"


class ApiClient(Protocol):
    """What resolution needs from ``TikTokClient``: one envelope-unwrapping call."""

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        authenticated: bool = True,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class EventSourceRequest:
    """The event source as the user configured it in destinations.yml."""

    data_source: DataSource
    target: Target
    event_source_id: str | None = None
    event_source_name: str | None = None
    advertiser_id: str | None = None
    # Sent to /pixel/create/ only when configured, as to /event/track/: the field is optional
    # and TikTok refuses a partner name it has not registered (40063, the reference's §11).
    partner_name: str | None = None


@dataclass(frozen=True)
class ResolvedEventSource:
    """The event source as ``/event/track/`` wants it, and how we got there."""

    event_source: str  # payload spelling: "web", "app", "offline", "crm"
    event_source_id: str
    how: Literal["configured", "found", "created"]
    name: str | None = None


@dataclass(frozen=True)
class _SourceKind:
    """How one data source's list endpoint spells things."""

    noun: str
    list_path: str
    list_key: str
    name_field: str
    id_field: str
    paged: bool
    name_filter: bool = True


_KINDS: Final[Mapping[str, _SourceKind]] = {
    # pixel_code, not pixel_id: the code is what Events Manager shows and event/track accepts.
    "WEB": _SourceKind("pixel", PIXEL_LIST_PATH, "pixels", "pixel_name", "pixel_code", True),
    "OFFLINE": _SourceKind(
        "offline event set", OFFLINE_GET_PATH, "event_set_list", "name", "event_set_id", False
    ),
    "CRM": _SourceKind(
        "CRM event set", CRM_LIST_PATH, "crm_event_sets", "name", "event_set_id", False
    ),
    # /app/list/ has no name filter: the whole list comes back and is matched here.
    "APP": _SourceKind("app", APP_LIST_PATH, "apps", "app_name", "app_id", False, False),
}


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def validate_request(request: EventSourceRequest) -> list[Problem]:
    """Every cross-field problem in ``request`` at once; an empty list means it is usable.

    Pure: no network. Keys are the destinations.yml keys so the CLI can point at them.
    """
    problems: list[Problem] = []
    if request.data_source not in EVENT_SOURCES:
        problems.append(
            Problem(
                f"unknown event data source {request.data_source!r}",
                key="event_data_source",
                hint="use one of " + ", ".join(EVENT_SOURCES),
            )
        )
    if request.target not in TARGETS:
        problems.append(
            Problem(
                f"unknown target_event_source {request.target!r}",
                key="target_event_source",
                hint="use one of " + ", ".join(TARGETS),
            )
        )
        return problems
    if request.target == "ID":
        if _blank(request.event_source_id):
            problems.append(
                Problem(
                    "target_event_source: ID needs event_source_id",
                    key="event_source_id",
                    hint="copy the ID from TikTok Events Manager, or use target_event_source: NAME",
                )
            )
        return problems
    if _blank(request.advertiser_id):
        problems.append(
            Problem(
                f"target_event_source: {request.target} needs advertiser_id to look the source up",
                key="advertiser_id",
                hint="set advertiser_id (shown by `retl auth tiktok`), or use an event_source_id",
            )
        )
    if _blank(request.event_source_name):
        problems.append(
            Problem(
                f"target_event_source: {request.target} needs event_source_name",
                key="event_source_name",
                hint="set event_source_name to the name shown in TikTok Events Manager",
            )
        )
    if request.target == "NEW" and request.data_source not in CREATABLE_SOURCES:
        problems.append(
            Problem(
                f"retl does not create {request.data_source} event sources (WEB and OFFLINE "
                "only, as TikTok's connector)",
                key="target_event_source",
                hint="create it in TikTok Events Manager, then use target_event_source: NAME or ID",
            )
        )
    return problems


def resolve_event_source(client: ApiClient, request: EventSourceRequest) -> ResolvedEventSource:
    """Resolve ``request`` to the ``event_source``/``event_source_id`` pair for event/track.

    Raises :class:`ConfigError` when the configuration cannot work (missing fields, no or several
    sources with that name), and whatever ``client.call`` raises for API failures.
    """
    problems = validate_request(request)
    if problems:
        raise ConfigError.from_problems(problems)
    event_source = EVENT_SOURCES[request.data_source]
    if request.target == "ID":
        assert request.event_source_id is not None  # checked by validate_request
        return ResolvedEventSource(
            event_source, request.event_source_id.strip(), "configured", request.event_source_name
        )
    assert request.advertiser_id is not None and request.event_source_name is not None
    advertiser_id = request.advertiser_id.strip()
    name = request.event_source_name
    kind = _KINDS[request.data_source]
    if request.target == "NEW" and request.data_source == "WEB":
        _check_pixel_name(name)  # before any call: a bad name should not cost a round trip
    matches = _find_by_name(client, kind, advertiser_id, name)
    if len(matches) > 1:
        raise ConfigError(
            f"{len(matches)} {kind.noun}s are named {name!r} in advertiser {advertiser_id}: "
            + ", ".join(matches),
            key="event_source_name",
            hint="set target_event_source: ID and event_source_id to the one you mean",
        )
    if matches:
        return ResolvedEventSource(event_source, matches[0], "found", name)
    if request.target == "NAME":
        raise ConfigError(
            f"no {kind.noun} named {name!r} in advertiser {advertiser_id}",
            key="event_source_name",
            hint="create it in TikTok Events Manager or use target_event_source: NEW"
            if request.data_source in CREATABLE_SOURCES
            else "create it in TikTok Events Manager, or check the name and advertiser_id",
        )
    return ResolvedEventSource(
        event_source,
        _create(client, request.data_source, advertiser_id, name, request.partner_name),
        "created",
        name,
    )


def _check_pixel_name(name: str) -> None:
    if not 1 <= len(name) <= MAX_PIXEL_NAME_LENGTH or not name.strip():
        raise ConfigError(
            f"a pixel name must be 1 to {MAX_PIXEL_NAME_LENGTH} characters, "
            f"{name!r} has {len(name)}",
            key="event_source_name",
            hint="shorten event_source_name",
        )


def find_event_sources(
    client: ApiClient,
    data_source: DataSource,
    advertiser_id: str,
    *,
    name: str | None = None,
    event_source_id: str | None = None,
) -> list[str]:
    """IDs of the advertiser's sources of this kind with exactly this ``event_source_id`` or,
    without one, this ``name``. Read-only: the list calls NAME resolution makes (``retl check``).
    """
    kind = _KINDS[data_source]
    if event_source_id is None:
        return _find_by_name(client, kind, advertiser_id, name or "")
    filters: dict[str, Any] = {}
    if data_source == "WEB":
        filters["code"] = event_source_id
    elif data_source in ("OFFLINE", "CRM"):
        filters["event_set_ids"] = [event_source_id]
    # /app/list/ has no ID filter either: the whole list is matched here.
    return _find(client, kind, advertiser_id, kind.id_field, event_source_id, filters=filters)


def _find_by_name(client: ApiClient, kind: _SourceKind, advertiser_id: str, name: str) -> list[str]:
    """IDs of every source whose name equals ``name`` exactly, over all pages."""
    filters: dict[str, Any] = {}
    if kind.name_filter and len(name) <= MAX_NAME_FILTER_LENGTH:
        # Only narrows the listing (substring or exact, depending on the endpoint); the exact
        # match below decides. /crm/list/ rejects longer filters, so those list everything.
        filters["name"] = name
    return _find(client, kind, advertiser_id, kind.name_field, name, filters=filters)


def _find(
    client: ApiClient,
    kind: _SourceKind,
    advertiser_id: str,
    field: str,
    value: str,
    *,
    filters: Mapping[str, Any],
) -> list[str]:
    """IDs of every source whose ``field`` equals ``value`` exactly, over all pages."""
    params: dict[str, Any] = {"advertiser_id": advertiser_id, **filters}
    if kind.paged:
        params["page_size"] = PIXEL_PAGE_SIZE
    found: list[str] = []
    page = 1
    while True:
        if kind.paged or page > 1:
            params["page"] = page
        data = client.call("GET", kind.list_path, params=params)
        for item in data.get(kind.list_key) or ():
            # str(): an ID may come back as a JSON number; names are strings either way.
            if isinstance(item, Mapping) and str(item.get(field) or "") == value:
                source_id = item.get(kind.id_field)
                if source_id not in (None, ""):
                    found.append(str(source_id))
        page_info = data.get("page_info")
        total_pages = page_info.get("total_page") if isinstance(page_info, Mapping) else None
        if not isinstance(total_pages, int) or page >= total_pages:
            return found
        if page >= MAX_PAGES:
            if found:
                return found
            # Pages remain unread: "not found" here could be wrong, and for NEW would create
            # a second source of that name. Say so rather than guess.
            raise _past_the_cap(kind, advertiser_id, field, value, total_pages)
        page += 1


def _past_the_cap(
    kind: _SourceKind, advertiser_id: str, field: str, value: str, total_pages: int
) -> ConfigError:
    by_id = field == kind.id_field
    what = f"{kind.noun} {value}" if by_id else f"{kind.noun} named {value!r}"
    return ConfigError(
        f"no {what} in the first {MAX_PAGES} of the {total_pages} pages TikTok lists for "
        f"advertiser {advertiser_id}; retl reads no further, so it cannot tell whether one exists",
        key="event_source_id" if by_id else "event_source_name",
        hint="check event_source_id against TikTok Events Manager (a sync uses it without listing)"
        if by_id
        else f"set target_event_source: ID and event_source_id to the {kind.noun}'s ID from "
        f"TikTok Events Manager (create the {kind.noun} there first if it does not exist)",
    )


def _create(
    client: ApiClient, data_source: str, advertiser_id: str, name: str, partner_name: str | None
) -> str:
    if data_source == "WEB":
        body = {"advertiser_id": advertiser_id, "pixel_name": name}
        if partner_name is not None:
            body["partner_name"] = partner_name
        path, id_field = PIXEL_CREATE_PATH, "pixel_code"
    else:
        body = {"advertiser_id": advertiser_id, "name": name, "description": OFFLINE_DESCRIPTION}
        path, id_field = OFFLINE_CREATE_PATH, "event_set_id"
    data = client.call("POST", path, json=body)
    source_id = data.get(id_field)
    if source_id in (None, ""):
        raise TerminalDestinationError(
            f"TikTok created {name!r} but its answer had no {id_field}",
            key="event_source_name",
            hint="look the new source up in Events Manager and use target_event_source: ID",
        )
    return str(source_id)

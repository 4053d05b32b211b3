"""resolve_event_source and validate_request, against the sandbox over loopback HTTP."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reverse_etl.destinations.tiktok import sources
from reverse_etl.destinations.tiktok.sources import (
    PIXEL_CREATE_PATH,
    PIXEL_LIST_PATH,
    EventSourceRequest,
    ResolvedEventSource,
    resolve_event_source,
    validate_request,
)
from reverse_etl.errors import ConfigError
from reverse_etl.sandbox import SandboxWorld

from .conftest import ADVERTISER, NoNetworkClient, RecordingClient

DEMO_PIXEL_CODE = "CSANDBOXDEMOPIXEL001"
DEMO_OFFLINE_ID = "7100000000000000001"
DEMO_CRM_ID = "7200000000000000001"
DEMO_APP_ID = "7300000000000000001"


def by_name(source: str, name: str, target: str = "NAME", **kw: Any) -> EventSourceRequest:
    return EventSourceRequest(
        data_source=source,  # type: ignore[arg-type]
        target=target,  # type: ignore[arg-type]
        event_source_id=kw.get("event_source_id"),
        event_source_name=name,
        advertiser_id=kw.get("advertiser_id", ADVERTISER),
    )


# --------------------------------------------------------------------------- validate_request


@pytest.mark.parametrize(
    ("request_kw", "keys"),
    [
        ({"data_source": "WEB", "target": "ID", "event_source_id": "C1"}, []),
        ({"data_source": "WEB", "target": "ID"}, ["event_source_id"]),
        ({"data_source": "CRM", "target": "ID", "event_source_id": "  "}, ["event_source_id"]),
        (
            {
                "data_source": "WEB",
                "target": "NAME",
                "event_source_name": "x",
                "advertiser_id": "1",
            },
            [],
        ),
        ({"data_source": "WEB", "target": "NAME", "event_source_name": "x"}, ["advertiser_id"]),
        ({"data_source": "OFFLINE", "target": "NAME", "advertiser_id": "1"}, ["event_source_name"]),
        ({"data_source": "APP", "target": "NAME"}, ["advertiser_id", "event_source_name"]),
        (
            {
                "data_source": "OFFLINE",
                "target": "NEW",
                "event_source_name": "x",
                "advertiser_id": "1",
            },
            [],
        ),
        (
            {"data_source": "APP", "target": "NEW", "event_source_name": "x", "advertiser_id": "1"},
            ["target_event_source"],
        ),
        (
            {"data_source": "CRM", "target": "NEW"},
            ["advertiser_id", "event_source_name", "target_event_source"],
        ),
        ({"data_source": "WEB", "target": "BOTH"}, ["target_event_source"]),
        (
            {"data_source": "EMAIL", "target": "ID", "event_source_id": "1"},
            ["event_data_source"],
        ),
    ],
)
def test_validate_request(request_kw: dict[str, Any], keys: list[str]) -> None:
    request = EventSourceRequest(
        data_source=request_kw["data_source"],
        target=request_kw["target"],
        event_source_id=request_kw.get("event_source_id"),
        event_source_name=request_kw.get("event_source_name"),
        advertiser_id=request_kw.get("advertiser_id"),
    )
    problems = validate_request(request)
    assert [p.key for p in problems] == keys
    assert all(p.hint for p in problems)


def test_resolve_refuses_invalid_request_listing_every_problem() -> None:
    request = EventSourceRequest("CRM", "NEW", None, None, None)
    with pytest.raises(ConfigError) as info:
        resolve_event_source(NoNetworkClient(), request)
    assert {p.key for p in info.value.problems} == {
        "advertiser_id",
        "event_source_name",
        "target_event_source",
    }


# --------------------------------------------------------------------------- ID


def test_id_is_used_as_is_without_a_call() -> None:
    request = EventSourceRequest("OFFLINE", "ID", "7100000000000000009", None, None)
    resolved = resolve_event_source(NoNetworkClient(), request)
    assert resolved == ResolvedEventSource("offline", "7100000000000000009", "configured", None)


# --------------------------------------------------------------------------- NAME


def test_web_name_pages_and_matches_exactly(world: SandboxWorld, client: RecordingClient) -> None:
    # 25 pixels contain "Checkout" as a substring; the exact one is created last, on page 2.
    for i in range(25):
        world.add_pixel(ADVERTISER, f"Checkout copy {i:02d}")
    world.add_pixel(ADVERTISER, "Old Checkout")
    world.add_pixel(ADVERTISER, "Checkout", code="CEXACTCHECKOUT000001")

    resolved = resolve_event_source(client, by_name("WEB", "Checkout"))

    assert resolved == ResolvedEventSource("web", "CEXACTCHECKOUT000001", "found", "Checkout")
    pages = [params for _, path, params in client.calls if path == PIXEL_LIST_PATH]
    assert [p["page"] for p in pages] == [1, 2]
    assert all(p["page_size"] <= 20 and p["name"] == "Checkout" for p in pages)


def test_web_name_finds_the_demo_pixel_code(client: RecordingClient) -> None:
    resolved = resolve_event_source(client, by_name("WEB", "Demo Shop Pixel"))
    assert resolved.event_source_id == DEMO_PIXEL_CODE
    assert resolved.how == "found"


def test_offline_name_matches_exactly(world: SandboxWorld, client: RecordingClient) -> None:
    world.add_offline_set(ADVERTISER, "Demo Stores West")
    world.add_offline_set(ADVERTISER, "Old Demo Stores")
    resolved = resolve_event_source(client, by_name("OFFLINE", "Demo Stores"))
    assert resolved == ResolvedEventSource("offline", DEMO_OFFLINE_ID, "found", "Demo Stores")


def test_crm_name(client: RecordingClient) -> None:
    resolved = resolve_event_source(client, by_name("CRM", "Demo CRM"))
    assert resolved == ResolvedEventSource("crm", DEMO_CRM_ID, "found", "Demo CRM")


def test_app_name(world: SandboxWorld, client: RecordingClient) -> None:
    world.add_app(ADVERTISER, "7300000000000000002", "Demo App Lite")
    resolved = resolve_event_source(client, by_name("APP", "Demo App"))
    assert resolved == ResolvedEventSource("app", DEMO_APP_ID, "found", "Demo App")


@pytest.mark.parametrize("source", ["WEB", "OFFLINE", "CRM", "APP"])
def test_no_match_names_the_name_the_advertiser_and_the_fix(
    source: str, client: RecordingClient
) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_event_source(client, by_name(source, "Nothing Like This"))
    error = info.value
    assert error.key == "event_source_name"
    assert "'Nothing Like This'" in error.message and ADVERTISER in error.message
    assert "Events Manager" in (error.hint or "")
    if source in ("WEB", "OFFLINE"):
        assert "target_event_source: NEW" in (error.hint or "")


def test_substring_only_matches_are_no_match(world: SandboxWorld, client: RecordingClient) -> None:
    world.add_pixel(ADVERTISER, "Demo Shop Pixel 2")
    with pytest.raises(ConfigError, match="no pixel named 'Demo Shop'"):
        resolve_event_source(client, by_name("WEB", "Demo Shop"))


@pytest.mark.parametrize("source", ["WEB", "OFFLINE", "CRM", "APP"])
def test_ambiguous_name_lists_the_ids(
    source: str, world: SandboxWorld, client: RecordingClient
) -> None:
    for i in range(2):
        if source == "WEB":
            world.add_pixel(ADVERTISER, "Twin")
        elif source == "OFFLINE":
            world.add_offline_set(ADVERTISER, "Twin")
        elif source == "CRM":
            world.add_crm_set(ADVERTISER, "Twin")
        else:
            world.add_app(ADVERTISER, f"730000000000000009{i}", "Twin")
    with pytest.raises(ConfigError) as info:
        resolve_event_source(client, by_name(source, "Twin"))
    error = info.value
    assert error.key == "event_source_name"
    assert "2 " in error.message and "'Twin'" in error.message
    assert "target_event_source: ID" in (error.hint or "")
    ids = error.message.rsplit(": ", 1)[1].split(", ")
    assert len(set(ids)) == 2


def _pixels_past_a_two_page_cap(world: SandboxWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three pages of pixels containing "Checkout" (20 a page), the exact one last (page 3),
    with retl's page cap lowered to 2 (it is 500: 10 000 pixels would be slow to seed)."""
    monkeypatch.setattr(sources, "MAX_PAGES", 2)
    for i in range(45):
        world.add_pixel(ADVERTISER, f"Checkout copy {i:02d}")
    world.add_pixel(ADVERTISER, "Checkout", code="CEXACTCHECKOUT000001")


@pytest.mark.parametrize("target", ["NAME", "NEW"])
def test_a_listing_past_the_page_cap_is_an_error_not_a_miss(
    target: str, world: SandboxWorld, client: RecordingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopping at the cap said "no pixel named ...", or for NEW created a second one, when
    the match was on a page retl did not read."""
    _pixels_past_a_two_page_cap(world, monkeypatch)

    with pytest.raises(ConfigError) as info:
        resolve_event_source(client, by_name("WEB", "Checkout", target=target))

    (problem,) = info.value.problems
    assert problem.key == "event_source_name"
    assert "first 2 of the 3 pages" in problem.message and ADVERTISER in problem.message
    assert "target_event_source: ID and event_source_id" in (problem.hint or "")
    pages = [params["page"] for _, path, params in client.calls if path == PIXEL_LIST_PATH]
    assert pages == [1, 2]
    assert client.paths("POST") == []  # nothing created
    assert sum(p.pixel_name == "Checkout" for p in world.pixels(ADVERTISER)) == 1


def test_a_match_within_the_cap_is_found_and_a_short_listing_is_a_plain_miss(
    world: SandboxWorld, client: RecordingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pixels_past_a_two_page_cap(world, monkeypatch)
    monkeypatch.setattr(sources, "MAX_PAGES", 3)  # every page read: the cap is not reached
    resolved = resolve_event_source(client, by_name("WEB", "Checkout"))
    assert resolved.event_source_id == "CEXACTCHECKOUT000001"
    with pytest.raises(ConfigError, match="no pixel named 'Checkout copy'"):
        resolve_event_source(client, by_name("WEB", "Checkout copy"))


def test_find_event_sources_says_the_listing_was_cut_rather_than_missing(
    world: SandboxWorld, client: RecordingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pixels_past_a_two_page_cap(world, monkeypatch)
    with pytest.raises(ConfigError, match="first 2 of the 3 pages"):
        sources.find_event_sources(client, "WEB", ADVERTISER, name="Checkout")


# --------------------------------------------------------------------------- NEW


def _count_exact(world: SandboxWorld, source: str, name: str) -> int:
    """How many sources the sandbox world now holds under exactly ``name``."""
    if source == "WEB":
        return sum(p.pixel_name == name for p in world.pixels(ADVERTISER))
    return sum(s.name == name for s in world.event_sets("offline", ADVERTISER))


@pytest.mark.parametrize(("source", "event_source"), [("WEB", "web"), ("OFFLINE", "offline")])
def test_new_creates_once_then_reuses(
    source: str, event_source: str, world: SandboxWorld, client: RecordingClient
) -> None:
    request = by_name(source, "retl Orders", target="NEW")

    first = resolve_event_source(client, request)
    assert first.how == "created" and first.event_source == event_source
    assert first.name == "retl Orders" and first.event_source_id
    creates = client.paths("POST")
    assert len(creates) == 1

    second = resolve_event_source(client, request)
    assert second == ResolvedEventSource(
        event_source, first.event_source_id, "found", "retl Orders"
    )
    assert client.paths("POST") == creates  # no second create
    assert _count_exact(world, source, "retl Orders") == 1


@pytest.mark.parametrize("partner", [None, "Acme"])
def test_new_pixel_carries_partner_name_only_when_configured(
    client: RecordingClient, partner: str | None
) -> None:
    """partner_name is optional on /pixel/create/ and TikTok refuses one it has not registered
    (40063, the reference's §11): retl sent its own, unregistered "retl" on every create."""
    request = by_name("WEB", "retl Leads", target="NEW")
    if partner is not None:
        request = replace(request, partner_name=partner)
    resolve_event_source(client, request)
    [(_, path, body)] = [c for c in client.calls if c[0] == "POST"]
    assert path == PIXEL_CREATE_PATH
    expected = {"advertiser_id": ADVERTISER, "pixel_name": "retl Leads"}
    assert body == expected | ({"partner_name": partner} if partner else {})


def test_new_offline_set_is_usable_by_name(client: RecordingClient) -> None:
    created = resolve_event_source(client, by_name("OFFLINE", "retl Stores", target="NEW"))
    found = resolve_event_source(client, by_name("OFFLINE", "retl Stores"))
    assert found.event_source_id == created.event_source_id


@pytest.mark.parametrize("name", ["x" * 41, " "])
def test_new_pixel_name_is_checked_before_any_call(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_event_source(NoNetworkClient(), by_name("WEB", name, target="NEW"))
    assert info.value.key == "event_source_name"


@pytest.mark.parametrize("source", ["APP", "CRM"])
def test_new_is_refused_for_app_and_crm(source: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_event_source(NoNetworkClient(), by_name(source, "Whatever", target="NEW"))
    assert info.value.key == "target_event_source"
    assert "Events Manager" in (info.value.hint or "")

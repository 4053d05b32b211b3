"""``/event/track/`` checks: each rule, with the JSON path TikTok-style in the message."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reverse_etl.destinations.tiktok.vocab import MAX_EVENTS_PER_REQUEST
from reverse_etl.sandbox import (
    DEMO_ADVERTISER_ID,
    DEMO_CRM_SET_ID,
    DEMO_OFFLINE_SET_ID,
    DEMO_PIXEL_CODE,
    DEMO_TIKTOK_APP_ID,
    SandboxOptions,
    SandboxServer,
    SandboxWorld,
)

from .helpers import HASH, T0, TRACK, post_track, track_body, web_event

SOURCE_IDS = {
    "web": DEMO_PIXEL_CODE,
    "app": DEMO_TIKTOK_APP_ID,
    "offline": DEMO_OFFLINE_SET_ID,
    "crm": DEMO_CRM_SET_ID,
}


def base_event(source: str) -> dict[str, Any]:
    if source == "web":
        return web_event()
    event: dict[str, Any] = {"event": "Purchase", "event_time": T0, "event_id": "e-1"}
    if source == "app":
        event.update(event="InstallApp", app={"app_id": "343200656"})
    if source == "crm":
        event.update(
            event="Qualified Lead", lead={"lead_id": "7123", "lead_event_source": "HubSpot"}
        )
    return event


def changed(event: dict[str, Any], path: str, value: Any = ..., *, delete: bool = False) -> Any:
    """Set (or delete) a dotted path inside a copy of ``event``."""
    parts = path.split(".")
    target: Any = event
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    last: Any = int(parts[-1]) if isinstance(target, list) else parts[-1]
    if delete:
        del target[last]
    else:
        target[last] = value
    return event


@pytest.mark.parametrize("source", sorted(SOURCE_IDS))
def test_valid_event_of_each_source_is_accepted(client: httpx.Client, source: str) -> None:
    body = post_track(client, [base_event(source)], source=source, source_id=SOURCE_IDS[source])
    assert body["code"] == 0, body["message"]


CASES: list[tuple[str, str, Any, str]] = [
    # (source, path, value or None to delete, expected message after "data.1.")
    ("web", "event", None, "event: Missing data for required field"),
    ("web", "event", "", "event: Missing data for required field"),
    ("web", "event", 5, "event: Not a valid string"),
    (
        "offline",
        "event",
        "MyCustom",
        "event: 'MyCustom' is not a standard event; offline events must use standard event names",
    ),
    ("web", "event_time", None, "event_time: Missing data for required field"),
    ("web", "event_time", "1750000000", "event_time: Not a valid integer"),
    ("web", "event_time", 1750000000.5, "event_time: Not a valid integer"),
    ("web", "event_time", True, "event_time: Not a valid integer"),
    ("web", "event_time", 1750000000000, "event_time: Not a Unix timestamp in seconds"),
    ("web", "event_id", 273196, "event_id: Not a valid string"),
    ("web", "user", "x", "user: Not a valid mapping type"),
    ("web", "user.email", "alice@example.com", "user.email: Not a valid SHA-256 hex digest"),
    ("web", "user.email", HASH[:-1], "user.email: Not a valid SHA-256 hex digest"),
    ("web", "user.phone", [HASH, "+12133734253"], "user.phone.1: Not a valid SHA-256 hex digest"),
    ("web", "user.external_id", 42, "user.external_id: Not a valid SHA-256 hex digest"),
    ("web", "user.ip", 123, "user.ip: Not a valid string"),
    ("web", "user.user_agent", ["UA"], "user.user_agent: Not a valid string"),
    ("web", "user.ttclid", 1, "user.ttclid: Not a valid string"),
    ("web", "user.ttp", 1, "user.ttp: Not a valid string"),
    ("web", "user.locale", 1, "user.locale: Not a valid string"),
    ("web", "properties", [], "properties: Not a valid mapping type"),
    ("web", "properties.content_id", 1077218, "properties.content_id: Not a valid string"),
    ("web", "properties.order_id", 5044668852556, "properties.order_id: Not a valid string"),
    ("web", "properties.shop_id", 7, "properties.shop_id: Not a valid string"),
    ("web", "properties.value", "16.50", "properties.value: Not a valid number"),
    ("web", "properties.value", False, "properties.value: Not a valid number"),
    ("web", "properties.num_items", 2.0, "properties.num_items: Not a valid integer"),
    ("web", "properties.currency", "XYZ", "properties.currency: 'XYZ' is not a supported currency"),
    ("web", "properties.currency", 840, "properties.currency: Not a valid string"),
    ("web", "properties.contents", {}, "properties.contents: Not a valid list"),
    ("web", "properties.contents.0", "x", "properties.contents.0: Not a valid mapping type"),
    (
        "web",
        "properties.contents.0.content_id",
        1077218,
        "properties.contents.0.content_id: Not a valid string",
    ),
    ("web", "properties.contents.0.price", "8", "properties.contents.0.price: Not a valid number"),
    (
        "web",
        "properties.contents.0.quantity",
        1.5,
        "properties.contents.0.quantity: Not a valid integer",
    ),
    ("web", "properties.content_ids", "1077218", "properties.content_ids: Not a valid list"),
    ("web", "properties.content_ids.0", 1077218, "properties.content_ids.0: Not a valid string"),
    ("web", "limited_data_use", "false", "limited_data_use: Not a valid boolean"),
    (
        "offline",
        "limited_data_use",
        False,
        "limited_data_use: Only allowed for event_source web or app",
    ),
    ("crm", "limited_data_use", True, "limited_data_use: Only allowed for event_source web or app"),
    ("app", "app", None, "app: Missing data for required field"),
    ("app", "app.app_id", None, "app.app_id: Missing data for required field"),
    ("app", "app.app_id", 343200656, "app.app_id: Not a valid string"),
    ("crm", "lead", None, "lead: Missing data for required field"),
    ("crm", "lead.lead_id", None, "lead.lead_id: Missing data for required field"),
    ("crm", "lead.lead_id", 7123, "lead.lead_id: Not a valid string"),
]


@pytest.mark.parametrize(("source", "path", "value", "message"), CASES)
def test_invalid_event_rejects_whole_request_naming_its_path(
    client: httpx.Client, server: SandboxServer, source: str, path: str, value: Any, message: str
) -> None:
    bad = changed(base_event(source), path, value, delete=value is None)
    body = post_track(
        client, [base_event(source), bad], source=source, source_id=SOURCE_IDS[source]
    )
    assert body["code"] == 40002
    assert body["message"].startswith(f"data.1.{message}"), body["message"]
    assert server.events() == []
    assert server.stats.rejected_by_code() == {40002: 1}


def test_standard_legacy_and_app_standard_names(client: httpx.Client) -> None:
    offline = [base_event("offline") | {"event": name} for name in ("CompletePayment", "Lead")]
    assert post_track(client, offline, source="offline", source_id=DEMO_OFFLINE_SET_ID)["code"] == 0
    # "Checkout" and "Registration" are reserved on the web but standard app events.
    app = [base_event("app") | {"event": name} for name in ("Checkout", "Registration")]
    assert post_track(client, app, source="app", source_id=DEMO_TIKTOK_APP_ID)["code"] == 0
    web = [web_event(event="MyCustomEvent")]
    assert post_track(client, web)["code"] == 0
    # Reserved names are mapped by TikTok to other events (its help centre), not refused.
    web = [web_event(event=name) for name in ("Browse", "Registration", "ClickForm")]
    assert post_track(client, web)["code"] == 0
    app = [base_event("app") | {"event": "ClickForm"}]
    assert post_track(client, app, source="app", source_id=DEMO_TIKTOK_APP_ID)["code"] == 0


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("event_id", "data.1.event_id"),
        ("user.ip", "data.1.user.ip"),
        ("properties.contents.0.content_id", "data.1.properties.contents.0.content_id"),
        ("page.url", "data.1.page.url"),
        ("properties.custom_field", "data.1.properties.custom_field"),
    ],
)
def test_null_anywhere_in_an_event_is_rejected(client: httpx.Client, path: str, where: str) -> None:
    body = post_track(client, [web_event(), changed(web_event(), path, None)])
    assert (body["code"], body["message"]) == (40002, f"{where}: Field may not be null")


def test_null_event_and_null_top_level_strings(client: httpx.Client) -> None:
    assert post_track(client, [None])["message"] == "data.0: Field may not be null"
    body = post_track(client, [web_event()], test_event_code=None)
    assert body["message"] == "test_event_code: Field may not be null"
    assert post_track(client, [web_event()], partner_name=5)["message"] == (
        "partner_name: Not a valid string"
    )


def test_the_word_null_inside_a_string_is_fine(client: httpx.Client) -> None:
    assert post_track(client, [web_event(event="nullable")])["code"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"event_source_id": DEMO_PIXEL_CODE, "data": []}, "event_source: Missing data"),
        (
            {"event_source": "tv", "event_source_id": DEMO_PIXEL_CODE},
            "Invalid value for event_source",
        ),
        ({"event_source": "web", "event_source_id": DEMO_PIXEL_CODE}, "data: Missing data"),
        (
            {"event_source": "web", "event_source_id": DEMO_PIXEL_CODE, "data": {}},
            "data: Not a valid list",
        ),
        (
            {"event_source": "web", "event_source_id": DEMO_PIXEL_CODE, "data": []},
            "data: Must contain",
        ),
    ],
)
def test_top_level_checks(client: httpx.Client, body: dict[str, Any], message: str) -> None:
    answer = client.post(TRACK, json=body).json()
    assert answer["code"] == 40002
    assert answer["message"].startswith(message)


@pytest.mark.parametrize(
    ("source", "source_id"),
    [
        ("web", "CNOSUCHPIXEL00000000"),
        ("offline", DEMO_PIXEL_CODE),  # a pixel code sent as an offline set id (STAPE #33)
        ("web", DEMO_OFFLINE_SET_ID),
        ("crm", DEMO_OFFLINE_SET_ID),
        ("app", 7300000000000000001),  # a number, not a JSON string
    ],
)
def test_event_source_id_must_exist_for_its_kind(
    client: httpx.Client, source: str, source_id: Any
) -> None:
    body = post_track(client, [base_event(source)], source=source, source_id=source_id)
    assert (body["code"], body["message"]) == (
        40002,
        "Invalid value for event_source_id: not a valid string.",
    )


def test_more_than_1000_events_rejects_the_whole_request(
    client: httpx.Client, server: SandboxServer
) -> None:
    events = [web_event(event_id=f"e{i}") for i in range(MAX_EVENTS_PER_REQUEST + 1)]
    body = post_track(client, events)
    assert body["code"] == 40002
    assert body["message"].startswith("data: Too many events (1001)")
    assert server.stats.events_accepted == 0
    assert post_track(client, events[:MAX_EVENTS_PER_REQUEST])["code"] == 0
    assert server.stats.max_batch_size == MAX_EVENTS_PER_REQUEST


def test_token_without_access_to_the_source_owner_is_40001() -> None:
    world = SandboxWorld.demo()
    world.add_advertiser("7000000000000000002", "Other")
    world.add_token("other-token", ["7000000000000000002"])
    with SandboxServer(world) as server:
        response = httpx.post(
            server.base_url + TRACK,
            json=track_body([web_event()]),
            headers={"Access-Token": "other-token"},
        )
    body = response.json()
    assert body["code"] == 40001
    assert body["message"].startswith(f"No permission to operate pixel code: {DEMO_PIXEL_CODE}.")
    assert DEMO_ADVERTISER_ID not in body["message"]


def test_unknown_currency_can_be_allowed() -> None:
    options = SandboxOptions(reject_unknown_currency=False)
    with (
        SandboxServer(options=options) as server,
        httpx.Client(base_url=server.base_url, headers={"Access-Token": "sandbox-token"}) as client,
    ):
        event = web_event()
        event["properties"]["currency"] = "XYZ"
        assert post_track(client, [event])["code"] == 0


def test_event_time_window_is_optional_and_configurable(clock: Any) -> None:
    options = SandboxOptions(clock=clock, max_event_age_seconds=7 * 86400, max_future_seconds=300)
    with (
        SandboxServer(options=options) as server,
        httpx.Client(base_url=server.base_url, headers={"Access-Token": "sandbox-token"}) as client,
    ):
        old = web_event(event_time=T0 - 8 * 86400)
        assert post_track(client, [old])["message"] == (
            "data.0.event_time: Event is older than the accepted window"
        )
        future = web_event(event_time=T0 + 3600)
        assert (
            post_track(client, [future])["message"] == "data.0.event_time: Event is in the future"
        )
        assert post_track(client, [web_event(event_time=T0 + 60)])["code"] == 0


def test_validate_false_skips_event_checks() -> None:
    with (
        SandboxServer(options=SandboxOptions(validate=False)) as server,
        httpx.Client(base_url=server.base_url, headers={"Access-Token": "sandbox-token"}) as client,
    ):
        body = post_track(client, [web_event(event_id=5, event_time="soon"), "junk"])
        assert body["code"] == 0
        assert server.stats.events_accepted == 2
        # Top-level checks still apply.
        assert post_track(client, [web_event()] * 1001)["code"] == 40002

"""Pixel, offline, CRM and app management endpoints."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from reverse_etl.sandbox import (
    DEMO_ADVERTISER_ID,
    DEMO_CRM_SET_ID,
    DEMO_OFFLINE_SET_ID,
    DEMO_PIXEL_CODE,
    DEMO_TIKTOK_APP_ID,
    SandboxServer,
)

from .helpers import post_track, web_event

API = "/open_api/v1.3/"
ADV = {"advertiser_id": DEMO_ADVERTISER_ID}


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert body["code"] == 0, body
    return body["data"]


def test_pixel_list_demo(client: httpx.Client) -> None:
    data = ok(client.get(API + "pixel/list/", params=ADV))
    (pixel,) = data["pixels"]
    assert pixel["pixel_code"] == DEMO_PIXEL_CODE
    assert pixel["pixel_name"] == "Demo Shop Pixel"
    assert pixel["pixel_id"].isdigit()
    assert data["page_info"] == {"page": 1, "page_size": 10, "total_number": 1, "total_page": 1}


def test_pixel_list_substring_filter_and_pagination(
    client: httpx.Client, server: SandboxServer
) -> None:
    for i in range(25):
        server.world.add_pixel(DEMO_ADVERTISER_ID, f"Store {i:02d}")
    page = ok(
        client.get(API + "pixel/list/", params={**ADV, "name": "Store", "page": 3, "page_size": 10})
    )
    assert [p["pixel_name"] for p in page["pixels"]] == [f"Store {i}" for i in range(20, 25)]
    assert page["page_info"] == {"page": 3, "page_size": 10, "total_number": 25, "total_page": 3}
    shop = ok(client.get(API + "pixel/list/", params={**ADV, "name": "Shop"}))
    assert [p["pixel_name"] for p in shop["pixels"]] == ["Demo Shop Pixel"]
    latest = ok(
        client.get(API + "pixel/list/", params={**ADV, "order_by": "LATEST_CREATE", "page_size": 1})
    )
    assert latest["pixels"][0]["pixel_name"] == "Store 24"
    by_code = ok(client.get(API + "pixel/list/", params={**ADV, "code": DEMO_PIXEL_CODE}))
    assert len(by_code["pixels"]) == 1
    by_id = ok(
        client.get(
            API + "pixel/list/", params={**ADV, "pixel_id": by_code["pixels"][0]["pixel_id"]}
        )
    )
    assert by_id["pixels"] == by_code["pixels"]


@pytest.mark.parametrize(
    "params", [{"page_size": 21}, {"page_size": 0}, {"page": 0}, {"page": "x"}]
)
def test_pixel_list_bad_paging(client: httpx.Client, params: dict[str, Any]) -> None:
    assert client.get(API + "pixel/list/", params={**ADV, **params}).json()["code"] == 40002


def test_pixel_list_needs_advertiser_and_permission(client: httpx.Client) -> None:
    assert client.get(API + "pixel/list/").json()["code"] == 40002
    other = client.get(API + "pixel/list/", params={"advertiser_id": "7000000000000000999"})
    assert other.json()["code"] == 40001


def test_pixel_create_then_track_with_its_code(client: httpx.Client) -> None:
    created = ok(client.post(API + "pixel/create/", json={**ADV, "pixel_name": "New Pixel"}))
    assert len(created["pixel_code"]) == 20
    assert created["pixel_code"].isalnum() and created["pixel_code"].isupper()
    assert created["pixel_name"] == "New Pixel"
    listed = ok(client.get(API + "pixel/list/", params={**ADV, "name": "New"}))
    assert listed["pixels"][0]["pixel_id"] == created["pixel_id"]
    assert post_track(client, [web_event()], source_id=created["pixel_code"])["code"] == 0


@pytest.mark.parametrize(
    ("name", "message"), [("", "pixel_name cannot be empty."), ("x" * 41, "at most 40")]
)
def test_pixel_create_name_rules(client: httpx.Client, name: str, message: str) -> None:
    body = client.post(API + "pixel/create/", json={**ADV, "pixel_name": name}).json()
    assert body["code"] == 40002
    assert message in body["message"]


def test_offline_create_get_update_delete(client: httpx.Client) -> None:
    created = ok(
        client.post(API + "offline/create/", json={**ADV, "name": "Stores B", "description": "d"})
    )
    set_id = created["event_set_id"]
    got = ok(client.get(API + "offline/get/", params={**ADV, "name": "Stores B"}))
    (entry,) = got["event_set_list"]
    assert set(entry) == {
        "event_set_id", "name", "advertiser_id", "description", "auto_tracking",
        "create_time", "update_time",
    }  # fmt: skip
    assert (entry["event_set_id"], entry["description"], entry["auto_tracking"]) == (
        set_id,
        "d",
        False,
    )
    # "name" is an exact match, not a substring.
    assert (
        ok(client.get(API + "offline/get/", params={**ADV, "name": "Stores"}))["event_set_list"]
        == []
    )
    by_ids = ok(
        client.get(
            API + "offline/get/",
            params={**ADV, "event_set_ids": orjson.dumps([set_id, DEMO_OFFLINE_SET_ID]).decode()},
        )
    )
    assert {s["event_set_id"] for s in by_ids["event_set_list"]} == {set_id, DEMO_OFFLINE_SET_ID}
    updated = ok(
        client.post(
            API + "offline/update/",
            json={**ADV, "event_set_id": set_id, "name": "Stores C", "auto_tracking": True},
        )
    )
    assert (updated["name"], updated["auto_tracking"]) == ("Stores C", True)
    assert ok(client.post(API + "offline/delete/", json={**ADV, "event_set_id": set_id})) == {}
    assert (
        client.post(API + "offline/delete/", json={**ADV, "event_set_id": set_id}).json()["code"]
        == 40007
    )
    gone = ok(client.get(API + "offline/get/", params={**ADV, "event_set_ids": f'["{set_id}"]'}))
    assert gone["event_set_list"] == []


def test_offline_create_requires_name_and_description(client: httpx.Client) -> None:
    assert (
        client.post(API + "offline/create/", json={**ADV, "description": "d"}).json()["code"]
        == 40002
    )
    assert client.post(API + "offline/create/", json={**ADV, "name": "n"}).json()["code"] == 40002


def test_offline_set_receives_events(client: httpx.Client) -> None:
    created = ok(client.post(API + "offline/create/", json={**ADV, "name": "S", "description": ""}))
    event = {"event": "Purchase", "event_time": 1_750_000_000, "event_id": "x"}
    body = post_track(client, [event], source="offline", source_id=created["event_set_id"])
    assert body["code"] == 0


def test_crm_list_exact_name_and_ids(client: httpx.Client, server: SandboxServer) -> None:
    server.world.add_crm_set(DEMO_ADVERTISER_ID, "Demo CRM 2")
    exact = ok(client.get(API + "crm/list/", params={**ADV, "name": "Demo CRM"}))
    (entry,) = exact["crm_event_sets"]
    assert entry["event_set_id"] == DEMO_CRM_SET_ID
    assert entry["create_time"].endswith("Z")
    everything = ok(client.get(API + "crm/list/", params=ADV))
    assert len(everything["crm_event_sets"]) == 2
    ids = ok(
        client.get(API + "crm/list/", params={**ADV, "event_set_ids": f'["{DEMO_CRM_SET_ID}"]'})
    )
    assert [s["name"] for s in ids["crm_event_sets"]] == ["Demo CRM"]
    none = ok(client.get(API + "crm/list/", params={**ADV, "name": "Demo"}))
    assert none["crm_event_sets"] == []
    bad = client.get(API + "crm/list/", params={**ADV, "event_set_ids": "not json"})
    assert bad.json()["code"] == 40002


def test_app_list(client: httpx.Client) -> None:
    data = ok(client.get(API + "app/list/", params=ADV))
    assert data == {
        "apps": [
            {
                "app_id": DEMO_TIKTOK_APP_ID,
                "app_name": "Demo App",
                "advertiser_id": DEMO_ADVERTISER_ID,
            }
        ]
    }


@pytest.mark.parametrize("path", ["pixel/list/", "crm/list/", "offline/get/", "app/list/"])
def test_management_endpoints_need_a_token(server: SandboxServer, path: str) -> None:
    assert httpx.get(server.base_url + API + path, params=ADV).json()["code"] == 40104

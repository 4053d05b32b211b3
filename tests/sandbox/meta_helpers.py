"""Builders shared by the Meta sandbox tests."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import httpx

from reverse_etl.sandbox import DEMO_META_PIXEL_ID, DEMO_TOKEN

from .helpers import T0

VERSION = "v21.0"
EVENTS = f"/{VERSION}/{DEMO_META_PIXEL_ID}/events"
AUTH = {"Authorization": f"Bearer {DEMO_TOKEN}"}


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


EM = sha("alice@example.com")
PH = sha("15551234567")


# Valid app_data for an app event (Meta's App Data Parameters): extinfo's 16 values, in order.
APP_DATA: dict[str, Any] = {
    "advertiser_tracking_enabled": 1,
    "application_tracking_enabled": True,
    "extinfo": [
        "i2", "com.example.app", "1.0", "1.0 long", "17.4.1", "iPhone15,2", "en_US", "PDT",
        "", "1179", "2556", "3", "6", "128", "64", "America/Los_Angeles",
    ],
}  # fmt: skip


def meta_event(**overrides: Any) -> dict[str, Any]:
    """A valid website Purchase touching every checked field."""
    event: dict[str, Any] = {
        "event_name": "Purchase",
        "event_time": T0 - 60,
        "event_id": "order-1",
        "action_source": "website",
        "event_source_url": "https://shop.example/done",
        "referrer_url": "https://shop.example/cart",
        "opt_out": False,
        "user_data": {
            "em": [EM],
            "ph": [PH],
            "fn": sha("alice"),
            "ln": sha("smith"),
            "ge": sha("f"),
            "db": sha("19900102"),
            "ct": sha("paris"),
            "st": sha("ca"),
            "zp": sha("94110"),
            "country": sha("us"),
            "external_id": [sha("customer-42")],
            "client_ip_address": "13.57.97.131",
            "client_user_agent": "Mozilla/5.0",
            "fbc": "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890",
            "fbp": "fb.1.1558571054389.1098115397",
        },
        "custom_data": {
            "value": 16.5,
            "currency": "USD",
            "content_ids": ["1077218"],
            "content_type": "product",
            "contents": [
                {
                    "id": "1077218",
                    "quantity": 2,
                    "item_price": 8,
                    "delivery_category": "home_delivery",
                }
            ],
            "order_id": "5044668852556",
            "num_items": 2,
            "content_name": "Shoes",
        },
        "data_processing_options": ["LDU"],
        "data_processing_options_country": 0,
        "data_processing_options_state": 0,
    }
    event.update(overrides)
    return copy.deepcopy(event)


def post_events(
    client: httpx.Client, events: list[Any], *, path: str = EVENTS, **extra: Any
) -> httpx.Response:
    return client.post(path, json={"data": events, **extra})


def graph_error(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    """The ``error`` object of a Graph error answer, after checking its common shape."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert isinstance(error["fbtrace_id"], str) and error["fbtrace_id"]
    assert response.headers["x-fb-trace-id"] == error["fbtrace_id"]
    assert isinstance(error["message"], str) and error["message"]
    return error

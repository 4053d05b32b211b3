"""Builders shared by the sandbox tests."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import httpx

from reverse_etl.sandbox import DEMO_PIXEL_CODE

TRACK = "/open_api/v1.3/event/track/"
T0 = 1_750_000_000
HASH = hashlib.sha256(b"alice@example.com").hexdigest()


class FakeClock:
    """A settable clock: ``clock()`` returns ``now``."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def web_event(**overrides: Any) -> dict[str, Any]:
    """A valid web event touching every checked field."""
    event: dict[str, Any] = {
        "event": "Purchase",
        "event_time": T0 - 60,
        "event_id": "order-1",
        "user": {
            "email": HASH,
            "phone": [HASH, HASH.upper()],
            "external_id": [HASH],
            "ip": "13.57.97.131",
            "user_agent": "Mozilla/5.0",
            "ttclid": "E.C.P.abc",
            "ttp": "abc",
            "locale": "en-US",
        },
        "properties": {
            "contents": [{"content_id": "1077218", "price": 8, "quantity": 2}],
            "content_ids": ["1077218"],
            "content_id": "1077218",
            "currency": "USD",
            "value": 16.5,
            "num_items": 2,
            "order_id": "5044668852556",
            "shop_id": "shop-1",
        },
        "page": {"url": "https://shop.example/done"},
        "limited_data_use": False,
    }
    event.update(overrides)
    return copy.deepcopy(event)


def track_body(
    events: list[Any], source: str = "web", source_id: str = DEMO_PIXEL_CODE, **extra: Any
) -> dict[str, Any]:
    return {"event_source": source, "event_source_id": source_id, "data": events, **extra}


def post_track(client: httpx.Client, events: list[Any], **kwargs: Any) -> dict[str, Any]:
    response = client.post(TRACK, json=track_body(events, **kwargs))
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body

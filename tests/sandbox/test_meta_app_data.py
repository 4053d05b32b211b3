"""App events in the emulated Meta: app_data as Meta's App Data Parameters page documents it
(both tracking flags and extinfo's 16 strings required for action_source app)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reverse_etl.sandbox import SandboxServer

from .meta_helpers import APP_DATA, AUTH, graph_error, meta_event, post_events


@pytest.fixture
def graph(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=AUTH) as c:
        yield c


def _app_event(**app_data: Any) -> dict[str, Any]:
    data = copy.deepcopy(APP_DATA)
    for key, value in app_data.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return meta_event(action_source="app", app_data=data)


INFO = APP_DATA["extinfo"]
REJECTED = [
    ("no app_data", meta_event(action_source="app"), "app_data is required"),
    ("no ATT flag", _app_event(advertiser_tracking_enabled=...), "advertiser_tracking_enabled"),
    ("no app flag", _app_event(application_tracking_enabled=...), "application_tracking"),
    ("flag 2", _app_event(advertiser_tracking_enabled=2), "must be a boolean (or 0 or 1)"),
    ("flag text", _app_event(advertiser_tracking_enabled="1"), "must be a boolean"),
    ("no extinfo", _app_event(extinfo=...), "app_data.extinfo is required"),
    ("short extinfo", _app_event(extinfo=INFO[:15]), "must have 16 values in order, not 15"),
    ("numbers", _app_event(extinfo=[*INFO[:9], 1179, *INFO[10:]]), "array of strings"),
    ("text extinfo", _app_event(extinfo=",".join(INFO)), "array of strings"),
    ("version", _app_event(extinfo=["ios", *INFO[1:]]), "extinfo[0] (version) must be a2"),
    ("no OS", _app_event(extinfo=[*INFO[:4], "", *INFO[5:]]), "extinfo[4] (OS version)"),
    ("unknown key", _app_event(idfa="x"), "app_data.idfa is not an app data parameter"),
]


@pytest.mark.parametrize(
    ("event", "fragment"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED]
)
def test_bad_app_events_are_refused(graph: httpx.Client, event: Any, fragment: str) -> None:
    error = graph_error(post_events(graph, [event]))
    assert error["error_user_msg"].startswith("data[0]: ")
    assert fragment in error["error_user_msg"], error["error_user_msg"]


@pytest.mark.parametrize(
    "event",
    [
        _app_event(),
        _app_event(advertiser_tracking_enabled=False, application_tracking_enabled=0),
        _app_event(extinfo=["a2", *INFO[1:]], vendor_id="v-1"),
    ],
)
def test_app_events_as_meta_documents_them_are_accepted(
    graph: httpx.Client, server: SandboxServer, event: Any
) -> None:
    response = post_events(graph, [event])
    assert response.status_code == 200, response.text
    assert len(server.meta.events()) == 1

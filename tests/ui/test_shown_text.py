"""What the page shows of a project's text: masked as everywhere else (an e-mail address, a
phone number, an IPv4 address, in a run's destinations and command too), before it is put
into a link, which still leads where it says; bidi overrides and control characters as
escapes; a JSON route's errors as JSON."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from urllib.parse import unquote

import orjson
import pytest

from reverse_etl.config.destinations import DestinationConfig
from reverse_etl.history.records import RunDestinationRecord, RunDetail, RunRecord
from reverse_etl.ui import UiApp

from .fake import T0, FakeProject, _Settings

PHONE, IP = "+1 415 555 0134", "203.0.113.7"
EMAIL_NAME = "a@b.co x"  # a destination named after an address, with a space
ENCODED_NAME = "x y@b.co"  # a space before the @: %20 in the link, then the address
BIDI = "invoice\u202egpj.exe"  # shows as "invoiceexe.jpg"
NAMES = (EMAIL_NAME, ENCODED_NAME, f"ads {PHONE}", BIDI)


@dataclasses.dataclass
class Project(FakeProject):
    @property
    def destinations(self) -> list[DestinationConfig]:
        return [
            DestinationConfig(n, "tiktok_events", "m", _Settings(), Path("destinations.yml"), 1)
            for n in NAMES
        ]

    def destination_history(self, destination: str, limit: int = 100) -> list[RunDestinationRecord]:
        return [dest(destination)] if destination in NAMES else []

    def run_detail(self, run_id: str) -> RunDetail | None:
        found = super().run_detail(run_id)
        return (
            None if found is None else dataclasses.replace(found, destinations=tuple(self.history))
        )


def dest(name: str) -> RunDestinationRecord:
    return RunDestinationRecord("run-1", name, "tiktok", "m", T0, 1, 1, 0, 0, 0, 0, None, None)


@pytest.fixture
def app(tmp_path: Path) -> UiApp:
    run = RunRecord(
        "run-1",
        T0,
        T0,
        f"retl sync --select {IP} --vars {PHONE}",
        NAMES,
        1,
        0,
        0,
        0,
        0,
        "0.1.0",
        False,
    )
    project = Project(tmp_path / ".retl", runs_=[run], history=[dest(n) for n in NAMES])
    return UiApp(project, title="t")


def get(app: UiApp, path: str) -> str:
    response = app.handle(path, {})
    assert response.status == 200, response.body[:400]
    return response.body.decode()


@pytest.mark.parametrize("path", ["/", "/runs/run-1", "/destinations", "/api/runs"])
def test_a_phone_or_an_ip_in_a_run_s_destinations_or_command_is_masked(
    app: UiApp, path: str
) -> None:
    body = get(app, path)
    assert IP not in body and "415 555" not in body and "a@b.co" not in body
    if path in ("/", "/runs/run-1"):
        assert "+1***" in body and "a***@b.co x" in body
    if path == "/runs/run-1":
        assert "203.***.***.***" in body


@pytest.mark.parametrize("path", ["/destinations", "/runs/run-1"])
def test_a_masked_destination_s_link_leads_to_its_page_and_shows_no_address(
    app: UiApp, path: str
) -> None:
    body = get(app, path)
    hrefs = re.findall(r'href="(/destinations/[^"]*)"', body)
    assert len(hrefs) == len(NAMES)
    titles = []
    for href in hrefs:
        assert "***" not in href and not re.search(r"%(?![0-9A-F]{2})", href), href
        assert "@" not in unquote(href) and "415" not in href, href  # no raw address either
        titles.append(re.findall(r"<h1>(.*?)</h1>", get(app, href))[0])
    assert sorted(titles) == sorted(
        [
            "Destination a***@b.co x",
            "Destination x y***@b.co",  # the address is y@b.co
            "Destination ads +1***",
            "Destination invoice\\u202egpj.exe",
        ]
    )
    # a name that masks nothing is linked by itself
    assert "/destinations/invoice%E2%80%AEgpj.exe" in hrefs


def test_a_destination_is_found_by_its_name_too(app: UiApp) -> None:
    body = get(app, "/destinations/" + "a%40b.co%20x")
    assert "<h1>Destination a***@b.co x</h1>" in body


@pytest.mark.parametrize("path", ["/", "/runs/run-1", "/destinations"])
def test_a_bidi_override_is_shown_as_an_escape(app: UiApp, path: str) -> None:
    body = get(app, path)
    assert "\u202e" not in body
    assert "invoice\\u202egpj.exe" in body


def test_a_json_route_answers_its_errors_as_json(app: UiApp) -> None:
    response = app.handle("/api/nope", {})
    assert response.status == 404
    assert response.content_type == "application/json"
    assert orjson.loads(response.body) == {"error": "no page at /api/nope"}
    assert app.handle("/nope", {}).content_type.startswith("text/html")

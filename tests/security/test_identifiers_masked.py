"""No printed payload holds an identifier in clear: the IP, the user agent, click and browser
IDs (TikTok ``ttclid``, ``ttp``; Meta ``fbc``, ``fbp``) are sent as they are, and shown as
``2***`` wherever retl prints a payload: ``retl show --payload`` (text and JSON), ``retl
plan`` (text and JSON), ``retl ui``'s Plan page and what a sync prints and reports. Which
fields are masked is the catalogs' ``masked`` attribute (the one masking rule,
``sandbox/feed.mask_pii``, names no field)."""

from __future__ import annotations

import html
from pathlib import Path

import orjson
import pytest

from reverse_etl.destinations.catalog import Hashing
from reverse_etl.destinations.meta.catalog import CATALOG as META
from reverse_etl.destinations.tiktok.catalog import CATALOG as TIKTOK
from reverse_etl.project import Project
from reverse_etl.ui import UiApp
from tests.conftest import invoke_in_process, write_project
from tests.test_sync import NOW

IP = "198.51.100.23"
UA = "Mozilla/5.0 (RetlProbe; Zq9x) Gecko/20100101"
TTCLID = "E.C.P.rawclickQm7Tz"
TTP = "rawttpcookieKx2Lw"
FBC = "fb.1.1700000000000.rawfbclidWp4"
FBP = "fb.1.1700000000000.987654321"
RAW = (IP, UA, TTCLID, TTP, FBC, FBP)
# each field as printed: its first character and ***
TIKTOK_SHOWN = {"ip": "1***", "user_agent": "M***", "ttclid": "E***", "ttp": "r***"}
META_SHOWN = {
    "client_ip_address": "1***",
    "client_user_agent": "M***",
    "fbc": "f***",
    "fbp": "f***",
}


@pytest.fixture(autouse=True)
def _no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TIKTOK_ACCESS_TOKEN", "META_ACCESS_TOKEN"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """One model with every identifier, feeding a TikTok pixel and a Meta pixel."""
    return write_project(
        tmp_path / "p",
        {
            "models/visits.sql": (
                "select 'order-' || i as event_id, 'Purchase' as event, "
                f"{NOW} as event_time, 'https://shop.example/p' as page_url, "
                f"'{IP}' as ip, '{UA}' as user_agent, '{TTCLID}' as ttclid, '{TTP}' as ttp, "
                f"'{FBC}' as fbc, '{FBP}' as fbp, 'ann@example.com' as email, "
                "9.5 as value, 'USD' as currency "
                "from range(2) t(i)"
            ),
            "destinations.yml": """
                destinations:
                  tiktok_pixel:
                    type: tiktok_events
                    model: visits
                    access_token: "{{ env_var('TIKTOK_ACCESS_TOKEN', '') }}"
                    event_data_source: WEB
                    event_source_id: CDEMOSHOPPIXEL000001
                  meta_pixel:
                    type: meta_conversions
                    model: visits
                    pixel_id: '1234567890123456'
                    access_token: "{{ env_var('META_ACCESS_TOKEN', '') }}"
                    action_source: website
            """,
        },
    )


def _users(events: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    """Each platform's identifiers object of the events (TikTok's user, Meta's user_data)."""
    out: dict[str, dict[str, object]] = {}
    for e in events:
        for key in ("user", "user_data"):
            if isinstance(e.get(key), dict):
                out[key] = e[key]  # type: ignore[assignment]
    return out


def _assert_masked(text: str, events: list[dict[str, object]]) -> None:
    leaked = [v for v in RAW if v in text]
    assert not leaked, f"printed in clear: {leaked}"
    users = _users(events)
    assert {k: users["user"][k] for k in TIKTOK_SHOWN} == TIKTOK_SHOWN
    assert {k: users["user_data"][k] for k in META_SHOWN} == META_SHOWN
    # hashed fields are shown as sent
    assert len(str(users["user"]["email"])) == 64
    assert len(str(users["user_data"]["em"])) == 64


def _json_objects(text: str) -> list[dict[str, object]]:
    """The pretty JSON documents printed one after another in ``show --payload``'s text."""
    decoder, found, at = orjson, [], 0
    while (start := text.find("\n{", at)) != -1:
        end = text.find("\n}", start) + 2
        found.append(decoder.loads(text[start + 1 : end]))
        at = end
    return found


def test_show_payload_masks_identifiers_in_text_and_json(project: Path) -> None:
    shown = invoke_in_process("show", "visits", "--payload", "order-1", "--project-dir", project)
    assert shown.returncode == 0, shown.stderr
    bodies = _json_objects(shown.stdout)
    assert len(bodies) == 2
    _assert_masked(shown.stdout + shown.stderr, [e for b in bodies for e in b["data"]])  # type: ignore[attr-defined]
    as_json = invoke_in_process(
        "show", "visits", "--payload", "order-1", "--project-dir", project, "--format", "json"
    )
    assert as_json.returncode == 0, as_json.stderr
    payloads = orjson.loads(as_json.stdout)["payloads"]
    _assert_masked(as_json.stdout, [e for p in payloads for e in p["body"]["data"]])


def test_plan_masks_identifiers_in_text_and_json(project: Path) -> None:
    planned = invoke_in_process("plan", "--project-dir", project, "--format", "json")
    assert planned.returncode == 0, planned.stderr
    samples = [e for d in orjson.loads(planned.stdout)["destinations"] for e in d["samples"]]
    _assert_masked(planned.stdout, samples)
    text = invoke_in_process("plan", "--project-dir", project)
    assert text.returncode == 0, text.stderr
    printed = [
        orjson.loads(line.split("sample event: ", 1)[1])
        for line in text.stdout.splitlines()
        if "sample event: " in line
    ]
    _assert_masked(text.stdout + text.stderr, printed)


def test_the_ui_plan_page_masks_identifiers(project: Path) -> None:
    with Project.load(project) as p:
        page = UiApp(p, title="t").handle("/plan", {"compute": "1", "sandbox": "1"}).body.decode()
    samples = [
        orjson.loads(html.unescape(chunk.split("</pre>", 1)[0]))
        for chunk in page.split('<pre class="payload">')[1:]
    ]
    assert samples
    _assert_masked(html.unescape(page), samples)


def test_a_sync_prints_reports_and_feeds_no_identifier_in_clear(project: Path) -> None:
    """The sync's output, its JSON, the run report files, and the sandbox's Test events feed."""
    from reverse_etl.sandbox.feed import read_feed

    synced = invoke_in_process("sync", "--project-dir", project, "-y", "--sandbox")
    assert synced.returncode == 0, synced.stderr
    assert not [v for v in RAW if v in synced.stdout + synced.stderr]
    again = invoke_in_process(
        "sync", "--project-dir", project, "-y", "--sandbox", "--full-refresh", "--format", "json"
    )
    assert again.returncode == 0, again.stderr
    assert orjson.loads(again.stdout)["ok"]
    assert not [v for v in RAW if v in again.stdout + again.stderr]
    reports = [f for f in (project / ".retl").rglob("*.json") if f.is_file()]
    assert reports
    for report in reports:
        assert not [v for v in RAW if v in report.read_text()], report
    feed = read_feed(project / ".retl" / "sandbox" / "feed.jsonl", limit=10)
    assert len(feed) == 8  # 2 rows x 2 destinations x 2 syncs
    _assert_masked(orjson.dumps(feed).decode(), [r["data"] for r in feed])
    assert not [v for v in RAW if v in (project / ".retl" / "sandbox" / "feed.jsonl").read_text()]


def test_every_hashed_parameter_is_masked_and_the_identifiers_too() -> None:
    """The catalogs declare it: a hashed field whose value is not a hash is raw PII, and what
    goes in clear but identifies a person, a browser, a device or a click is masked."""
    for catalog in (TIKTOK, META):
        assert all(p.masked for p in catalog.params if p.hashing is not Hashing.NONE)
    assert {"ip", "user_agent", "ttclid", "ttp", "lead_id"} <= TIKTOK.masked_keys
    assert {"client_ip_address", "client_user_agent", "fbc", "fbp", "lead_id", "madid"} <= (
        META.masked_keys
    )
    assert not {"event", "currency", "value", "page_url", "url"} & (
        TIKTOK.masked_keys | META.masked_keys
    )

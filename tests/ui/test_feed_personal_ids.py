"""An event id built from personal data that no value test finds (found by the model's
lineage: ``replace(trim(email), '@', '#') || '-' || order_id``) never reaches the sandbox's
test-events feed raw, nor ``retl ui``'s Test events page: ``sync --sandbox`` marks the event
source before sending, and the feed's writer and reader hash that source's event ids."""

from __future__ import annotations

import http.client
from pathlib import Path

import httpx
import orjson
import pytest

from reverse_etl.destinations.shared.pii_text import masked_key
from reverse_etl.project import Project
from reverse_etl.sandbox import (
    DEMO_META_PIXEL_ID,
    DEMO_PIXEL_CODE,
    DEMO_TOKEN,
    SandboxOptions,
    SandboxServer,
)
from reverse_etl.sandbox.feed import feed_path, mark_personal_ids, marks_path, read_feed
from reverse_etl.ui import UiApp, UiServer
from tests.conftest import invoke_in_process
from tests.sandbox.helpers import TRACK, FakeClock, track_body, web_event
from tests.sandbox.meta_helpers import AUTH, EVENTS, meta_event
from tests.security.test_pii_lineage import _project
from tests.test_sync import SECRET

BUILT = "replace(trim(customer_email), '@', '#') || '-' || order_id"
RAW_IDS = ("Person0#Example.com-1000", "person1#example.com-1001")


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)


def _get(server: UiServer, path: str) -> str:
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        assert response.status == 200, path
        return response.read().decode()
    finally:
        conn.close()


def _sandbox_sync(project: Path) -> None:
    synced = invoke_in_process("sync", "--sandbox", "--project-dir", project)
    assert synced.returncode == 0, synced.stdout + synced.stderr


def test_a_sandbox_sync_feeds_a_lineage_personal_event_id_hashed(tmp_path: Path) -> None:
    # api_base_url is never used: sync --sandbox sends to its own emulator
    project = _project(tmp_path, "http://127.0.0.1:9", BUILT)
    _sandbox_sync(project)
    feed = feed_path(project / ".retl")
    text = feed.read_text(encoding="utf-8")
    for raw in RAW_IDS:
        assert raw not in text
    fed = [orjson.loads(line) for line in text.splitlines()]
    assert {r["event_id"] for r in fed} == {masked_key(raw) for raw in RAW_IDS}
    assert {r["data"]["event_id"] for r in fed} == {masked_key(raw) for raw in RAW_IDS}
    with Project.load(project) as p, UiServer(UiApp(p, title="t")) as ui:
        api = _get(ui, "/api/test-events")
        page = _get(ui, "/events")
    events = orjson.loads(api)["events"]
    assert {e["event_id"] for e in events} == {masked_key(raw) for raw in RAW_IDS}
    for raw in RAW_IDS:
        assert raw not in api and raw not in page
    assert masked_key(RAW_IDS[0]) in page


def test_a_sandbox_sync_of_plain_event_ids_feeds_them_readable(tmp_path: Path) -> None:
    project = _project(tmp_path, "http://127.0.0.1:9", "'order-' || order_id")
    _sandbox_sync(project)
    fed = read_feed(feed_path(project / ".retl"))
    assert {r["event_id"] for r in fed} == {"order-1000", "order-1001"}
    assert not marks_path(feed_path(project / ".retl")).exists()


def test_the_value_test_still_hashes_an_event_id_holding_an_email(tmp_path: Path) -> None:
    """No mark: an event id holding an e-mail address is hashed by its value alone, and the
    other events of the source stay readable."""
    feed = feed_path(tmp_path / ".retl")
    with (
        SandboxServer(options=SandboxOptions(clock=FakeClock()), feed_path=feed) as server,
        httpx.Client(base_url=server.base_url, headers={"Access-Token": DEMO_TOKEN}) as c,
    ):
        events = [web_event(event_id="jane@example.com-1"), web_event(event_id="order-2")]
        assert c.post(TRACK, json=track_body(events)).json()["code"] == 0
    text = feed.read_text(encoding="utf-8")
    assert "jane@example.com" not in text
    fed = [orjson.loads(line) for line in text.splitlines()]
    assert [r["event_id"] for r in fed] == [masked_key("jane@example.com-1"), "order-2"]


def test_a_marked_source_is_hashed_whoever_writes_and_for_either_platform(
    tmp_path: Path,
) -> None:
    """A mark written while an emulator runs (another process's sync) is read by its feed
    writer; a line of a marked source written raw before the mark is hashed on reading;
    another source's ids stay readable."""
    feed = feed_path(tmp_path / ".retl")
    with (
        SandboxServer(options=SandboxOptions(clock=FakeClock()), feed_path=feed) as server,
        httpx.Client(base_url=server.base_url, headers={"Access-Token": DEMO_TOKEN}) as tiktok,
        httpx.Client(base_url=server.base_url, headers=AUTH) as meta,
    ):
        before = web_event(event_id="a#example.com-0")
        assert tiktok.post(TRACK, json=track_body([before])).json()["code"] == 0
        mark_personal_ids(feed, "TikTok", DEMO_PIXEL_CODE)
        mark_personal_ids(feed, "Meta", DEMO_META_PIXEL_ID)
        after = web_event(event_id="b#example.com-1")
        assert tiktok.post(TRACK, json=track_body([after])).json()["code"] == 0
        sent = meta_event(event_id="c#example.com-2")
        assert meta.post(EVENTS, json={"data": [sent]}).status_code == 200
        other = track_body([web_event(event_id="d#example.com-3")])
        other["event_source_id"] = "COTHERPIXEL"
        tiktok.post(TRACK, json=other)  # an unknown pixel: refused, fed with its id
    text = feed.read_text(encoding="utf-8")
    assert "a#example.com-0" in text  # written before the mark: raw in the file...
    assert "b#example.com-1" not in text and "c#example.com-2" not in text
    shown = {r["event_id"]: r for r in read_feed(feed)}
    # ... and hashed on reading, in event_id and in data
    expected = {
        masked_key("a#example.com-0"),
        masked_key("b#example.com-1"),
        masked_key("c#example.com-2"),
        "d#example.com-3",
    }
    assert set(shown) == expected
    for record in shown.values():
        assert record["data"]["event_id"] == record["event_id"]


def test_a_mark_that_cannot_be_written_stops_the_sync_before_it_sends(tmp_path: Path) -> None:
    project = _project(tmp_path, "http://127.0.0.1:9", BUILT)
    feed = feed_path(project / ".retl")
    marks_path(feed).mkdir(parents=True)  # a folder where the marks file goes
    synced = invoke_in_process("sync", "--sandbox", "--project-dir", project)
    assert synced.returncode == 1, synced.stdout + synced.stderr
    assert "nothing was sent" in synced.stderr
    assert "personal_event_ids.json" in synced.stderr and "Traceback" not in synced.stderr
    assert not feed.exists() or all(raw not in feed.read_text() for raw in RAW_IDS)


def test_two_syncs_marking_at_once_keep_both_marks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sync marks its source while another process (a second `sync --sandbox` of the same
    # project) marks another: each reads the file, adds its pair and replaces the file, so
    # the later replace dropped the other's mark and that source's ids were fed raw.
    import contextlib
    import os
    import subprocess
    import sys

    import reverse_etl

    feed = tmp_path / ".retl" / "sandbox" / "feed.jsonl"
    root = str(Path(reverse_etl.__file__).parents[1])
    other = [
        sys.executable,
        "-c",
        "import sys; from pathlib import Path; from reverse_etl.sandbox.feed import "
        "mark_personal_ids; mark_personal_ids(Path(sys.argv[1]), 'Meta', 'pixel-b')",
        str(feed),
    ]
    real_replace = os.replace
    started: list[subprocess.Popen[bytes]] = []

    def replace(src: str | Path, dst: str | Path) -> None:
        if not started and Path(dst) == marks_path(feed):  # this sync read, not yet written
            started.append(subprocess.Popen(other, env={**os.environ, "PYTHONPATH": root}))
            # the other process writes now, unless it waits for this one (then it goes on)
            with contextlib.suppress(subprocess.TimeoutExpired):
                started[0].wait(timeout=2)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    mark_personal_ids(feed, "TikTok", "pixel-a")
    monkeypatch.setattr(os, "replace", real_replace)
    assert started[0].wait(timeout=60) == 0
    marks = orjson.loads(marks_path(feed).read_bytes())
    assert {(m["platform"], m["source_id"]) for m in marks} == {
        ("tiktok", "pixel-a"),
        ("meta", "pixel-b"),
    }

"""retl ui in a real headless browser (Debian's chromium + chromium-driver via Selenium).

A project with real runs: two live syncs against a loopback sandbox that refuses one old
event (so a run has a rejection) and one ``sync --sandbox``; its model sends raw e-mails
(hashed by retl, and once unhashed in ``description``) and its token is known, so every page
can be checked for both. Screenshots go to the pytest temp dir; set RETL_UI_SCREENSHOTS to a
folder (e.g. docs/img) to keep a copy there too.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reverse_etl.project import Project
from reverse_etl.sandbox import (
    DEMO_ADVERTISER_ID,
    DEMO_PIXEL_CODE,
    SandboxOptions,
    SandboxServer,
    SandboxWorld,
)
from reverse_etl.sandbox.feed import feed_path
from reverse_etl.ui import UiApp, UiServer
from tests.conftest import write_project

pytestmark = pytest.mark.browser

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; "
        ".ci/run installs them)",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402  (only once the browser is known to exist)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

SECRET = "tok-UI-7c1e5d93aa0b42f8"
NOW = int(time.time()) - 3600
OLD = NOW - 10 * 86400  # the sandbox below refuses events older than a day
RAW_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@example\.com")
DEST = "tiktok_web"


def model(rows: int) -> str:
    return (
        "select 'Purchase' as event, 'order-' || i as event_id, "
        f"case when i = 2 then {OLD} else {NOW} - i end as event_time, "
        "'user' || i || '@example.com' as email, "
        "'contact user' || i || '@example.com' as description, "
        f"i * 1.5 as value, 'USD' as currency from range({rows}) t(i)"
    )


def destinations(base_url: str) -> str:
    return "\n".join(
        [
            "destinations:",
            f"  {DEST}:",
            "    type: tiktok_events",
            "    model: events",
            "    auth_method: access_token",
            "    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"",
            f"    event_source_id: {DEMO_PIXEL_CODE}",
            f"    api_base_url: {base_url}",
            "    skip_invalid_record: true",
            "",
        ]
    )


@dataclass
class Site:
    project: Path
    url: str
    sandbox: SandboxServer
    runs: list[Any]
    history: list[Any]
    shots: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("ui-project")
    world = SandboxWorld.demo()
    world.add_token(SECRET, [DEMO_ADVERTISER_ID])
    options = SandboxOptions(max_event_age_seconds=86400)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
        server = SandboxServer(world, options=options, feed_path=feed_path(root / ".retl"))
        with server:
            write_project(root, {"models/events.sql": model(6)})
            (root / "destinations.yml").write_text(destinations(server.base_url))
            with Project.load(root) as p:
                assert p.sync().results[0].rejected == 1  # the old event
            write_project(root, {"models/events.sql": model(7)})  # one new row
            with Project.load(root) as p:
                assert p.sync().results[0].sent == 1  # and the old event refused again
                assert p.sync(sandbox=True).results[0].sent == 7  # the emulator's own state
            write_project(root, {"models/events.sql": model(8)})  # for the plan: one to send
            with Project.load(root) as p:
                runs, history = p.runs(), p.destination_history(DEST)
                with UiServer(UiApp(p, title="ui-test")) as ui:
                    yield Site(
                        root, ui.url, server, runs, history, tmp_path_factory.mktemp("screenshots")
                    )


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    # Chromium's profile and its singleton socket's folder under the test's own temp dir:
    # with the default TMPDIR each run left an org.chromium.Chromium.* folder in /tmp.
    scratch = tmp_path_factory.mktemp("chromium")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={scratch / 'profile'}",
    ):
        options.add_argument(arg)
    # The system driver, named explicitly: Selenium Manager (which downloads) is never run.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SE_OFFLINE", "true")
        service = Service(CHROMEDRIVER or "", env={**os.environ, "TMPDIR": str(scratch)})
        driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


def load(browser: webdriver.Chrome, site: Site, path: str) -> str:
    browser.get(site.url.rstrip("/") + path)
    return checked(browser)


def checked(browser: webdriver.Chrome) -> str:
    """The page's DOM, once checked for the token and for raw e-mail addresses."""
    source = browser.page_source
    assert SECRET not in source
    assert RAW_EMAIL.findall(source) == []  # a masked one (u***@example.com) does not match
    return source


def shoot(browser: webdriver.Chrome, site: Site, name: str) -> None:
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, max(700, min(int(height) + 40, 2400)))
    path = site.shots / f"ui-{name}.png"
    assert browser.save_screenshot(str(path))
    keep = os.environ.get("RETL_UI_SCREENSHOTS")
    if keep:
        shutil.copy(path, Path(keep) / path.name)
    browser.set_window_size(1280, 1000)


def points(browser: webdriver.Chrome, chart: str, series: str) -> list[str]:
    marks = browser.find_elements(
        By.CSS_SELECTOR, f"svg#{chart} circle.point[data-series='{series}']"
    )
    return [m.get_attribute("data-y") or "" for m in marks]


def test_runs_page_charts_a_point_per_run(browser: webdriver.Chrome, site: Site) -> None:
    load(browser, site, "/")
    assert len(site.runs) == 3
    oldest_first = site.runs[::-1]
    assert points(browser, "runs-chart", "sent") == [str(r.sent) for r in oldest_first]
    # the old event stays pending after its rejection: the second live run tries it again
    assert points(browser, "runs-chart", "rejected") == ["1", "1", "0"]
    assert points(browser, "runs-chart", "failed") == ["0", "0", "0"]
    ticks = browser.find_elements(By.CSS_SELECTOR, "svg#runs-chart text.x-tick")
    assert len(ticks) == 3 and all(t.text for t in ticks)
    titles = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "svg#runs-chart .axis-title")]
    assert titles == ["events", "run, by start time (UTC)"]
    rows = browser.find_elements(By.CSS_SELECTOR, "table#runs tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[2].text for r in rows] == ["sandbox", "live", "live"]
    shoot(browser, site, "runs")


def test_a_run_page_lists_the_rejected_row(browser: webdriver.Chrome, site: Site) -> None:
    load(browser, site, "/")
    browser.find_elements(By.CSS_SELECTOR, "table#runs a.run-link")[-1].click()  # the oldest
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "not-accepted"))
    checked(browser)
    rejected = browser.find_elements(By.CSS_SELECTOR, "table#not-accepted tbody tr")
    assert len(rejected) == 1
    assert "rejected" in rejected[0].text and "order-2" in rejected[0].text
    shoot(browser, site, "run")


def test_destination_page_maps_columns_and_charts_coverage(
    browser: webdriver.Chrome, site: Site
) -> None:
    load(browser, site, "/destinations")
    browser.find_element(By.CSS_SELECTOR, "a.dest-link").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "mapping"))
    checked(browser)
    covered = [h for h in site.history if h.match_coverage is not None]
    assert len(site.history) >= 2 and covered
    assert points(browser, "coverage-chart", "coverage") == [
        f"{h.match_coverage:g}" for h in covered
    ]
    assert points(browser, "destination-runs-chart", "sent") == [str(h.sent) for h in site.history]
    mapping = {
        tr.find_elements(By.TAG_NAME, "td")[0].text: tr.find_elements(By.TAG_NAME, "td")[1].text
        for tr in browser.find_elements(By.CSS_SELECTOR, "table#mapping tbody tr")
    }
    assert mapping["email"] == "user.email"
    assert mapping["description"] == "properties.description"
    shoot(browser, site, "destination")


def test_plan_page_computes_on_request_with_masked_samples(
    browser: webdriver.Chrome, site: Site
) -> None:
    load(browser, site, "/plan")
    assert not browser.find_elements(By.ID, "plan-result")  # nothing computed until asked
    browser.find_element(By.ID, "plan-live").click()
    WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.ID, "plan-result"))
    checked(browser)
    counts = browser.find_element(By.ID, f"plan-counts-{DEST}").text
    assert counts.split("\n")[-1].split()[:2] == ["8", "8"]  # total, valid
    payload = browser.find_element(By.CSS_SELECTOR, "pre.payload").text
    assert "u***@example.com" in payload  # the unhashed description, masked
    shoot(browser, site, "plan")


def test_test_events_page_shows_a_new_event_without_a_reload(
    browser: webdriver.Chrome, site: Site
) -> None:
    load(browser, site, "/events")
    # The page re-renders its table as the live feed comes in: each read below is one
    # script, so no element found in one render is read in the next (a stale element).
    cells = browser.execute_script(
        "return [...document.querySelectorAll('table#test-events tbody tr')]"
        ".map(r => [...r.cells].map(c => c.innerText))"
    )
    verdicts = {row[5] for row in cells if len(row) > 5}
    assert {"accepted", "rejected"} <= verdicts
    status = "return document.getElementById('feed-status')?.innerText || ''"
    WebDriverWait(browser, 30).until(
        lambda d: (text := d.execute_script(status)).startswith("live: ") and "events" in text
    )
    browser.execute_script("window.retlMarker = 'same page'")
    event = {
        "event": "Purchase",
        "event_id": "live-probe-1",
        "event_time": NOW,
        "user": {"email": "a" * 64},
    }
    body = {
        "event_source": "web",
        "event_source_id": DEMO_PIXEL_CODE,
        "test_event_code": "TEST-LIVE",
        "data": [event],
    }
    response = httpx.post(
        f"{site.sandbox.base_url}/open_api/v1.3/event/track/",
        json=body,
        headers={"Access-Token": SECRET},
    )
    assert response.json()["code"] == 0
    # The newest row, once the page shows it with its test_event_code.
    newest = "return document.querySelector('table#test-events tbody tr')?.innerText || ''"
    WebDriverWait(browser, 30).until(
        lambda d: all(s in d.execute_script(newest) for s in ("live-probe-1", "TEST-LIVE"))
    )
    assert browser.execute_script("return window.retlMarker") == "same page"  # no reload
    checked(browser)
    shoot(browser, site, "events")

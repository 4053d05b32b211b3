"""retl ui's server without a browser: loopback only, GET only, escaping, 404s, headers."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from reverse_etl.errors import UsageError
from reverse_etl.sandbox.feed import SandboxFeed, feed_path
from reverse_etl.ui import UiApp, UiServer, check_host
from reverse_etl.ui.charts import Series, line_chart, nice_ticks

from .fake import HOSTILE, FakeProject, dest_record, run_record


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    state = tmp_path_factory.mktemp("ui-unit") / ".retl"
    project = FakeProject(
        state,
        runs_=[run_record(i, sent=10 * i, rejected=i % 2) for i in (3, 2, 1)],
        history=[dest_record(1, 0.5), dest_record(2, None), dest_record(3, 0.75)],
    )
    feed = SandboxFeed(feed_path(state))
    body = {
        "event_source": "web",
        "event_source_id": HOSTILE,
        "test_event_code": "T1",
        "data": [{"event": HOSTILE, "event_id": "ev-1", "user": {"email": "jane.doe@example.com"}}],
    }
    feed.tiktok(1_800_000_000.0, body)
    with UiServer(UiApp(project, title=HOSTILE)) as server:
        yield server


def request(
    server: UiServer,
    path: str,
    method: str = "GET",
    host: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        sent = {"Host": host} if host is not None else {}
        conn.request(method, path, headers={**sent, **(headers or {})})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::", "10.0.0.1"])
def test_only_loopback_hosts_are_served(host: str) -> None:
    with pytest.raises(UsageError) as info:
        UiServer(UiApp(FakeProject(Path("/nonexistent")), title="t"), host=host)
    assert info.value.problems[0].key == "--host"
    assert "127.0.0.1" in (info.value.problems[0].hint or "")


@pytest.mark.parametrize(
    ("host", "bound"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("localhost", "127.0.0.1"),
        ("::1", "::1"),
        ("127.0.0.2", "127.0.0.2"),
    ],
)
def test_loopback_hosts_are_accepted(host: str, bound: str) -> None:
    assert check_host(host) == bound


def test_the_server_listens_on_loopback_on_a_random_port(ui: UiServer) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", ui.url)
    assert not ui.url.endswith(":0/")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/plan?compute=1", "/api/test-events", "/nope"])
def test_every_method_but_get_and_head_is_refused(ui: UiServer, method: str, path: str) -> None:
    status, headers, body = request(ui, path, method)
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"
    if path.startswith("/api/"):  # a JSON route's refusal is JSON
        assert headers["Content-Type"] == "application/json"
        assert "read-only" in orjson.loads(body)["error"]


@pytest.mark.parametrize("path", ["/", "/runs/run-1", "/api/runs", "/static/app.css", "/nope"])
def test_head_is_answered_as_get_without_the_body(ui: UiServer, path: str) -> None:
    status, headers, body = request(ui, path, "HEAD")
    got_status, got_headers, got_body = request(ui, path)
    assert (status, body) == (got_status, "")
    assert headers["Content-Type"] == got_headers["Content-Type"]
    assert headers["Content-Length"] == got_headers["Content-Length"] == str(len(got_body.encode()))


@pytest.mark.parametrize("path", ["/api/nope", "/api/runs/x"])
def test_a_json_route_s_errors_are_json(ui: UiServer, path: str) -> None:
    status, headers, body = request(ui, path)
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert orjson.loads(body) == {"error": f"no page at {path}"}
    status, headers, body = request(ui, path, host="evil.example")  # refused before routing
    assert status == 403 and headers["Content-Type"] == "application/json"
    assert "127.0.0.1" in orjson.loads(body)["error"]


def test_a_foreign_host_header_is_refused(ui: UiServer) -> None:
    # DNS rebinding: a page on evil.example resolving its name to 127.0.0.1.
    status, _, body = request(ui, "/", host="evil.example:80")
    assert status == 403
    assert "Runs" not in body
    assert request(ui, "/", host="localhost")[0] == 200


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/runs/run-1",
        "/destinations",
        "/destinations/" + quote(HOSTILE, safe=""),
        "/events",
        "/plan",
        "/plan?compute=1",
        "/api/test-events",
        "/api/runs",
    ],
)
def test_pages_escape_project_text_and_send_security_headers(ui: UiServer, path: str) -> None:
    status, headers, body = request(ui, path)
    assert status == 200, body
    assert "<script>alert" not in body
    assert "<img src=x" not in body
    assert "jane.doe@example.com" not in body  # a key, an event's email: masked
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    if headers["Content-Type"].startswith("text/html"):
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body
        # the only scripts are the package's own file
        assert re.findall(r"<script[^>]*>", body) in ([], ['<script src="/static/app.js" defer>'])


def test_run_detail_masks_an_email_key(ui: UiServer) -> None:
    _, _, body = request(ui, "/runs/run-1")
    assert "j***@example.com" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    # a platform's message quoting an IP address and a phone number
    assert "203.0.113.7" not in body and "415 555" not in body
    assert "203.***.***.***" in body


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Sec-Fetch-Site": "cross-site"}, 403),  # another site's <img src=/plan?compute=1>
        ({"Sec-Fetch-Site": "same-site"}, 403),
        ({"Origin": "https://evil.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Sec-Fetch-Site": "same-origin"}, 200),  # the page's own requests
        ({"Sec-Fetch-Site": "none"}, 200),  # an address typed, a bookmark
        ({"Origin": "http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}, 200),
        ({"Origin": "http://127.0.0.1:{port}"}, 200),  # a browser without Sec-Fetch-Site
        ({"Origin": "http://localhost:{port}"}, 200),  # the same server, by its other name
        ({"Origin": "HTTP://LOCALHOST:{port}"}, 200),
        # A page on another loopback port is another site (it was served: any loopback
        # name passed, whatever its port), in a browser without Sec-Fetch-Site
        ({"Origin": "http://127.0.0.1:1"}, 403),
        ({"Origin": "http://localhost:1"}, 403),
        ({"Origin": "http://[::1]:1"}, 403),
        ({"Origin": "http://127.0.0.1"}, 403),  # port 80
        ({"Origin": "http://127.0.0.2:{port}"}, 403),  # another loopback address
        ({"Origin": "http://[::1]:{port}"}, 403),  # served on 127.0.0.1 only
        ({"Origin": "https://127.0.0.1:{port}"}, 403),
        ({"Origin": "http://evil.example:{port}"}, 403),
        ({"Origin": "http://127.0.0.1:{port}/plan"}, 403),  # not an origin
        ({"Origin": "http://127.0.0.1:99999"}, 403),
        ({"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-origin"}, 403),
        ({}, 200),  # curl, a test
    ],
)
def test_another_site_s_page_cannot_make_the_browser_run_the_models(
    ui: UiServer, headers: dict[str, str], status: int
) -> None:
    port = ui.url.rsplit(":", 1)[1].strip("/")
    sent = {name: value.replace("{port}", port) for name, value in headers.items()}
    got, _, body = request(ui, "/plan?compute=1", headers=sent)
    assert got == status, body
    if status == 403:
        assert "another site" in body


@pytest.mark.parametrize(
    ("host", "origin", "status"),
    [
        # ssh -L 8080:127.0.0.1:PORT: the browser reaches the page at localhost:8080
        ("localhost:8080", "http://localhost:8080", 200),
        ("localhost:8080", "http://127.0.0.1:8080", 200),
        ("127.0.0.1:8080", "http://127.0.0.1:8080", 200),
        ("localhost:8080", "http://localhost:8081", 403),
        ("localhost:8080", "http://127.0.0.1:1", 403),
        ("localhost", "http://localhost", 200),  # a forward on port 80
        ("localhost", "http://localhost:8080", 403),
    ],
)
def test_an_origin_is_the_server_s_own_as_the_browser_reached_it(
    ui: UiServer, host: str, origin: str, status: int
) -> None:
    """Through an SSH forward the page's own origin is the forward's port, which the
    browser sends as ``Host``; a page cannot make the browser send another ``Host``."""
    got, _, body = request(ui, "/plan?compute=1", host=host, headers={"Origin": origin})
    assert got == status, body


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_page_on_another_loopback_port_runs_no_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """Refused before the route: the plan is not computed (it runs the models)."""
    project = FakeProject(tmp_path / ".retl")
    planned: list[bool] = []
    monkeypatch.setattr(project, "plan", lambda *a, **k: planned.append(True) or [])
    with UiServer(UiApp(project, title="t")) as server:
        other = {"Origin": "http://127.0.0.1:1"}
        assert request(server, "/plan?compute=1", method, headers=other)[0] == 403
        assert planned == []
        port = server.url.rsplit(":", 1)[1].strip("/")
        own = {"Origin": f"http://127.0.0.1:{port}"}
        assert request(server, "/plan?compute=1", method, headers=own)[0] == 200
        assert planned == [True]


@pytest.mark.parametrize("host", ["LOCALHOST", "127.0.0.2:8123", "[::1]:8123", "Localhost:1"])
def test_every_loopback_host_header_is_served(ui: UiServer, host: str) -> None:
    """``--host 127.0.0.2`` was accepted, then every request to it refused."""
    assert request(ui, "/", host=host)[0] == 200


def test_a_run_id_with_a_nul_or_of_several_runs_is_not_found_without_quoting_sql(
    tmp_path: Path, make_project: Any
) -> None:
    """A NUL cut DuckDB's query short: a 500 quoting the SQL. A real project's history."""
    from reverse_etl.project import Project

    root = make_project(tmp_path, {"models/m.sql": "select 1 as x"})
    with Project.load(root) as p:
        app = UiApp(p, title="t")
        for run_id in ("\x00", "x\x00y", "2"):  # "2": no run, or a prefix of several
            response = app.handle(f"/runs/{run_id}", {})
            assert response.status == 404, response.body[:300]
            assert b"SELECT" not in response.body


def test_a_feed_line_with_no_time_does_not_break_the_test_events_page(tmp_path: Path) -> None:
    state = tmp_path / ".retl"
    path = feed_path(state)
    path.parent.mkdir(parents=True)
    lines = [
        '{"id": "1", "at": "yesterday"}',
        '{"id": "2", "at": 1e20}',
        '{"id": "3", "at": -1e15}',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    app = UiApp(FakeProject(state), title="t")
    response = app.handle("/events", {})
    assert response.status == 200, response.body[:300]


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/runs/no-such-run",
        "/destinations/nope",
        "/static/nope.js",
        "/static/../app.py",
        "/runs/run-1/extra",
    ],
)
def test_unknown_paths_are_404(ui: UiServer, path: str) -> None:
    status, _, body = request(ui, path)
    assert status == 404
    assert "Not found" in body


def test_static_assets_come_from_the_package(ui: UiServer) -> None:
    status, headers, body = request(ui, "/static/app.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert "/api/test-events" not in body or "fetch(" in body
    assert request(ui, "/static/app.css")[1]["Content-Type"].startswith("text/css")
    for path in ("/", "/events", "/destinations/" + quote(HOSTILE, safe="")):
        page = request(ui, path)[2]
        assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing from the network


def test_the_runs_chart_has_a_point_per_run_and_series(ui: UiServer) -> None:
    body = request(ui, "/")[2]
    for series in ("sent", "rejected", "failed"):
        points = re.findall(rf'<circle class="point c\d" data-series="{series}"', body)
        assert len(points) == 3
    # oldest first: run-1 (10 sent) at x=0
    assert 'data-series="sent" data-x="0" data-y="10"' in body
    assert "events</text>" in body and "run, by start time (UTC)</text>" in body


def test_coverage_chart_leaves_a_gap_where_no_coverage_was_reported(ui: UiServer) -> None:
    body = request(ui, "/destinations/" + quote(HOSTILE, safe=""))[2]
    chart = body.split('id="coverage-chart"')[1].split("</svg>")[0]
    assert re.findall(r'data-x="(\d)" data-y="([\d.]+)"', chart) == [("0", "0.5"), ("2", "0.75")]
    assert ">100%</text>" in chart


def test_nice_ticks_cover_the_top_value() -> None:
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(1.0) == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(1000)[-1] == 1000


def test_an_empty_chart_says_so() -> None:
    html = line_chart(
        chart_id="c", title="<t>", x_labels=[], series=[Series("s", [])], x_title="x", y_title="y"
    )
    assert html.startswith('<p class="empty"') and "&lt;t&gt;" in html


def test_served_on_ipv6_loopback_its_own_origin_is_answered(tmp_path: Path) -> None:
    try:
        server = UiServer(UiApp(FakeProject(tmp_path / ".retl"), title="t"), host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        port = server.url.rsplit(":", 1)[1].strip("/")
        conn = http.client.HTTPConnection("::1", int(port), timeout=30)
        statuses = {}
        for origin in (f"http://[::1]:{port}", f"http://localhost:{port}", "http://[::1]:1"):
            conn.request("GET", "/plan?compute=1", headers={"Origin": origin})
            response = conn.getresponse()
            response.read()
            statuses[origin] = response.status
        conn.close()
    finally:
        server.stop()
    assert list(statuses.values()) == [200, 200, 403]

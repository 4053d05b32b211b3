"""The in-memory world, used directly from Python."""

from __future__ import annotations

import httpx
import pytest

from reverse_etl.sandbox import (
    DEMO_ADVERTISER_ID,
    DEMO_CRM_SET_ID,
    DEMO_OFFLINE_SET_ID,
    DEMO_PIXEL_CODE,
    DEMO_TIKTOK_APP_ID,
    DEMO_TOKEN,
    SandboxServer,
    SandboxWorld,
    serve,
)


def test_demo_world() -> None:
    world = SandboxWorld.demo()
    assert world.token_advertisers(DEMO_TOKEN) == frozenset({DEMO_ADVERTISER_ID})
    assert world.oauth_app("sandbox-app") is not None
    (pixel,) = world.pixels(DEMO_ADVERTISER_ID)
    assert (pixel.pixel_code, pixel.pixel_name) == (DEMO_PIXEL_CODE, "Demo Shop Pixel")
    assert world.source_owner("web", DEMO_PIXEL_CODE) == DEMO_ADVERTISER_ID
    assert world.source_owner("offline", DEMO_OFFLINE_SET_ID) == DEMO_ADVERTISER_ID
    assert world.source_owner("crm", DEMO_CRM_SET_ID) == DEMO_ADVERTISER_ID
    assert world.source_owner("app", DEMO_TIKTOK_APP_ID) == DEMO_ADVERTISER_ID
    assert world.source_owner("crm", DEMO_OFFLINE_SET_ID) is None
    assert [s.name for s in world.event_sets("offline", DEMO_ADVERTISER_ID)] == ["Demo Stores"]
    assert [a.app_name for a in world.apps(DEMO_ADVERTISER_ID)] == ["Demo App"]


def test_generated_ids_are_decimal_and_unique() -> None:
    world = SandboxWorld.demo()
    ids = {world.add_offline_set(DEMO_ADVERTISER_ID, f"s{i}").event_set_id for i in range(5)}
    ids.add(world.add_pixel(DEMO_ADVERTISER_ID, "p").pixel_id)
    assert len(ids) == 6
    assert all(i.isdigit() and len(i) == 19 for i in ids)


def test_crm_sets_are_capped_at_50() -> None:
    world = SandboxWorld.demo()
    for i in range(49):
        world.add_crm_set(DEMO_ADVERTISER_ID, f"crm {i}")
    with pytest.raises(ValueError, match="50 CRM event sets"):
        world.add_crm_set(DEMO_ADVERTISER_ID, "one too many")


@pytest.mark.parametrize(
    "code", ["lowercase00000000000", "SHORT", "C" * 21, "CSANDBOXDEMOPIXEL00!"]
)
def test_pixel_codes_are_20_upper_alphanumerics(code: str) -> None:
    with pytest.raises(ValueError, match="pixel code"):
        SandboxWorld.demo().add_pixel(DEMO_ADVERTISER_ID, "x", code=code)


def test_misuse_raises() -> None:
    world = SandboxWorld.demo()
    with pytest.raises(ValueError, match="unknown advertiser"):
        world.add_token("t", ["123"])
    with pytest.raises(ValueError, match="already exists"):
        world.add_pixel(DEMO_ADVERTISER_ID, "dup", code=DEMO_PIXEL_CODE)
    with pytest.raises(ValueError, match="already exists"):
        world.add_app(DEMO_ADVERTISER_ID, DEMO_OFFLINE_SET_ID, "clash")


def test_world_changes_show_through_a_running_server() -> None:
    world = SandboxWorld()
    world.add_advertiser("1", "One")
    with SandboxServer(world) as server:
        world.add_token("late-token", ["1"])
        assert server.world.token_advertisers("late-token") == frozenset({"1"})


def test_server_lifecycle() -> None:
    server = SandboxServer()
    with pytest.raises(RuntimeError):
        _ = server.base_url
    server.start()
    assert server.base_url.startswith("http://127.0.0.1:")
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(RuntimeError):
        server.start()


def test_serve_runs_until_keyboard_interrupt() -> None:
    seen: list[int] = []

    def on_ready(server: SandboxServer) -> None:
        response = httpx.get(server.base_url + "/_sandbox/summary")
        seen.append(response.status_code)
        raise KeyboardInterrupt  # what Ctrl-C does to the blocking loop

    serve(0, on_ready=on_ready)
    assert seen == [200]


def test_http_server_writes_nothing_to_stderr(
    client: httpx.Client, capfd: pytest.CaptureFixture[str]
) -> None:
    client.get("/open_api/v1.3/pixel/list/", params={"advertiser_id": DEMO_ADVERTISER_ID})
    client.get("/nowhere")
    assert capfd.readouterr().err == ""

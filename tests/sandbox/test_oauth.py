"""OAuth: the auto-approving portal page, code exchange, advertiser listing, revocation."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from reverse_etl.sandbox import (
    DEMO_ADVERTISER_ID,
    DEMO_APP_ID,
    DEMO_APP_SECRET,
    SandboxServer,
)

from .helpers import FakeClock, post_track, web_event

API = "/open_api/v1.3/"
REDIRECT = "https://app.example/callback?keep=1"


def authorise(server: SandboxServer, state: str = "xyz") -> str:
    response = httpx.get(
        server.base_url + "/portal/auth",
        params={"app_id": DEMO_APP_ID, "state": state, "redirect_uri": REDIRECT},
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "app.example",
        "/callback",
    )
    query = parse_qs(location.query)
    assert query["keep"] == ["1"]
    assert query["state"] == [state]
    return query["auth_code"][0]


def exchange(server: SandboxServer, code: str, secret: str = DEMO_APP_SECRET) -> dict[str, object]:
    body = {"app_id": DEMO_APP_ID, "secret": secret, "auth_code": code}
    result: dict[str, object] = httpx.post(
        server.base_url + API + "oauth2/access_token/", json=body
    ).json()
    return result


def test_full_flow(server: SandboxServer) -> None:
    answer = exchange(server, authorise(server))
    assert answer["code"] == 0
    data = answer["data"]
    assert isinstance(data, dict)
    assert data["advertiser_ids"] == [DEMO_ADVERTISER_ID]
    assert data["scope"] == [1, 2, 3]
    token = data["access_token"]
    with httpx.Client(base_url=server.base_url, headers={"Access-Token": token}) as client:
        assert post_track(client, [web_event()])["code"] == 0
        advertisers = client.get(
            API + "oauth2/advertiser/get/",
            params={"app_id": DEMO_APP_ID, "secret": DEMO_APP_SECRET},
        ).json()
        assert advertisers["data"] == {
            "list": [
                {"advertiser_id": DEMO_ADVERTISER_ID, "advertiser_name": "Sandbox Demo Advertiser"}
            ]
        }


def test_auth_code_is_single_use(server: SandboxServer) -> None:
    code = authorise(server)
    assert exchange(server, code)["code"] == 0
    assert exchange(server, code)["code"] == 40110


def test_unknown_auth_code(server: SandboxServer) -> None:
    assert exchange(server, "made-up")["code"] == 40110


def test_auth_code_expires_after_an_hour(server: SandboxServer, clock: FakeClock) -> None:
    code = authorise(server)
    clock.advance(3600)
    assert exchange(server, code)["code"] == 40110


def test_bad_secret_is_40101_and_keeps_the_code(server: SandboxServer) -> None:
    code = authorise(server)
    assert exchange(server, code, secret="wrong")["code"] == 40101
    assert exchange(server, code)["code"] == 0


def test_grant_limited_to_some_advertisers() -> None:
    from reverse_etl.sandbox import SandboxWorld

    world = SandboxWorld.demo()
    world.add_advertiser("7000000000000000002", "Second")
    world.add_oauth_app("narrow-app", "s3cret", ["7000000000000000002"])
    with SandboxServer(world) as server:
        response = httpx.get(
            server.base_url + "/portal/auth",
            params={"app_id": "narrow-app", "redirect_uri": "http://localhost:8765/cb"},
        )
        query = parse_qs(urlsplit(response.headers["location"]).query)
        assert "state" not in query
        body = {"app_id": "narrow-app", "secret": "s3cret", "auth_code": query["auth_code"][0]}
        data = httpx.post(server.base_url + API + "oauth2/access_token/", json=body).json()["data"]
        assert data["advertiser_ids"] == ["7000000000000000002"]


@pytest.mark.parametrize(
    "params",
    [
        {"app_id": "unknown", "redirect_uri": REDIRECT},
        {"app_id": DEMO_APP_ID, "redirect_uri": "not a url"},
        {"app_id": DEMO_APP_ID},
    ],
)
def test_portal_rejects_bad_requests(server: SandboxServer, params: dict[str, str]) -> None:
    response = httpx.get(server.base_url + "/portal/auth", params=params)
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]


def test_advertiser_get_checks_token_and_secret(server: SandboxServer) -> None:
    url = server.base_url + API + "oauth2/advertiser/get/"
    creds = {"app_id": DEMO_APP_ID, "secret": DEMO_APP_SECRET}
    assert httpx.get(url, params=creds).json()["code"] == 40104
    wrong = {"app_id": DEMO_APP_ID, "secret": "nope"}
    assert (
        httpx.get(url, params=wrong, headers={"Access-Token": "sandbox-token"}).json()["code"]
        == 40101
    )


def test_revoke_token(server: SandboxServer) -> None:
    token = exchange(server, authorise(server))["data"]["access_token"]  # type: ignore[index]
    url = server.base_url + API + "oauth2/revoke_token/"
    body = {"app_id": DEMO_APP_ID, "secret": DEMO_APP_SECRET, "access_token": token}
    assert httpx.post(url, json={**body, "secret": "bad"}).json()["code"] == 40101
    revoked = httpx.post(url, json=body).json()
    assert revoked["code"] == 0
    assert revoked["data"] == {"app_id": DEMO_APP_ID, "advertiser_ids": [DEMO_ADVERTISER_ID]}
    with httpx.Client(base_url=server.base_url, headers={"Access-Token": token}) as client:
        assert post_track(client, [web_event()])["code"] == 40105
    assert httpx.post(url, json=body).json()["code"] == 40105

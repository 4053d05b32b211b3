"""The OAuth flow end to end (the test plays the browser) and the credentials store."""

from __future__ import annotations

import json
import logging
import os
import queue
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from reverse_etl.destinations.tiktok.auth import (
    Credentials,
    CredentialsStore,
    OAuthResult,
    build_authorization_url,
    default_credentials_path,
    run_oauth_flow,
)
from reverse_etl.destinations.tiktok.client import TikTokClient
from reverse_etl.errors import ConfigError, DestinationError, RetlError

from .conftest import ADVERTISER, APP_ID, APP_SECRET

FAKE_TOKEN = "tok-0123456789abcdef-should-never-leak"


@dataclass
class FlowRun:
    """run_oauth_flow in a thread; the test reads the URL and plays the browser."""

    thread: threading.Thread
    urls: queue.Queue[str]
    result: list[OAuthResult] = field(default_factory=list)
    error: list[BaseException] = field(default_factory=list)

    def url(self) -> str:
        return self.urls.get(timeout=10)

    def finish(self) -> OAuthResult:
        self.thread.join(timeout=20)
        assert not self.thread.is_alive()
        if self.error:
            raise self.error[0]
        return self.result[0]


@pytest.fixture
def start_flow(base_url: str) -> Iterator[Any]:
    runs: list[FlowRun] = []

    def start(secret: str = APP_SECRET, timeout: float = 20.0) -> FlowRun:
        urls: queue.Queue[str] = queue.Queue()
        run = FlowRun(threading.Thread(target=lambda: None), urls)

        def target() -> None:
            try:
                run.result.append(
                    run_oauth_flow(
                        APP_ID,
                        SecretStr(secret),
                        api_base_url=base_url,
                        timeout=timeout,
                        on_url=urls.put,
                    )
                )
            except BaseException as exc:
                run.error.append(exc)

        run.thread = threading.Thread(target=target, daemon=True)
        run.thread.start()
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.thread.join(timeout=20)


def leaks(text: str, *secrets: str) -> list[str]:
    return [s for s in secrets if s in text]


# --------------------------------------------------------------------------- URL


def test_authorization_url_encodes_the_redirect() -> None:
    url = build_authorization_url("123", "st-ate", "http://127.0.0.1:8765/callback")
    assert url == (
        "https://business-api.tiktok.com/portal/auth?app_id=123&state=st-ate"
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback"
    )
    assert build_authorization_url("1", "s", "http://x/", "http://127.0.0.1:9/").startswith(
        "http://127.0.0.1:9/portal/auth?"
    )


# --------------------------------------------------------------------------- flow


def test_oauth_flow_end_to_end_then_store(
    start_flow: Any, base_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    run = start_flow()
    url = run.url()
    query = parse_qs(urlsplit(url).query)
    assert query["app_id"] == [APP_ID]
    assert len(query["state"][0]) >= 43  # token_urlsafe(32)
    redirect = urlsplit(query["redirect_uri"][0])
    assert (redirect.scheme, redirect.hostname, redirect.path) == ("http", "127.0.0.1", "/callback")

    # The browser: portal -> 302 -> our local callback page.
    page = httpx.get(url, follow_redirects=True, timeout=10)
    assert page.status_code == 200
    assert "close this tab" in page.text
    assert page.url.host == "127.0.0.1" and page.url.path == "/callback"

    result = run.finish()
    # Only the flow's own logging: the check below sends the secret in a query string
    # (TikTok's API design), which httpx logs at INFO.
    flow_log = caplog.text
    creds = result.credentials
    token = creds.access_token.get_secret_value()
    assert token
    assert ADVERTISER in result.advertiser_ids
    assert creds.advertiser_ids == result.advertiser_ids
    assert creds.app_id == APP_ID and creds.api_base_url == base_url
    assert creds.created_at.endswith("Z")
    assert all(isinstance(s, int) for s in creds.scope)

    # The token really works against the API.
    with TikTokClient(base_url, creds.access_token) as client:
        data = client.call(
            "GET",
            "/open_api/v1.3/oauth2/advertiser/get/",
            params={"app_id": APP_ID, "secret": APP_SECRET},
        )
    assert ADVERTISER in json.dumps(data)

    # Store round trip, with a private file in a private new directory.
    store = CredentialsStore()
    assert store.path == tmp_path / "home" / "creds.json"
    store.save(APP_ID, creds)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert store.load() == creds
    assert store.load(APP_ID) == creds
    assert store.load("another-app") is None
    assert [p.name for p in store.path.parent.iterdir()] == ["creds.json"]  # no temp left

    # Neither secret appears anywhere a person or a log collector could see.
    for text in (flow_log, repr(result), str(result), repr(creds), str(creds), repr(store)):
        assert leaks(text, token, APP_SECRET) == []


def test_state_mismatch_is_refused(start_flow: Any) -> None:
    """Refused, and the flow goes on waiting for its own redirect: any web page could end it
    with an image pointing at the port (an audit); said when the wait times out."""
    run = start_flow(timeout=3.0)
    query = parse_qs(urlsplit(run.url()).query)
    callback = query["redirect_uri"][0]
    page = httpx.get(callback, params={"auth_code": "stolen", "state": "forged"}, timeout=10)
    assert page.status_code == 400
    with pytest.raises(RetlError, match=r"1 callback\(s\) with another state were refused"):
        run.finish()


def test_a_refused_callback_does_not_end_the_flow(start_flow: Any) -> None:
    run = start_flow()
    query = parse_qs(urlsplit(run.url()).query)
    callback, state = query["redirect_uri"][0], query["state"][0]
    assert httpx.get(callback, params={"auth_code": "x", "state": "forged"}, timeout=10).is_error
    # the flow's own redirect still lands: its (unknown) code then fails at the exchange
    httpx.get(callback, params={"auth_code": "not-a-code", "state": state}, timeout=10)
    with pytest.raises(RetlError) as failed:
        run.finish()
    assert "state" not in failed.value.message


def test_callback_accepts_code_and_ignores_other_paths(start_flow: Any, base_url: str) -> None:
    run = start_flow()
    url = run.url()
    callback = parse_qs(urlsplit(url).query)["redirect_uri"][0]
    assert httpx.get(callback.replace("/callback", "/favicon.ico"), timeout=10).status_code == 404
    # Let the sandbox issue a real code, then deliver it as "code" instead of "auth_code".
    portal = httpx.get(url, follow_redirects=False, timeout=10)
    assert portal.status_code in (302, 303, 307)
    sent = parse_qs(urlsplit(portal.headers["location"]).query)
    page = httpx.get(
        callback, params={"code": sent["auth_code"][0], "state": sent["state"][0]}, timeout=10
    )
    assert page.status_code == 200
    assert ADVERTISER in run.finish().advertiser_ids


def test_a_stalled_connection_keeps_neither_the_redirect_out_nor_the_flow_past_its_timeout(
    start_flow: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that sends half a request line and then nothing (or a byte now and
    then) held the one-shot server: the real redirect waited behind it, and the flow ran
    past --timeout. Each connection is served apart now. The stall here would last the
    whole test (a socket timeout of an hour), so the redirect lands only if it is served
    beside it."""
    import socket

    from reverse_etl.destinations.tiktok import auth

    monkeypatch.setattr(auth._CallbackHandler, "timeout", 3600.0)
    run = start_flow()
    url = run.url()
    callback = parse_qs(urlsplit(url).query)["redirect_uri"][0]
    port = int(urlsplit(callback).port or 0)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as stalled:
        stalled.sendall(b"GET /callb")
        portal = httpx.get(url, follow_redirects=False, timeout=10)
        sent = parse_qs(urlsplit(portal.headers["location"]).query)
        page = httpx.get(
            callback,
            params={"auth_code": sent["auth_code"][0], "state": sent["state"][0]},
            timeout=30,
        )
        assert page.status_code == 200
        assert ADVERTISER in run.finish().advertiser_ids
    # and a flow whose only connection stalls still ends at its --timeout, as an error
    run = start_flow(timeout=1.0)
    port = int(urlsplit(parse_qs(urlsplit(run.url()).query)["redirect_uri"][0]).port or 0)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as stalled:
        stalled.sendall(b"GET /callb")
        with pytest.raises(RetlError, match="within 1 seconds"):
            run.finish()


def test_timeout_names_the_timeout_and_the_fix(start_flow: Any) -> None:
    run = start_flow(timeout=0.5)
    run.url()
    with pytest.raises(RetlError) as info:
        run.finish()
    assert "0.5 seconds" in info.value.message
    assert "retl auth tiktok" in (info.value.hint or "")


def test_bad_secret_does_not_leak(start_flow: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-secret-value-xyz"
    run = start_flow(secret=wrong)
    httpx.get(run.url(), follow_redirects=True, timeout=10)
    with pytest.raises(DestinationError) as info:
        run.finish()
    error = info.value
    for text in (str(error), repr(error), error.message, str(error.hint), caplog.text):
        assert leaks(text, wrong, APP_SECRET) == []


def test_port_in_use_is_a_clear_error(start_flow: Any) -> None:
    run = start_flow()
    query = parse_qs(urlsplit(run.url()).query)
    port, state = urlsplit(query["redirect_uri"][0]).port, query["state"][0]
    assert port
    with pytest.raises(RetlError, match=f"127.0.0.1:{port}"):
        run_oauth_flow(
            APP_ID, SecretStr(APP_SECRET), api_base_url="http://x", port=port, on_url=print
        )
    httpx.get(_callback_url(port, state), timeout=10)  # ends the first run (a bad code)
    with pytest.raises(RetlError):
        run.finish()


def _callback_url(port: int, state: str) -> str:
    return f"http://127.0.0.1:{port}/callback?state={state}&auth_code=x"


# --------------------------------------------------------------------------- store


def make_credentials(app_id: str = APP_ID, token: str = FAKE_TOKEN) -> Credentials:
    return Credentials(
        access_token=SecretStr(token),
        advertiser_ids=(ADVERTISER,),
        scope=(1, 4),
        app_id=app_id,
        created_at="2025-01-02T03:04:05Z",
        api_base_url="https://business-api.tiktok.com",
    )


def test_credentials_repr_hides_the_token() -> None:
    creds = make_credentials()
    assert leaks(repr(creds) + str(creds), FAKE_TOKEN) == []
    assert "**********" in repr(creds)


def test_default_path_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_credentials_path() == tmp_path / "home" / "creds.json"
    monkeypatch.delenv("RETL_CREDENTIALS_FILE")
    assert default_credentials_path() == tmp_path / "xdg" / "retl" / "credentials.json"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")
    assert default_credentials_path() == tmp_path / "home" / ".config" / "retl" / "credentials.json"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert default_credentials_path() == tmp_path / "home" / ".config" / "retl" / "credentials.json"


def test_store_missing_file_loads_none() -> None:
    assert CredentialsStore().load() is None


def test_store_keeps_several_apps_and_remembers_the_last(tmp_path: Path) -> None:
    store = CredentialsStore(tmp_path / "a" / "b" / "c.json")
    first, second = make_credentials("app-1", "t1"), make_credentials("app-2", "t2")
    store.save("app-1", first)
    store.save("app-2", second)
    assert store.load() == second
    assert store.load("app-1") == first
    store.save("app-1", first)
    assert store.load() == first
    # Both created directories are private; the file holds the raw token, as it must.
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700
    on_disk = json.loads(store.path.read_text())
    assert on_disk["apps"]["app-2"]["access_token"] == "t2"


def test_store_tightens_a_readable_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = CredentialsStore(tmp_path / "creds.json")
    store.save(APP_ID, make_credentials())
    os.chmod(store.path, 0o644)
    with caplog.at_level(logging.WARNING):
        assert store.load() == make_credentials()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert "readable by other users" in caplog.text
    assert FAKE_TOKEN not in caplog.text


def test_store_corrupt_file_is_a_config_error_without_the_token(tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    path.write_text('{"apps": {"x": {"access_token": "' + FAKE_TOKEN + '"')
    path.chmod(0o600)
    with pytest.raises(ConfigError) as info:
        CredentialsStore(path).load()
    assert info.value.file == path
    assert FAKE_TOKEN not in str(info.value) and info.value.__cause__ is None
    with pytest.raises(ConfigError):
        CredentialsStore(path).save(APP_ID, make_credentials())  # never clobbers other apps


@pytest.mark.parametrize(
    ("field", "value"),
    [("scope", ["abc"]), ("advertiser_ids", "7001"), ("advertiser_ids", [{"a": 1}])],
)
def test_a_token_answer_whose_ids_are_no_list_of_ids_is_an_error(
    field: str, value: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scope that was no number exited 2 as a bug; "7001" was stored as 7, 0, 0, 1; an
    object as its repr (an audit)."""
    from reverse_etl.destinations.tiktok import auth
    from reverse_etl.destinations.tiktok.client import TikTokClient
    from reverse_etl.errors import TerminalDestinationError

    answer = {"access_token": "tok-abc", "advertiser_ids": ["7001"], "scope": [1]}
    answer[field] = value
    monkeypatch.setattr(TikTokClient, "call", lambda self, *a, **k: answer)
    with pytest.raises(TerminalDestinationError, match=f"a {field} that is not a list of IDs"):
        # (a code of its own: _exchange registers it as a secret, masked in every output after)
        auth._exchange(APP_ID, SecretStr(APP_SECRET), "code-5e1d9c7a", "http://127.0.0.1:9")

"""Fixtures: a fresh sandbox per test, a real client on loopback, credentials under tmp_path."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from reverse_etl.destinations.tiktok.client import TikTokClient
from reverse_etl.sandbox import SandboxServer, SandboxWorld

ADVERTISER = "7000000000000000001"
TOKEN = "sandbox-token"
APP_ID = "sandbox-app"
APP_SECRET = "sandbox-secret"


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing a test does may touch the real user's credentials."""
    monkeypatch.setenv("RETL_CREDENTIALS_FILE", str(tmp_path / "home" / "creds.json"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def world() -> SandboxWorld:
    return SandboxWorld.demo()


@pytest.fixture
def base_url(world: SandboxWorld) -> Iterator[str]:
    with SandboxServer(world) as server:
        yield server.base_url


@pytest.fixture
def client(base_url: str) -> Iterator[RecordingClient]:
    with TikTokClient(base_url, SecretStr(TOKEN)) as real:
        yield RecordingClient(real)


class RecordingClient:
    """Passes every call to the real client and remembers it, to assert on paging and creates."""

    def __init__(self, real: TikTokClient) -> None:
        self.real = real
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        authenticated: bool = True,
    ) -> dict[str, Any]:
        self.calls.append((method, path, dict(params or json or {})))
        return self.real.call(method, path, params=params, json=json, authenticated=authenticated)

    def paths(self, method: str | None = None) -> list[str]:
        return [p for m, p, _ in self.calls if method is None or m == method]


class NoNetworkClient:
    """For requests that must be answered without a single API call."""

    def call(self, method: str, path: str, **_: Any) -> dict[str, Any]:
        raise AssertionError(f"unexpected API call {method} {path}")

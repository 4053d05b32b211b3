"""Fixtures: a sandbox on loopback with an injectable clock, and an authorised httpx client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reverse_etl.sandbox import DEMO_TOKEN, SandboxOptions, SandboxServer

from .helpers import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def options(clock: FakeClock) -> SandboxOptions:
    return SandboxOptions(clock=clock)


@pytest.fixture
def server(options: SandboxOptions) -> Iterator[SandboxServer]:
    with SandboxServer(options=options) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers={"Access-Token": DEMO_TOKEN}) as c:
        yield c

"""Fixtures for delivery and client tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from scripted_http import ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.close()
        srv.thread.join(timeout=5)

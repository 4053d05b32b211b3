"""Fixtures for the Meta destination: a workbench, the registry entry, a scripted server."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reverse_etl.config.destinations import DestinationConfig, parse_destinations
from reverse_etl.config.yaml_loader import parse_yaml
from reverse_etl.destinations import registry
from reverse_etl.destinations.shared.phones import register_phone_udf
from reverse_etl.engine.duckdb import DuckDBEngine
from tests.delivery.scripted_http import ScriptedServer

ParseYaml = Callable[[str], list[DestinationConfig]]


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine()
    register_phone_udf(eng)
    yield eng
    eng.close()


@pytest.fixture
def registered() -> None:
    """``meta_conversions`` is a registered type: the registry's one line for Meta."""
    assert "meta_conversions" in registry.known_types()


@pytest.fixture
def parse(registered: None, tmp_path: Path) -> ParseYaml:
    """destinations.yml text -> the parsed destinations (ConfigError on any problem)."""

    def run(text: str) -> list[DestinationConfig]:
        path = tmp_path / "destinations.yml"
        body = textwrap.dedent(text).lstrip("\n")
        path.write_text(body, encoding="utf-8")
        return parse_destinations(parse_yaml(body, path))

    return run


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.close()
        srv.thread.join(timeout=5)

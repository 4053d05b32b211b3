from __future__ import annotations

from collections.abc import Iterator

import pytest

from reverse_etl.destinations.shared.phones import register_phone_udf as prepare_engine
from reverse_etl.engine.duckdb import DuckDBEngine


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine()
    prepare_engine(eng)
    yield eng
    eng.close()

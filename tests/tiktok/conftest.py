from __future__ import annotations

from collections.abc import Iterator

import pytest

from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.plan import prepare_engine


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine()
    prepare_engine(eng)
    yield eng
    eng.close()

"""DuckDB-dialect expressions give DuckDB's values on PostgreSQL, or fail loudly
(tests/portable_exprs.py)."""

from __future__ import annotations

from typing import Any

import pytest

from reverse_etl.engine.base import iter_batches
from reverse_etl.engine.postgres import PostgresEngine
from reverse_etl.errors import EngineError
from tests.portable_exprs import differences

pytestmark = pytest.mark.postgres


def test_no_expression_gives_another_value_on_postgresql_silently(
    pg_engine: PostgresEngine,
) -> None:
    def run(sql: str) -> Any:
        reader = pg_engine.stream(sql)
        (row,) = [r for b in iter_batches(reader) for r in b.to_pylist()]
        return row["v"]

    assert differences("postgres", run, (EngineError,)) == []

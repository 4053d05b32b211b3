"""The warehouse diff's plan in a real PostgreSQL: no step that grows faster than the rows.

Found by bench/pg_bench.py: the duplicated keys were an ``IN (subquery)`` under an OR, which
PostgreSQL runs as a SubPlan per row: hashed when the subquery's estimate fits ``work_mem``,
and above it (1M rows at the default 4MB) a rescan of the duplicated keys for every row. A
join has neither. No timing is measured: the plan's shape is.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.state.diff import FORM_EXACT, diff_sql, row_parts

SCHEMA = pa.schema([("event_id", pa.string()), ("value", pa.int64())])


@pytest.fixture
def engine(pg_db: PostgresConnection) -> Iterator[PostgresEngine]:
    engine = PostgresEngine(pg_db)
    engine.execute(
        "CREATE TABLE cur AS SELECT 'k' || i AS event_id, i::bigint AS value "
        "FROM generate_series(1, 5000) AS i"
    )
    engine.execute("INSERT INTO cur VALUES ('k7', 70), ('k7', 71)")  # k7 three times
    rows = row_parts("SELECT * FROM cur", SCHEMA, ["event_id"], form=FORM_EXACT)
    # the state: every key acknowledged with its current hash, but k1's changed since
    engine.execute(
        f"CREATE TABLE st AS SELECT DISTINCT ON (__row_key) __row_key AS row_key, "
        f"__row_hash AS row_hash "
        f"FROM ({engine.transpile(rows.sql)}) AS r"
    )
    engine.execute("UPDATE st SET row_hash = 'old' WHERE row_key = 'k1'")
    engine.execute("ANALYZE cur")
    engine.execute("ANALYZE st")
    try:
        yield engine
    finally:
        engine.close()


def diff(engine: PostgresEngine) -> str:
    rows = row_parts("SELECT * FROM cur", SCHEMA, ["event_id"], form=FORM_EXACT)
    return engine.transpile(diff_sql(rows.sql, "st"))


def test_the_duplicated_keys_are_joined_not_rescanned_per_row(engine: PostgresEngine) -> None:
    engine.execute("SET work_mem = '64kB'")
    plan = "\n".join(r[0] for r in engine.rows("EXPLAIN " + diff(engine)))
    assert "SubPlan" not in plan, plan
    assert "Nested Loop" not in plan, plan


def test_the_diff_sends_new_changed_and_duplicated_keys(engine: PostgresEngine) -> None:
    got = engine.rows(f"SELECT __row_key, __change FROM ({diff(engine)}) AS d ORDER BY 1")
    # k1 changed; k7's three rows come along (reported invalid later), however unchanged
    assert got == [("k1", "changed"), ("k7", "changed"), ("k7", "changed"), ("k7", "changed")]

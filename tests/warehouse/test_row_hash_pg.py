"""The row hash with the state in PostgreSQL (issue #12, item 3): the exact form, transpiled.

Two values of one column type hash the same exactly when they are equal (big integers, long
decimals, floats, arrays and composite values holding them); an md5 scope of an older retl
keeps hashing as before.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_PIXEL_CODE, SandboxServer
from reverse_etl.state.diff import FORM_EXACT, FORM_MD5, Rows, row_parts
from reverse_etl.state.warehouse import WarehouseStateStore
from tests.security.test_row_hash import (
    I64,
    I128,
    bigints,
    check_exact,
    decimals,
    doubles,
    floats32,
)

pytestmark = pytest.mark.postgres

TOKEN = "pg-row-hash-token-41d2"
NOW = int(time.time()) - 3600

# column -> (PostgreSQL type, values): numeric(38,0) holds HUGEINT's range; a numeric
# without (p,s) reaches retl as float64 but hashes as the numeric it is.
COLUMNS: dict[str, tuple[str, st.SearchStrategy[Any]]] = {
    "big": ("bigint", bigints),
    "huge": ("numeric(39,0)", st.integers(-I128 + 1, I128 - 1) | st.integers(I64 - 2, I64 + 2)),
    "dec": ("numeric(38,10)", decimals),
    # (normalized: a numeric keeps the scale it was given, and 1.50 would hash apart from 1.5)
    "free": ("numeric", decimals.map(lambda d: d.normalize()) | st.integers(-I128, I128)),
    "f8": ("double precision", doubles),
    "f4": ("real", floats32),
    "ids": ("bigint[]", st.lists(bigints, max_size=3)),
    "decs": ("numeric(38,10)[]", st.lists(decimals, max_size=2)),
    "pair": ("retl_pair", st.tuples(st.integers(-I128 + 1, I128 - 1), decimals)),
    # two texts hashed together: no text passes for the separator or for NULL
    "t1": ("text", st.text("a\x1e\x1fN", max_size=3) | st.none()),
    "t2": ("text", st.text("a\x1e\x1fN", max_size=3) | st.none()),
}
TOGETHER = ("t1", "t2")
ROW = st.fixed_dictionaries({name: strategy for name, (_, strategy) in COLUMNS.items()})


def _pg(db: PostgresConnection) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=db.host, port=db.port, dbname=db.dbname, user=db.user, autocommit=True
    )


def _value(name: str, value: Any) -> Any:
    if name == "pair":  # a composite value, as PostgreSQL reads its text
        return f"({value[0]},{value[1]})"
    return value


@pytest.fixture
def engine(pg_db: PostgresConnection) -> Iterator[PostgresEngine]:
    with _pg(pg_db) as con:
        con.execute("CREATE TYPE retl_pair AS (n numeric(39,0), d numeric(38,10))")
        columns = ", ".join(f"{name} {type_}" for name, (type_, _) in COLUMNS.items())
        con.execute(f"CREATE TABLE v (i integer, {columns})")
    engine = PostgresEngine(pg_db)
    try:
        yield engine
    finally:
        engine.close()


def test_values_hash_the_same_in_postgres_only_when_they_are_equal(
    engine: PostgresEngine, pg_db: PostgresConnection
) -> None:
    model = "SELECT * FROM v"
    schema = engine.schema(model)

    # Every column's row hash in one query: each digest reads only its own column.
    def one(*names: str) -> Rows:
        fields = [schema.field(name) for name in names]
        return row_parts(model, pa.schema(fields), [names[0]], form=FORM_EXACT)

    alone = [name for name in COLUMNS if name not in TOGETHER]
    digests = ", ".join([*(one(name).digest for name in alone), one(*TOGETHER).digest])
    query = engine.transpile(f"SELECT {digests} FROM v ORDER BY i")

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(rows=st.lists(ROW, min_size=2, max_size=8))
    def prop(rows: list[dict[str, Any]]) -> None:
        names = list(COLUMNS)
        rows[1:1] = [{**rows[0], "t1": "a\x1f", "t2": ""}, {**rows[0], "t1": "a", "t2": "\x1f"}]
        with _pg(pg_db) as con:
            con.execute("TRUNCATE v")
            con.cursor().executemany(
                f"INSERT INTO v VALUES (%s, {', '.join(['%s'] * len(names))})",
                [[i, *(_value(n, row[n]) for n in names)] for i, row in enumerate(rows)],
            )
        hashed = engine.rows(query)
        for c, name in enumerate(alone):
            check_exact([row[name] for row in rows], [h[c] for h in hashed])
        check_exact([tuple(row[n] for n in TOGETHER) for row in rows], [h[-1] for h in hashed])

    prop()


def test_edges_hash_apart_in_postgres(engine: PostgresEngine, pg_db: PostgresConnection) -> None:
    sql = """SELECT * FROM (VALUES
        (1, 7300000000000000001::bigint, 0::float8, 1.5::numeric),
        (2, 7300000000000000002::bigint, '-0'::float8, 1.5000000000000000000000000001::numeric),
        (3, 9223372036854775807::bigint, 'NaN'::float8, 12345678901234567890123::numeric),
        (4, 9223372036854775806::bigint, 'Infinity'::float8, 12345678901234567890124::numeric)
    ) AS t(i, big, f8, free)"""
    with _pg(pg_db) as con:
        con.execute(f"CREATE VIEW edges AS {sql}")
    model = "SELECT big, f8, free FROM edges ORDER BY i"
    parts = row_parts(model, engine.schema(model), ["big"], form=FORM_EXACT)
    digests = [
        r[0] for r in engine.rows(engine.transpile(f"SELECT __row_hash FROM ({parts.sql}) AS __h"))
    ]
    assert len(set(digests)) == 4 and all(len(d) == 34 for d in digests)


def test_equal_numbers_of_other_types_hash_the_same_in_postgres(engine: PostgresEngine) -> None:
    def one(select: str) -> str:
        parts = row_parts(select, engine.schema(select), ["v"], form=FORM_EXACT)
        return str(
            engine.rows(engine.transpile(f"SELECT __row_hash FROM ({parts.sql}) AS __h"))[0][0]
        )

    one_bigint = one("SELECT CAST(1 AS BIGINT) AS v")
    for other in ("CAST(1.0 AS DOUBLE)", "CAST(1.00 AS DECIMAL(10,2))", "CAST(1.000 AS NUMERIC)"):
        assert one(f"SELECT {other} AS v") == one_bigint, other
    assert one("SELECT CAST(7300000000000000001 AS DOUBLE) AS v") != one(
        "SELECT CAST(7300000000000000001 AS BIGINT) AS v"
    )


GOLDEN_ROW = """SELECT 'k1' AS id, CAST(7300000000000000001 AS BIGINT) AS big,
 CAST(1.50 AS NUMERIC(10,2)) AS d, CAST(0.1 AS DOUBLE) AS f, CAST(0.1 AS REAL) AS r,
 CAST(123.456 AS NUMERIC) AS free, [1, 7300000000000000001] AS ids, CAST(NULL AS INT) AS n,
 'a' || chr(31) || 'b' AS t"""
# Computed by retl before the exact form: an md5 scope in PostgreSQL must keep every byte.
GOLDEN_MD5 = "c3456b66797f5f09e206a61565972119"


def test_form_1_hashes_as_before_in_postgres(engine: PostgresEngine) -> None:
    parts = row_parts(GOLDEN_ROW, engine.schema(GOLDEN_ROW), ["id"], form=FORM_MD5)
    (digest,) = engine.rows(engine.transpile(f"SELECT __row_hash FROM ({parts.sql}) AS __h"))[0]
    assert digest == GOLDEN_MD5


# --- end to end: an md5 scope keeps md5; a new one takes the exact form ---------------------
@pytest.fixture
def sandbox_token() -> str:
    """The token the ``server`` fixture (tests/conftest.py) accepts here."""
    return TOKEN


def _project(root: Path, db: PostgresConnection, base_url: str) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "retl_project.yml").write_text(
        f"""
warehouse: {{type: postgres, host: {db.host}, port: {db.port}, dbname: {db.dbname}, \
user: {db.user}}}
state:
  location: warehouse
""",
        encoding="utf-8",
    )
    (root / "models" / "orders.sql").write_text(
        "select 'Purchase' as event, 'o' || id as event_id, "
        f"{NOW} as event_time, order_id, 'USD' as currency, 1 as value "
        "from shop.orders",
        encoding="utf-8",
    )
    (root / "destinations.yml").write_text(
        f"""
destinations:
  tiktok:
    type: tiktok_events
    model: orders
    auth_method: access_token
    access_token: "{{{{ env_var('PG_TEST_TOKEN') }}}}"
    event_source_id: {DEMO_PIXEL_CODE}
    api_base_url: {base_url}
""",
        encoding="utf-8",
    )
    return root


def _sync(root: Path) -> tuple[int, int]:
    with Project.load(root) as p:
        p.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
        report = p.sync()
    assert report.ok, report.to_dict()
    (r,) = report.results
    return r.sent, r.rows_unchanged


def _lengths(db: PostgresConnection) -> set[int]:
    with _pg(db) as con:
        rows = con.execute("SELECT DISTINCT length(row_hash) FROM retl_state.synced_rows")
        return {int(r[0]) for r in rows.fetchall()}


def test_an_md5_scope_keeps_md5_and_a_new_scope_is_exact(
    pg_db: PostgresConnection,
    server: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PG_TEST_TOKEN", TOKEN)
    with _pg(pg_db) as con:
        con.execute("CREATE SCHEMA shop")
        con.execute(
            "CREATE TABLE shop.orders AS SELECT i AS id, 7300000000000000000 + i AS order_id "
            "FROM generate_series(1, 3) AS i"
        )
    root = _project(tmp_path, pg_db, server.base_url)
    with monkeypatch.context() as older:  # what retl before the exact form wrote
        older.setattr(WarehouseStateStore, "new_scope_form", FORM_MD5)
        assert _sync(root) == (3, 0)
    assert _lengths(pg_db) == {32}
    assert _sync(root) == (0, 3)  # the upgrade makes no row look changed
    assert _lengths(pg_db) == {32}
    with Project.load(root) as p:
        p.state_reset(["tiktok"])
    assert _sync(root) == (3, 0)
    assert _lengths(pg_db) == {34}
    with _pg(pg_db) as con:  # ...001 becomes ...004: through DOUBLE, the same number
        con.execute("UPDATE shop.orders SET order_id = order_id + 3 WHERE id = 1")
    with Project.load(root) as p:
        (plan,) = p.plan()
    assert (plan.rows_new, plan.rows_changed, plan.rows_unchanged) == (0, 1, 2)

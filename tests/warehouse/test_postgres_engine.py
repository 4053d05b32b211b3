"""The native PostgreSQL engine against a real server (started by ``conftest.py``)."""

from __future__ import annotations

import datetime as dt
import gc
import math
import resource
import socket
import sys
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pydantic import SecretStr

from reverse_etl.engine.base import JSON_TEXT, NUMERIC_TEXT, ColumnInfo, iter_batches
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.errors import EngineError

from .conftest import PgServer

pytestmark = pytest.mark.postgres

MB = 1024 * 1024
UTC = dt.timezone.utc


@pytest.fixture
def engine(pg_engine: PostgresEngine) -> PostgresEngine:
    return pg_engine


def sessions(pg_server: PgServer, dbname: str, expect: int | None = None) -> int:
    """Sessions on ``dbname`` (each open stream holds one). A closed session leaves
    pg_stat_activity a moment after the client hung up: with ``expect``, wait for it."""
    deadline = time.monotonic() + 60  # a bound for a loaded machine, not a timing
    with pg_server.admin() as con:
        while True:
            row = con.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (dbname,)
            ).fetchone()
            assert row is not None
            count = int(str(row[0]))
            if expect is None or count == expect or time.monotonic() > deadline:
                return count
            time.sleep(0.02)


# --- transpiling a DuckDB model -----------------------------------------------------------

DUCKDB_MODEL = """
select
    o.id::varchar as order_id,
    [o.id, o.id * 10] as pair,
    list_value('a', 'b') as tags,
    strftime(o.created_at, '%Y-%m-%d') as day,
    epoch(o.created_at) as ts_epoch,
    trim(o.email) ilike '%@EXAMPLE.com' as is_example,
    o.created_at + interval 3 day as later,
    date_diff('day', o.created_at::date, date '2024-03-01') as days_left,
    o.amount // 2 as half_floor,
    count(*) over (partition by lower(trim(o.email))) as orders_by_email
from orders as o
qualify row_number() over (partition by lower(trim(o.email)) order by o.created_at desc) = 1
"""


def test_duckdb_model_is_transpiled_and_runs_on_postgres(engine: PostgresEngine) -> None:
    engine.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, email text, created_at timestamp, amount int)"
    )
    engine.execute(
        "INSERT INTO orders VALUES (1, ' Ann@Example.com', '2024-02-01 10:00', 7),"
        " (2, 'ann@example.com ', '2024-02-10 08:30', 9),"
        " (3, 'bob@other.org', '2024-02-28 23:59:59', 4)"
    )
    sql = engine.transpile(DUCKDB_MODEL)
    assert "ARRAY[" in sql
    assert "TO_CHAR" in sql
    assert "QUALIFY" not in sql.upper()

    table = engine.stream(DUCKDB_MODEL).read_all().sort_by("order_id")
    assert table.to_pylist() == [
        {
            "order_id": "2",
            "pair": [2, 20],
            "tags": ["a", "b"],
            "day": "2024-02-10",
            "ts_epoch": 1707553800.0,
            "is_example": True,
            "later": dt.datetime(2024, 2, 13, 8, 30),
            "days_left": 20,
            "half_floor": 4,  # an integer's // an integer, as in DuckDB (a numeric's text before)
            "orders_by_email": 2,
        },
        {
            "order_id": "3",
            "pair": [3, 30],
            "tags": ["a", "b"],
            "day": "2024-02-28",
            "ts_epoch": 1709164799.0,
            "is_example": False,
            "later": dt.datetime(2024, 3, 2, 23, 59, 59),
            "days_left": 2,
            "half_floor": 2,
            "orders_by_email": 1,
        },
    ]
    assert table.schema.field("pair").type == pa.list_(pa.int32())
    assert table.schema.field("ts_epoch").type == pa.float64()  # unconstrained numeric


def test_transpile_errors_name_the_problem(engine: PostgresEngine) -> None:
    with pytest.raises(EngineError) as info:
        engine.transpile("select from where")
    assert info.value.message.startswith("cannot parse the model as duckdb SQL: ")
    assert "'where'" in info.value.message
    assert "line 1, column 17" in info.value.message

    with pytest.raises(EngineError, match="exactly one SELECT statement, found 2"):
        engine.transpile("select 1; select 2")


# --- types ---------------------------------------------------------------------------------

TYPES_SQL = """
select
    1::int2 as i2, 2::int4 as i4, 3::int8 as i8,
    1.5::float4 as f4, 2.5::float8 as f8,
    12.34::numeric(10,2) as dec, round(1.55, 1) as num_free, 1.5::numeric(50,3) as dec_wide,
    'x'::text as t, 'y'::varchar(5) as vc, fixed.ch, fixed.nm,
    true as b, '2024-02-29'::date as d,
    '2024-01-01 12:00:00.123456'::timestamp as ts,
    '2024-01-01 12:00:00+02'::timestamptz as tstz,
    '{"a": [1, 2]}'::json as js, '{"b": null}'::jsonb as jsb,
    array[1, null]::int4[] as a_i4, array[1.5]::float8[] as a_f8,
    array[1.25]::numeric(4,2)[] as a_dec, array[0.5]::numeric[] as a_num,
    array['p', null] as a_t, array[true] as a_b, array['2024-01-02'::date] as a_d,
    array['2024-01-01 00:00:01'::timestamp] as a_ts,
    array['2024-01-01 00:00:00+00'::timestamptz] as a_tstz,
    array['{"k": 1}'::jsonb] as a_jsb,
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid as u, '1 day 02:00'::interval as iv,
    '12:30'::time as tm, '10.0.0.1'::inet as ip, '\\x0102'::bytea as by,
    array['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid] as a_u,
    'sad'::mood as mood, null::int4 as nothing
from fixed  -- char(n) and name: DuckDB has no such casts (sqlglot makes them text)
"""

EXPECTED_TYPES = {
    "i2": pa.int16(),
    "i4": pa.int32(),
    "i8": pa.int64(),
    "f4": pa.float32(),
    "f8": pa.float64(),
    "dec": pa.decimal128(10, 2),
    "num_free": pa.string(),  # exact text, marked NUMERIC_TEXT: typed when staged
    "dec_wide": pa.decimal256(50, 3),
    "t": pa.string(),
    "vc": pa.string(),
    "ch": pa.string(),
    "nm": pa.string(),
    "b": pa.bool_(),
    "d": pa.date32(),
    "ts": pa.timestamp("us"),
    "tstz": pa.timestamp("us", tz="UTC"),
    "js": pa.string(),
    "jsb": pa.string(),
    "a_i4": pa.list_(pa.int32()),
    "a_f8": pa.list_(pa.float64()),
    "a_dec": pa.list_(pa.decimal128(4, 2)),
    "a_num": pa.list_(pa.float64()),
    "a_t": pa.list_(pa.string()),
    "a_b": pa.list_(pa.bool_()),
    "a_d": pa.list_(pa.date32()),
    "a_ts": pa.list_(pa.timestamp("us")),
    "a_tstz": pa.list_(pa.timestamp("us", tz="UTC")),
    "a_jsb": pa.string(),  # one JSON array
    "u": pa.string(),
    "iv": pa.string(),
    "tm": pa.string(),
    "ip": pa.string(),
    "by": pa.string(),
    "a_u": pa.list_(pa.string()),
    "mood": pa.string(),
    "nothing": pa.int32(),
}


def test_every_mapped_type_round_trips_into_arrow(engine: PostgresEngine) -> None:
    engine.execute("CREATE TYPE mood AS ENUM ('happy', 'sad')")
    engine.execute("CREATE TABLE fixed (ch char(3), nm name)")
    engine.execute("INSERT INTO fixed VALUES ('z', 'n')")
    table = engine.stream(TYPES_SQL).read_all()
    assert dict(zip(table.schema.names, table.schema.types, strict=True)) == EXPECTED_TYPES
    described = engine.schema(TYPES_SQL)  # the row hash's SQL is written from it: as before
    assert described.field("num_free").type == pa.float64()
    assert described.remove(described.get_field_index("num_free")) == table.schema.remove(
        table.schema.get_field_index("num_free")
    )
    assert [f.name for f in table.schema if f.metadata and NUMERIC_TEXT in f.metadata] == [
        "num_free"
    ]
    # json, jsonb and an array of them are marked as JSON text, for the workbench to nest
    marked = [f.name for f in table.schema if f.metadata and JSON_TEXT in f.metadata]
    assert marked == ["js", "jsb", "a_jsb"]

    (row,) = table.to_pylist()
    assert row == {
        "i2": 1,
        "i4": 2,
        "i8": 3,
        "f4": 1.5,
        "f8": 2.5,
        "dec": Decimal("12.34"),
        "num_free": "1.6",
        "dec_wide": Decimal("1.500"),
        "t": "x",
        "vc": "y",
        "ch": "z",  # char(n)'s padding is not part of the value
        "nm": "n",
        "b": True,
        "d": dt.date(2024, 2, 29),
        "ts": dt.datetime(2024, 1, 1, 12, 0, 0, 123456),
        "tstz": dt.datetime(2024, 1, 1, 10, 0, tzinfo=row["tstz"].tzinfo),
        "js": '{"a": [1, 2]}',
        "jsb": '{"b": null}',
        "a_i4": [1, None],
        "a_f8": [1.5],
        "a_dec": [Decimal("1.25")],
        "a_num": [0.5],
        "a_t": ["p", None],
        "a_b": [True],
        "a_d": [dt.date(2024, 1, 2)],
        "a_ts": [dt.datetime(2024, 1, 1, 0, 0, 1)],
        "a_tstz": [dt.datetime(2024, 1, 1, tzinfo=row["a_tstz"][0].tzinfo)],
        "a_jsb": '[{"k": 1}]',
        "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "iv": "1 day 02:00:00",
        "tm": "12:30:00",
        "ip": "10.0.0.1",
        "by": "\\x0102",
        "a_u": ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
        "mood": "sad",
        "nothing": None,
    }
    assert row["tstz"].utcoffset() == dt.timedelta(0)


def test_schema_fetches_no_rows(engine: PostgresEngine) -> None:
    # Any row would divide by zero: only declaring the cursor can succeed.
    sql = "select i, 1 / (i - i) as boom from generate_series(1, 3) as s(i)"
    assert engine.schema(sql) == pa.schema([("i", pa.int32()), ("boom", pa.float64())])
    with pytest.raises(EngineError, match="division by zero"):
        engine.stream(sql).read_all()
    # The schema's read-only transaction is over: the engine's connection writes again.
    engine.execute("CREATE TABLE after_schema (x int)")


@pytest.mark.parametrize("by_copy", [True, False], ids=["copy", "cursor"])
def test_an_array_of_two_dimensions_is_a_located_error(
    engine: PostgresEngine, by_copy: bool
) -> None:
    """Arrow's list holds one dimension: a 2-D array is said as such, with a fix (it was
    'a value does not fit list<item: int32>')."""
    engine.by_copy = by_copy
    with pytest.raises(EngineError, match='column "m": an array of two or more dim') as info:
        engine.stream("select array[[1, 2], [3, 4]] as m").read_all()
    assert "unnest" in (info.value.hint or "")
    # one dimension, as the hint says, reads
    flat = engine.stream("select array(select unnest(array[[1, 2], [3, 4]])) as m").read_all()
    assert flat.column("m").to_pylist() == [[1, 2, 3, 4]]


TIMES_OUT_OF_RANGE = """select * from (values
    (1, 'infinity'::timestamptz, '-infinity'::date, '2024-01-01'::timestamp),
    (2, '2024-01-01 10:00+00', '0044-03-15 BC', '200000-01-01'),
    (3, '-infinity', 'infinity', 'infinity'),
    (4, '9999-12-31 23:59:59.999999+00', '0001-01-01', '0001-01-01 00:00:00')
) as v(id, tz, d, ts) order by id"""


@pytest.mark.parametrize("by_copy", [True, False], ids=["copy", "cursor"])
def test_a_time_arrow_cannot_hold_is_null_not_the_runs_error(
    engine: PostgresEngine, by_copy: bool
) -> None:
    """'infinity', BC and year 10000+ failed the whole model ('a value does not fit
    timestamp[us, tz=UTC]'); in DuckDB such a value makes its row invalid only: it is NULL
    here (the encoders then say the row's event_time is missing), every other row exact."""
    engine.by_copy = by_copy
    rows = engine.stream(TIMES_OUT_OF_RANGE).read_all().to_pylist()
    utc = dt.timezone.utc
    assert [(r["tz"], r["d"], r["ts"]) for r in rows] == [
        (None, None, dt.datetime(2024, 1, 1)),
        (dt.datetime(2024, 1, 1, 10, tzinfo=utc), None, None),
        (None, None, None),
        (
            dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=utc),
            dt.date(1, 1, 1),
            dt.datetime(1, 1, 1),
        ),
    ]
    arrays = engine.stream("select array['infinity', '2024-01-02']::date[] as a").read_all()
    assert arrays.column("a").to_pylist() == [[None, dt.date(2024, 1, 2)]]


# --- streaming -----------------------------------------------------------------------------


def _rss() -> int:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    scale = 1 if sys.platform == "darwin" else 1024  # peak only, where /proc is missing
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def test_two_million_rows_stream_in_bounded_memory(engine: PostgresEngine) -> None:
    sql = (
        "select i as id, repeat('x', 40) || i::varchar as label, i * 1.5 as amount "
        "from generate_series(1, 2000000) as s(i)"
    )
    gc.collect()
    before = peak = _rss()
    rows = batches = nbytes = 0
    total = 0.0
    for batch in iter_batches(engine.stream(sql, batch_rows=10_000)):
        batches += 1
        rows += batch.num_rows
        nbytes += batch.nbytes
        total += pc.sum(pc.cast(batch.column("amount"), pa.float64())).as_py()
        peak = max(peak, _rss())
    growth = peak - before

    assert rows == 2_000_000
    assert batches == 200
    assert total == 1.5 * 2_000_000 * 2_000_001 / 2
    assert nbytes > 100 * MB  # what holding the whole result would take, at the least
    assert growth < 100 * MB, f"RSS grew {growth / MB:.0f} MB for a {nbytes / MB:.0f} MB result"
    assert growth < nbytes / 2


def test_reader_is_lazy_and_releases_its_session(
    engine: PostgresEngine, pg_server: PgServer, pg_db: PostgresConnection
) -> None:
    engine.rows("select 1")  # the engine's own session
    base = sessions(pg_server, pg_db.dbname)
    reader = engine.stream("select i from generate_series(1, 100000) as s(i)", batch_rows=1000)
    assert sessions(pg_server, pg_db.dbname, base + 1) == base + 1
    first = reader.read_next_batch()
    assert first.num_rows == 1000
    assert first.column(0).to_pylist()[:3] == [1, 2, 3]
    del reader, first
    gc.collect()
    assert sessions(pg_server, pg_db.dbname, base) == base  # abandoned half-way: closed

    unread = engine.stream("select 1 as x")
    assert sessions(pg_server, pg_db.dbname, base + 1) == base + 1
    engine.close()  # closes streams nobody read, too
    assert sessions(pg_server, pg_db.dbname, 0) == 0
    del unread


@pytest.mark.parametrize("by_copy", [True, False], ids=["copy", "cursor"])
def test_error_half_way_through_the_stream(
    engine: PostgresEngine, pg_server: PgServer, pg_db: PostgresConnection, by_copy: bool
) -> None:
    engine.by_copy = by_copy
    reader = engine.stream(
        "select 1 / (i - 15000) as x from generate_series(1, 20000) as s(i)", batch_rows=1000
    )
    got = 0
    with pytest.raises(EngineError, match="PostgreSQL: division by zero"):
        for batch in iter_batches(reader):
            got += batch.num_rows
    assert got == 14_000  # every batch before the failing row, through COPY as the cursor
    assert sessions(pg_server, pg_db.dbname, 0) == 0  # the stream's session is gone


def test_stream_runs_read_only(engine: PostgresEngine) -> None:
    # (nextval() itself is refused before it is sent: engine/postgres.py, _REFUSED_CALLS)
    engine.execute("CREATE TABLE written (n int)")
    engine.execute(
        "CREATE FUNCTION bump() RETURNS int LANGUAGE sql AS "
        "'INSERT INTO written VALUES (1) RETURNING n'"
    )
    with pytest.raises(EngineError, match="read-only transaction"):
        engine.stream("select bump() as n").read_all()


def test_search_path_and_utc_session(pg_server: PgServer, pg_db: PostgresConnection) -> None:
    with pg_server.admin(pg_db.dbname) as con:
        con.execute("CREATE SCHEMA analytics")
        con.execute("CREATE TABLE analytics.users (id int)")
        con.execute("INSERT INTO analytics.users VALUES (7)")
    conn = pg_server.connection(pg_db.dbname, search_path="analytics, public")
    eng = PostgresEngine(conn)
    try:
        assert eng.stream("select id from users").read_all().to_pylist() == [{"id": 7}]
        assert eng.rows("show TimeZone") == [("UTC",)]
        # Streams may wait on a slow consumer inside their transaction.
        idle = "select current_setting('idle_in_transaction_session_timeout') as v"
        assert eng.stream(idle).read_all().to_pylist() == [{"v": "0"}]
        table = eng.stream("select '2024-06-01 12:00+02'::timestamptz::timestamp as t").read_all()
        assert table.column("t").to_pylist() == [dt.datetime(2024, 6, 1, 10, 0)]
    finally:
        eng.close()


# --- errors --------------------------------------------------------------------------------


def test_query_error_carries_postgres_message_line_and_hint(engine: PostgresEngine) -> None:
    engine.execute("CREATE TABLE t (a int)")
    with pytest.raises(EngineError) as info:
        engine.stream("select a,\n  nope\nfrom t")
    assert info.value.message == 'PostgreSQL: column "nope" does not exist (LINE 3: nope)'

    with pytest.raises(EngineError) as info:
        engine.schema("select lenght('x') as n")
    assert info.value.message.startswith("PostgreSQL: function lenght(unknown) does not exist")
    assert info.value.hint is not None
    assert "explicit type casts" in info.value.hint

    with pytest.raises(EngineError, match='relation "missing" does not exist'):
        engine.rows("SELECT * FROM missing")


def _refused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once closed


def test_connection_refused_names_the_target() -> None:
    port = _refused_port()
    conn = PostgresConnection(host="127.0.0.1", port=port, dbname="shop", user="retl")
    with pytest.raises(EngineError) as info:
        PostgresEngine(conn).rows("select 1")
    err = info.value
    assert err.message == (
        f'cannot connect to PostgreSQL at 127.0.0.1:{port}, database "shop", user "retl": '
        "Connection refused"
    )
    assert err.hint is not None
    assert "server running" in err.hint
    assert err.__cause__ is None
    assert err.__suppress_context__


def test_unknown_database(pg_server: PgServer) -> None:
    with pytest.raises(EngineError) as info:
        PostgresEngine(pg_server.connection("no_such_db")).stream("select 1")
    assert info.value.message.endswith(
        '"no_such_db", user "postgres": database "no_such_db" does not exist'
    )
    assert info.value.hint == "check warehouse.dbname"


def test_bad_password_is_never_printed(pg_server: PgServer, pg_db: PostgresConnection) -> None:
    pg_server.create_password_role("shop_reader", "c0rrect-h0rse")
    secret = "Wr0ng-Pa55word-9f1c"
    conn = pg_server.connection(pg_db.dbname, user="shop_reader", password=SecretStr(secret))
    eng = PostgresEngine(conn)
    with pytest.raises(EngineError) as info:
        eng.rows("select 1")
    err = info.value
    assert 'password authentication failed for user "shop_reader"' in err.message
    assert f"127.0.0.1:{pg_server.port}" in err.message
    assert f'database "{pg_db.dbname}"' in err.message
    for text in (err.message, str(err), repr(err), err.hint or "", repr(eng), repr(conn)):
        assert secret not in text

    good = PostgresEngine(
        pg_server.connection(pg_db.dbname, user="shop_reader", password=SecretStr("c0rrect-h0rse"))
    )
    try:
        assert good.rows("select current_user") == [("shop_reader",)]
    finally:
        good.close()


# --- catalog and raw SQL -------------------------------------------------------------------


def test_table_columns(engine: PostgresEngine) -> None:
    engine.execute("CREATE SCHEMA crm")
    engine.execute(
        'CREATE TABLE crm."Users" (id bigint, email varchar(200), score numeric(10,2),'
        " tags text[], seen timestamptz)"
    )
    engine.execute('ALTER TABLE crm."Users" DROP COLUMN score')
    engine.execute('CREATE MATERIALIZED VIEW crm.emails AS SELECT email FROM crm."Users"')
    assert engine.table_columns("crm", "Users") == [
        ColumnInfo("id", "bigint"),
        ColumnInfo("email", "character varying(200)"),
        ColumnInfo("tags", "text[]"),
        ColumnInfo("seen", "timestamp with time zone"),
    ]
    assert engine.table_columns("crm", "emails") == [ColumnInfo("email", "character varying(200)")]
    assert engine.table_columns("crm", "users") is None
    assert engine.table_columns("nope", "Users") is None


def test_execute_rows_and_a_second_connection(engine: PostgresEngine) -> None:
    engine.execute("CREATE TABLE acks (k text PRIMARY KEY, n int)")
    engine.execute("INSERT INTO acks VALUES (%s, %s), (%s, %s)", ["a", 1, "b%", 2])
    assert engine.rows("SELECT k, n FROM acks WHERE k LIKE 'b%' ORDER BY k") == [("b%", 2)]
    assert engine.rows("SELECT n FROM acks WHERE k = %s", ("a",)) == [(1,)]

    with engine.connect_new() as con:
        assert not con.autocommit
        con.execute("INSERT INTO acks VALUES ('c', 3)")
        assert engine.rows("SELECT count(*) FROM acks") == [(2,)]  # not committed yet
        con.commit()
    assert engine.rows("SELECT count(*) FROM acks") == [(3,)]


def test_repr_hides_the_password() -> None:
    conn = PostgresConnection(host="db", user="u", password=SecretStr("hunter2-secret"))
    eng = PostgresEngine(conn)
    assert "hunter2-secret" not in repr(conn)
    assert "hunter2-secret" not in repr(eng)
    assert repr(eng) == (
        'PostgresEngine(PostgreSQL at db:5432, database "postgres", user "u", '
        "model_dialect='duckdb')"
    )


def test_a_stream_is_planned_for_all_its_rows(engine: PostgresEngine) -> None:
    """Cursors are planned for their first 10% of rows by default; a stream reads every row,
    and that default chose a nested loop for the state diff (11 s for 16,000 rows)."""
    table = pa.Table.from_batches(
        list(iter_batches(engine.stream("SELECT current_setting('cursor_tuple_fraction') AS f")))
    )
    assert table.column("f").to_pylist() == ["1"]


def test_an_interval_of_days_and_a_time_means_the_same_in_postgres(
    pg_engine: PostgresEngine,
) -> None:
    """sqlglot alone translated ``interval '1 day 02:00:03'`` as one day
    (reverse_etl/sqlglot_fixes.py): the model's interval reaches PostgreSQL whole."""
    sql = "select interval '1 day 02:00:03' = interval '26 hours 3 seconds' as same"
    reader = pg_engine.stream(sql)
    assert [b.to_pylist() for b in iter_batches(reader)] == [[{"same": True}]]


def test_a_backslash_in_a_text_is_itself_on_a_server_that_escapes_with_it(
    pg_engine: PostgresEngine,
) -> None:
    """``standard_conforming_strings = off`` (a legacy default) reads a backslash in a quoted
    text as an escape: retl's literals (quotes doubled) and sqlglot's output would end early,
    and a value from a project file could close the text. Every session sets it on."""
    pg_engine.execute(
        f"ALTER DATABASE {pg_engine.conn.dbname} SET standard_conforming_strings = off"
    )
    pg_engine.close()  # the setting applies to new sessions
    value = "x\\' OR true --"
    quoted = "'" + value.replace("'", "''") + "'"  # how retl quotes a text
    assert pg_engine.rows(f"select {quoted} as v") == [(value,)]
    reader = pg_engine.stream(f"select {quoted} as v, 'a\\' as w")  # transpiled by sqlglot
    assert [b.to_pylist() for b in iter_batches(reader)] == [[{"v": value, "w": "a\\"}]]


NUMERICS = "select id, big, amount, wide, odd from numerics order by id"


@pytest.mark.parametrize("by_copy", [True, False], ids=["copy", "cursor"])
def test_a_numeric_without_precision_is_staged_without_losing_a_digit(
    engine: PostgresEngine, by_copy: bool
) -> None:
    """A numeric without (p,s) was read as a DOUBLE: an event_id of 9007199254740993 was
    sent as "9007199254740992". It is staged as the narrowest type that holds every value:
    DOUBLE when each reads back as itself (as before: the same row hashes and payloads),
    else DECIMAL(38, s), else (more than 38 digits) its exact text."""
    engine.execute(
        "CREATE TABLE numerics (id int, big numeric, amount numeric, wide numeric, odd numeric)"
    )
    engine.execute(
        "INSERT INTO numerics VALUES (1, 9007199254740993, 12.50, "
        "1234567890123456789012345678901234567890.5, 1.5), (2, 1, 0.1, null, 'NaN'), "
        "(3, -42, null, 2, 3)"
    )
    engine.by_copy = by_copy
    assert engine.schema(NUMERICS).field("big").type == pa.float64()  # as described before
    bench = DuckDBEngine()
    try:
        table = bench.stage(engine.stream(NUMERICS))
        types = dict(bench.rows(f"SELECT column_name, column_type FROM (DESCRIBE {table})"))
        assert types["big"] == "DECIMAL(38,0)" and types["amount"] == "DOUBLE"
        assert types["wide"] == "VARCHAR" and types["odd"] == "DOUBLE"
        rows = bench.rows(
            f"SELECT CAST(big AS VARCHAR), amount, wide, odd FROM {table} ORDER BY id"
        )
        assert rows[0][:3] == (
            "9007199254740993",
            12.5,
            "1234567890123456789012345678901234567890.5",
        )
        assert rows[1][0] == "1" and rows[1][1] == 0.1 and math.isnan(rows[1][3])
        assert rows[2][:3] == ("-42", None, "2")
    finally:
        bench.close()


@pytest.mark.parametrize(
    ("model", "called"),
    [
        (
            "select * from crosstab('select 1::text, 1::text, "
            "pg_read_file(''PG_VERSION'')::text') as ct(a text, b text)",
            "crosstab",
        ),
        (
            "select * from connectby('pg_class', 'oid', 'relnamespace', '11', 0) "
            "as t(k oid, p oid, l int)",
            "connectby",
        ),
    ],
)
def test_a_query_given_as_text_to_an_extension_is_refused(
    engine: PostgresEngine, pg_server: PgServer, pg_db: PostgresConnection, model: str, called: str
) -> None:
    """tablefunc's crosstab() runs the SQL it is given: a model's crosstab('select ...,
    pg_read_file(''PG_VERSION'')') read the server's file past the refusal of pg_read_file,
    which no check of the model's text saw (connectby() builds its query from its text
    arguments alike)."""
    with pg_server.admin(pg_db.dbname) as con:
        con.execute("CREATE EXTENSION tablefunc")
    with pytest.raises(EngineError, match=rf"may not call {called}\(\): it runs SQL given as text"):
        engine.transpile(f"select * from {engine.native_view('m', model)}")
    # written in DuckDB's dialect, it is refused too
    with pytest.raises(EngineError, match="may not call crosstab"):
        engine.transpile("select * from crosstab('select 1, 2, 3') as ct")

"""Streams read through COPY (engine/pg_copy.py) give exactly what the cursor gives.

The cursor path (``PostgresEngine(by_copy=False)``) is the reference: psycopg's own loaders,
the engine's type mapping. Every column type COPY may read is streamed both ways, over
values that CSV and Arrow's parsers could get wrong (quotes, separators, line breaks, empty
text against NULL, NaN and infinities, the ends of every integer and date range).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from psycopg import sql as pgsql

from reverse_etl.engine import pg_copy, postgres
from reverse_etl.engine.base import iter_batches
from reverse_etl.engine.pg_copy import copy_plan
from reverse_etl.engine.postgres import PostgresEngine
from reverse_etl.errors import EngineError

pytestmark = pytest.mark.postgres

TABLE = """CREATE TABLE edge (
    id int, t text, vc varchar(20), ch char(3), b bool, i2 int2, i4 int4, i8 int8,
    f4 float4, f8 float8, dec numeric(12, 2), free numeric,
    d date, ts timestamp, tstz timestamptz, js json, jsb jsonb, u uuid, iv interval,
    by bytea, a_t text[], a_i8 int8[], a_i2 int2[], a_b bool[])"""
ROWS = r"""INSERT INTO edge VALUES
 (1, 'a,b', 'say "hi"', 'x', true, -32768, -2147483648, -9223372036854775808,
  'NaN', 'NaN', -12345.67, 'NaN',
  '0001-01-01', '0001-01-01 00:00:00', '2024-01-01 12:00:00+02', '{"a": "x,\"y\""}',
  '{"b": [1, "q,"]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '1 day 02:00:00', '\x01022c',
  ARRAY['a,b', 'q"', NULL, '', 'NULL', E'l1\nl2'], ARRAY[1, NULL, 9223372036854775807],
  ARRAY[-32768]::int2[], ARRAY[true, NULL]),
 (2, E'line1\nline2', '', ' y ', false, 32767, 2147483647, 9223372036854775807,
  'Infinity', '-Infinity', 0, 12345678901234567890.123,
  '9999-12-31', '2024-01-01 12:00:00.123456', '1970-01-01 00:00:00.5+00', 'null',
  '"text"', NULL, '-3 mons', '', '{}', '{}', '{}', '{}'),
 (3, '', NULL, NULL, NULL, NULL, NULL, NULL, '-0', '-0', NULL, 1.6, '2024-02-29',
  '2024-02-29 23:59:59.999999', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, NULL, 'NULL', 'ü', true, 0, 0, 0, 3.4028235e38, 1e-310, 0.01, 0.1,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ARRAY[E'ü\r😀', '\', ',', '"', ' '],
  ARRAY[0], NULL, ARRAY[false]),
 (5, E'cr\rx\\N', E'tab\tq', 'abc', false, 1, 1, 1, 1.1, 0.1, 1.5, 'Infinity',
  '1970-01-01', '1970-01-01 00:00:00', '1969-12-31 23:59:59.999999+00', '[]', '[]', NULL,
  NULL, NULL, ARRAY[NULL]::text[], ARRAY[NULL]::int8[], ARRAY[NULL]::int2[],
  ARRAY[NULL]::bool[])"""


def read(engine: PostgresEngine, sql: str, *, by_copy: bool, rows: int = 10_000) -> pa.Table:
    engine.by_copy = by_copy
    reader = engine.stream(sql, batch_rows=rows)
    return pa.Table.from_batches(list(iter_batches(reader)), schema=reader.schema)


def comparable(table: pa.Table) -> list[dict[str, Any]]:
    """Rows with NaN made comparable (NaN != NaN) and -0.0 kept apart from 0.0."""

    def same(value: Any) -> Any:
        if isinstance(value, float):
            return ("nan",) if math.isnan(value) else (value, math.copysign(1, value))
        if isinstance(value, list):
            return [same(v) for v in value]
        return value

    return [{k: same(v) for k, v in row.items()} for row in table.to_pylist()]


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many streams were read through COPY."""
    seen: list[int] = []
    real = postgres.read_batches

    def counted(*args: Any) -> Iterator[pa.RecordBatch]:
        seen.append(1)
        return real(*args)

    monkeypatch.setattr(postgres, "read_batches", counted)
    return seen


def test_copy_reads_exactly_what_the_cursor_reads(
    pg_engine: PostgresEngine, copies: list[int]
) -> None:
    pg_engine.execute(TABLE)
    pg_engine.execute(ROWS)
    sql = "select * from edge order by id"
    cursor = read(pg_engine, sql, by_copy=False)
    assert copies == []
    copied = read(pg_engine, sql, by_copy=True)
    assert copies == [1]  # every column of the table is one COPY reads
    assert copied.schema == cursor.schema
    assert comparable(copied) == comparable(cursor)
    assert copied.column("t").to_pylist()[2] == ""  # empty text is not NULL
    assert copied.column("t").to_pylist()[3] is None
    assert copied.column("a_t").to_pylist()[0] == ["a,b", 'q"', None, "", "NULL", "l1\nl2"]


def test_what_copy_cannot_read_goes_through_the_cursor(
    pg_engine: PostgresEngine, copies: list[int]
) -> None:
    floats = "select array[1.5, 'NaN']::float8[] as a, 1 as n"
    twice = "select 1 as x, 2 as x"
    wide = "select 12345678901234567890123456789012345678901234.56789::numeric(50, 5) as w"
    for sql in (floats, twice, wide):
        assert comparable(read(pg_engine, sql, by_copy=True)) == comparable(
            read(pg_engine, sql, by_copy=False)
        )
    assert copies == []
    assert copy_plan("select 1", pa.schema([("a", pa.list_(pa.float64()))])) is None
    assert copy_plan("select 1", pa.schema([("x", pa.int32()), ("x", pa.int32())])) is None
    assert copy_plan("select 1", pa.schema([("w", pa.decimal256(50, 5))])) is None
    assert copy_plan("select 1", pa.schema([("a", pa.list_(pa.string()))])) is not None


def test_copy_hands_over_batches_of_the_cursors_size(
    pg_engine: PostgresEngine, copies: list[int]
) -> None:
    pg_engine.by_copy = True
    sql = "select i, repeat('x', i % 50) as s from generate_series(1, 25000) as g(i)"
    sizes = [b.num_rows for b in iter_batches(pg_engine.stream(sql, batch_rows=10_000))]
    assert copies == [1]
    assert sizes == [10_000, 10_000, 5_000]
    assert [b.num_rows for b in iter_batches(pg_engine.stream("select 1 as one where false"))] == []


def test_a_copy_left_half_read_is_closed_with_the_engine(
    pg_engine: PostgresEngine, copies: list[int]
) -> None:
    """A reader dropped in the middle of its COPY holds psycopg's connection lock in its
    suspended generator: closing the engine must not wait for that lock (it did: a
    deadlock). The close runs in a thread, so that a regression fails instead of hanging."""
    import threading

    pg_engine.by_copy = True
    reader = pg_engine.stream("select i from generate_series(1, 200000) as g(i)", batch_rows=100)
    assert reader.read_next_batch().num_rows == 100
    assert copies == [1]
    closer = threading.Thread(target=pg_engine.close, daemon=True)
    closer.start()
    closer.join(timeout=120)  # a deadlock guard, not a time limit: the close takes ms
    assert not closer.is_alive()


def test_long_rows_and_rows_of_one_null_are_read(
    pg_engine: PostgresEngine, copies: list[int]
) -> None:
    """A row longer than any block a streaming CSV reader would take (3 MB of text), and
    rows whose only column is NULL (an empty line of CSV), come through COPY as through the
    cursor."""
    long = "select i, repeat('ab,\"' || chr(10), 600000 * i) as t from generate_series(0, 2) g(i)"
    nulls = "select null::int as x from generate_series(1, 3)"
    for sql in (long, nulls):
        copied = read(pg_engine, sql, by_copy=True, rows=2)
        assert copied.equals(read(pg_engine, sql, by_copy=False, rows=2))
    assert copies == [1, 1]
    assert read(pg_engine, nulls, by_copy=True).column("x").to_pylist() == [None] * 3


def test_percent_signs_braces_and_odd_names_reach_the_server_as_written(
    pg_engine: PostgresEngine, copies: list[int]
) -> None:
    """The model's SQL goes into COPY untouched: no placeholder is read into ``%s`` or ``%``,
    no format field into ``{}``, and a column name that needs quoting is quoted where the
    array columns are wrapped."""
    sql = (
        'select \'a%sb%\' as "p%s", \'{x}\' as "we""ird, name", '
        "array['%(k)s', '{}'] as \"a{0}\" where 'z' like '%'"
    )
    copied = read(pg_engine, sql, by_copy=True)
    assert copies == [1]
    assert copied.to_pylist() == [{"p%s": "a%sb%", 'we"ird, name': "{x}", "a{0}": ["%(k)s", "{}"]}]
    assert copied.equals(read(pg_engine, sql, by_copy=False))


def _refusing(monkeypatch: pytest.MonkeyPatch, tail: str) -> list[str]:
    """``read_batches`` sends the plan's COPY with ``tail`` for its options: the real server
    then answers as one without ``COPY TO STDOUT`` would (an error, the transaction
    aborted). Returns the statements sent."""
    sent: list[str] = []
    real = pg_copy.read_batches

    def refused(cur: Any, plan: Any, rows: int) -> Iterator[pa.RecordBatch]:
        text = plan.statement.as_string(cur)
        assert text.endswith(" (FORMAT csv)")
        sent.append(text.removesuffix(" (FORMAT csv)") + tail)
        statement = pgsql.SQL(sent[-1])
        return real(cur, dataclasses.replace(plan, statement=statement), rows)

    monkeypatch.setattr(postgres, "read_batches", refused)
    return sent


@pytest.mark.parametrize(
    ("tail", "sqlstate"),
    [
        (" NOT COPY SYNTAX", "42601"),  # a server that parses no COPY of a query
        (" (FORMAT binary, HEADER)", "0A000"),  # "feature not supported", as Redshift says
    ],
)
def test_a_server_that_refuses_copy_gets_the_cursor(
    pg_engine: PostgresEngine, monkeypatch: pytest.MonkeyPatch, tail: str, sqlstate: str
) -> None:
    """Refused before its first row, the stream reads the same rows through the cursor, and
    the engine's later streams go that way at once (no second refusal)."""
    import psycopg

    sql = "select i, 'r' || i as s from generate_series(1, 2500) as g(i)"
    expected = read(pg_engine, sql, by_copy=False)
    # What the server answers to that COPY.
    with pg_engine._connect(autocommit=True) as con, pytest.raises(psycopg.Error) as refusal:
        con.execute(f"COPY ({sql}) TO STDOUT{tail}")
    assert refusal.value.sqlstate == sqlstate

    sent = _refusing(monkeypatch, tail)
    pg_engine.by_copy = True
    reader = pg_engine.stream(sql, batch_rows=1000)
    got = pa.Table.from_batches(list(iter_batches(reader)), schema=reader.schema)
    assert len(sent) == 1 and sent[0].endswith(tail)
    assert got.equals(expected)
    assert pg_engine.by_copy is False
    again = pg_engine.stream(sql, batch_rows=1000)
    assert pa.Table.from_batches(list(iter_batches(again))).equals(expected)
    assert len(sent) == 1  # not asked again


def test_a_copy_that_fails_otherwise_is_an_error_not_a_fallback(
    pg_engine: PostgresEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a refusal of COPY itself falls back: the server's other errors are the run's
    (here an option COPY does take, with a value it rejects)."""
    sent = _refusing(monkeypatch, " (FORMAT nonesuch)")
    pg_engine.by_copy = True
    # (the option's value is masked: an invalid parameter, 22023, may be a row's value)
    with pytest.raises(EngineError, match=r"COPY format .* not recognized"):
        list(iter_batches(pg_engine.stream("select 1 as one")))
    assert len(sent) == 1
    assert pg_engine.by_copy is True


@pytest.mark.parametrize(
    "settings",
    [
        {"datestyle": "SQL, DMY", "intervalstyle": "sql_standard", "bytea_output": "escape"},
        {"datestyle": "German", "intervalstyle": "iso_8601"},
        {"datestyle": "Postgres, MDY", "intervalstyle": "postgres_verbose"},
    ],
)
def test_the_databases_own_date_interval_and_bytes_styles_change_nothing(
    pg_engine: PostgresEngine, settings: dict[str, str]
) -> None:
    """A database whose default DateStyle, IntervalStyle or bytea_output is not PostgreSQL's
    own: the rows read (both paths) and the values' text (what the row hash hashes) are
    those of a default database. psycopg cannot read a timestamptz in three of these
    DateStyles, and COPY's CSV would carry them as written."""
    for name, value in settings.items():
        pg_engine.execute(f"ALTER DATABASE {pg_engine.conn.dbname} SET {name} = '{value}'")
    pg_engine.close()  # the settings apply to new sessions
    sql = (
        "select date '2024-02-29' as d, timestamp '2024-01-02 03:04:05.5' as ts, "
        "timestamptz '2024-01-02 03:04:05+02' as tz, cast('1 day 02:00:03' as interval) as iv, "
        "'\\x01ff'::bytea as by"
    )
    expected = [
        {
            "d": dt.date(2024, 2, 29),
            "ts": dt.datetime(2024, 1, 2, 3, 4, 5, 500000),
            "tz": dt.datetime(2024, 1, 2, 1, 4, 5, tzinfo=dt.timezone.utc),
            "iv": "1 day 02:00:03",
            "by": "\\x01ff",
        }
    ]
    assert read(pg_engine, sql, by_copy=False).to_pylist() == expected
    assert read(pg_engine, sql, by_copy=True).to_pylist() == expected
    texts = pg_engine.rows(f"select d::text, ts::text, tz::text, iv::text, by::text from ({sql}) s")
    iso = ("2024-02-29", "2024-01-02 03:04:05.5", "2024-01-02 01:04:05+00", "1 day 02:00:03")
    assert texts == [(*iso, "\\x01ff")]
    assert pg_engine.rows("show datestyle")[0][0].startswith("ISO")


TEXT_LIKE = """select 'e1'::char(10) as event_id, ' USD'::char(5) as currency,
    ARRAY['a'::char(3), NULL, 'bc']::char(3)[] as skus,
    ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
          'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']::uuid[] as content_ids,
    ARRAY['10.0.0.1'::inet, '10.0.0.0/8'] as nets, ARRAY['1 day'::interval] as waits,
    ARRAY['08:00:2b:01:02:03'::macaddr, NULL] as macs, '{}'::uuid[] as none"""


@pytest.mark.parametrize("by_copy", [True, False], ids=["copy", "cursor"])
def test_char_padding_is_dropped_and_arrays_of_text_types_are_lists(
    pg_engine: PostgresEngine, copies: list[int], by_copy: bool
) -> None:
    """char(n)'s blank padding is not part of a value in PostgreSQL ('USD  ' made a currency
    invalid); a uuid[] (inet[], interval[]...) was one text with braces, not a list."""
    pg_engine.model_dialect = "postgres"
    table = read(pg_engine, TEXT_LIKE, by_copy=by_copy)
    assert copies == ([1] if by_copy else [])
    assert table.schema.field("content_ids").type == pa.list_(pa.string())
    assert table.to_pylist() == [
        {
            "event_id": "e1",
            "currency": " USD",  # leading blanks are the value's
            "skus": ["a", None, "bc"],
            "content_ids": [
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                "b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            ],
            "nets": ["10.0.0.1", "10.0.0.0/8"],
            "waits": ["1 day"],
            "macs": ["08:00:2b:01:02:03", None],
            "none": [],
        }
    ]

"""A model run on a PostgreSQL warehouse may not call the server's functions that read its
files (pg_read_file), run SQL given as text (query_to_xml), connect elsewhere (dblink), or
change the session or the database (set_config, nextval): refused in the text retl sends,
whichever dialect the model is written in. No server is needed: the check comes first."""

from __future__ import annotations

import pytest

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.errors import EngineError


def engine(dialect: str) -> PostgresEngine:
    return PostgresEngine(
        PostgresConnection("localhost"), model_dialect=dialect
    )  # connects to none


@pytest.mark.parametrize(
    ("sql", "called"),
    [
        ("select pg_read_file('/etc/passwd') as a", "pg_read_file"),
        ("select * from pg_ls_dir('.') as a", "pg_ls_dir"),
        ("select lo_import('/etc/passwd') as a", "lo_import"),
        ("select query_to_xml('select 1', true, false, '') as a", "query_to_xml"),
        ("select * from dblink('host=h', 'select 1') as t(a int)", "dblink"),
        ("select dblink_exec('host=h', 'drop table t') as a", "dblink_exec"),
        ("select pg_catalog.set_config('search_path', 'x', false) as a", "set_config"),
        ("select setval('s', 1) as a", "setval"),
        # an advisory lock of retl's state's key would block later syncs' lock of the state
        ("select pg_advisory_lock(1) as a", "pg_advisory_lock"),
        ("select pg_advisory_xact_lock(1, 2) as a", "pg_advisory_xact_lock"),
        ("select pg_advisory_lock_shared(1) as a", "pg_advisory_lock_shared"),
        ("select pg_try_advisory_lock(1) as a", "pg_try_advisory_lock"),
        ("select pg_try_advisory_xact_lock_shared(1) as a", "pg_try_advisory_xact_lock_shared"),
        ("select pg_advisory_unlock(1) as a", "pg_advisory_unlock"),
        ("select pg_advisory_unlock_all() as a", "pg_advisory_unlock_all"),
        # a sleep stalls the warehouse's session
        ("select pg_sleep(100) as a", "pg_sleep"),
        ("select pg_catalog.pg_sleep_for('5 minutes') as a", "pg_sleep_for"),
        ("select pg_sleep_until('tomorrow') as a", "pg_sleep_until"),
    ],
)
@pytest.mark.parametrize("dialect", ["postgres", "duckdb"])
def test_a_server_side_call_is_refused(sql: str, called: str, dialect: str) -> None:
    with pytest.raises(EngineError, match=rf"may not call {called}\(\)"):
        engine(dialect).transpile(sql)


def test_a_native_model_is_checked_as_sent() -> None:
    pg = engine("duckdb")
    view = pg.native_view("m", "select pg_read_file('/etc/passwd') as a")
    with pytest.raises(EngineError, match=r"may not call pg_read_file\(\)"):
        pg.transpile(f"select a from {view}")


def test_ordinary_functions_and_columns_of_such_names_pass() -> None:
    out = engine("postgres").transpile("select upper(a) as b, nextval_n, set_config from t")
    assert "UPPER(a)" in out


@pytest.mark.parametrize(
    "sql",
    [
        # text search runs SQL given as text, where pg_read_file() is a string
        "select * from ts_stat('select to_tsvector(pg_read_file(''/etc/passwd''))')",
        "select ts_rewrite('a'::tsquery, 'select ''a''::tsquery, ''b''::tsquery') as a",
    ],
)
def test_text_search_running_sql_given_as_text_is_refused(sql: str) -> None:
    for dialect in ("postgres", "duckdb"):
        with pytest.raises(EngineError, match=r"may not call ts_(stat|rewrite)\(\): it runs SQL"):
            engine(dialect).transpile(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "select U&\"pg_read_fil\\0065\"('/etc/passwd') as a",
        "select u&\"set_confi\\0067\"('search_path', 'x', false) as a",
        "select length(U&\"pg_read_fil\\0065\"('/etc/passwd')) as a",
    ],
)
def test_a_name_spelt_with_unicode_escapes_is_refused(sql: str) -> None:
    """PostgreSQL reads U&"pg_read_fil\\0065" as pg_read_file: a native model is sent as
    written, and sqlglot reads it as a bitwise and, no call."""
    pg = engine("postgres")
    with pytest.raises(EngineError, match=r"may not spell a name with Unicode escapes"):
        pg.transpile(sql)
    pg = engine("duckdb")
    view = pg.native_view("m", sql)
    with pytest.raises(EngineError, match=r"may not spell a name with Unicode escapes"):
        pg.transpile(f"select * from {view}")


def test_bitwise_and_and_quoted_names_still_pass() -> None:
    out = engine("postgres").transpile('select u & 3 as a, "u" & "v" as b, "U&x" as c from t')
    assert "u & 3" in out

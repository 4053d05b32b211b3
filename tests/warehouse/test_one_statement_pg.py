"""A model's SQL reaches PostgreSQL as one statement only, even if a text of several got past
the checks (engine/sql_guard.py): ``cached``'s CREATE TABLE AS goes through the extended
protocol, which runs one statement (psycopg's default without parameters, the simple one,
runs every statement of a text)."""

from __future__ import annotations

import pytest

from reverse_etl.engine.postgres import PostgresEngine
from reverse_etl.errors import EngineError

pytestmark = pytest.mark.postgres


def test_cached_runs_one_statement_of_a_text_of_several(
    pg_engine: PostgresEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = pg_engine
    engine.scratch_schema = "public"
    engine.execute("CREATE TABLE public.victim (x int)")
    # What a model's text would be had a writer let statements through.
    several = "SELECT 1 AS a; DROP TABLE public.victim; SELECT 1 AS a"
    monkeypatch.setattr(engine, "transpile", lambda sql: several)
    with pytest.raises(EngineError), engine.cached("select 1 as a"):
        pass
    assert engine.rows("SELECT to_regclass('public.victim') IS NOT NULL")[0][0]


def test_cached_still_keeps_a_query_s_rows(pg_engine: PostgresEngine) -> None:
    engine = pg_engine
    engine.scratch_schema = "public"
    with engine.cached("select 1 as a, 'x' as b union all select 2, 'y'") as table:
        assert sorted(engine.rows(f"SELECT a, b FROM {table}")) == [(1, "x"), (2, "y")]


def test_psycopg_simple_protocol_would_have_run_them(pg_engine: PostgresEngine) -> None:
    """Why ``binary=True``: without it, the same text runs all three statements."""
    engine = pg_engine
    engine.execute("CREATE TABLE public.victim (x int)")
    with engine.connect_new() as con:
        con.execute("SELECT 1 AS a; DROP TABLE public.victim; SELECT 1 AS a")
    assert not engine.rows("SELECT to_regclass('public.victim') IS NOT NULL")[0][0]

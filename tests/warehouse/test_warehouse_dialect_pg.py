"""A project whose models are written in PostgreSQL's dialect (``warehouse: {dialect:
postgres}``) syncs as the same project in DuckDB's dialect does: the model runs as written,
and retl's own SQL around it (the diff, the row hash, the counts) stays DuckDB's, translated.
Before, retl's own SQL was read as the model's dialect too."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.errors import EngineError
from reverse_etl.models.dialects import query_for
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer

# _token and sandbox_token are that module's fixtures (the token its projects read)
from .test_warehouse_sync import _token, execute, project, sandbox_token, seed, sync  # noqa: F401

pytestmark = pytest.mark.postgres

# The same rows as test_warehouse_sync's DuckDB-dialect model, in PostgreSQL's own SQL:
# ARRAY[...], a text cast, ~~* (ILIKE's operator), and a column named as PostgreSQL folds it.
PG_MODEL = """
select 'Purchase' as event,
       'order-' || order_id::text as event_id,
       ordered_at as event_time,
       lower(email) as email,
       total as value,
       'USD' as currency,
       ARRAY['sku-' || order_id::text] as content_ids
from {{ source('shop', 'orders') }}
where email ~~* '%@example.com'
"""


def events(server: SandboxServer) -> dict[str, dict[str, object]]:
    return {str(e["data"]["event_id"]): e["data"] for e in server.events()}


def test_a_postgresql_dialect_project_sends_what_the_duckdb_dialect_one_sends(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    seed(pg_db, 50)
    duck = project(tmp_path / "duck", pg_db, server.base_url)
    assert sync(duck) == (50, 0)
    expected = events(server)
    server.reset()  # and its dedup history: the same events must be accepted again

    execute(pg_db, "DROP SCHEMA retl_state CASCADE")
    pg = project(tmp_path / "pg", pg_db, server.base_url)
    yml = (pg / "retl_project.yml").read_text(encoding="utf-8")
    (pg / "retl_project.yml").write_text(
        yml.replace("  type: postgres\n", "  type: postgres\n  dialect: postgres\n", 1),
        encoding="utf-8",
    )
    (pg / "models" / "purchases.sql").write_text(PG_MODEL, encoding="utf-8")
    with Project.load(pg) as p:
        (compiled,) = p.compile()
        assert compiled.dialect == "postgres"
        sql = query_for(compiled, p.engine)
        assert sql.startswith("SELECT * FROM __retl_model_")  # read through native_view
        # what runs holds the model's text as written (sqlglot would have spelt ~~* ILIKE)
        assert "where email ~~* '%@example.com'" in p.engine.transpile(sql)
        (plan,) = p.plan()
    assert (plan.rows_new, plan.rows_changed, plan.rows_unchanged) == (50, 0, 0)
    assert sync(pg) == (50, 0)
    assert events(server) == expected
    # the diff runs in the warehouse on retl's own SQL: a change is found, and only it sent
    execute(pg_db, "UPDATE shop.orders SET total = total + 1 WHERE order_id = 5")
    assert sync(pg) == (1, 49)


def test_a_postgresql_model_of_two_statements_is_refused_before_it_runs(
    pg_engine: PostgresEngine,
) -> None:
    pg_engine.execute("CREATE TABLE public.victim (x int)")
    for text, found in (
        ("select 1 as a; drop table public.victim", "found 2 statements"),
        ("drop table public.victim", "found a DROP"),
    ):
        with pytest.raises(EngineError, match=found):
            pg_engine.native_view("m", text)
    assert pg_engine.rows("SELECT to_regclass('public.victim') IS NOT NULL")[0][0]


def test_native_models_are_put_in_place_only_where_read_as_a_table(
    pg_engine: PostgresEngine,
) -> None:
    one = pg_engine.native_view("one", "select 1::int as a")
    two = pg_engine.native_view("two", "select 2::int as a")
    assert pg_engine.native_view("again", "select 1::int as a") == one  # same text, one name
    sql = (
        f"SELECT {one}.a AS x, t.a AS y FROM {one} JOIN {two} AS t ON {one}.a < t.a "
        f"UNION ALL SELECT a, a FROM {two}"
    )
    assert sorted(pg_engine.rows(pg_engine.transpile(sql))) == [(1, 2), (2, 2)]


def test_a_model_ending_in_a_semicolon_runs_as_a_subquery(pg_engine: PostgresEngine) -> None:
    for text in ("select 7 as a;", "select 7 as a ; -- done\n", "select 7 as a;;\n/* end */"):
        view = pg_engine.native_view("m", text)
        assert pg_engine.rows(pg_engine.transpile(f"SELECT a FROM {view}")) == [(7,)]

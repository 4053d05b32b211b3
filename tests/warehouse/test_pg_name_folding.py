"""`retl validate` on PostgreSQL-dialect models reads names as PostgreSQL does: an unquoted
name folds to lower case, a quoted one keeps its case. A mixed-case column (``"Bb"``, as
PostgreSQL tables often have) was read as ``bb``: ``select "Bb"::int as x`` was a false
unresolved-column error ("did you mean 'Bb'?"), and ``select bb`` passed. Each case is checked
against the real server's answer (its output names, or its refusal of the column)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql as pgsql

from reverse_etl.columns import TableRef, UpstreamModel, infer_columns

from .conftest import PgServer

pytestmark = pytest.mark.postgres

SCHEMA = {TableRef.of("t", "s"): [("Bb", "integer"), ("a", "integer")]}

CASES = [
    'select "Bb"::int as x from s.t',
    'select "Bb" from s.t',
    'select "Bb", a as Foo, a as "Bar" from s.t',
    "select * from s.t",
    'select q.foo, q."Bb" from (select a as Foo, "Bb" from s.t) as q',
    "select y from (select a from s.t) as q(Y)",
    "select bb from s.t",
    'select "bb" from s.t',
    'select "A" from s.t',
]


@pytest.fixture(scope="module")
def server(pg_server: PgServer) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    name = f"retl_fold_{uuid.uuid4().hex[:12]}"
    with pg_server.admin() as admin:
        admin.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
        try:
            with pg_server.admin(name) as con:
                con.execute("CREATE SCHEMA s")
                con.execute('CREATE TABLE s.t ("Bb" integer, a integer)')
                yield con
        finally:
            admin.execute(pgsql.SQL("DROP DATABASE {} WITH (FORCE)").format(pgsql.Identifier(name)))


def served(con: psycopg.Connection[tuple[object, ...]], sql: str) -> list[str] | None:
    """The server's output names, None where it finds no such column."""
    try:
        cur = con.execute(f"select * from ({sql}) as q limit 0")
    except psycopg.errors.UndefinedColumn:
        return None
    return [d.name for d in cur.description or ()]


@pytest.mark.parametrize("sql", CASES)
def test_names_are_folded_as_postgresql_folds_them(
    server: psycopg.Connection[tuple[object, ...]], sql: str
) -> None:
    result = infer_columns(sql, schema=SCHEMA, dialect="postgres")
    unresolved = [i for i in result.issues if i.code == "unresolved_column"]
    names = None if unresolved else [c.name for c in result.columns]
    assert not [i for i in result.issues if i.code != "unresolved_column"], result.issues
    assert names == served(server, sql)


def test_a_model_read_downstream_by_its_folded_names(
    server: psycopg.Connection[tuple[object, ...]],
) -> None:
    model = 'select a as Foo, "Bb" as "Cc" from s.t'
    up = infer_columns(model, schema=SCHEMA, dialect="postgres")
    upstream = {TableRef.of("m"): UpstreamModel("m", up.columns)}
    sql = 'select foo, "Cc" from m'
    down = infer_columns(sql, schema=SCHEMA, dialect="postgres", upstream=upstream)
    assert not down.issues
    assert [c.name for c in down.columns] == served(
        server, sql.replace("from m", f"from ({model}) as m")
    )


def test_spark_and_duckdb_stay_case_insensitive() -> None:
    for dialect, sql in (
        ("spark", "select bb, `Bb` as x from s.t"),
        ("duckdb", 'select bb, "BB" from s.t'),
    ):
        result = infer_columns(sql, schema=SCHEMA, dialect=dialect)
        assert not result.issues, (dialect, result.issues)


DECLARED = {TableRef.of("orders", "public"): [("CustomerId", "varchar"), ("Total", "double")]}


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("select CustomerId as external_id, total from public.orders", ["external_id", "total"]),
        ("select customerid from public.orders", ["customerid"]),
        ("select o.CustomerId from public.orders o", ["customerid"]),
    ],
)
def test_names_written_by_hand_are_read_as_unquoted_names(query: str, names: list[str]) -> None:
    """A declared (or dbt) column name says nothing of quoting: CustomerId declared is the
    server's customerid, as dbt reads an unquoted column (only the catalog's names are exact;
    reading a declared CustomerId as "CustomerId" was a false unknown-column error)."""
    result = infer_columns(query, schema=DECLARED, dialect="postgres", folded=set(DECLARED))
    assert [i.message for i in result.issues] == []
    assert [c.name.lower() for c in result.columns] == names  # (spelled as declared)

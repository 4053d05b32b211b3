"""A DuckDB-dialect model that another engine would compute differently is refused before it
runs (reverse_etl/engine/portable.py); the same SQL in that engine's own dialect is not."""

from __future__ import annotations

import duckdb
import pytest

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.errors import EngineError

FORMAT = "select format('{}-{}', a, b) as s from t"


def test_duckdbs_format_is_refused_for_postgresql_naming_both_forms() -> None:
    # What DuckDB gives, and why PostgreSQL's format (same name, '%s', '' for NULL) differs.
    assert duckdb.sql("select format('{}-{}', 'a', NULL) as s").fetchall() == [(None,)]
    engine = PostgresEngine(PostgresConnection("localhost"))  # transpiles; connects to none
    with pytest.raises(EngineError, match=r"format\(\) gives other text in PostgreSQL") as no:
        engine.transpile(FORMAT)
    assert "''" in no.value.message and "concat()" in (no.value.hint or "")
    assert "FORMAT('%s-%s'" in PostgresEngine(
        PostgresConnection("localhost"), model_dialect="postgres"
    ).transpile("select format('%s-%s', a, b) as s from t")
    assert "a || b" in engine.transpile("select a || b as s from t")  # the way round it


@pytest.mark.parametrize(
    "fmt",
    ["'%s'", "'%.2f'", "'id-%d-%s'", "'%x'", "f"],  # f: a column, no literal
)
def test_duckdbs_printf_is_refused_but_for_integers(fmt: str) -> None:
    """Spark's printf (Java's Formatter) writes a timestamp's %s as its microseconds, a
    list's without spaces, %.2f of 1.005 as 1.01 (DuckDB: 1.00): silently other text."""
    assert duckdb.sql("select printf('%.2f', 1.005::double) as s").fetchall() == [("1.00",)]
    engine = PostgresEngine(PostgresConnection("localhost"))  # transpiles; connects to none
    with pytest.raises(EngineError, match=r"printf\(\) gives other text in PostgreSQL") as no:
        engine.transpile(f"select printf({fmt}, a) as s from t")
    assert "concat()" in (no.value.hint or "")


def test_duckdbs_printf_of_integers_is_not_refused() -> None:
    engine = PostgresEngine(PostgresConnection("localhost"))
    assert "PRINTF" in engine.transpile("select printf('o-%05d %%', n) as s from t").upper()

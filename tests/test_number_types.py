"""DuckDB's types of fraction literals, division and DECIMAL arithmetic, as `retl validate`
infers them (reverse_etl/sqlglot_fixes.py), checked against DuckDB's own ``DESCRIBE`` of the
same query over empty tables of the declared types. sqlglot typed ``1.5`` a DOUBLE (DuckDB: a
DECIMAL(2, 1)), ``total / quantity`` of a DECIMAL total a DECIMAL (DuckDB divides as
DOUBLEs) and ``d * 1.5`` the DECIMAL ``d``'s type (DuckDB widens it): validate showed the
wrong type, and Spark's refusal of a DOUBLE made text (engine/spark_numbers.py) passed
``'x' || total / quantity``, whose text Spark writes otherwise."""

from __future__ import annotations

import duckdb
import pytest

from reverse_etl.columns import TableRef, infer_columns, parse_type

COLUMNS = [
    ("d", "decimal(10,2)"),
    ("d2", "decimal(18,4)"),
    ("dw", "decimal(38,10)"),
    ("i", "integer"),
    ("b", "bigint"),
    ("s", "smallint"),
    ("h", "hugeint"),
    ("u", "ubigint"),
    ("f", "float"),
    ("x", "double"),
]
SCHEMA = {TableRef.of("t", "s"): COLUMNS}

EXPRESSIONS = [
    # literals: as many digits as written (up to 38), with an exponent a DOUBLE
    "1.5",
    "-1.5",
    "1.50",
    "000.5",
    "1.",
    "1_000.5",
    "123456789012345678901.5",
    "1234567890123456789012345678901234567.5",
    "12345678901234567890123456789012345678.5",
    "1e20",
    "1.5e0",
    "1.5::double",
    # division: a DOUBLE (a FLOAT's a FLOAT); // of whole numbers a whole number
    "d / i",
    "d / 2",
    "d / d2",
    "d / 1.5",
    "1.5 / 2",
    "1.5::decimal(4,1) / 2",
    "i / i",
    "h / i",
    "u / 2",
    "f / i",
    "f / d",
    "f / x",
    "d / x",
    "d // i",
    "d // d2",
    "1.5 // 2",
    "i // 1.5",
    "b // i",
    "f // d",
    "x // i",
    "round(d / i, 2)",
    # + - * %: DuckDB's DECIMAL width and scale; a FLOAT or DOUBLE operand wins
    "d * i",
    "d * 2",
    "d * 1.5",
    "d * d2",
    "d * dw",
    "d * b",
    "d * u",
    "h * 1.5",
    "1.5 * 2",
    "1.5 * 1.5",
    "-1.5 * 2",
    "1::decimal(1,0) * 1::decimal(18,18)",
    "1::decimal(18,0) * 1::decimal(20,19)",
    "d + 1.5",
    "d + d2",
    "d - d2",
    "d - i",
    "d + b",
    "d + h",
    "d + u",
    "i + 1.5",
    "s + 1.5",
    "1.5 + 1",
    "i + 0.25",
    "1::decimal(18,0) + 1::decimal(18,17)",
    "d % i",
    "d % d2",
    "d % b",
    "d % dw",
    "i % 1.5",
    "1.5 % 0.25",
    "1::decimal(18,0) % 1::decimal(18,17)",
    "x * 1.5",
    "x + 1.5",
    "x % 1.5",
    "f * 1.5",
    "f + d",
    "x * d",
    "i * f",
    "d * 1e2",
    "coalesce(d / i, 0)",
    "case when i > 0 then 1.5 else d end",
]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema s")
    con.execute("create table s.t (" + ", ".join(f"{n} {t}" for n, t in COLUMNS) + ")")
    return con


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_a_numbers_type_is_duckdbs(con: duckdb.DuckDBPyConnection, expression: str) -> None:
    sql = f"select {expression} as v from s.t"
    ((_, duckdb_type, *_),) = con.execute(f"describe {sql}").fetchall()
    result = infer_columns(sql, schema=SCHEMA)
    assert not result.issues and result.complete, result.issues
    (column,) = result.columns
    expected = parse_type(str(duckdb_type))
    assert expected is not None
    assert column.type.text == expected.text, (expression, column.type.text, duckdb_type)


def test_a_fraction_written_from_its_point_keeps_sqlglots_leading_zero() -> None:
    """sqlglot reads ``.5`` as ``0.5``: a DECIMAL(2, 1) here, DuckDB's DECIMAL(1, 1); the
    same kind (a DECIMAL of one fraction digit), what validate and the rewrites read."""
    (column,) = infer_columns("select .5 as v from s.t", schema=SCHEMA).columns
    assert column.type.text == "DECIMAL(2, 1)"

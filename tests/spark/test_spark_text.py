"""Text and list functions of a DuckDB model give DuckDB's values on Spark, or are refused by
name (engine/spark_text.py, engine/spark_patterns.py, engine/spark_lists.py): each query is
run in both engines, many expressions in one SELECT."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from reverse_etl.engine import spark_text
from reverse_etl.engine.spark import SparkConnection, SparkEngine
from reverse_etl.errors import EngineError

pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'retl[spark]'")
pytestmark = pytest.mark.spark

TEXTS = ["", "hello", "a😀b"]


def both(sql: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """DuckDB's rows of ``sql`` and Spark's, of the transpiled query (the module's session)."""
    engine = SparkEngine(SparkConnection(master="local[2]"))
    return duckdb.sql(sql).fetchall(), [tuple(r) for r in engine.rows(engine.transpile(sql))]


def test_substr_split_part_and_chr_of_columns_and_literals_are_duckdbs(spark: Any) -> None:
    """A negative length is the characters before ``start`` in DuckDB ('' in Spark), start 0
    the position before the first; split_part by '' splits into characters (Spark gave
    the whole text), part 0 is ''; chr() of a column past 255 is its character (Spark's
    is chr(n % 256))."""
    rows = [(s, i, n) for s in TEXTS for i in range(-6, 7) for n in range(-6, 7)]
    values = ", ".join(f"('{s}', {i}, {n})" for s, i, n in rows)
    duck, got = both(
        "select s, i, n, substr(s, i, n), substring(s, i, -2), substr(s, 2, n), "
        "substr(s, 0, n), substr(s, -2, n), split_part(s, '', i), "
        "split_part(s || ',x', ',', i), split_part(s, case when n > 0 then '' else 'l' end, i), "
        "chr(n + 12300), chr(n + 128520) "
        f"from (values {values}) t(s, i, n) order by s, i, n"
    )
    assert got == duck
    literals = (
        "substr('hello', 2, -1)",
        "substring('hello', 2, -1)",
        "substr('hello', 4, -2)",
        "substr('hello', -2, -1)",
        "substr('hello', 9, -2)",
        "substr('hello', 0, 2)",
        "substr('hello', 0, -1)",
        "substr('hello', 2, 3)",
        "split_part('abc', '', 1)",
        "split_part('abc', '', -1)",
        "split_part('abc', '', 0)",
        "split_part('a,b,c', ',', 0)",
        "split_part('a,b,c', ',', -1)",
        "split_part(null, '', 0)",
        "chr(300)",
    )
    duck, got = both("select " + ", ".join(literals))
    assert got == duck
    assert duck[0][:3] == ("h", "h", "el")


def test_upper_and_lower_map_each_letter_as_duckdb_does(spark: Any) -> None:
    """Every letter whose case Spark maps otherwise (ß to SS, ﬁ to FI, İ to two characters,
    a final sigma, letters of Unicode 16), in one text and one at a time; other text as
    Spark's own upper/lower."""
    upper, lower = spark_text._UPPER[0], spark_text._LOWER[0]
    sigma = "\u0391\u03a3"  # a capital alpha and sigma: lower() ends in a final sigma in Spark
    texts = [upper, lower, sigma, "\u039f\u0394\u039f\u03a3 x", "straße", "Ünïcödé", None]
    values = ", ".join("(null)" if t is None else f"('{t}')" for t in texts)
    per_char = ", ".join(f"('{c}')" for c in upper + lower)
    duck, got = both(
        f"select s, upper(s), lower(s), ucase(s), lcase(lower(s)) from (values {values}) t(s) "
        f"union all select c, upper(c), lower(c), '', '' from (values {per_char}) u(c) order by 1"
    )
    assert got == duck
    small = "\u03b1\u03c3"
    assert (sigma, sigma, small, sigma, small) in duck


def test_list_distinct_leaves_nulls_out_and_its_order_is_refused_unless_sorted(spark: Any) -> None:
    """DuckDB's list_distinct drops NULL (Spark's array_distinct kept it); its order is its
    hash table's, which Spark cannot give: refused by name unless sorted or counted."""
    duck, got = both(
        "select list_sort(list_distinct([2, null, 1, 2])), len(list_distinct([3, null, 3])), "
        "list_contains(list_distinct([1, null]), 1), array_sort(array_distinct(['b', 'a', 'b']))"
    )
    assert got == duck == [([1, 2], 1, True, ["a", "b"])]
    engine = SparkEngine(SparkConnection(master="local[2]"))
    with pytest.raises(EngineError, match=r"LIST_DISTINCT\(l\): DuckDB gives the items") as err:
        engine.transpile("select list_distinct(l) as ids from (values ([3, 1, 3])) t(l)")
    assert "list_sort(list_distinct(l))" in (err.value.hint or "")

"""What a DuckDB-dialect model may say that sqlglot carries to another engine's SQL with
other results, silently: refused here, by name, before it runs.

Found by running the same expressions in DuckDB and, transpiled, in PostgreSQL and Spark
(docs/warehouses.md lists what is bridged and what is not). Those of one engine live with
it (``engine/postgres.py``: ``SIMILAR TO``, weeks of ``date_diff``; ``engine/spark.py``:
day-of-week numbers, ``log``, ``date_diff``, ``regexp_replace``, intervals)."""

from __future__ import annotations

from sqlglot import exp

from reverse_etl.errors import EngineError

# How each engine's format() writes a NULL argument (DuckDB's gives NULL).
_NULL_AS = {"PostgreSQL": "''", "Spark SQL": "'null'"}


def refuse_unportable(tree: exp.Expr, read: str, target: str) -> None:
    """Raise for what ``tree`` (read as ``read`` SQL) would compute differently in any other
    engine (``target``: ``PostgreSQL``, ``Spark SQL``)."""
    if read == "duckdb" and tree.find(exp.Format) is not None:
        raise EngineError(
            f"format() gives other text in {target}: DuckDB fills '{{}}' placeholders and "
            f"gives NULL for a NULL argument, and {target}'s format takes '%s' and writes a "
            f"NULL argument as {_NULL_AS.get(target, 'something else')}",
            hint="build the text with || or concat() (NULL arguments skipped), or write the "
            f"model in {target}'s SQL",
        )

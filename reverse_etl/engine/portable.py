"""What a DuckDB-dialect model may say that sqlglot carries to another engine's SQL with
other results, silently: refused here, by name, before it runs.

Found by running the same expressions in DuckDB and, transpiled, in PostgreSQL and Spark
(docs/warehouses.md lists what is bridged and what is not). Engine-specific ones live with
their engine (``engine/spark.py``: day-of-week numbers, ``regexp_replace``, intervals)."""

from __future__ import annotations

from sqlglot import exp

from reverse_etl.errors import EngineError

# How each engine's format() writes a NULL argument (DuckDB's gives NULL).
_NULL_AS = {"PostgreSQL": "''", "Spark SQL": "'null'"}


def refuse_unportable(tree: exp.Expr, read: str, target: str) -> None:
    """Raise for what ``tree`` (read as ``read`` SQL) would compute differently in
    ``target`` (``PostgreSQL``, ``Spark SQL``)."""
    if read != "duckdb":
        return
    if target == "PostgreSQL":
        _refuse_for_postgres(tree)
    for _ in tree.find_all(exp.Format):
        raise EngineError(
            f"format() gives other text in {target}: DuckDB fills '{{}}' placeholders and "
            f"gives NULL for a NULL argument, and {target}'s format takes '%s' and writes a "
            f"NULL argument as {_NULL_AS.get(target, 'something else')}",
            hint="build the text with || or concat() (NULL arguments skipped), or write the "
            f"model in {target}'s SQL",
        )


def _refuse_for_postgres(tree: exp.Expr) -> None:
    for _ in tree.find_all(exp.SimilarTo):
        raise EngineError(
            "SIMILAR TO means another match in PostgreSQL: DuckDB reads its pattern as a "
            "regular expression ('a.c' matches 'abc'), PostgreSQL as an SQL pattern ('.' "
            "only matches '.')",
            hint="write regexp_matches(x, '^(?:pattern)$') for DuckDB's meaning",
        )
    for node in tree.find_all(exp.DateDiff):
        unit = node.args.get("unit")
        if unit is not None and unit.name.upper() in ("WEEK", "WEEKS"):
            raise EngineError(
                "date_diff('week', ...) counts other weeks in PostgreSQL: DuckDB counts the "
                "Mondays crossed, and sqlglot's PostgreSQL form rounds the days over 7 "
                "(1 January to 1 March 2024: 8 in DuckDB, 9 there)",
                hint="count days instead: date_diff('day', a, b) // 7 gives whole weeks in both",
            )

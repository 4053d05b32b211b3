"""Rows sharing a key are all marked invalid, whatever else they carry; NULL keys never are.

The view of the plan's rows (``_rows_view``, reverse_etl/pipeline/plan.py) finds them by the
keys' 64-bit hashes first and confirms by the text: the result must be exactly a GROUP BY of
the text.
"""

from __future__ import annotations

from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.pipeline.plan import DUPLICATE_KEY, _rows_view


def _viewed(rows_sql: str) -> DuckDBEngine:
    """A workbench with table ``t`` of ``rows_sql`` and ``v``, the plan's view of it."""
    engine = DuckDBEngine()
    engine.execute(f"CREATE TEMP TABLE t AS {rows_sql}")
    _rows_view(engine, "v", "t")
    return engine


def test_every_copy_of_a_key_is_invalid_and_nothing_else() -> None:
    engine = _viewed(
        """SELECT * FROM (VALUES
            ('a', NULL, '{"a":1}'), ('a', 'bad email', NULL), ('a', NULL, '{"a":3}'),
            ('b', NULL, '{"b":1}'),
            ('c', NULL, '{"c":1}'), ('c', NULL, '{"c":2}'),
            (NULL, NULL, '{"n":1}'), (NULL, 'no key', NULL),
            ('A', NULL, '{"A":1}')
        ) AS v(__key, __errors, __payload)"""
    )
    rows = engine.rows("SELECT __key, __errors, __payload FROM v ORDER BY ALL")
    assert rows == [
        ("A", None, '{"A":1}'),
        ("a", f"bad email; {DUPLICATE_KEY}", None),
        ("a", DUPLICATE_KEY, None),
        ("a", DUPLICATE_KEY, None),
        ("b", None, '{"b":1}'),
        ("c", DUPLICATE_KEY, None),
        ("c", DUPLICATE_KEY, None),
        (None, "no key", None),
        (None, None, '{"n":1}'),
    ]


def test_the_marks_are_a_group_by_of_the_keys_text_at_scale() -> None:
    # 200,000 keys, every 1,000th twice: the hashes' pre-filter keeps exactly those.
    engine = _viewed(
        "SELECT 'order-' || (CASE WHEN i % 1000 = 999 THEN i - 1 ELSE i END) AS __key, "
        "NULL::VARCHAR AS __errors, 'x' AS __payload FROM range(200000) r(i)"
    )
    marked = engine.rows("SELECT count(*), count(DISTINCT __key) FROM v WHERE __errors IS NOT NULL")
    assert marked == [(400, 200)]
    assert engine.rows("SELECT count(*) FROM v WHERE __payload IS NULL") == [(400,)]
    assert engine.rows("SELECT count(*) FROM v") == [(200000,)]


def test_without_duplicates_the_view_reads_the_rows_as_they_are() -> None:
    engine = _viewed(
        "SELECT * FROM (VALUES ('a', NULL, '{}'), (NULL, 'no key', NULL), (NULL, NULL, '{}')) "
        "AS v(__key, __errors, __payload)"
    )
    assert engine.rows("SELECT * FROM v ORDER BY ALL") == engine.rows(
        "SELECT * FROM t ORDER BY ALL"
    )
    assert not engine.rows("SELECT 1 FROM duckdb_tables() WHERE table_name = 'v_duplicates'")

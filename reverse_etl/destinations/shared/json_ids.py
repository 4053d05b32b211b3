"""SQL for IDs read from JSON: a contents item's ID (``contents_json.py``).

An ID is text: a JSON string's text, an integer's digits as the model wrote them (past BIGINT
too: a JSON integer never passes through a DOUBLE), a number with a fraction or an exponent as
a float column's ID (``as_text``: ``12.0`` and ``1e3`` are "12" and "1000"), and one past a
DOUBLE (``1e400``) as written. Every expression here holds for a column whose DuckDB type is
JSON only (``when_json``). Pure: this module only writes SQL.
"""

from __future__ import annotations

from reverse_etl.destinations.shared.sql import as_text


def id_text(t: str, s: str) -> str:
    """SQL: the text sent as an ID for one JSON value, or NULL for null. ``t``: the value's
    ``json_type``; ``s``: its text (``json_extract_string``: DuckDB keeps an integer's digits
    and a number past a DOUBLE as written, and writes a float's shortest text)."""
    import pyarrow as pa

    double = as_text(f"TRY_CAST({s} AS DOUBLE)", pa.float64())  # NULL past a DOUBLE
    return (
        f"CASE WHEN {t} = 'DOUBLE' AND NOT regexp_full_match({s}, '-?[0-9]+') "
        f"THEN coalesce({double}, {s}) ELSE {s} END"
    )

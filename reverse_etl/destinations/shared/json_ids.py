"""SQL for IDs read from JSON: a contents item's ID (``contents_json.py``) and a ``content_ids``
column of DuckDB type JSON (a ``'["a", "b"]'::JSON``, a warehouse's json or jsonb).

An ID is text: a JSON string's text, an integer's digits as the model wrote them (past BIGINT
too: a JSON integer never passes through a DOUBLE), a number with a fraction or an exponent as
a float column's ID (``as_text``: ``12.0`` and ``1e3`` are "12" and "1000"), and one past a
DOUBLE (``1e400``) as written. A ``content_ids`` of JSON is a list of such IDs: an array's
scalar items (null and blank ones left out, as a list's are: ``id_list_json``), or one scalar
as a list of one; an object, or an array that holds an object or an array, makes its row
invalid (``not_ids``). As ``contents_json.py``, every expression here holds for a column whose
DuckDB type is JSON only (``when_json``). Pure: this module only writes SQL.
"""

from __future__ import annotations

from reverse_etl.destinations.shared.sql import WHITESPACE_CLASS, as_text, lit


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


def _not_blank(text: str) -> str:
    """SQL: ``text`` holds more than whitespace (``sql.WHITESPACE``), as ``id_list_json``'s
    items must (NULL for NULL: left out of a ``list_filter``)."""
    return f"NOT regexp_full_match({text}, {lit(WHITESPACE_CLASS + '*')})"


def json_id_list(col: str) -> str:
    """SQL: the JSON array of the IDs the JSON ``col`` holds (an array's items, or one scalar
    as a list of one), null and blank ones left out; NULL when none is left (no ``[]``)."""
    items = (
        f"list_transform(list_zip(json_type({col}, '$[*]'), json_extract_string({col}, '$[*]')),"
        f" _z -> {id_text('_z[1]', '_z[2]')})"
    )
    scalar = id_text(f"json_type({col})", f"json_extract_string({col}, '$')")
    texts = f"CASE WHEN json_type({col}) = 'ARRAY' THEN {items} ELSE [{scalar}] END"
    return f"to_json(NULLIF(list_filter({texts}, _x -> {_not_blank('_x')}), []))"


def not_ids(col: str) -> str:
    """SQL: the JSON ``col`` is no list of IDs: an object, or an array holding an object or
    an array (NULL for NULL)."""
    return (
        f"json_type({col}) = 'OBJECT' OR (json_type({col}) = 'ARRAY' AND "
        f"list_has_any(json_type({col}, '$[*]'), ['OBJECT', 'ARRAY']))"
    )

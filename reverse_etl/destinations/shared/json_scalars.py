"""SQL for a top-level text parameter (an ID or a text: ``event_id``, ``order_id``,
``currency``, an e-mail to hash ...) fed by a column of DuckDB type JSON (a
``CAST(... AS JSON)``, a warehouse's json or jsonb, a Spark VARIANT read as JSON): the
parameter is sent the value the JSON holds, as a contents item's text key is
(``contents_json.text_leaf``), not the JSON's text (``'"q"'::JSON`` was sent as ``"\\"q\\""``
and JSON ``null`` as ``"null"``).

A JSON string is its text; a number its text as an ID is written (``json_ids.id_text``:
``12.0`` is "12"); a boolean ``true`` or ``false``; ``null`` and a blank string are NULL, so
left out (a required parameter missing), as a NULL column's. An array or an object is no text
value: its row is invalid (``not_scalar``), and the parameter reads NULL.

Arrow carries JSON as text, so every expression is chosen on the column's DuckDB type by
``when_holds_json``, folded when DuckDB plans: a VARCHAR column plans to the SQL it had before
(``CAST(col AS VARCHAR)`` of a VARCHAR is the column itself). Pure: this module only writes
SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reverse_etl.destinations.shared.json_ids import id_text
from reverse_etl.destinations.shared.sql import blank, lit, when_holds_json

if TYPE_CHECKING:
    import pyarrow as pa


def _may_be_json(t: pa.DataType) -> bool:
    """The Arrow type a JSON column has (text; not an ENUM, which is never JSON)."""
    import pyarrow as pa

    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def _is_container(col: str) -> str:
    """SQL: the JSON ``col`` holds an array or an object (NULL for NULL)."""
    return f"json_type({col}) IN ('ARRAY', 'OBJECT')"


def json_scalar_text(col: str) -> str:
    """SQL: the text the JSON ``col`` holds (VARCHAR), NULL for null, a blank string, an array
    or an object."""
    t, s = f"json_type({col})", f"json_extract_string({col}, '$')"
    return f"CASE WHEN {_is_container(col)} OR {blank(s)} THEN NULL ELSE {id_text(t, s)} END"


def text_value(col: str, t: pa.DataType) -> str:
    """SQL: the column ``col`` (of Arrow type ``t``) as the text value a scalar text
    parameter reads: ``col`` itself unless its DuckDB type is JSON (``json_scalar_text``)."""
    if not _may_be_json(t):
        return col
    return when_holds_json(col, json_scalar_text(col), f"CAST({col} AS VARCHAR)")


def not_scalar(col: str, t: pa.DataType, name: str) -> list[tuple[str, str]]:
    """(column, SQL yielding the reason a row is invalid when the JSON ``col`` mapped to the
    text parameter ``name`` holds an array or an object), none for a column that cannot be
    JSON; read for a JSON column only (``with_json_errors``)."""
    if not _may_be_json(t):
        return []
    reason = lit(f"{name} is a JSON array or object, not a text value")
    return [(col, f"CASE WHEN {_is_container(col)} THEN {reason} END")]


def with_json_errors(errors: list[str], json_errors: list[tuple[str, str]]) -> str:
    """SQL: the row's ``__errors`` (its ``errors`` fragments joined, NULL when none holds),
    with the ``json_errors`` (``not_scalar``) too when one of their columns is of DuckDB
    type JSON: one choice, folded when DuckDB plans, so that rows with no JSON column plan to
    exactly the statement they had (no constant NULL per column in the list)."""
    err = "NULLIF(concat_ws('; ', " + ", ".join(errors) + "), '')"
    if not json_errors:
        return err
    # each judged for its own column only (json_type of a VARCHAR would parse its text)
    every = errors + [when_holds_json(col, frag, "NULL") for col, frag in json_errors]
    with_json = "NULLIF(concat_ws('; ', " + ", ".join(every) + "), '')"
    any_json = " OR ".join(f"contains(typeof({col}), 'JSON')" for col, _ in json_errors)
    return f"CASE WHEN {any_json} THEN {with_json} ELSE {err} END"

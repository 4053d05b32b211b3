"""Blank values (empty text, or text of whitespace only: ``''``, ``'  '``, ``'\\t\\n'``) are
left out of a payload as NULL ones are, on every platform: an empty string identifies no one,
names no product and says nothing, and both APIs refuse ``""`` in places (Meta's user_data).

A parameter that is required is then missing, as a NULL one is (the platforms' row checks
test ``blank``); one that is optional is left out. Only text (a VARCHAR, and an ENUM, whose
labels are text) can be blank: other types are sent as they are, with no test per row.
Pure: this module only writes DuckDB SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reverse_etl.destinations.shared.sql import blank, is_text, own_json, when_holds_json

if TYPE_CHECKING:
    import pyarrow as pa


def can_be_blank(t: pa.DataType) -> bool:
    """A column of type ``t`` may hold a blank value: text, or an ENUM (an Arrow dictionary
    of text)."""
    return is_text(t)


def unless_blank(sent: str, expr: str, t: pa.DataType) -> str:
    """SQL: ``sent`` (what is written for ``expr``, of type ``t``: its JSON, its text), or
    NULL, so left out, when ``expr`` is blank (``sql.blank``: whitespace as ``str.strip``
    takes it, tabs and line breaks too, which DuckDB's ``trim`` leaves)."""
    if not can_be_blank(t):
        return sent
    return f"CASE WHEN NOT {blank(expr)} THEN {sent} END"


def custom_property_json(expr: str, t: pa.DataType) -> str:
    """SQL: the JSON of a custom property (``sql.own_json``), or NULL, so left out, when it is
    blank text, as a standard text parameter's is (it was sent as ``""``). A JSON value (a
    JSON column, a warehouse's json) is blank when it is a JSON string of whitespace only
    (``"  "``); whether the column holds JSON is decided when DuckDB plans, as ``own_json``'s
    own test is, so text pays for one ``blank`` test and JSON for one ``json_extract_string``."""
    if not can_be_blank(t):
        return own_json(expr, t)
    as_json = own_json(expr, t, json=True)
    as_text = own_json(expr, t, json=False)
    json_blank = blank(f"json_extract_string({expr}, '$')")
    return when_holds_json(
        expr,
        f"CASE WHEN NOT {json_blank} THEN {as_json} END",
        f"CASE WHEN NOT {blank(expr)} THEN {as_text} END",
    )


def no_value(expr: str, t: pa.DataType) -> str:
    """SQL: the ID ``expr`` (of type ``t``) is sent as none (``sql.as_text`` is NULL, or
    blank): NULL, blank text, or a NaN or infinite float. Its text alone cannot tell: the
    text of NaN is 'nan', yet no ID is sent for it, so a required one is missing."""
    import pyarrow as pa

    if pa.types.is_floating(t):
        return f"coalesce(NOT isfinite({expr}), true)"
    return blank(expr)


def has_value(expr: str, t: pa.DataType) -> str:
    """SQL: ``expr`` (of type ``t``) holds a value, so one that does not parse (a number, an
    integer, a boolean, a time written as text) is said to be no such value: not NULL, and,
    for text, not blank. A blank one is none, as NULL is: left out when optional, missing
    when required (it was 'not a number', an invalid row)."""
    return f"NOT {blank(expr)}" if can_be_blank(t) else f"{expr} IS NOT NULL"


def unset_if_blank(value: object) -> object:
    """A setting's text that is blank (``""``, spaces) read as not set: what
    ``{{ env_var('TEST_CODE', '') }}`` gives where the variable is unset (a production run)."""
    return None if isinstance(value, str) and not value.strip() else value

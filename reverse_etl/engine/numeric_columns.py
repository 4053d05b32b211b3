"""A warehouse's exact numbers, staged in the workbench without losing a digit.

PostgreSQL's ``numeric`` without a precision (a ``numeric`` column, ``SUM`` of a bigint, a
``::numeric`` cast) holds any number of digits. It used to be read as a DOUBLE, which keeps
15 to 17 significant digits: an ``event_id`` of 9007199254740993 was sent as
"9007199254740992", silently, and two ids could become one. The engine now hands such a
column over as its exact text, marked ``NUMERIC_TEXT``, and ``exact_numbers`` gives it, once
staged, the type that holds every value:

- DOUBLE when every value reads back from a DOUBLE as itself (amounts, counts, 0.1): what it
  was before, so the row hashes of the state and the payloads do not change;
- else DECIMAL(38, s), ``s`` the most fractional digits of any value, when every value fits
  (NaN, which no decimal holds, is then NULL);
- else the text itself (more than 38 digits): an id is sent as its digits, a number read from
  its text by the encoder, as from a text column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reverse_etl.engine.duckdb import DuckDBEngine

_MAX_DIGITS = 38  # DECIMAL's precision in DuckDB
# Text PostgreSQL writes for a numeric that is no finite number.
_SPECIAL = "lower({c}) IN ('nan', 'infinity', '-infinity')"


def exact_numbers(engine: DuckDBEngine, table: str, columns: Sequence[str]) -> None:
    """Each of ``columns`` (numbers as text) of staged ``table`` as DOUBLE, DECIMAL(38, s)
    or text, whichever holds every value exactly (see the module's docstring)."""
    for column in columns:
        c = _ident(column)
        finite = f"{c} IS NOT NULL AND NOT {_SPECIAL.format(c=c)}"
        ((scale, digits),) = engine.rows(
            f"SELECT coalesce(max(CASE WHEN strpos({c}, '.') > 0 "
            f"THEN length({c}) - strpos({c}, '.') ELSE 0 END), 0), "
            f"coalesce(max(length(split_part(ltrim({c}, '-'), '.', 1))), 0) "
            f"FROM {table} WHERE {finite}"
        )
        if scale + max(digits, 1) > _MAX_DIGITS:
            continue  # kept as its text: exact
        decimal = f"DECIMAL({_MAX_DIGITS}, {scale})"
        ((lossy,),) = engine.rows(
            f"SELECT count(*) FROM {table} WHERE {finite} AND "
            f"(TRY_CAST(TRY_CAST({c} AS DOUBLE) AS {decimal}) = CAST({c} AS {decimal})) "
            "IS NOT TRUE"
        )
        target = decimal if lossy else "DOUBLE"
        # ALTER writes this column only (4M rows: 0.3 s, a rewrite of the table 1.3 s)
        engine.execute(
            f"ALTER TABLE {table} ALTER COLUMN {c} SET DATA TYPE {target} "
            f"USING TRY_CAST({c} AS {target})"
        )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

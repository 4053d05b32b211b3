"""The phone pre-pass every platform shares: each distinct phone number of a run is settled
once, into a table the encoder then joins. Numbers already in E.164 are checked in SQL
(``phone_sql``: the fast path); the rest are parsed with ``phonenumbers``, on every core.

TikTok sends SHA-256 of E.164 (``+12133734253``); Meta SHA-256 of its digits
(``12133734253``). Both read the same table of E.164 text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reverse_etl.destinations.shared.sql import already_hashed, ident, strip

if TYPE_CHECKING:
    from reverse_etl.engine.duckdb import DuckDBEngine

PHONE_UDF = "retl_e164"
# The same, digits alone read as international when they are no national number (Meta).
PHONE_DIGITS_UDF = "retl_e164_digits"
PHONE_CHUNK = 100_000  # distinct phones parsed per round


def register_phone_udf(engine: DuckDBEngine) -> None:
    """``retl_e164(raw, region)``: the per-row parser, for rows missing from the table (and
    ``retl_e164_digits``, its ``digits_international`` form)."""
    from reverse_etl.destinations.shared.pii import e164_arrow, e164_digits_arrow

    engine.register_vector_udf(PHONE_UDF, e164_arrow, ["VARCHAR", "VARCHAR"], "VARCHAR")
    engine.register_vector_udf(
        PHONE_DIGITS_UDF, e164_digits_arrow, ["VARCHAR", "VARCHAR"], "VARCHAR"
    )


def distinct_phones_sql(relation: str, columns: Sequence[str]) -> str | None:
    """Every distinct trimmed phone of ``columns``, as ``raw`` (None: no phone column)."""
    if not columns:
        return None
    return " UNION ".join(
        f"SELECT DISTINCT {strip(ident(c))} AS raw FROM {relation} WHERE {ident(c)} IS NOT NULL"
        for c in columns
    )


def needs_parsing(raw: str) -> str:
    """The phones the table holds: not blank, not already a SHA-256 (the encoder settles those
    row by row, without the parser)."""
    return f"{raw} <> '' AND NOT ({already_hashed(raw)})"


def phone_table_sql(table: str, parsed: str) -> str:
    """The phone table from ``parsed`` (``raw``, ``e164``: E.164 of every distinct raw phone,
    parsed outside SQL; NULL when not a valid number).

    The table holds E.164, not its SHA-256: the encoder hashes per row. Its LEFT JOIN runs
    beside the wide encode, and a build side of 64-character hashes (45 MB for 372k phones)
    made that join run out of a 200MB limit at 4M rows; E.164 (mostly inline in DuckDB's
    strings) is less than half of it."""
    return (
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT raw, e164 FROM {parsed} "
        f"WHERE {needs_parsing('raw')}"
    )


def build_phone_table(
    engine: DuckDBEngine,
    distinct_sql: str,
    region: str | None,
    table: str,
    *,
    digits_international: bool = False,
) -> None:
    """``table`` (raw, e164) for the distinct phones ``distinct_sql`` returns.

    Numbers in E.164, and national numbers of ``region`` that parse the plain way, are
    settled in SQL (``phone_sql``, the fast path); the rest are parsed PHONE_CHUNK at a time
    (``_parse_into``), so only one chunk is ever held outside the workbench.

    ``digits_international`` (``e164.parse_e164``): the fast path settles only valid numbers
    written with ``+`` or ``00``, or national ones of ``region``, which that reading keeps;
    digits it does not settle are left to the library, which reads them as international."""
    from reverse_etl.destinations.shared.phone_sql import fast_phone_table

    distinct = engine.materialize(distinct_sql)
    fast = rest = staged = None
    try:
        fast = fast_phone_table(engine, distinct, region)
        parsed = f"SELECT raw, e164 FROM {fast}"
        probe = f"SELECT raw FROM {distinct} ANTI JOIN {fast} USING (raw)"
        if engine.rows(f"SELECT EXISTS ({probe})")[0][0]:
            # Not when SQL settled every number (an unchanged re-sync has none): no phone
            # library, no helper processes, no Arrow (issue #18).
            rest = engine.materialize(probe)
            staged = engine.materialize(f"SELECT raw, raw AS e164 FROM {rest} LIMIT 0")
            _parse_into(engine, rest, region, staged, digits_international)
            parsed += f" UNION ALL SELECT raw, e164 FROM {staged}"
        engine.execute(phone_table_sql(table, f"({parsed}) AS __parsed"))
    finally:
        for name in (distinct, fast, rest, staged):
            if name is not None:
                engine.execute(f"DROP TABLE IF EXISTS {name}")


def _parse_into(
    engine: DuckDBEngine, rest: str, region: str | None, table: str, digits: bool = False
) -> None:
    """Append (raw, e164) to ``table`` for the phones of table ``rest``, parsed by
    ``phonenumbers`` (on every core when there are many), one PHONE_CHUNK of ``rest``'s rows
    at a time.

    Each chunk's results go into the workbench before the next chunk is read, so the memory
    held here is one chunk's, whatever the number of phones (collecting every result first
    held all of them as Arrow: ~35 MB at 10M rows, issue #17). A chunk is a range of
    ``rest``'s row ids: reading it while a result of the same connection is still open would
    close that result."""
    import pyarrow as pa  # here: validate reads this module without Arrow (#18)

    from reverse_etl.destinations.shared.e164 import parse_parallel

    end = engine.rows(f"SELECT coalesce(max(rowid) + 1, 0) FROM {rest}")[0][0]
    for start in range(0, end, PHONE_CHUNK):
        raw = (
            engine.stream(
                f"SELECT raw FROM {rest} WHERE rowid >= {start} AND rowid < {start + PHONE_CHUNK}"
            )
            .read_all()
            .column(0)
        )
        parsed = parse_parallel(raw.to_pylist(), region, digits_international=digits)
        e164 = pa.array(parsed, pa.string())
        chunk = pa.table({"raw": raw.cast(pa.string()), "e164": e164})
        engine.stage(chunk.to_reader(), into=table)

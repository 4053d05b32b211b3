"""Match keys per row, as SQL: which of Meta's customer information parameters a row sends.

The encoder writes one integer per row, ``__match``: a bit per ``user_data`` parameter of the
catalog the row carries, and a bit (``READ_WITH_COUNTRY_CODE``) for a phone written without
``+`` or ``00`` and read, with no ``default_phone_region``, as starting with its country code
(Meta's documented form). ``match_bits`` says what the bits mean; the plan sums them in the
counting query it runs anyway (``shared/coverage.py``). Pure: this module only writes SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reverse_etl.destinations.catalog import Hashing, ParamSpec
from reverse_etl.destinations.meta.catalog import CATALOG, USER_DATA
from reverse_etl.destinations.meta.encode import (
    EncodeSpec,
    email_ok_name,
    sent_name,
    text_name,
)
from reverse_etl.destinations.meta.mapping import ColumnMapping, MappedColumn
from reverse_etl.destinations.shared.blanks import no_value
from reverse_etl.destinations.shared.coverage import Flag, MatchBits
from reverse_etl.destinations.shared.sql import (
    already_hashed,
    blank,
    email_ok,
    ident,
    is_list,
    strip,
)

if TYPE_CHECKING:
    import pyarrow as pa  # imported where rows are handled: validate starts without it (#18)

# Every customer information parameter is a match key, in the catalog's order.
MATCH_KEYS: tuple[ParamSpec, ...] = tuple(p for p in CATALOG.params if p.path[0] == USER_DATA)
# Keys that on their own point at a person, a device or an ad click (docs/meta.md, "Match
# keys"): the hashed identities, your user ID, the click ID, a lead, a Facebook login and an
# advertiser ID. The browser cookie (fbp), the IP address and user agent, names and address
# parts help Meta match but identify no one alone.
STRONG = ("email", "phone", "external_id", "fbc", "lead_id", "fb_login_id", "madid")
READ_WITH_COUNTRY_CODE = 1 << len(MATCH_KEYS)


def _bit(param: str) -> int:
    return 1 << next(i for i, p in enumerate(MATCH_KEYS) if p.name == param)


def _carries(m: MappedColumn, t: pa.DataType) -> str:
    """SQL: the row sends a value of ``m``'s parameter (over the encoder's rows)."""
    col = ident(m.column)
    assert m.param is not None
    if m.param.hashing is Hashing.EMAIL:  # an address (or a hash): a malformed one matches no one
        if is_list(t):
            return f"len(list_filter({col}, x -> {email_ok(strip('x'))})) > 0"
        return ident(email_ok_name(m.column))
    if is_list(t):
        return f"len(list_filter({col}, x -> NOT {blank('x')})) > 0"
    if m.param.hashing is not Hashing.NONE:  # what is sent, computed once per row
        return f"{ident(sent_name(m.column))} IS NOT NULL"
    return f"NOT {no_value(col, t)}"


def _read_with_country_code(m: MappedColumn) -> str:
    """SQL: the scalar phone of ``m`` was sent and its text opens with a digit other than 0
    (no ``+``, no ``00``, no parenthesis): with no region it was read country code first."""
    text = ident(text_name(m.column))
    return (
        f"{ident(sent_name(m.column))} IS NOT NULL AND ascii({text}) BETWEEN 49 AND 57 "
        f"AND NOT ({already_hashed(text)})"
    )


def match_sql(mapping: ColumnMapping, schema: pa.Schema, spec: EncodeSpec) -> str:
    """SQL for ``__match``: the sum of the bits of the keys the row carries and of its flag
    (0 when the model maps no customer information)."""
    terms = []
    flagged = []
    for m in mapping.columns:
        if m.param is None or m.path[0] != USER_DATA:
            continue
        t = schema.field(m.column).type
        terms.append(f"CASE WHEN {_carries(m, t)} THEN {_bit(m.param.name)} ELSE 0 END")
        phone = m.param.hashing is Hashing.PHONE_DIGITS
        if phone and spec.default_phone_region is None and not is_list(t):
            flagged.append(f"({_read_with_country_code(m)})")
    if flagged:
        terms.append(f"CASE WHEN {' OR '.join(flagged)} THEN {READ_WITH_COUNTRY_CODE} ELSE 0 END")
    return " + ".join(terms) if terms else "0"


def match_bits(destination: str, file: str) -> MatchBits:
    """What ``__match``'s bits mean; ``destination`` and ``file`` (destinations.yml) are
    named by the phone warning's fix."""
    warning = (
        "{n} row(s) to send have a phone written without + or 00, read as including its "
        "country code (Meta's documented form; no default_phone_region is set): if they are "
        f"national numbers, set default_phone_region under destinations.{destination} in "
        f"{file}, or write them in E.164 with + and the country code"
    )
    return MatchBits(
        keys=tuple((p.name, _bit(p.name)) for p in MATCH_KEYS),
        strong=STRONG,
        flags=(Flag(READ_WITH_COUNTRY_CODE, warning),),
        zero_keys_listed=False,
    )


__all__ = ["MATCH_KEYS", "READ_WITH_COUNTRY_CODE", "STRONG", "match_bits", "match_sql"]

"""Match keys per row, as SQL: which of TikTok's matching inputs a row carries.

The encoder writes one integer per row, ``__match``: a bit per match key of the catalog's
``MATCH_KEYS`` (``MatchKey.bit``) and a bit per normalisation failure (``failure_bit``). The
plan sums the bits in the counting query it runs anyway (``shared/coverage.py``, from
``match_bits``), so match coverage costs no extra scan of the model. Pure: this module only
writes SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reverse_etl.destinations.shared.coverage import MatchBits
from reverse_etl.destinations.shared.sql import blank, email_ok, ident, is_list, lit, strip
from reverse_etl.destinations.tiktok.catalog import (
    NORMALISATION_FAILURES,
    Hashing,
    MatchKey,
    failure_bit,
    match_keys_for,
)
from reverse_etl.destinations.tiktok.encode import (
    EncodeSpec,
    email_malformed,
    phone_unparseable,
)
from reverse_etl.destinations.tiktok.mapping import ColumnMapping, MappedColumn

if TYPE_CHECKING:
    import pyarrow as pa  # imported where rows are handled: validate starts without it (#18)


def _filled(value: str) -> str:
    """SQL: not NULL, not only whitespace (``shared/sql.py`` blank: a regex, as trim() would
    copy every long user agent, run only on a text whose first character is no printable
    ASCII, so on nearly no ip, user agent or ttclid)."""
    return f"NOT {blank(value)}"


def _carries(m: MappedColumn, t: pa.DataType, spec: EncodeSpec) -> str:
    """SQL: the row carries a usable value of ``m``'s parameter."""
    col = ident(m.column)
    param = m.param
    assert param is not None
    if param.hashing is Hashing.EMAIL:  # an address (or a hash), not just any text
        if is_list(t):
            return f"len(list_filter({col}, x -> {email_ok(strip('x'))})) > 0"
        pre = spec.email_check(m.column)
        return ident(pre) if pre is not None else email_ok(spec.text(m.column))
    pre = spec.hashed_phone(m.column)
    if pre is not None:  # the number parsed (an unparseable one makes the row invalid)
        return f"{ident(pre)} IS NOT NULL"
    if is_list(t):
        return f"len(list_filter({col}, x -> {_filled('x')})) > 0"
    if param.hashing in (Hashing.IDFA, Hashing.GAID):
        # The all-zero ID is what a device sends when tracking is not allowed: no match.
        text = spec.text(m.column)
        return f"{_filled(col)} AND replace(replace({text}, '0', ''), '-', '') <> ''"
    return _filled(col)


def _failed(m: MappedColumn, t: pa.DataType, spec: EncodeSpec) -> str:
    assert m.param is not None
    if m.param.hashing is Hashing.PHONE:
        pre = spec.hashed_phone(m.column)
        region, text = spec.default_phone_region, spec.text(m.column)
        return phone_unparseable(ident(m.column), t, region, pre, text)
    return email_malformed(ident(m.column), t, spec.email_check(m.column), spec.text(m.column))


def match_sql(mapping: ColumnMapping, schema: pa.Schema, spec: EncodeSpec) -> str:
    """SQL for ``__match``: the sum of the bits of the keys the row carries and of the values
    that failed normalisation (0 when the model maps none)."""
    cols = mapping.by_param()
    terms = []
    for key in match_keys_for(spec.source):
        if all(p in cols for p in key.params):
            carried = " AND ".join(
                f"({_carries(cols[p], schema.field(cols[p].column).type, spec)})"
                for p in key.params
            )
            terms.append(f"CASE WHEN {carried} THEN {key.bit} ELSE 0 END")
    for name in NORMALISATION_FAILURES:
        if name in cols:
            m = cols[name]
            failed = _failed(m, schema.field(m.column).type, spec)
            terms.append(f"CASE WHEN {failed} THEN {failure_bit(name)} ELSE 0 END")
    return " + ".join(terms) if terms else "0"


def unmatched_warning(source: str, match: str) -> str:
    """SQL: a row warning when the row carries none of the source's match keys (``match``:
    SQL for its ``__match``), NULL otherwise. TikTok's reference leaves open whether it
    rejects such an event (an offline one: UNCONFIRMED, docs/tiktok.md says so): it is sent,
    but TikTok cannot match it to anyone, as a Meta event without user_data."""
    keys = match_keys_for(source)
    mask = sum(k.bit for k in keys)
    names = ", ".join("ip with user_agent" if k.name == "ip_user_agent" else k.name for k in keys)
    reason = lit(
        f"nothing identifies the person (no usable {names}): TikTok cannot match the event "
        "to anyone (sent)"
    )
    return f"CASE WHEN (({match}) & {mask}) = 0 THEN {reason} END"


# --- the plan's figures -----------------------------------------------------------------------
def strong_keys(source: str) -> tuple[MatchKey, ...]:
    return tuple(k for k in match_keys_for(source) if source in k.strong_for)


def match_bits(source: str) -> MatchBits:
    """What ``__match``'s bits mean for an event source (``shared/coverage.py`` counts them)."""
    return MatchBits(
        keys=tuple((k.name, k.bit) for k in match_keys_for(source)),
        strong=tuple(k.name for k in strong_keys(source)),
        failures=tuple((n, failure_bit(n)) for n in NORMALISATION_FAILURES),
        labels=(("ip_user_agent", "ip+user_agent"),),
        failure_labels=(("email", "malformed e-mail(s)"), ("phone", "unparseable phone(s)")),
    )

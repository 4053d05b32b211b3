"""Match keys per row, as SQL: which of TikTok's matching inputs a row carries.

The encoder writes one integer per row, ``__match``: a bit per match key of the catalog's
``MATCH_KEYS`` (``MatchKey.bit``) and a bit per normalisation failure (``failure_bit``). The
plan sums the bits in the counting query it runs anyway, so match coverage costs no extra
scan of the model. Pure: this module only writes SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reverse_etl.destinations.shared.sql import blank, ident, is_list, strip
from reverse_etl.destinations.shared.text import either, percent
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
    email_ok,
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


# --- the plan's figures -----------------------------------------------------------------------
_TO_SEND = "__errors IS NULL AND __change IS DISTINCT FROM 'unchanged'"
_ENCODED = "__change IS DISTINCT FROM 'unchanged'"


def strong_keys(source: str) -> tuple[MatchKey, ...]:
    return tuple(k for k in match_keys_for(source) if source in k.strong_for)


def coverage_sql(source: str) -> list[str]:
    """Aggregates over the plan's table (``__errors``, ``__change``, ``__match``), for the
    counting query: per key, the rows to send carrying it; the rows to send with a strong
    key; per normalisation failure, the rows (valid or not) with such a value."""
    keys = match_keys_for(source)
    strong = sum(k.bit for k in strong_keys(source))
    out = [f"count(*) FILTER (WHERE {_TO_SEND} AND (__match & {k.bit}) <> 0)" for k in keys]
    out.append(f"count(*) FILTER (WHERE {_TO_SEND} AND (__match & {strong}) <> 0)")
    out += [
        f"count(*) FILTER (WHERE {_ENCODED} AND (__match & {failure_bit(n)}) <> 0)"
        for n in NORMALISATION_FAILURES
    ]
    return out


def _share(n: int, of: int) -> float | None:
    return None if of == 0 else round(n / of, 4)


@dataclass(frozen=True)
class MatchCoverage:
    """How many of the rows to send carry each match key, before anything is sent."""

    source: str
    rows: int  # rows to send: the denominator of every share
    keys: tuple[tuple[str, int], ...]  # (key, rows to send carrying it)
    strong: int  # rows to send carrying at least one strong key
    failures: tuple[tuple[str, int], ...]  # (parameter, rows whose value failed normalisation)
    minimum: float | None = None  # the destination's min_match_coverage

    @classmethod
    def from_counts(
        cls, source: str, rows: int, counts: Sequence[int], minimum: float | None
    ) -> MatchCoverage:
        """From the values of ``coverage_sql(source)``, in its order."""
        keys = match_keys_for(source)
        n = len(keys)
        return cls(
            source,
            rows,
            tuple((k.name, int(c)) for k, c in zip(keys, counts[:n], strict=True)),
            int(counts[n]),
            tuple(
                (f, int(c)) for f, c in zip(NORMALISATION_FAILURES, counts[n + 1 :], strict=True)
            ),
            minimum,
        )

    @property
    def coverage(self) -> float | None:
        """Share of the rows to send with a strong key (None: nothing to send)."""
        return _share(self.strong, self.rows)

    @property
    def below_minimum(self) -> bool:
        cov = self.coverage
        return self.minimum is not None and cov is not None and cov < self.minimum

    @property
    def strong_key_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in strong_keys(self.source))

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_to_send": self.rows,
            "coverage": self.coverage,
            "strong_keys": list(self.strong_key_names),
            "min_match_coverage": self.minimum,
            "below_minimum": self.below_minimum,
            "keys": {name: {"rows": n, "share": _share(n, self.rows)} for name, n in self.keys},
            "normalisation_failures": dict(self.failures),
        }

    def summary(self) -> str:
        """One line for people: the coverage, then each key's share, then the failures."""
        if not self.rows:
            return "match keys: no rows to send"
        text = (
            f"match coverage {percent(self.coverage)} ({self.strong} of {self.rows} rows to "
            f"send carry {either(self.strong_key_names)})"
        )
        if self.minimum is not None:
            text += f", min_match_coverage {percent(self.minimum)}"
        text += "; " + ", ".join(
            f"{_LABELS.get(k, k)} {percent(_share(n, self.rows))}" for k, n in self.keys
        )
        failed = [f"{n} {_FAILURES[f]}" for f, n in self.failures if n]
        if failed:
            text += "; " + ", ".join(failed)
        return text


_LABELS = {"ip_user_agent": "ip+user_agent"}
_FAILURES = {"email": "malformed e-mail(s)", "phone": "unparseable phone(s)"}

"""How each customer-information parameter is normalised before SHA-256, as DuckDB SQL.

Meta matches on the SHA-256 of a normal form, so the form is everything: a stray space or
upper-case letter hashes to a value that matches no one. The forms follow Meta's "Customer
Information Parameters" page and its SDK's ``normalize.py``:

- ``em``: trimmed, lower-case; ``external_id``: trimmed (case kept, as for TikTok);
- ``ph``: E.164 from the shared phone table, without its ``+`` (``12133734253``);
- ``fn``, ``ln``: lower-case, punctuation and symbols removed, trimmed (``Jean-Luc`` ->
  ``jeanluc``; inner spaces kept);
- ``ct``: lower-case, letters only (no spaces, punctuation or digits);
- ``st``: lower-case, letters only; a US state's name becomes its two-letter code;
- ``zp``: lower-case, spaces and dashes removed; a US ZIP keeps its first five digits;
- ``country``: lower-case letters, exactly two (ISO 3166-1 alpha-2);
- ``ge``: ``f`` or ``m`` (from f, m, female, male in any case);
- ``db``: ``YYYYMMDD`` (from a DATE, a TIMESTAMP, or text YYYY-MM-DD, YYYYMMDD, YYYY/MM/DD).

A value already 64 hex characters is a SHA-256: sent lower-cased, as is. A value with
nothing left once normalised (a gender ``x``, a country ``usa``) is left out, and the row
warns. Forms are keyed by Meta's ``user_data`` key, not by ``Hashing``: two kinds of hashing
may share a description (city and state do). Pure: this module only writes SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reverse_etl.destinations.meta.vocab import US_STATES
from reverse_etl.destinations.shared.phones import PHONE_UDF
from reverse_etl.destinations.shared.sql import WHITESPACE_CLASS, already_hashed, lit, strip

if TYPE_CHECKING:
    import pyarrow as pa  # imported where rows are handled: validate starts without it (#18)

_US_STATES = "MAP {" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in US_STATES.items()) + "}"
_DATE_FORMATS = "['%Y-%m-%d', '%Y%m%d', '%Y/%m/%d']"
_PUNCTUATION = r"[\p{P}\p{S}]"
_PUNCTUATION_OR_SPACE = r"[\p{P}\p{S}" + WHITESPACE_CLASS[1:]
_NAME_DROPPED = lit(f"^{_PUNCTUATION_OR_SPACE}+|{_PUNCTUATION_OR_SPACE}+$|{_PUNCTUATION}")
# A US ZIP once spaces and dashes are gone: five digits, or ZIP+4.
_US_ZIP = r"'\d{5}(\d{4})?'"

# Why a value that is not blank was left out, per normalisation (never quoting the value).
LEFT_OUT: dict[str, str] = {
    "ge": "is not f, m, female or male",
    "db": "is not a date (YYYY-MM-DD or YYYYMMDD)",
    "country": "is not a two-letter ISO 3166-1 country code",
    "fn": "has no letters once normalised",
    "ln": "has no letters once normalised",
    "ct": "has no letters once normalised",
    "st": "has no letters once normalised",
    "zp": "is empty once normalised",
}


def text(expr: str) -> str:
    """The text of a column trimmed of whitespace (``shared/sql.py`` ``WHITESPACE``: tabs and
    line breaks too); NULL stays NULL."""
    return strip(f"CAST({expr} AS VARCHAR)")


def country_form(v: str) -> str:
    """SQL: the normal form of a country, or NULL when it is not two letters (``v``:
    trimmed text)."""
    letters = f"regexp_replace(lower({v}), '[^a-z]', '', 'g')"
    return f"CASE WHEN strlen({letters}) = 2 THEN {letters} END"


def normal_form(
    v: str, field: str, *, region: str | None = None, country: str | None = None
) -> str:
    """SQL: the normal form of the trimmed text ``v`` for the ``user_data`` key ``field``,
    before SHA-256 (NULL or '' when there is none). ``country``: SQL for the row's normalised
    country, which tells a US ZIP."""
    lower = f"lower({v})"
    letters = rf"regexp_replace({lower}, '[^\p{{L}}\p{{M}}]', '', 'g')"
    forms = {
        "em": lambda: lower,
        "external_id": lambda: v,
        "ph": lambda: f"replace({PHONE_UDF}({v}, {lit(region or '')}), '+', '')",
        # Punctuation and symbols removed, then the whitespace they leave at either end, in
        # one pass: the runs of both at the ends, and the punctuation between.
        "fn": lambda: f"regexp_replace({lower}, {_NAME_DROPPED}, '', 'g')",
        "ct": lambda: letters,
        "st": lambda: f"coalesce({_US_STATES}[{letters}], {letters})",
        "zp": lambda: zip_form(v, country),
        "country": lambda: country_form(v),
        "ge": lambda: (
            f"CASE WHEN {lower} IN ('f', 'female') THEN 'f' "
            f"WHEN {lower} IN ('m', 'male') THEN 'm' END"
        ),
        "db": lambda: f"strftime(try_strptime({v}, {_DATE_FORMATS}), '%Y%m%d')",
    }
    form = forms.get("fn" if field == "ln" else field)
    if form is None:
        raise AssertionError(f"no Meta normal form for user_data.{field}")
    return form()


def zip_form(v: str, country: str | None) -> str:
    """Lower-case, no spaces or dashes; the first five digits of a US ZIP.

    A ZIP is taken as US when the row's country is ``us``, or when the row names no other
    country (no country column, a NULL or a hashed one) and the ZIP is five digits or ZIP+4.
    A German or French five-digit code is unchanged either way."""
    z = rf"regexp_replace(lower({v}), '[\s\-]', '', 'g')"
    if country is None:
        us = f"regexp_full_match({z}, {_US_ZIP})"
    else:
        # ``country`` is NULL when the row's is missing, hashed or not two letters.
        us = (
            f"(coalesce({country} = 'us', FALSE) OR ({country} IS NULL AND "
            f"regexp_full_match({z}, {_US_ZIP})))"
        )
    return f"CASE WHEN {us} THEN left({z}, 5) ELSE {z} END"


def hashed(
    expr: str,
    t: pa.DataType,
    field: str,
    *,
    region: str | None = None,
    country: str | None = None,
    trimmed: str | None = None,
) -> str:
    """SQL: what is sent for one value of the ``user_data`` key ``field`` (NULL: left out).
    ``trimmed``: SQL for its text already trimmed (``text(expr)`` when not given)."""
    import pyarrow as pa

    if field == "db" and (pa.types.is_date(t) or pa.types.is_timestamp(t)):
        # 'infinity' is no date (strftime writes the word): left out, with its warning
        return f"CASE WHEN isfinite({expr}) THEN sha256(strftime({expr}, '%Y%m%d')) END"
    v = trimmed or text(expr)
    form = normal_form(v, field, region=region, country=country)
    return (
        f"CASE WHEN {v} = '' THEN NULL WHEN {already_hashed(v)} THEN lower({v}) "
        f"ELSE sha256(NULLIF({form}, '')) END"
    )

"""How each customer-information parameter is normalised before SHA-256, as DuckDB SQL.

Meta matches on the SHA-256 of a normal form, so the form is everything: a stray space or
upper-case letter hashes to a value that matches no one. The forms follow Meta's "Customer
Information Parameters" page and its SDK's ``normalize.py``:

- ``em``: trimmed, lower-case; ``external_id``: trimmed (case kept, as for TikTok);
  lower-case is Python's (``str.lower``, as the SDK's): a final capital sigma becomes ``ς``
  (``ΟΔΟΣ`` -> ``οδος``) and ``İ`` becomes ``i̇``, where DuckDB's ``lower`` maps character
  by character (``οδοσ``, ``i``);
- ``ph``: E.164 from the shared phone table, without its ``+`` (``12133734253``);
- ``fn``, ``ln``: lower-case, punctuation and symbols removed, trimmed (``Jean-Luc`` ->
  ``jeanluc``; inner spaces kept);
- ``ct``: lower-case, letters only (no spaces, punctuation or digits);
- ``st``: lower-case, letters only; a US state's name becomes its two-letter code (unless the
  row's country is another than the US's or its territories');
- ``zp``: lower-case, whitespace (a no-break space too) and dashes removed; a US ZIP (of the
  US or of a territory with USPS ZIPs: Puerto Rico ...) keeps its first five digits; a US
  row's ZIP of another shape is left out (a warning says why), and a US row's ZIP kept as a
  number gets back the leading zeros it lost (``2134`` -> ``02134``);
- ``country``: lower-case letters, exactly two, an ISO 3166-1 alpha-2 code (``uk`` is not);
- ``ge``: ``f`` or ``m`` (from f, m, female, male in any case);
- ``db``: ``YYYYMMDD`` (from a DATE, a TIMESTAMP, or text YYYY-MM-DD, YYYYMMDD, YYYY/MM/DD,
  the year in four digits).

A value already 64 hex characters is a SHA-256: sent lower-cased, as is. A value with
nothing left once normalised (a gender ``x``, a country ``usa``) is left out, and the row
warns. Forms are keyed by Meta's ``user_data`` key, not by ``Hashing``: two kinds of hashing
may share a description (city and state do). Pure: this module only writes SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reverse_etl.destinations.meta.vocab import US_STATES
from reverse_etl.destinations.shared.phones import PHONE_DIGITS_UDF
from reverse_etl.destinations.shared.sql import (
    WHITESPACE_CLASS,
    already_hashed,
    lit,
    one_of,
    strip,
)

if TYPE_CHECKING:
    import pyarrow as pa  # imported where rows are handled: validate starts without it (#18)

_US_STATES = "MAP {" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in US_STATES.items()) + "}"
# The country codes of the US and of the territories US_STATES names (ISO 3166-1 gives them
# their own): a row of one of these reads a state's name as its USPS/ANSI code.
_US_COUNTRIES = ("as", "gu", "mp", "pr", "um", "us", "vi")
_DATE_FORMATS = "['%Y-%m-%d', '%Y%m%d', '%Y/%m/%d']"
# What those formats may read: strptime's %Y also takes '90' (year 90) and '1990023'. The
# date may be followed by a time, as a timestamp's text is ('1990-02-03 00:00:00',
# '1990-02-03T00:00:00.000Z', with a zone offset or not): its date as written is taken.
_DATE_PART = r"\d{4}[-/]\d{1,2}[-/]\d{1,2}"
_TIME_PART = r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)? ?(Z|[+-]\d{2}(:?\d{2})?)?"
_DATE_TEXT = lit(rf"{_DATE_PART}({_TIME_PART})?|\d{{8}}")
_DATE_ONLY = lit(rf"^({_DATE_PART}|\d{{8}})")
_PUNCTUATION = r"[\p{P}\p{S}]"
_PUNCTUATION_OR_SPACE = r"[\p{P}\p{S}" + WHITESPACE_CLASS[1:]
_NAME_DROPPED = lit(f"^{_PUNCTUATION_OR_SPACE}+|{_PUNCTUATION_OR_SPACE}+$|{_PUNCTUATION}")
# A US ZIP once spaces and dashes are gone: five digits, or ZIP+4.
_US_ZIP = r"'\d{5}(\d{4})?'"
# An integer's ZIP that may have lost leading zeros (a ZIP or a ZIP+4 past five digits).
# A ZIP (or ZIP+4) that lost one or two leading zeros as a number: the lowest ZIP is 00501,
# so 3-4 digits are a ZIP and 7-8 a ZIP+4; 1-2 or 6 digits are neither (000xx is no ZIP).
_SHORT_ZIP = r"'(\d{3,4}|\d{7,8})'"
# Removed from a ZIP: whitespace (RE2's \s is ASCII only: a no-break space stayed) and dashes.
_ZIP_DROPPED = lit(WHITESPACE_CLASS[:-1] + r"\-]")
# ISO 3166-1 alpha-2 (pycountry 26.2.16, the list the SDK checks) by first letter, and XK
# (Kosovo), which Meta's ad targeting names.
_ISO_3166: dict[str, str] = {
    "a": "defgilmoqrstuwxz",
    "b": "abdefghijlmnoqrstvwyz",
    "c": "acdfghiklmnoruvwxyz",
    "d": "ejkmoz",
    "e": "ceghrst",
    "f": "ijkmor",
    "g": "abdefghilmnpqrstuwy",
    "h": "kmnrtu",
    "i": "delmnoqrst",
    "j": "emop",
    "k": "eghimnprwyz",
    "l": "abcikrstuvy",
    "m": "acdefghklmnopqrstuvwxyz",
    "n": "acefgilopruz",
    "o": "m",
    "p": "aefghklmnrstwy",
    "q": "a",
    "r": "eosuw",
    "s": "abcdeghijklmnorstvxyz",
    "t": "cdfghjklmnortvwz",
    "u": "agmsyz",
    "v": "aceginu",
    "w": "fs",
    "x": "k",
    "y": "et",
    "z": "amw",
}
ISO_COUNTRIES: frozenset[str] = frozenset(a + b for a, bs in _ISO_3166.items() for b in bs)
# Python's lower-casing of the two letters whose lower case depends on more than the letter
# (Unicode SpecialCasing; DuckDB's lower() maps one character to one): a capital sigma is
# final (ς) when a cased letter comes before it and none after, skipping case-ignorable
# characters either way (CPython's handle_capital_sigma), and İ becomes i + U+0307.
_IGNORABLE = (
    r"\p{Mn}\p{Me}\p{Cf}\p{Lm}\p{Sk}'.:\x{B7}\x{387}\x{55F}\x{5F4}\x{2018}\x{2019}\x{2024}"
    r"\x{2027}\x{FE13}\x{FE52}\x{FE55}\x{FF07}\x{FF0E}\x{FF1A}"
)
_CASED = (
    r"\p{Lu}\p{Ll}\p{Lt}\x{AA}\x{BA}\x{2160}-\x{217F}\x{24B6}-\x{24E9}\x{1F130}-\x{1F149}"
    r"\x{1F150}-\x{1F169}\x{1F170}-\x{1F189}"
)
_FINAL_SIGMA = lit(f"([{_CASED}][{_IGNORABLE}]*)Σ([{_IGNORABLE}]*(?:[^{_CASED}{_IGNORABLE}]|$))")

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
# Why a US row's ZIP is left out when it is no ZIP (``zip_form``), and how to write it.
ZIP_NOT_US = (
    "is not a US ZIP code (five digits, or ZIP+4) though the row's country is the US or a US "
    "territory (left out: write its five digits, lpad(..., 5, '0') if its leading zeros were "
    "lost, or the row's own country)"
)
# A ZIP kept as a number in a row that names no country: a US one may have lost its zeros.
ZIP_NUMBER = (
    "is a number that is no five-digit ZIP or ZIP+4: a US ZIP's leading zeros are lost "
    "(sent as is: keep ZIPs as text, or map a country column, and a US row's ZIP is padded)"
)
# How to write a value LEFT_OUT refuses, where the fix is one (a name, 'United States', or
# 'uk' as a country). Never the value's own code: the reason does not quote the value (PII),
# and retl holds no table of country names.
LEFT_OUT_FIX: dict[str, str] = {
    "country": (
        "write its ISO 3166-1 alpha-2 code, as 'us', or 'gb' for the United Kingdom, not 'uk'; "
        "map names to codes in the model"
    ),
}


def text(expr: str) -> str:
    """The text of a column trimmed of whitespace (``shared/sql.py`` ``WHITESPACE``: tabs and
    line breaks too); NULL stays NULL."""
    return strip(f"CAST({expr} AS VARCHAR)")


def lower(v: str) -> str:
    """SQL: ``v`` lower-cased as Python's ``str.lower`` (the SDK's) does: DuckDB's
    ``lower``, but for a final capital sigma and ``İ``. Looked for only in text that is not
    ASCII (strlen counts bytes, length characters): 2M e-mails took 0.078 s on one thread
    against lower()'s 0.07; two contains() on every value, 0.1."""
    special = f"replace(regexp_replace({v}, {_FINAL_SIGMA}, '\\1ς\\2', 'g'), 'İ', {lit('i̇')})"
    found = f"strlen({v}) <> length({v}) AND (contains({v}, 'Σ') OR contains({v}, 'İ'))"
    return f"lower(CASE WHEN {found} THEN {special} ELSE {v} END)"


def country_form(v: str) -> str:
    """SQL: the normal form of a country, or NULL when it is not an ISO 3166-1 alpha-2 code
    once lower-cased and stripped of what is not a letter (``v``: trimmed text)."""
    letters = f"regexp_replace(lower({v}), '[^a-z]', '', 'g')"
    return f"CASE WHEN {one_of(letters, sorted(ISO_COUNTRIES))} THEN {letters} END"


def normal_form(
    v: str,
    field: str,
    *,
    region: str | None = None,
    country: str | None = None,
    number: bool = False,
) -> str:
    """SQL: the normal form of the trimmed text ``v`` for the ``user_data`` key ``field``,
    before SHA-256 (NULL or '' when there is none). ``country``: SQL for the row's normalised
    country, which tells a US ZIP; ``number``: ``v`` is an integer's text (``zip_form``)."""
    lowered = lower(v)
    letters = rf"regexp_replace({lowered}, '[^\p{{L}}\p{{M}}]', '', 'g')"
    forms = {
        "em": lambda: lowered,
        "external_id": lambda: v,
        "ph": lambda: f"replace({PHONE_DIGITS_UDF}({v}, {lit(region or '')}), '+', '')",
        # Punctuation and symbols removed, then the whitespace they leave at either end, in
        # one pass: the runs of both at the ends, and the punctuation between.
        "fn": lambda: f"regexp_replace({lowered}, {_NAME_DROPPED}, '', 'g')",
        "ct": lambda: letters,
        "st": lambda: state_form(letters, country),
        "zp": lambda: zip_form(v, country, number=number),
        "country": lambda: country_form(v),
        "ge": lambda: (
            f"CASE WHEN lower({v}) IN ('f', 'female') THEN 'f' "
            f"WHEN lower({v}) IN ('m', 'male') THEN 'm' END"
        ),
        "db": lambda: (
            f"CASE WHEN regexp_full_match({v}, {_DATE_TEXT}) THEN strftime(try_strptime("
            f"regexp_extract({v}, {_DATE_ONLY}), {_DATE_FORMATS}), '%Y%m%d') END"
        ),
    }
    form = forms.get("fn" if field == "ln" else field)
    if form is None:
        raise AssertionError(f"no Meta normal form for user_data.{field}")
    return form()


def state_form(letters: str, country: str | None) -> str:
    """A state's letters; a US state's or territory's name becomes its two-letter code, unless
    the row names another country (``Florida``, a department of Uruguay, stays ``florida``:
    Meta's form of a region outside the US is its name, lower-case, letters only).

    ``letters``: SQL for the state lower-cased, letters only; ``country``: SQL for the row's
    normalised country (NULL when missing, hashed or not a code), or None without one."""
    code = f"{_US_STATES}[{letters}]"
    if country is not None:
        code = f"CASE WHEN coalesce({one_of(country, _US_COUNTRIES)}, TRUE) THEN {code} END"
    return f"coalesce({code}, {letters})"


def zip_digits(v: str) -> str:
    """SQL: the ZIP ``v`` (trimmed text) lower-cased, without whitespace or dashes."""
    return f"regexp_replace(lower({v}), {_ZIP_DROPPED}, '', 'g')"


def zip_form(v: str, country: str | None, *, number: bool = False) -> str:
    """Lower-case, no whitespace or dashes; the first five digits of a US ZIP.

    A ZIP is taken as US when the row's country is ``us`` or one of the US territories that
    have ZIP codes of the USPS (``pr``, ``vi``, ``gu``, ``as``, ``mp``, ``um``: Puerto Rico's
    ``00907-1234`` is a US ZIP+4, as its state ``Puerto Rico`` is ``pr``), or when the row
    names no other country (no country column, a NULL or a hashed one) and the ZIP is five
    digits or ZIP+4. A German or French five-digit code is unchanged either way.

    A US row's ZIP of another shape (``AB-12 345``, ``2134``) has no US form: NULL, left out
    with a warning (its first five characters matched no one). ``number``: the column is an
    integer, whose ZIPs lost their leading zeros (``02134`` is ``2134``): a US row's gets them
    back (to five digits from three or four, or nine from seven or eight for a ZIP+4; a
    number of another length is no US ZIP: left out with the warning)."""
    z = zip_digits(v)
    if country is None:
        return f"CASE WHEN regexp_full_match({z}, {_US_ZIP}) THEN left({z}, 5) ELSE {z} END"
    us_zip = z
    if number:
        width = f"CASE WHEN length({z}) <= 5 THEN 5 ELSE 9 END"
        digits = f"regexp_full_match({z}, {_SHORT_ZIP})"
        us_zip = f"CASE WHEN {digits} THEN lpad({z}, {width}, '0') ELSE {z} END"
    # ``country`` is NULL when the row's is missing, hashed or not two letters.
    return (
        f"CASE WHEN coalesce({one_of(country, _US_COUNTRIES)}, FALSE) THEN "
        f"CASE WHEN regexp_full_match({us_zip}, {_US_ZIP}) THEN left({us_zip}, 5) END "
        f"WHEN {country} IS NULL AND regexp_full_match({z}, {_US_ZIP}) THEN left({z}, 5) "
        f"ELSE {z} END"
    )


def whole_number(t: pa.DataType) -> bool:
    """An integer type, or a DECIMAL without a fraction: its text has no leading zeros."""
    import pyarrow as pa

    return bool(pa.types.is_integer(t) or (pa.types.is_decimal(t) and t.scale == 0))


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
    form = normal_form(v, field, region=region, country=country, number=whole_number(t))
    return (
        f"CASE WHEN {v} = '' THEN NULL WHEN {already_hashed(v)} THEN lower({v}) "
        f"ELSE sha256(NULLIF({form}, '')) END"
    )

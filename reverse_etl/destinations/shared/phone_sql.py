"""The phone fast path: numbers already written in E.164, and numbers written nationally in
the default region, are checked in SQL, in one set-based query, instead of being parsed one by
one by ``phonenumbers`` (~20-60 us each, under the GIL).

A number takes the fast path when, once spaces, dashes, dots, slashes and parentheses are
removed (and a leading ``00`` read as ``+``, as ``e164.parse_e164`` reads it before the
library sees the number), it is ``+``, a country code and 7-14 digits, and the country's
national prefix for parsing does not match its first digits. ``phonenumbers.parse`` then
keeps the digits as they are, so the E.164 it formats is the cleaned text itself, and whether
the number is valid is decided by the same metadata ``is_possible_number`` and
``is_valid_number`` read: the possible lengths, the region chosen by leading digits, and each
number type's pattern. Those are taken from the installed ``phonenumbers`` when a run needs
them, never copied by hand, and run by DuckDB's RE2 (libphonenumber's patterns are written for
RE2: its C++ build uses it).

A number written without ``+`` (``(212) 555-0123`` with ``US`` as the default region) takes
the same path once its country code is known, when ``phonenumbers.parse`` would read it the
plain way (``national_sql``): the region's country code goes in front of the digits, or of the
digits less a national prefix when the region's ``national_prefix_for_parsing`` is a literal
(``0``, ``8``, ``0|180020``) stripped as the library strips it. Numbers where parse would do
more are declined: a leading international prefix (``011``, ``00``), digits that start with the
country code, a national prefix that is a pattern rather than a literal, a strip the library
would undo.

Only numbers found valid take the fast path; every other number (extensions, letters,
the national numbers above, numbers the patterns reject) is parsed by ``phonenumbers`` as
before. ``tests/test_phone_fast_path.py`` checks, over numbers of every region, that both agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from reverse_etl.destinations.shared.sql import lit

if TYPE_CHECKING:
    from reverse_etl.engine.duckdb import DuckDBEngine

# The definition: a country code then 7-14 digits (shorter national numbers exist,
# in small territories; they take the library's path).
NATIONAL_DIGITS = (7, 14)
# Only these characters, so that removing them in SQL is exactly what parse_e164's
# ``[()\s.\-/]`` removes (Python's \s also takes Unicode spaces: those go to the library).
_ALLOWED = r"^[0-9+ ().\-/]+$"
_SEPARATOR_CHARS = " ().-/"  # removed with translate(): the same set as parse_e164's
# A national prefix phonenumbers strips as text: one literal, or literals tried in order.
_LITERAL_PREFIXES = re.compile(r"[0-9]+(?:\|[0-9]+)*")
# The national-number types whose match makes _number_type_helper say "not UNKNOWN".
_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
)


def _pn() -> Any:
    import phonenumbers  # on first use: ~70 ms of start-up (issue #18)

    return phonenumbers


def cleaned_sql(relation: str) -> str:
    """``raw`` and ``d`` (``raw`` less its spaces, dashes, dots, slashes and parentheses, as
    ``parse_e164`` removes them) of the phones of ``relation`` (a column ``raw``) made of
    digits, ``+`` and those separators only: what both fast paths read.

    Materialised once: DuckDB's optimizer inlines a cleaned column into every expression that
    reads it, and the country-code CASE and the filters read it a dozen times (0.68 s for
    180k distinct phones, against 0.15 s from this table; issue #18)."""
    return (
        f"SELECT raw, translate(raw, {lit(_SEPARATOR_CHARS)}, '') AS d FROM {relation} "
        f"WHERE regexp_full_match(raw, '{_ALLOWED}')"
    )


def candidates_sql(relation: str) -> str:
    """``raw``, ``e164`` (the cleaned text, ``00`` in front read as ``+``), ``cc`` and ``nsn``
    of the phones of ``relation`` (``cleaned_sql``'s columns) that have the fast path's
    shape; ``cc`` is found as ``phonenumbers`` finds it: the shortest prefix of 1-3 digits
    that is a country calling code."""
    lo, hi = NATIONAL_DIGITS
    # parse_e164 reads a leading "00" as "+" ("0044 20 7946 0958"), whatever the region.
    plus = "CASE WHEN starts_with(d, '00') THEN '+' || substr(d, 3) ELSE d END"
    return (
        f"SELECT raw, e164, cc, substr(e164, length(cc) + 2) AS nsn FROM ("
        f"SELECT raw, e164, {_country_code_sql('substr(e164, 2)')} AS cc FROM ("
        f"SELECT raw, {plus} AS e164 FROM {relation}) AS __cleaned "
        f"WHERE regexp_full_match(e164, '\\+[1-9][0-9]{{{lo},{hi + 2}}}')) AS __split "
        f"WHERE cc IS NOT NULL AND length(e164) - length(cc) - 1 BETWEEN {lo} AND {hi}"
    )


def national_sql(relation: str, region: str | None) -> str | None:
    """Like ``candidates_sql``, for the phones of ``relation`` (``cleaned_sql``'s columns)
    written without ``+`` that ``phonenumbers.parse(digits, region)`` reads the plain way
    (see the module docstring); None when ``region`` gives no such number."""
    pn = _pn()
    if region is None or region not in pn.SUPPORTED_REGIONS:
        return None  # parse() refuses the region (lower case, unknown): the library says so
    meta = pn.PhoneMetadata.metadata_for_region(region, None)
    if meta is None or not meta.country_code:
        return None
    lo, hi = NATIONAL_DIGITS
    cc = str(meta.country_code)
    # _maybe_extract_country_code: an international prefix, or the country code, in front
    # makes parse() read a country code: not this path. parse_e164 turns "00" into "+".
    declined = [f"starts_with(d, {lit(cc)})", "starts_with(d, '00')"]
    if meta.international_prefix:
        declined.append(f"regexp_matches(d, {_anchored(meta.international_prefix)})")
    return (
        f"SELECT raw, '+' || {lit(cc)} || nsn AS e164, {lit(cc)} AS cc, nsn FROM ("
        f"SELECT raw, {_national_number_sql(meta, 'd')} AS nsn FROM {relation} "
        f"WHERE regexp_full_match(d, '[0-9]{{{lo},{hi + 6}}}') "
        f"AND NOT ({' OR '.join(declined)})) AS __national "
        f"WHERE nsn IS NOT NULL AND length(nsn) BETWEEN {lo} AND {hi}"
    )


def _national_number_sql(meta: Any, d: str) -> str:
    """SQL: the national number parse() keeps of the digits ``d`` (after
    _maybe_strip_national_prefix_carrier_code and the length check that follows it), or NULL
    where this path declines."""
    prefix = meta.national_prefix_for_parsing
    if not prefix:
        return d
    if meta.national_prefix_transform_rule or not _LITERAL_PREFIXES.fullmatch(prefix):
        return f"CASE WHEN regexp_matches({d}, {_anchored(prefix)}) THEN NULL ELSE {d} END"
    general = meta.general_desc
    lengths = ", ".join(str(n) for n in sorted(general.possible_length)) or "-1"
    whens = []
    for literal in prefix.split("|"):  # re.match tries the alternatives in order
        rest = f"substr({d}, {len(literal) + 1})"
        # Stripped unless the digits fit the region's pattern and the rest does not; kept
        # only when the rest has a possible length (else parse() keeps the prefix: decline).
        strip = (
            f"length({rest}) IN ({lengths}) AND (NOT {_full(general, d)} OR {_full(general, rest)})"
        )
        whens.append(
            f"WHEN starts_with({d}, {lit(literal)}) THEN CASE WHEN {strip} THEN {rest} END"
        )
    return f"CASE {' '.join(whens)} ELSE {d} END"


def _full(desc: Any, expr: str) -> str:
    """_match_national_number(expr, desc, False): a full match of the desc's pattern."""
    if desc is None or not desc.national_number_pattern:
        return "FALSE"
    return f"regexp_full_match({expr}, {lit(desc.national_number_pattern)})"


def _country_code_sql(digits: str) -> str:
    """SQL: the country calling code ``digits`` start with, as phonenumbers finds it (the
    shortest prefix of 1-3 digits that is a code), or NULL. One lookup by the first three
    digits in a list of 1,000 built from the library's codes: a CASE of three ``IN`` lists
    over ~215 codes took twice as long (0.10 against 0.05 s for 180k phones, issue #18).
    Only the fast path's shape reaches it (eight digits or more, nothing else); TRY_CAST
    keeps any other text from failing the statement."""
    return f"list_extract({_code_by_prefix()}, TRY_CAST(substr({digits}, 1, 3) AS INTEGER) + 1)"


@lru_cache(maxsize=1)
def _code_by_prefix() -> str:
    """A VARCHAR[] literal: at index p + 1, the code three digits p (``000``-``999``) start
    with, NULL where none does."""
    codes = {str(cc) for cc in _pn().COUNTRY_CODE_TO_REGION_CODE if 0 < cc < 1000}
    found = []
    for p in range(1000):
        digits = f"{p:03d}"
        code = next((digits[:n] for n in (1, 2, 3) if digits[:n] in codes), None)
        found.append("NULL" if code is None else lit(code))
    return f"[{', '.join(found)}]::VARCHAR[]"


def settled_sql(candidates: str, country_codes: Iterable[str]) -> str:
    """SQL: (raw, e164) of the rows of ``candidates`` (``candidates_sql``) that the fast path
    takes: one SELECT per country code, so each is planned with its own few patterns (a single
    CASE over ~200 codes took DuckDB's planner seconds; the UNION ALL grows linearly)."""
    parts = [
        f"SELECT raw, e164 FROM {candidates} WHERE cc = {lit(c)} AND {_valid_for_code(int(c))}"
        for c in country_codes
    ]
    return " UNION ALL ".join(parts) if parts else f"SELECT raw, e164 FROM {candidates} LIMIT 0"


@lru_cache(maxsize=512)
def _valid_for_code(cc: int, nsn: str = "nsn") -> str:
    """SQL: TRUE when the national number ``nsn`` of country code ``cc`` takes the fast path
    (see the module docstring)."""
    pn = _pn()
    main = pn.PhoneMetadata.metadata_for_region_or_calling_code(
        cc, pn.region_code_for_country_code(cc)
    )
    if main is None:
        return "FALSE"
    general = main.general_desc
    lengths = {*general.possible_length, *(general.possible_length_local_only or ())}
    checks = [f"length({nsn}) IN ({', '.join(str(n) for n in sorted(lengths))})"]
    if main.national_prefix_for_parsing:
        # parse() would try to strip a national prefix here: the library's path decides.
        checks.append(f"NOT regexp_matches({nsn}, {_anchored(main.national_prefix_for_parsing)})")
    checks.append(_region_valid(cc, nsn))
    return "(" + " AND ".join(checks) + ")"


def _region_valid(cc: int, nsn: str) -> str:
    """is_valid_number: the region is the only one of the code, or the first whose leading
    digits match (or, without leading digits, whose number types match)."""
    pn = _pn()
    regions: Sequence[str] = pn.COUNTRY_CODE_TO_REGION_CODE[cc]
    if len(regions) == 1:
        meta = pn.PhoneMetadata.metadata_for_region_or_calling_code(cc, regions[0])
        return "FALSE" if meta is None else _type_known(meta, nsn)
    whens: list[str] = []
    for region in regions:
        meta = pn.PhoneMetadata.metadata_for_region(region.upper(), None)
        if meta is None:
            continue
        if meta.leading_digits is not None:
            leading = f"regexp_matches({nsn}, {_anchored(meta.leading_digits)})"
            whens.append(f"WHEN {leading} THEN {_type_known(meta, nsn)}")
        else:
            whens.append(f"WHEN {_type_known(meta, nsn)} THEN TRUE")
    return f"(CASE {' '.join(whens)} ELSE FALSE END)" if whens else "FALSE"


def _type_known(meta: Any, nsn: str) -> str:
    """_number_type_helper(nsn, meta) != UNKNOWN: some number type's desc matches. The
    types whose descs list the same lengths share one regular expression, the alternation of
    their patterns (RE2 matches it in one pass; one ``regexp_full_match`` per type took 30%
    longer for the US, issue #18)."""
    descs = [getattr(meta, name) for name in _TYPES]
    if not meta.same_mobile_and_fixed_line_pattern:
        descs.append(meta.mobile)
    by_lengths: dict[tuple[int, ...], list[str]] = {}
    for desc in descs:
        if desc is not None and desc.national_number_pattern:
            lengths = tuple(desc.possible_length or ())
            by_lengths.setdefault(lengths, []).append(desc.national_number_pattern)
    if not by_lengths:
        return "FALSE"
    known = [_matches_any(lengths, patterns, nsn) for lengths, patterns in by_lengths.items()]
    return f"({_matches(meta.general_desc, nsn)} AND ({' OR '.join(known)}))"


def _matches_any(lengths: tuple[int, ...], patterns: list[str], nsn: str) -> str:
    """_is_number_matching_desc for any of descs that list ``lengths`` (none: any length):
    the full match of an alternation is a full match of one of its branches."""
    pattern = "|".join(f"(?:{p})" for p in patterns) if len(patterns) > 1 else patterns[0]
    full = f"regexp_full_match({nsn}, {lit(pattern)})"
    if not lengths:
        return full
    return f"(length({nsn}) IN ({', '.join(str(n) for n in lengths)}) AND {full})"


def _matches(desc: Any, nsn: str) -> str:
    """_is_number_matching_desc: the length among the desc's (if it lists any) and a full
    match of its pattern."""
    if desc is None or not desc.national_number_pattern:
        return "FALSE"
    full = f"regexp_full_match({nsn}, {lit(desc.national_number_pattern)})"
    if not desc.possible_length:
        return full
    return f"(length({nsn}) IN ({', '.join(str(n) for n in desc.possible_length)}) AND {full})"


def _anchored(pattern: str) -> str:
    # re.match: a match at the start, whatever follows.
    return lit(f"^(?:{pattern})")


def fast_phone_table(engine: DuckDBEngine, distinct: str, region: str | None = None) -> str:
    """A temporary table (raw, e164) of the phones of ``distinct`` (a table with a column
    ``raw``) that the fast path settles, ``region`` being the default region of numbers
    written without ``+``; its name. The others are left to the library."""
    cleaned = engine.materialize(cleaned_sql(distinct))
    candidates = None
    try:
        national = national_sql(cleaned, region)
        sql = candidates_sql(cleaned) + (f" UNION ALL {national}" if national else "")
        candidates = engine.materialize(sql)
        codes = [str(c) for (c,) in engine.rows(f"SELECT DISTINCT cc FROM {candidates}")]
        return engine.materialize(settled_sql(candidates, sorted(codes)))
    finally:
        for name in (cleaned, candidates):
            if name is not None:
                engine.execute(f"DROP TABLE IF EXISTS {name}")

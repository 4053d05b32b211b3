"""The phone fast path (destinations/shared/phone_sql.py) gives exactly what phonenumbers gives
(``e164.parse_e164``) for every number it takes, and it takes the bulk of E.164 numbers and of
national numbers written in the default region."""

from __future__ import annotations

from collections.abc import Iterator

import phonenumbers
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reverse_etl.destinations.shared.e164 import parse_e164
from reverse_etl.destinations.shared.phone_sql import fast_phone_table
from reverse_etl.destinations.shared.phones import build_phone_table
from reverse_etl.engine.duckdb import DuckDBEngine

E164 = phonenumbers.PhoneNumberFormat.E164
INTERNATIONAL = phonenumbers.PhoneNumberFormat.INTERNATIONAL
NATIONAL = phonenumbers.PhoneNumberFormat.NATIONAL
TYPES = [
    v
    for k, v in vars(phonenumbers.PhoneNumberType).items()
    if k.isupper() and isinstance(v, int) and k != "UNKNOWN"
]


def _region_examples(region: str) -> Iterator[phonenumbers.PhoneNumber]:
    for kind in TYPES:
        number = phonenumbers.example_number_for_type(region, kind)
        if number is not None:
            yield number


def _examples() -> Iterator[phonenumbers.PhoneNumber]:
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        yield from _region_examples(region)
    for cc in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(cc)
        if number is not None:
            yield number


EXAMPLES = sorted({phonenumbers.format_number(n, E164) for n in _examples()})
# The spellings people write: "+44 20 7946 0958", "(+44) 20-7946-0958", "+44.20.7946.0958",
# "0044 20 7946 0958".
SPELLED = sorted(
    {
        s
        for n in _examples()
        for i in [phonenumbers.format_number(n, INTERNATIONAL)]
        for s in (
            i,
            i.replace(" ", "-"),
            i.replace(" ", "."),
            "(" + i.replace(" ", ") ", 1),
            "00" + i[1:],
        )
    }
)


REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
# National spellings, as the library writes them for the region and as people do:
# "020 7946 0958", "020-7946-0958", "(020) 7946 0958", and the bare digits.
NATIONAL_SPELLED = {
    region: sorted(
        {
            s
            for n in _region_examples(region)
            for i in [phonenumbers.format_number(n, NATIONAL)]
            for s in (
                i,
                i.replace(" ", "-"),
                i.replace(" ", "."),
                "(" + i.replace(" ", ") ", 1),
                phonenumbers.national_significant_number(n),
            )
        }
    )
    for region in REGIONS
}


@pytest.fixture(scope="module")
def engine() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine()
    yield eng
    eng.close()


def fast_path(engine: DuckDBEngine, raws: list[str], region: str | None = None) -> dict[str, str]:
    """What the fast path settles of ``raws``, ``region`` the default region: raw -> e164."""
    table = engine.stage(pa.table({"raw": pa.array(sorted(set(raws)), pa.string())}).to_reader())
    fast = fast_phone_table(engine, table, region)
    try:
        return {raw: e164 for raw, e164 in engine.rows(f"SELECT raw, e164 FROM {fast}")}
    finally:
        engine.execute(f"DROP TABLE {fast}")
        engine.execute(f"DROP TABLE {table}")


def assert_same_as_library(settled: dict[str, str], region: str | None = None) -> None:
    # The default region never matters after a '+'; national numbers are read in ``region``.
    regions = ("US", None, "GB") if region is None else (region,)
    for region in regions:
        wrong = {
            raw: (e164, parse_e164(raw, region))
            for raw, e164 in settled.items()
            if parse_e164(raw, region) != e164
        }
        assert not wrong, dict(list(wrong.items())[:10])


def test_every_example_number_of_every_region_and_type(engine: DuckDBEngine) -> None:
    raws = EXAMPLES + SPELLED
    settled = fast_path(engine, raws)
    assert_same_as_library(settled)
    # The bulk of valid E.164 numbers with 7-14 national digits take the fast path.
    eligible = [
        raw
        for raw in EXAMPLES
        if parse_e164(raw, None) == raw
        and 7 <= len(str(phonenumbers.parse(raw).national_number)) <= 14
    ]
    assert len(eligible) > 900
    taken = [raw for raw in eligible if raw in settled]
    assert len(taken) >= 0.9 * len(eligible), sorted(set(eligible) - set(taken))[:20]
    # Spelled with spaces, dashes, dots, parentheses or 00, the same numbers still take it.
    assert sum(raw in settled for raw in SPELLED) >= 0.9 * len(taken) * 4
    # 00 in front: what the library is given is the same number after a '+'.
    doubled = [raw for raw in SPELLED if raw.startswith("00")]
    assert sum(raw in settled for raw in doubled) >= 0.9 * len(taken), len(doubled)


# --- numbers near the valid ones: where a shortcut would go wrong -------------------------
@st.composite
def near_numbers(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from(EXAMPLES))
    digits = base[1:]
    cc_len = len(str(phonenumbers.parse(base).country_code))
    kind = draw(
        st.sampled_from(["swap", "insert", "delete", "prefix0", "cc", "random", "spell", "same"])
    )
    pos = draw(st.integers(min_value=1, max_value=len(digits) - 1))
    digit = draw(st.sampled_from("0123456789"))
    if kind == "swap":
        digits = digits[:pos] + digit + digits[pos + 1 :]
    elif kind == "insert":
        digits = digits[:pos] + digit + digits[pos:]
    elif kind == "delete":
        digits = digits[:pos] + digits[pos + 1 :]
    elif kind == "prefix0":  # a national prefix after the country code: "+44 0 20 ..."
        digits = digits[:cc_len] + draw(st.sampled_from(["0", "1", "8", "00"])) + digits[cc_len:]
    elif kind == "cc":  # the national number under another country code
        other = draw(st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)))
        digits = str(other) + digits[cc_len:]
    elif kind == "random":
        digits = digit.replace("0", "1") + draw(st.text("0123456789", min_size=6, max_size=17))
    elif kind == "spell":
        sep = draw(st.sampled_from([" ", "-", ".", "/", "(", ")", "  "]))
        digits = digits[:pos] + sep + digits[pos:]
    # "00" in front is read as "+" (parse_e164), also spelled "00 " or "(00)".
    return draw(st.sampled_from(["+", "+", "00", "00 ", "(00)"])) + digits


@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(near_numbers(), min_size=60, max_size=120))
def test_numbers_near_valid_ones(engine: DuckDBEngine, raws: list[str]) -> None:
    assert_same_as_library(fast_path(engine, raws))


def test_what_the_fast_path_leaves_to_the_library(engine: DuckDBEngine) -> None:
    left = [
        "(212) 555-0102",  # national: needs the default region
        "+44 (0) 20 7946 0958",  # a national prefix after the country code
        "0044 (0) 20 7946 0958",  # the same after 00
        "00 1 212 555 0101 ext. 7",  # an extension after 00
        "000 44 20 7946 0958",  # 00 then a 0: no country code starts with 0
        "00+44 20 7946 0958",  # 00 then +
        "+1 212 555 0101 ext. 7",  # extension
        "+1 212 FLOWERS",  # letters
        "+1\t212 555 0101",  # a tab (Python's \\s, not the fast path's separators)
        "+1 011 555 0101",  # invalid: US area codes do not start with 0
        "+290 2233",  # 4 national digits (Saint Helena): below the fast path's 7
        "+0 212 555 0101",  # no country code starts with 0
        "+999 1234 5678",  # no such country code
    ]
    assert fast_path(engine, left) == {}
    taken = [
        "+1 212 555 0101",
        "+44 20 7946 0958",
        "+49-30-123456",
        "+33 (6) 12 34 56 78",
        "0044 20 7946 0958",  # 00 is read as + (parse_e164)
        "(00 49) 30-123456",
    ]
    assert fast_path(engine, taken) == {r: parse_e164(r, None) for r in taken}


def test_the_phone_table_is_the_library_s_for_every_spelling(engine: DuckDBEngine) -> None:
    raws = [*EXAMPLES[::7], "(212) 555-0102", "0044 20 7946 0958", "+44 (0) 20 7946 0958", "x1"]
    source = engine.stage(pa.table({"raw": pa.array(raws, pa.string())}).to_reader())
    build_phone_table(engine, f"SELECT DISTINCT raw FROM {source}", "US", "__phones_test")
    table = dict(engine.rows("SELECT raw, e164 FROM __phones_test"))
    assert table == {raw: parse_e164(raw, "US") for raw in raws}
    assert sum(v is not None for v in table.values()) > len(raws) // 2


def test_the_library_s_phones_are_parsed_one_chunk_at_a_time(
    engine: DuckDBEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The phones SQL did not settle go to the library PHONE_CHUNK at a time, each chunk's
    results into the workbench before the next is read: every phone once, none lost at a
    chunk's edge, and no more than a chunk held (issue #17: all of them were, as Arrow)."""
    from reverse_etl.destinations.shared import e164, phones

    # Starting with the country code: the fast path declines them, the library parses them.
    raws = [f"1 212 555 {i:04d}" for i in range(23)]
    raws += ["+1 212 555 0101", "x1", "0044 20 7946 0958"]
    seen: list[list[str]] = []
    steps: list[str] = []
    stage = engine.stage

    def parse(
        values: list[str], region: str | None, *, digits_international: bool = False
    ) -> list[str | None]:
        seen.append(values)
        steps.append("parse")
        return [parse_e164(v, region, digits_international) for v in values]

    def staged(reader: pa.RecordBatchReader, *, into: str | None = None) -> str:
        steps.append("stage")
        return stage(reader, into=into)

    source = engine.stage(pa.table({"raw": pa.array(raws, pa.string())}).to_reader())
    monkeypatch.setattr(phones, "PHONE_CHUNK", 5)
    monkeypatch.setattr(e164, "parse_parallel", parse)
    monkeypatch.setattr(engine, "stage", staged)
    build_phone_table(engine, f"SELECT DISTINCT raw FROM {source}", "US", "__phones_chunks")
    table = dict(engine.rows("SELECT raw, e164 FROM __phones_chunks"))
    assert table == {raw: parse_e164(raw, "US") for raw in raws}
    parsed = [raw for chunk in seen for raw in chunk]
    assert sorted(parsed) == sorted(set(parsed))  # each once
    assert len(seen) >= 5 and max(len(chunk) for chunk in seen) <= 5, seen
    assert steps == ["parse", "stage"] * len(seen)  # a chunk's results out before the next
    assert "x1" in parsed and "+1 212 555 0101" not in parsed  # the fast path's stays in SQL


# --- national numbers of the default region ---------------------------------------------
def test_national_spellings_of_every_region_with_that_region_as_default(
    engine: DuckDBEngine,
) -> None:
    taken = eligible = 0
    for region in REGIONS:
        raws = NATIONAL_SPELLED[region]
        settled = fast_path(engine, raws, region)
        assert_same_as_library(settled, region)
        assert all(not raw.startswith("+") for raw in settled)
        eligible += sum(parse_e164(raw, region) is not None for raw in raws)
        taken += len(settled)
    # Regions whose national prefix is a pattern (AR, BR, JP, CN, the NANP islands...) and
    # numbers starting with their country code go to the library; most of the rest take SQL.
    assert taken >= 0.6 * eligible, (taken, eligible)


def test_the_issue_s_us_spellings_take_the_fast_path(engine: DuckDBEngine) -> None:
    us = ["(212) 555-0123", "415-555-0199", "646.201.0000", "212 555 0123", "2125550123"]
    assert fast_path(engine, us, "US") == {raw: parse_e164(raw, "US") for raw in us}
    gb = ["020 7946 0958", "07400 123456", "(020) 7946-0958"]
    assert fast_path(engine, gb, "GB") == {raw: parse_e164(raw, "GB") for raw in gb}
    declined = [
        "1 212 555 0123",  # starts with the country code (and the national prefix)
        "011 44 20 7946 0958",  # the US international prefix
        "555-0123",  # 7 digits: no US number
        "(212) 555-0123 x7",  # an extension
    ]
    assert fast_path(engine, declined, "US") == {}
    # 00 is read as '+' whatever the region (parse_e164): the E.164 path, not the national one.
    doubled = ["00 44 20 7946 0958", "001 212 555 0123"]
    assert fast_path(engine, doubled, "US") == {raw: parse_e164(raw, "US") for raw in doubled}
    # Without a default region, or with one the library refuses, no national number is taken.
    assert fast_path(engine, us, None) == {}
    assert fast_path(engine, us, "us") == {}


@st.composite
def near_national(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A region and national numbers of it, mutated where a shortcut would go wrong: digits
    changed, added or removed, a national or international prefix or the country code put in
    front, separators."""
    region = draw(st.sampled_from([r for r in REGIONS if NATIONAL_SPELLED[r]]))
    cc = str(phonenumbers.country_code_for_region(region))
    return region, draw(st.lists(_near(NATIONAL_SPELLED[region], cc), min_size=20, max_size=40))


def _near(spelled: list[str], cc: str) -> st.SearchStrategy[str]:
    @st.composite
    def one(draw: st.DrawFn) -> str:
        base = draw(st.sampled_from(spelled))
        digits = "".join(ch for ch in base if ch.isdigit())
        kind = draw(
            st.sampled_from(["swap", "insert", "delete", "prefix", "cc", "idd", "spell", "same"])
        )
        if kind == "same" or len(digits) < 3:
            return base
        pos = draw(st.integers(min_value=0, max_value=len(digits) - 1))
        digit = draw(st.sampled_from("0123456789"))
        if kind == "swap":
            return digits[:pos] + digit + digits[pos + 1 :]
        if kind == "insert":
            return digits[:pos] + digit + digits[pos:]
        if kind == "delete":
            return digits[:pos] + digits[pos + 1 :]
        if kind == "prefix":
            return draw(st.sampled_from(["0", "1", "8", "9", "00", "180020", "15"])) + digits
        if kind == "cc":
            return cc + digits
        if kind == "idd":
            return draw(st.sampled_from(["00", "011", "010", "810", "0011"])) + cc + digits
        sep = draw(st.sampled_from([" ", "-", ".", "/", "(", ")"]))
        return digits[:pos] + sep + digits[pos:]

    return one()


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(near_national())
def test_national_numbers_near_valid_ones(
    engine: DuckDBEngine, drawn: tuple[str, list[str]]
) -> None:
    region, raws = drawn
    assert_same_as_library(fast_path(engine, raws, region), region)

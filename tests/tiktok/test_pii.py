"""Hash vectors from the API reference, and E.164 normalisation."""

from __future__ import annotations

import pytest

from reverse_etl.destinations.shared.pii import (
    hash_email,
    hash_external_id,
    hash_phone,
    normalise_gaid,
    normalise_idfa,
    to_e164,
)
from reverse_etl.destinations.shared.sql import WHITESPACE, WHITESPACE_CLASS, lit, strip
from reverse_etl.engine.duckdb import DuckDBEngine

EMAIL_VECTOR = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
PHONE_VECTOR = "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd"
EXTERNAL_VECTOR = "80fba0ae1c48e3978e43e4efc365e14e12ea0c830ba8ba5b9a2dafc7e3f2ab8b"


def test_reference_vectors() -> None:
    assert hash_email(" ALICE_abc@gmail.com ") == EMAIL_VECTOR
    assert hash_phone("(+1)2133734253") == PHONE_VECTOR
    assert hash_external_id("user_123") == EXTERNAL_VECTOR


def test_already_hashed_values_are_not_hashed_again() -> None:
    assert hash_email(EMAIL_VECTOR.upper()) == EMAIL_VECTOR
    assert hash_phone(PHONE_VECTOR) == PHONE_VECTOR


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(+1)2133734253", None, "+12133734253"),
        ("+1 (213) 373-4253", None, "+12133734253"),
        ("213-373-4253", "US", "+12133734253"),
        ("0044 20 7946 0958", None, "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("213-373-4253", None, None),  # no country code and no default region
        ("not a phone", "US", None),
        ("", "US", None),
    ],
)
def test_e164(raw: str, region: str | None, expected: str | None) -> None:
    assert to_e164(raw, region) == expected


def test_the_vectorized_udf_matches_the_scalar_parser_and_its_cache_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pyarrow as pa

    from reverse_etl.destinations.shared import pii

    monkeypatch.setattr(pii, "CACHE_LIMIT", 3)
    monkeypatch.setattr(pii, "_CACHES", {})
    raw = ["(212) 555-0101", None, "+44 20 7946 0958", "not a phone", "212.555.0101", "", None]
    raw = raw * 3 + [f"+1 646 555 01{i:02d}" for i in range(10)]
    expected = [None if v is None else to_e164(v, "US") for v in raw]
    got = []
    for i in range(0, len(raw), 4):  # DuckDB calls it once per vector
        vector = raw[i : i + 4]
        got += pii.e164_arrow(pa.array(vector), pa.array(["US"] * len(vector))).to_pylist()
        # cleared when full: at most the limit plus one vector, never unbounded
        assert len(pii._CACHES["US", False]) <= pii.CACHE_LIMIT + 1 + len(vector)
    assert got == expected
    # A region per row (not what the encoder emits, but the UDF allows it).
    regions = ["US", "GB"] * (len(raw) // 2) + ["US"] * (len(raw) % 2)
    mixed = [None if v is None else to_e164(v, r) for v, r in zip(raw, regions, strict=True)]
    assert pii.e164_arrow(pa.array(raw), pa.array(regions)).to_pylist() == mixed


PHONE_SAMPLES = [
    "(212) 555-0101",
    " +44 20 7946 0958 ",
    "not a phone",
    "",
    "0044 20 7946 0958",
    "5550100",
    "646.201.0103",
    "+1 (646) 555 0199",
]


def test_a_worker_process_parses_phones_exactly_as_this_process() -> None:
    from reverse_etl.destinations.shared import e164

    values = PHONE_SAMPLES * 5
    answers: list[list[str | None] | None] = [None]
    e164._in_worker(values, "US", False, answers, 0)  # a real helper process
    assert answers[0] == e164.parse_many(values, "US")
    assert answers[0][0] == "+12125550101"


def test_parsing_in_parallel_gives_the_same_list_and_survives_a_broken_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from reverse_etl.destinations.shared import e164

    values = [f"+1 646 555 {i:04d}" for i in range(40)] + PHONE_SAMPLES
    expected = e164.parse_many(values, "US")
    monkeypatch.setattr(e164, "PARALLEL_MIN", 4)
    assert e164.parse_parallel(values, "US", workers=3) == expected
    # A helper that fails (or cannot start) leaves its share to this process.
    monkeypatch.setattr(
        e164, "_worker_command", lambda: [sys.executable, "-c", "import sys; sys.exit(3)"]
    )
    assert e164.parse_parallel(values, "US", workers=3) == expected
    monkeypatch.setattr(e164, "_worker_command", lambda: ["/nonexistent/python"])
    assert e164.parse_parallel(values, "US", workers=3) == expected


def test_whitespace_is_pythons_and_sql_strips_exactly_it(engine: DuckDBEngine) -> None:
    """One definition of whitespace for every hashed value: str.strip()'s (tabs and line
    breaks too, which DuckDB's trim() left in), in SQL (``strip``, the RE2 class) and in
    the Python mirror."""
    import sys

    assert set(WHITESPACE) == {c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()}
    (matched,) = engine.rows(
        "SELECT list(i ORDER BY i) FROM range(1114112) t(i) WHERE regexp_full_match("
        # no surrogate: chr() refuses them
        "CASE WHEN i BETWEEN 55296 AND 57343 THEN '' ELSE chr(CAST(i AS INTEGER)) END, "
        f"{lit(WHITESPACE_CLASS)})"
    )[0]
    assert matched == sorted(map(ord, WHITESPACE))
    for c in WHITESPACE:
        value = f"{c}{c} A\u00e9{c}b \u20ac{c}{c}"
        (got,) = engine.rows(f"SELECT {strip('x')} FROM (SELECT {lit(value)} AS x)")[0]
        assert got == value.strip() == f"A\u00e9{c}b \u20ac", repr(c)
    for value in ("", "a", " ", "\t", "ab", "\u20ac"):
        (got,) = engine.rows(f"SELECT {strip('x')} FROM (SELECT {lit(value)} AS x)")[0]
        assert got == value.strip(), repr(value)


def test_tabs_and_line_breaks_around_a_hashed_value_are_trimmed(engine: DuckDBEngine) -> None:
    """A tab or a line break (from a CSV, say) was hashed with the value (DuckDB's trim()
    removes spaces only) and an e-mail warned "not an e-mail address"; the Python mirror
    (str.strip()) disagreed with the SQL."""
    from .test_encode import NOW, encode

    ws = "chr(9) || chr(160) || chr(10)"
    idfa = "1d5a0c2e-0000-4000-8000-000000000101"
    (row,) = encode(
        engine,
        f"SELECT 'Purchase' AS event, 'e' AS event_id, {NOW} AS event_time, "
        f"{ws} || ' ALICE_abc@gmail.com' || chr(13) AS email, "
        f"chr(12) || '(+1)2133734253' || {ws} AS phone, "
        f"' user_123' || chr(9) AS external_id",
    )
    assert row["payload"]["user"] == {
        "email": EMAIL_VECTOR,
        "phone": PHONE_VECTOR,
        "external_id": EXTERNAL_VECTOR,
    }
    assert row["warnings"] is None and row["errors"] is None
    assert hash_email("\t\u00a0\n ALICE_abc@gmail.com\r") == EMAIL_VECTOR
    assert hash_external_id(" user_123\t") == EXTERNAL_VECTOR
    # list items, and the advertising IDs (APP)
    (app,) = encode(
        engine,
        f"SELECT 'Purchase' AS event, 'e' AS event_id, {NOW} AS event_time, 'a1' AS app_id, "
        f"[{ws} || ' ALICE_abc@gmail.com', chr(9)] AS email, "
        f"[' user_123' || chr(10)] AS external_id, "
        f"chr(9) || {lit(idfa)} || chr(10) AS idfa, chr(10) || 'AB-CD' || chr(9) AS gaid",
        "APP",
    )
    user = app["payload"]["user"]
    # external_id is read on WEB and CRM only: not sent on APP (mapping.py)
    assert user["email"] == [EMAIL_VECTOR] and "external_id" not in user
    (web,) = encode(
        engine,
        f"SELECT 'Purchase' AS event, 'e' AS event_id, {NOW} AS event_time, "
        f"[' user_123' || chr(10)] AS external_id",
    )
    assert web["payload"]["user"] == {"external_id": [EXTERNAL_VECTOR]}
    assert user["idfa"] == normalise_idfa(f"\t{idfa}\n") == idfa.upper()
    assert user["gaid"] == normalise_gaid("\nAB-CD\t") == "ab-cd"
    assert app["warnings"] is None

"""Row values in database errors of shapes the first audits missed (a third audit).

DuckDB said a row's time zone ("Unknown TimeZone 'Jane Quixote'!", where PostgreSQL's 'time
zone "..." not recognized' was masked) and a row's regular expression (RE2's "missing ):
(Jane Quixote") whole; PostgreSQL's DETAIL of a value that is no XML echoes the value's line
above a caret, unquoted. Every message here comes from the real database.
"""

from __future__ import annotations

import pytest

from reverse_etl.engine import errors_text
from reverse_etl.engine.errors_text import REDACTED, redact_error
from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.errors import EngineError
from tests.security.test_pii_in_errors import NAME, assert_no_pii, duckdb_error, engine_error
from tests.warehouse.conftest import pg_db, pg_server  # noqa: F401  (fixtures)

ROW = f"(VALUES ('{NAME}', '({NAME}')) AS t(name, pattern)"


@pytest.mark.parametrize(
    ("sql", "facts"),
    [
        (f"SELECT timezone(name, TIMESTAMP '2026-01-01') FROM {ROW}", ["Unknown TimeZone"]),
        (f"SELECT regexp_matches('x', pattern) FROM {ROW}", ["missing )"]),
        (f"SELECT regexp_replace('x', pattern || ')' || ')', 'y') FROM {ROW}", ["unexpected )"]),
    ],
    ids=["time-zone", "regexp-missing-paren", "regexp-unexpected-paren"],
)
def test_a_row_s_time_zone_or_pattern_is_masked(sql: str, facts: list[str]) -> None:
    assert NAME in duckdb_error(sql), "the case must make DuckDB quote the row's value"
    message = engine_error(sql)
    assert_no_pii(message)
    for fact in facts:
        assert fact in message, message


def test_a_misspelt_time_zone_keeps_the_candidates_that_fix_it() -> None:
    message = engine_error("SELECT timezone('Europe/Lodnon', TIMESTAMP '2026-01-01')")
    assert f"Unknown TimeZone '{REDACTED}'!" in message, message
    assert 'Candidate time zones: "Europe/London"' in message, message


def test_an_echo_above_a_caret_is_masked_but_the_model_s_sql_is_not() -> None:
    masked_echo = errors_text.masked_echo
    echoed = "line 1: Premature end of data in tag a line 1\n<a>Jane Quixote\n           ^"
    assert masked_echo(echoed) == f"line 1: Premature end of data in tag a line 1\n{REDACTED}"
    # DuckDB points into the model's SQL the same way: that stays (it is the model's text)
    raw = duckdb_error("SELECT CAST(x AS INTEGER) FROM (VALUES ('12a')) AS t(x)")
    assert "\nLINE 1: SELECT CAST" in raw
    assert masked_echo(raw) == raw
    long_line = "a" * 200_000 + "\n"  # linear: one pass over the lines
    assert masked_echo(long_line * 3 + "  ^") == long_line * 2 + REDACTED
    assert redact_error(f"Conversion Error: bad value\n{NAME}\n   ^") == (
        f"Conversion Error: bad value\n{REDACTED}"
    )


@pytest.mark.postgres
def test_postgres_xml_detail_does_not_echo_the_value(pg_db: PostgresConnection) -> None:  # noqa: F811
    engine = PostgresEngine(pg_db)
    try:
        with pytest.raises(EngineError) as caught:
            engine.rows("SELECT CAST(%s::text AS xml)", [f"<a>{NAME}"])
    finally:
        engine.close()
    message = caught.value.message + " " + (caught.value.hint or "")
    assert "invalid XML content" in message, message
    assert_no_pii(message)


def test_a_long_run_without_an_at_sign_is_searched_once() -> None:
    """The e-mail mask was tried at every place of a run of its characters: 0.4 s for 20 kB,
    about 1000 s for 1 MB, on any exception's text (the suite's 300 s timeout stops this
    test if that comes back). Addresses are masked as before."""
    from reverse_etl.engine.errors_text import redact_error

    long = "x" * 2_000_000
    assert redact_error(long) == long
    said = redact_error(f"{long} failed for jane.doe+x@mail.example.com and a@b@c.com")
    assert "jane" not in said and "mail.example" not in said
    assert said.endswith("failed for <redacted> and a@<redacted>")

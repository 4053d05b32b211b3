"""A CSV reading error says the file, the line and DuckDB's advice, without the reader's
settings dump (whose masked values read as '<redacted>' noise) and without the row."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from reverse_etl.engine.errors_text import REDACTED, redact_error


def csv_error(path: Path) -> str:
    con = duckdb.connect()
    try:
        with pytest.raises(duckdb.Error) as caught:
            con.execute(
                f"SELECT * FROM read_csv('{path}', header = true, "
                "types = {'email': 'VARCHAR', 'n': 'VARCHAR'})"
            ).fetchall()
    finally:
        con.close()
    return redact_error(str(caught.value))


def test_a_file_that_is_not_utf8_is_named_with_its_line_and_no_settings(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(b"email,n\nann@example.com,1\nb\xf6b@example.com,2\n")
    message = csv_error(path)
    assert f"CSV Error on Line: 3 of file {path}" in message
    assert "not utf-8 encoded" in message
    assert "encoding='UTF-16'" in message  # DuckDB's advice, not a value of the file
    assert "sample_size" not in message and "delimiter =" not in message
    assert REDACTED not in message
    assert "example.com" not in message


def test_a_typed_column_error_keeps_its_facts(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("email,n\nann@example.com,1\nbob@example.com,2\n", encoding="utf-8")
    con = duckdb.connect()
    with pytest.raises(duckdb.Error) as caught:
        con.execute(
            f"SELECT * FROM read_csv('{path}', header = true, types = {{'n': 'DATE'}})"
        ).fetchall()
    con.close()
    message = redact_error(str(caught.value))
    assert f"of file {path}" in message and 'column "n"' in message
    assert "example.com" not in message and "sample_size" not in message


def test_a_misspelt_column_keeps_the_candidates_duckdb_suggests() -> None:
    con = duckdb.connect()
    with pytest.raises(duckdb.Error) as caught:
        con.execute("SELECT customer_mail FROM (SELECT 1 AS customer_email, 2 AS customer_id)")
    con.close()
    message = redact_error(str(caught.value))
    assert 'Candidate bindings: "customer_email", "customer_id"' in message
    assert REDACTED not in message


def test_text_after_the_settings_keeps_its_own_line(tmp_path: Path) -> None:
    # DuckDB goes on after the settings ("The Column types set by the user do not match ..."):
    # dropping the settings must not glue that sentence onto the advice above them.
    path = tmp_path / "orders.csv"
    path.write_text("id,n\n1,2\n2,ann@example.com\n", encoding="utf-8")
    con = duckdb.connect()
    with pytest.raises(duckdb.Error) as caught:
        con.execute(f"SELECT * FROM read_csv('{path}', columns = {{'id': 'INT', 'n': 'INT'}})")
    con.close()
    raw = str(caught.value)
    assert "The Column types set by the user" in raw  # the shape this test is about
    message = redact_error(raw)
    assert "sample_size" not in message and "example.com" not in message
    assert "\nThe Column types set by the user" in message
    assert ")The Column" not in message


@pytest.mark.parametrize("kind", ["DATE", "TIMESTAMP", "INTEGER"])
def test_a_value_holding_a_quote_and_to_is_masked_whole(kind: str) -> None:
    """A value that holds '" to ' (or '", expected') was masked only up to its first quote:
    'invalid date field format: "<redacted>" to secret bob", ...' said the rest (a review)."""
    value = 'jane" to secret bob", expected x'
    with pytest.raises(duckdb.Error) as caught:
        duckdb.sql(f"SELECT CAST(v AS {kind}) FROM (SELECT ? AS v)", params=[value]).fetchall()
    message = redact_error(str(caught.value))
    assert "secret" not in message and "jane" not in message and "bob" not in message
    assert REDACTED in message

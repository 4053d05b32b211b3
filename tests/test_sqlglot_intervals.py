"""INTERVAL literals keep every part of their text through sqlglot (reverse_etl/
sqlglot_intervals.py): a model filtered on ``interval '1 day 12:00:00'`` means the same on
DuckDB, PostgreSQL and Spark."""

from __future__ import annotations

import pytest
import sqlglot

from reverse_etl import sqlglot_intervals
from reverse_etl.models.dialects import query_for


@pytest.mark.parametrize("target", ["postgres", "spark", "duckdb"])
@pytest.mark.parametrize(
    "text", ["1 day 02:00:03", "-1 day +02:00", "2 days 1:30", "1 day 2 hours 03:00"]
)
def test_a_text_of_more_than_one_number_and_unit_is_kept_whole(text: str, target: str) -> None:
    out = sqlglot.transpile(f"select interval '{text}' as i", read="duckdb", write=target)[0]
    assert f"INTERVAL '{text}'" in out


@pytest.mark.parametrize(
    ("written", "postgres"),
    [
        ("interval '90 minutes'", "INTERVAL '90 MINUTES'"),
        ("interval '3' day", "INTERVAL '3 DAY'"),
        ("interval 3 day", "INTERVAL '3 DAY'"),
        ("interval '1.5 hours'", "INTERVAL '1.5 HOURS'"),
        ("interval ' 5 days '", "INTERVAL '5 DAYS'"),
        ("interval '7 days 12 hours'", "INTERVAL '7 days 12 hours'"),
        ("interval '1:30:00'", "INTERVAL '1:30:00'"),
    ],
)
def test_what_sqlglot_read_right_reads_as_before(written: str, postgres: str) -> None:
    out = sqlglot.transpile(f"select {written} as i", read="duckdb", write="postgres")[0]
    assert out == f"SELECT {postgres} AS i"


def test_the_pattern_answers_only_for_the_whole_text() -> None:
    whole = sqlglot.exp.INTERVAL_STRING_RE
    assert isinstance(whole, sqlglot_intervals.WholeText)
    assert whole.findall("1 day") == [("1", "day")]
    assert whole.findall(" 1 day 2 hours ") == [("1", "day"), ("2", "hours")]
    assert whole.findall("1 day 02:00:03") == []
    assert whole.findall("x 1 day") == []
    assert whole.findall("") == []
    sqlglot_intervals.install()  # idempotent: not wrapped twice
    assert sqlglot.exp.INTERVAL_STRING_RE is whole


def test_a_model_for_another_dialect_keeps_its_interval(tmp_path: object) -> None:
    """The model translation retl does itself (models/dialects.py)."""

    class Engine:
        model_dialect = "postgres"

        class capabilities:
            native_models = False
            dialect = "postgres"

    class Compiled:
        name = "m"
        dialect = "duckdb"
        sql = "select now() - interval '1 day 12:00:00' as since"

    out = query_for(Compiled(), Engine())  # type: ignore[arg-type]
    assert "INTERVAL '1 day 12:00:00'" in out

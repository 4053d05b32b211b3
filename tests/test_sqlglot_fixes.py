"""sqlglot's reading fixed (reverse_etl/sqlglot_fixes.py): INTERVAL literals keep every part
of their text (a model filtered on ``interval '1 day 12:00:00'`` means the same on DuckDB,
PostgreSQL and Spark), and a json_object value is any expression."""

from __future__ import annotations

import pytest
import sqlglot

from reverse_etl import sqlglot_fixes
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
    assert isinstance(whole, sqlglot_fixes.WholeText)
    assert whole.findall("1 day") == [("1", "day")]
    assert whole.findall(" 1 day 2 hours ") == [("1", "day"), ("2", "hours")]
    assert whole.findall("1 day 02:00:03") == []
    assert whole.findall("x 1 day") == []
    assert whole.findall("") == []
    sqlglot_fixes.install()  # idempotent: not wrapped twice
    assert sqlglot.exp.INTERVAL_STRING_RE is whole


def test_a_model_for_another_dialect_keeps_its_interval(tmp_path: object) -> None:
    """The model translation retl does itself (models/dialects.py)."""

    class Engine:
        model_dialect = "postgres"

        class capabilities:
            native_models = False
            dialect = "postgres"
            project_paths = False  # a server reads no file of the project
            model_checks = False

    class Compiled:
        name = "m"
        dialect = "duckdb"
        sql = "select now() - interval '1 day 12:00:00' as since"
        model = None  # the model's file: read only to locate a refusal (none here)

    out = query_for(Compiled(), Engine())  # type: ignore[arg-type]
    assert "INTERVAL '1 day 12:00:00'" in out


JSON_OBJECT = (
    "select json_object('gift', total > 100, 'even', n % 2 = 0, 'both', n > 1 and total < 50,"
    " 'in', n between 2 and 3, 'n', n) as details from (values (1, 120.0), (2, 10.0)) t(n, total)"
)


def test_a_json_object_value_is_any_expression_as_duckdb_reads_it() -> None:
    """sqlglot read a value as a bitwise operand at most: ``json_object('gift', total >
    100)`` failed to parse, so `retl validate` and `retl sync` refused a model DuckDB runs."""
    import duckdb

    from reverse_etl.columns.infer import infer_columns

    tree = sqlglot.parse_one(JSON_OBJECT, read="duckdb")
    assert isinstance(tree.find(sqlglot.exp.JSONObject), sqlglot.exp.JSONObject)
    assert duckdb.sql(tree.sql("duckdb")).fetchall() == duckdb.sql(JSON_OBJECT).fetchall()
    inferred = infer_columns(JSON_OBJECT, schema={})
    assert [i.code for i in inferred.issues] == []
    assert [c.name for c in inferred.columns] == ["details"]


def test_a_values_lists_unnamed_columns_are_named_as_the_engine_names_them() -> None:
    from reverse_etl.columns.infer import infer_columns

    sql = "select * from (values ('a', 1)) as v"
    named = {
        dialect: [c.name for c in infer_columns(sql, schema={}, dialect=dialect).columns]
        for dialect in ("duckdb", "postgres")
    }
    assert named == {"duckdb": ["col0", "col1"], "postgres": ["column1", "column2"]}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("first(d)", "DATE"),
        ("first(d order by n)", "DATE"),
        ("last(n)", "INT"),
        ("arg_max(d, n)", "DATE"),
        ("min_by(n, d)", "INT"),
        ("arg_max(n, d, 2)", "LIST(INT)"),
        ("list_max(l)", "INT"),
        ("list_min(l)", "INT"),
    ],
)
def test_what_an_aggregate_or_list_function_picks_is_typed_as_its_argument(
    expression: str, expected: str
) -> None:
    """sqlglot typed these unknown; DuckDB's value is one of the argument (of the list's
    items): `retl validate` did not check them, Spark's rewrites did not apply."""
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    schema = {"t": {"d": "DATE", "n": "INT", "l": "INT[]"}}
    tree = sqlglot.parse_one(f"select {expression} as v from t", read="duckdb")
    typed = annotate_types(
        qualify(tree, schema=schema, dialect="duckdb"), schema=schema, dialect="duckdb"
    )
    assert typed.selects[0].type.sql("duckdb") == expected

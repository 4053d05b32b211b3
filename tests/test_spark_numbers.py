"""Which casts engine/spark_numbers.py rounds for Spark, and when it leaves them as written. The
values themselves are checked on a real Spark in tests/spark/test_spark_sync.py."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
import sqlglot

from reverse_etl.engine.spark_numbers import model_alone, numbers_as_duckdb
from reverse_etl.errors import EngineError

TYPES: dict[tuple[str, str, str], Mapping[str, str]] = {
    ("", "", "orders"): {
        "d": "DECIMAL(10,2)",
        "f": "DOUBLE",
        "i": "INTEGER",
        "s": "VARCHAR",
        "b": "BOOLEAN",
        "at": "TIMESTAMP",
        "day": "DATE",
        "ms": "BIGINT",
    },
    ("", "shop", "items"): {"price": "DOUBLE", "qty": "BIGINT"},
}
ROUNDED = "CASE WHEN TYPEOF({x}) LIKE 'decimal%' THEN ROUND({x}) ELSE BROUND({x}) END"


def spark_sql(sql: str, types: Mapping[tuple[str, str, str], Mapping[str, str]] = TYPES) -> str:
    tree = sqlglot.parse_one(sql, read="duckdb")
    return numbers_as_duckdb(tree, "duckdb", types.get).sql("spark")


def test_a_fraction_cast_to_an_integer_is_rounded_first() -> None:
    out = spark_sql(
        "select cast(d as int) as a, f::bigint as b, try_cast(d as smallint) as c, "
        "cast(2.5 as int) as e from orders"
    )
    assert f"CAST({ROUNDED.format(x='d')} AS INT) AS a" in out
    assert f"CAST({ROUNDED.format(x='f')} AS BIGINT) AS b" in out
    assert f"TRY_CAST({ROUNDED.format(x='d')} AS SMALLINT) AS c" in out
    assert f"CAST({ROUNDED.format(x='2.5')} AS INT) AS e" in out


def test_integers_text_and_booleans_are_cast_as_written() -> None:
    out = spark_sql(
        "select cast(i as bigint) as a, cast(s as int) as b, cast(b as int) as c, "
        "cast(7 as int) as e, cast(-7 as int) as g, cast(d as double) as h from orders"
    )
    assert "ROUND" not in out
    assert "CAST(i AS BIGINT) AS a" in out and "CAST(s AS INT) AS b" in out


def test_types_come_through_ctes_aggregates_and_qualified_tables() -> None:
    out = spark_sql(
        "with m as (select price * 2 as p, qty from shop.items) "
        "select cast(p as int) as a, cast(avg(qty) as int) as b, cast(qty as int) as c "
        "from m group by p, qty"
    )
    assert f"CAST({ROUNDED.format(x='p')} AS INT) AS a" in out
    assert f"CAST({ROUNDED.format(x='AVG(qty)')} AS INT) AS b" in out
    assert "CAST(qty AS INT) AS c" in out


def test_casts_stay_as_written_when_a_tables_types_are_not_known() -> None:
    """Spark could not describe a table: nothing is guessed (docs/warehouses.md)."""
    sql = "select cast(x as int) as a, cast(2.5 as int) as b from unknown_table"
    assert "ROUND" not in spark_sql(sql)


def test_tables_named_at_two_depths_are_typed_together() -> None:
    """A file's view (one name) beside a database's table (two)."""
    out = spark_sql("select cast(d as int) as a, cast(price as int) as b from orders, shop.items")
    assert f"CAST({ROUNDED.format(x='d')} AS INT) AS a" in out
    assert f"CAST({ROUNDED.format(x='price')} AS INT) AS b" in out


def test_a_files_view_where_the_reader_stood_is_typed() -> None:
    """SparkEngine._file_views puts the view's table inside the FROM's table node, where
    DuckDB's read_parquet(...) stood (as in a CTE of a model reading a file)."""
    tree = sqlglot.parse_one(
        "with m as (select d, f from read_parquet('x.parquet')), "
        "n as (select d, f from read_parquet('y.parquet') as p) "
        "select cast(m.d as int) as a, cast(n.f as int) as b from m, n",
        read="duckdb",
    )
    tree = tree.transform(
        lambda n: sqlglot.exp.to_table("orders") if isinstance(n, sqlglot.exp.ReadParquet) else n
    )
    out = numbers_as_duckdb(tree, "duckdb", TYPES.get).sql("spark")
    assert f"CAST({ROUNDED.format(x='m.d')} AS INT) AS a" in out
    assert f"CAST({ROUNDED.format(x='n.f')} AS INT) AS b" in out
    assert "FROM orders AS p" in out  # the query itself keeps its nodes


def test_a_cast_inside_another_is_rounded_too() -> None:
    out = spark_sql("select cast(cast(d as int) * 1.5 as bigint) as a from orders")
    inner = f"CAST({ROUNDED.format(x='d')} AS INT)"
    assert f"CAST({ROUNDED.format(x=inner + ' * 1.5')} AS BIGINT) AS a" in out


def test_a_division_of_two_numbers_is_a_double_division() -> None:
    """DuckDB divides DECIMALs as DOUBLEs (1.0 / 3 is 0.3333333333333333); Spark as
    DECIMALs (0.333333). // of a fraction divides so too in DuckDB (2.5 // 2 is 1.25;
    Spark's DIV truncated); of two integers, and a division of an interval, stay."""
    out = spark_sql(
        "select d / i as a, 1.0 / 3 as b, f / 2 as c, d // 2 as e, i // 2 as h, "
        "interval 1 day / 2 as g from orders"
    )
    assert "CAST(d AS DOUBLE) / CAST(i AS DOUBLE) AS a" in out
    assert "CAST(1.0 AS DOUBLE) / CAST(3 AS DOUBLE) AS b" in out
    assert "CAST(f AS DOUBLE) / CAST(2 AS DOUBLE) AS c" in out
    assert "CAST(d AS DOUBLE) / CAST(2 AS DOUBLE) AS e" in out
    assert "i DIV 2 AS h" in out
    assert "CAST(INTERVAL" not in out


def test_a_division_inside_a_cast_is_rounded_after_it() -> None:
    out = spark_sql("select cast(d / 4 as int) as a from orders")
    assert f"CAST({ROUNDED.format(x='CAST(d AS DOUBLE) / CAST(4 AS DOUBLE)')} AS INT) AS a" in out


def test_epoch_ms_of_a_date_or_timestamp_column_is_its_milliseconds() -> None:
    out = spark_sql(
        "select epoch_ms(at) as a, epoch_ms(day) as b, epoch_ms(ms) as c, "
        "epoch_ms(x.at) as e from orders as x"
    )
    assert "(UNIX_MICROS(CAST(at AS TIMESTAMP)) DIV 1000) AS a" in out
    assert "(UNIX_MICROS(CAST(day AS TIMESTAMP)) DIV 1000) AS b" in out
    assert "TIMESTAMP_MILLIS(ms) AS c" in out  # milliseconds to a timestamp: as written
    assert "(UNIX_MICROS(CAST(x.at AS TIMESTAMP)) DIV 1000) AS e" in out


def test_epoch_ms_of_an_unknown_column_goes_as_written() -> None:
    out = spark_sql("select epoch_ms(at) as a from elsewhere")
    assert "TIMESTAMP_MILLIS(at) AS a" in out


def test_a_date_less_a_date_is_a_number_of_days() -> None:
    out = spark_sql(
        "select day - day as a, at - at as b, i - 1 as c, day - 7 as e, "
        "date '2024-03-15' - date '2024-03-01' as g from orders"
    )
    assert "CAST(DATEDIFF(day, day) AS BIGINT) AS a" in out
    assert "at - at AS b" in out and "i - 1 AS c" in out and "day - 7 AS e" in out
    assert (
        "CAST(DATEDIFF(CAST('2024-03-15' AS DATE), CAST('2024-03-01' AS DATE)) AS BIGINT) AS g"
    ) in out


def test_the_length_of_a_list_is_its_size() -> None:
    types = {("", "", "t"): {"l": "INTEGER[]", "s": "VARCHAR"}}
    out = spark_sql("select len(l) as a, length(s) as b, len([1, 2]) as c from t", types)
    assert "CASE WHEN l IS NULL THEN NULL ELSE CAST(SIZE(l) AS BIGINT) END AS a" in out
    assert "LENGTH(s) AS b" in out
    assert "CAST(SIZE(ARRAY(1, 2)) AS BIGINT) END AS c" in out


def test_an_alias_a_later_clause_names_keeps_the_rewrites() -> None:
    """qualify() writes the aliased expression where GROUP BY, WHERE, HAVING or a later
    select item names its alias (DuckDB allows each): the typed copy then had more casts and
    divisions than the query, and every rewrite of the query was given up, silently."""
    for sql, x in (
        ("select cast(d as int) as v, count(*) as n from orders group by v", "d"),
        ("select cast(d as int) as v, count(*) as n from orders group by 1", "d"),
        ("select cast(d as int) as v, v + 1 as w from orders", "d"),
        ("select cast(d as int) as v from orders where v > 1", "d"),
        ("select s, cast(sum(d) as int) as v from orders group by s having v > 0", "SUM(d)"),
    ):
        assert f"CAST({ROUNDED.format(x=x)} AS INT) AS v" in spark_sql(sql), sql
    out = spark_sql("select d / 2 as h, h * 2 as h2 from orders where h > 1")
    assert "CAST(d AS DOUBLE) / CAST(2 AS DOUBLE) AS h" in out, out


def test_what_could_not_be_typed_is_said() -> None:
    """A table Spark cannot describe, an operand sqlglot cannot type (``list_first(l)``): the
    cast and the division go as written, and are said (the engine's ``untyped``, which
    ``retl plan`` and ``retl sync`` warn of); what was typed is not (``first(d)``: d's type)."""
    from reverse_etl.engine.typed import untyped_notes

    with untyped_notes() as notes:
        out = spark_sql(
            "select cast(list_first([d]) as int) as a, list_first([d]) / 2 as b, "
            "cast(d as int) as c, cast(s as int) as e, cast(first(d) as int) as f from orders"
        )
    assert f"CAST({ROUNDED.format(x='d')} AS INT) AS c" in out
    assert f"CAST({ROUNDED.format(x='FIRST(d)')} AS INT) AS f" in out
    assert notes == ["CAST(LIST_FIRST([d]) AS INT)", "LIST_FIRST([d]) / 2"]
    with untyped_notes() as notes:
        spark_sql("select cast(x as int) as a, y - 1 as b from unknown_table")
    assert notes == ["CAST(x AS INT)", "y - 1"]
    spark_sql("select cast(x as int) as a from unknown_table")  # none open: nothing kept


def test_what_an_aggregate_or_list_function_picks_is_typed_as_its_argument() -> None:
    """``first(x)``, ``last``, ``arg_max``/``min_by``, ``any_value``, ``list_max``, ``l[k]``
    and ``first(x ORDER BY k)`` are typed as the value they pick (sqlglot_fixes, and
    typed.py for the Spark forms retl writes first): ``floor`` of an integer is cast to
    DuckDB's DOUBLE, a date minus a date counts days, ``date_trunc`` of a time is Spark's
    time without a zone; they were sent as written, silently (a BIGINT 7 for DuckDB's 7.0,
    an INTERVAL for 14 days). Nothing is said."""
    from reverse_etl.engine.spark import SparkConnection, SparkEngine
    from reverse_etl.engine.typed import untyped_notes

    engine = SparkEngine(SparkConnection(master="local[2]"))  # no session: none is started
    engine._table_types = TYPES.get  # type: ignore[assignment,method-assign]
    picks = [
        "first({x})",
        "last({x})",
        "arg_max({x}, ms)",
        "min_by({x}, ms)",
        "any_value({x})",
        "first({x} order by ms)",
        "list_max({l})",
        "{l}[1]",
    ]
    for pick in picks:
        i, at, day = (pick.format(x=x, l=f"[{x}]") for x in ("i", "at", "day"))
        with untyped_notes() as notes:
            out = engine.transpile(
                f"select floor({i}) as a, date_trunc('day', {at}) as b, {day} - {day} as c "
                "from orders"
            ).replace("\n", " ")
        assert " AS DOUBLE) AS a" in out, (pick, out)
        assert " AS TIMESTAMP_NTZ) AS b" in out, (pick, out)
        assert "CAST(DATEDIFF(" in out, (pick, out)
        assert notes == [], (pick, notes)


def test_a_map_s_value_is_typed_and_a_map_literal_is_written_as_spark_s() -> None:
    """``m['k']`` of a MAP column is the map's value (DuckDB's and Spark's): ``floor`` of a
    DOUBLE one is cast to DuckDB's DOUBLE, a cast to an integer rounded; it went as written
    (a BIGINT 2 for DuckDB's 2.0, 2.5 truncated), and was said. A map literal (``MAP {'k':
    v}``) was written ``MAP STRUCT(v AS k)``: "retl cannot read back the text it wrote"."""
    from reverse_etl.engine.spark import SparkConnection, SparkEngine
    from reverse_etl.engine.typed import untyped_notes

    engine = SparkEngine(SparkConnection(master="local[2]"))  # no session: none is started
    maps = {("", "", "t"): {"m": "MAP(VARCHAR, DOUBLE)", "n": "MAP(VARCHAR, INTEGER)"}}
    engine._table_types = maps.get  # type: ignore[assignment,method-assign]
    with untyped_notes() as notes:
        out = engine.transpile(
            "select floor(m['a']) as a, cast(m['a'] as int) as b, ceil(n['a']) as c from t"
        ).replace("\n", " ")
    assert "CAST(FLOOR(m['a']) AS DOUBLE) AS a" in out, out
    rounded = ROUNDED.format(x="m['a']")
    assert f"CAST({rounded} AS INT) AS b" in out, out
    assert "CAST(CEIL(n['a']) AS DOUBLE) AS c" in out, out
    assert notes == []
    out = engine.transpile(
        "select floor(m['a']) as a from (select map {'a': 2.5::double, 'b': -1} as m)"
    ).replace("\n", " ")
    assert "MAP('a', CAST(2.5 AS DOUBLE), 'b', -1) AS m" in out, out
    assert "CAST(FLOOR(m['a']) AS DOUBLE) AS a" in out, out
    out = engine.transpile("select map {1: 'x'}[1] as a").replace("\n", " ")
    assert "TRY_ELEMENT_AT(MAP(1, 'x'), 1) AS a" in out, out  # a key, not a position


def test_what_is_said_is_the_model_s_own_text_not_its_spark_form() -> None:
    """The untyped expressions are quoted as the model wrote them (DuckDB's SQL), not as the
    rewrites left them for Spark: ``(TO_JSON(VARIANT_GET(PARSE_JSON(j), '$.n'))) / 2`` for
    the model's ``(j->'n') / 2``. A node a rewrite built is quoted as it is."""
    from reverse_etl.engine.spark import SparkConnection, SparkEngine

    engine = SparkEngine(SparkConnection(master="local[2]"))  # no session: none is started
    engine._table_types = TYPES.get  # type: ignore[assignment,method-assign]
    said = engine.untyped(
        "select (j->'n') / 2 as a, floor(j->'n') as b, cast(list_first([d]) as int) "
        "as c from (select json_object('n', d) as j, d from orders)"
    )
    assert said == [
        "(j -> '$.n') / 2",
        "CAST(LIST_FIRST([d]) AS INT)",
        "FLOOR(j -> '$.n')",
    ], said


def test_an_operand_still_untyped_is_said() -> None:
    """What sqlglot still cannot type (``list_first(l)``, a function it does not know) under
    ``floor``, ``date_trunc`` or a subtraction goes as written, and is said."""
    from reverse_etl.engine.typed import untyped_notes

    with untyped_notes() as notes:
        spark_sql(
            "select floor(list_first(l)) as a, date_trunc('day', list_first(t)) as b, "
            "list_first(l) - day as c, i - list_first(l) as e, floor(2.5) as f "
            "from (select [i] as l, [at] as t, day, i from orders)"
        )
    assert notes == ["LIST_FIRST(l) - day"]  # (floor and date_trunc: spark_kinds, below)
    from reverse_etl.engine.spark_kinds import kinds_as_duckdb

    with untyped_notes() as notes:
        tree = sqlglot.parse_one(
            "select floor(list_first(l)) as a, date_trunc('day', list_first(t)) as b, "
            "floor(2.5) as f, floor(i) as g from (select [i] as l, [at] as t, i from orders)",
            read="duckdb",
        )
        kinds_as_duckdb(tree, "duckdb", TYPES.get)
    assert notes == ["FLOOR(LIST_FIRST(l))", "DATE_TRUNC('DAY', LIST_FIRST(t))"]


def test_the_untyped_warning_masks_the_model_s_literal_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The expressions quoted are the model's own text: a literal e-mail address or phone
    number in one is masked, as every other text retl prints."""
    from types import SimpleNamespace

    from reverse_etl.pipeline import plan_warnings

    found = [
        "CAST(FIRST('jane.doe@example.com') AS INT)",
        "FLOOR(LIST_FIRST(['+14155550123']))",
        # cut after 60 characters: masked before, or 'jane.doe@exa...' would show
        f"FLOOR(LIST_FIRST(['{'x' * 25} jane.doe@example.com']))",
    ]
    engine = SimpleNamespace(
        capabilities=SimpleNamespace(typed_rewrites=True, dialect="spark"),
        untyped=lambda sql: found,
    )
    compiled = SimpleNamespace(model=SimpleNamespace(path=Path("models/m.sql")))
    monkeypatch.setattr(plan_warnings, "query_for", lambda c, e: "select 1")
    said = plan_warnings.untyped_warning(compiled, engine)  # type: ignore[arg-type]
    assert said is not None
    assert "jane.doe" not in said.message and "4155550123" not in said.message
    assert "j***@example.com" in said.message and "['+141***'])" in said.message, said.message
    assert "x j***@example..." in said.message, said.message


def test_a_trimmed_text_or_a_list_position_cast_to_an_integer_is_not_said_untyped() -> None:
    """``trim(s)`` goes to Spark as ``REGEXP_REPLACE`` of the space separators, and
    ``list_position(l, x)`` as ``NULLIF(ARRAY_POSITION(...), 0)`` (spark_patterns.py): typed
    as the text and the number they are, a cast of one to an integer is no operand of
    unknown type (``cast(trim(qty) as int)`` was said untyped, a false warning)."""
    from reverse_etl.engine.spark import SparkConnection, SparkEngine

    engine = SparkEngine(SparkConnection(master="local[2]"))  # no session: none is started
    engine._table_types = TYPES.get  # type: ignore[assignment,method-assign]
    said = engine.untyped(
        "select cast(trim(s) as int) as a, ltrim(s)::bigint as b, cast(rtrim(s) as int) as c, "
        "cast(list_position([i], 2) as int) as e, trim(s) / 2 as f from orders"
    )
    assert said == [], said
    assert engine.untyped("select cast(list_first([f]) as int) as a from orders") == [
        "CAST(LIST_FIRST([f]) AS INT)"
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "select 'order-' || f as e from orders",
        "select concat('order-', f) as e from orders",
        "select cast(f as varchar) as e from orders",
        "select f::text as e from orders",
        "select 'x' || avg(i) as e from orders",
        "select 'x' || (i / 2) as e from orders",
        "select 'x' || cast(i as float) as e from orders",
    ],
)
def test_the_text_of_a_double_is_refused_by_name_with_the_fix(sql: str) -> None:
    """DuckDB writes a DOUBLE's shortest digits (0.0001, 123456789.0, 1e+20), Spark Java's
    Double.toString (1.0E-4, 1.23456789E8, 1.0E20; 1e23 as 9.999999999999999E22): an
    event_id joined from one was another id from Spark, silently."""
    with (
        model_alone(),
        pytest.raises(EngineError, match=r"is a DOUBLE \(or FLOAT\) made text.*DECIMAL\(p, s\)"),
    ):
        spark_sql(sql)
    spark_sql(sql)  # retl's own SQL around a model: as written


def test_the_refused_double_is_named_without_the_comment_above_it() -> None:
    """sqlglot attaches a line's ``-- ...`` to the column after it: the refusal quoted it,
    ``f /* the amount */ is a DOUBLE ...``."""
    sql = "select 'order-' ||\n  -- the amount\n  f as e from orders"
    with model_alone(), pytest.raises(EngineError) as caught:
        spark_sql(sql)
    assert caught.value.message.startswith("f is a DOUBLE (or FLOAT) made text")


def test_retl_s_row_hash_of_a_double_column_is_not_refused() -> None:
    """The row hash makes text of every column, a DOUBLE's too, computed and compared in
    Spark alone: refused there, every sync of a model with a DOUBLE column (state in Spark)
    stopped."""
    import pyarrow as pa

    from reverse_etl.state.diff import NEWEST_FORM, row_parts

    schema = pa.schema([("event_id", pa.string()), ("f", pa.float64())])
    rows = row_parts("SELECT event_id, f FROM orders", schema, ["event_id"], form=NEWEST_FORM)
    types = {**TYPES, ("", "", "orders"): {**TYPES[("", "", "orders")], "event_id": "varchar"}}
    assert "MD5(" in spark_sql(rows.sql, types).upper()


def test_the_text_of_a_decimal_an_integer_or_a_fraction_literal_goes_as_written() -> None:
    """The same text in both (a fraction literal is a DECIMAL in DuckDB and Spark)."""
    out = spark_sql(
        "select 'x' || d as a, 'y' || i as b, cast(d as varchar) as c, 'z' || 1.5 as e,"
        " cast(cast(f as decimal(18, 2)) as varchar) as g from orders"
    )
    assert "'x' || d AS a" in out and "'z' || 1.5 AS e" in out


def test_a_decimal_in_concat_is_made_text_before_sqlglots_coalesce() -> None:
    """sqlglot writes concat's arguments as COALESCE(x, ''): Spark types that a DOUBLE for
    a DECIMAL x (0.00 gave '0.0', 123456789.00 '1.23456789E8')."""
    out = spark_sql("select concat('o-', d, 123456789.00, i) as a from orders")
    assert "COALESCE(CAST(d AS STRING), '')" in out
    assert "COALESCE(CAST(123456789.00 AS STRING), '')" in out
    assert "COALESCE(i, '')" in out


def test_the_text_of_a_rounded_decimal_goes_as_written() -> None:
    """DuckDB's round() of a DECIMAL(p, s) is a DECIMAL (p, n), Spark's too: the same text
    in both. sqlglot typed it a DOUBLE, and a model's 'order-' || round(amount, 2), which
    synced before the refusal of a DOUBLE made text, was refused."""
    sql = (
        "select 'order-' || round(d, 2) as a, cast(round(d, 1) as varchar) as b,"
        " concat('o-', round(d)) as c, 'x' || round(cast(f as decimal(18, 3)), 2) as e"
        " from orders"
    )
    with model_alone():
        out = spark_sql(sql)
    assert "'order-' || ROUND(d, 2) AS a" in out and "CAST(ROUND(d, 1) AS STRING) AS b" in out
    with model_alone(), pytest.raises(EngineError, match="made text"):
        spark_sql("select 'order-' || round(f, 2) as a from orders")  # a DOUBLE's: refused


def test_a_refused_double_made_text_is_quoted_as_the_model_wrote_it() -> None:
    """SparkEngine.check_model quoted the operand as retl's rewrites left it, 'CAST(ms AS
    DOUBLE) / CAST(1000 AS DOUBLE) is a DOUBLE', not the model's 'ms / 1000'."""
    from reverse_etl.engine.spark import SparkConnection, SparkEngine

    engine = SparkEngine(SparkConnection(master="local[2]"))  # no session: none is started
    engine._table_types = TYPES.get  # type: ignore[assignment,method-assign]
    for written in ("'x' || (ms / 1000)", "cast(i / 2 as varchar)", "concat('y', ms / 10)"):
        with pytest.raises(EngineError) as refused:
            engine.check_model(f"select {written} as e from orders")
        message = refused.value.message
        assert "is a DOUBLE (or FLOAT) made text" in message
        assert "CAST(" not in message.split(" is a DOUBLE")[0], message
        assert "ms / 1000" in message or "i / 2" in message or "ms / 10" in message


def spark_sql_from(sql: str, dialect: str) -> str:
    tree = sqlglot.parse_one(sql, read=dialect)
    return numbers_as_duckdb(tree, dialect, TYPES.get).sql("spark")


@pytest.mark.parametrize(
    "sql",
    [
        # a division of DECIMALs: DuckDB's is a DOUBLE (sqlglot typed it a DECIMAL), and so
        # is Spark's, as retl writes it (CAST(d AS DOUBLE) / ...): Java's text there
        "select 'x' || (d / i) as e from orders",
        "select 'x' || (d / 2.5) as e from orders",
        "select cast(d / i as varchar) as e from orders",
        "select concat('x', 1.5 / 2) as e from orders",
        "select 'x' || (d // i) as e from orders",
        "select 'x' || round(d / i, 2) as e from orders",
        # a DOUBLE times a fraction literal is a DOUBLE: the literal no longer exempts it
        "select 'x' || f * 1.5 as e from orders",
        "select 'x' || (2.5 + f) as e from orders",
        "select cast(-f * 1.5 as varchar) as e from orders",
        "select concat('x', (f - 0.5) * 2) as e from orders",
    ],
)
def test_a_double_of_a_division_or_beside_a_fraction_literal_is_refused(sql: str) -> None:
    with model_alone(), pytest.raises(EngineError, match=r"is a DOUBLE \(or FLOAT\) made text"):
        spark_sql(sql)


@pytest.mark.parametrize(
    "operand",
    [
        "1.5",
        "-1.5",
        "(1.5)",
        "d * 1.5",
        "1.5 * i",
        "(d + 0.25) * 2",
        "d % 1.5",
        "round(d * 1.5, 1)",
    ],
)
def test_a_decimal_of_fraction_literals_decimals_and_integers_goes_as_written(
    operand: str,
) -> None:
    """A DECIMAL in DuckDB and Spark (the same text in both): not refused."""
    with model_alone():
        out = spark_sql(f"select 'x' || {operand} as e from orders")
    assert "DOUBLE" not in out


def test_a_postgresql_models_fraction_literal_exempts_only_decimal_arithmetic() -> None:
    """sqlglot types PostgreSQL's 1.5 a DOUBLE (PostgreSQL reads a NUMERIC): a literal and
    its arithmetic with DECIMALs and integers pass, a DOUBLE beside it is refused."""
    with model_alone():
        spark_sql_from("select 'x' || 1.5 || (d * 1.5) || (i + 0.5) as e from orders", "postgres")
        with pytest.raises(EngineError, match="made text"):
            spark_sql_from("select 'x' || f * 1.5 as e from orders", "postgres")


def test_round_of_a_double_beside_a_fraction_literal_is_duckdbs_round() -> None:
    """DuckDB's round() of a DOUBLE is round(x * 10^n) / 10^n (1.005 * 1.0 rounds to 1.0),
    Spark's rounds the decimal text (1.01): a fraction literal in the operand kept Spark's,
    and a division of DECIMALs (a DOUBLE in DuckDB) too; a cast of either to DECIMAL(p, s)
    the same."""
    out = spark_sql(
        "select round(f * 1.5, 2) as a, round(d / i, 2) as b,"
        " cast(d / i as decimal(10, 2)) as c, round(d * 1.5, 2) as e from orders"
    )
    assert "ROUND((f * 1.5) * CAST(100 AS DOUBLE)) / CAST(100 AS DOUBLE)" in out
    assert "ROUND((CAST(d AS DOUBLE) / CAST(i AS DOUBLE)) * CAST(100 AS DOUBLE))" in out
    assert "CAST((ROUND((CAST(d AS DOUBLE) / CAST(i AS DOUBLE)) * CAST(100" in out
    assert "ROUND(d * 1.5, 2) AS e" in out  # a DECIMAL's: Spark's is DuckDB's


def test_floor_of_a_double_beside_a_fraction_literal_stays_a_double() -> None:
    """DuckDB's floor() of a DOUBLE is a DOUBLE, Spark's a BIGINT: cast back (engine/
    spark_kinds.py), a fraction literal in the operand too; floor of a DECIMAL is one in both."""
    from reverse_etl.engine.spark_kinds import kinds_as_duckdb

    tree = sqlglot.parse_one("select floor(f * 1.5) as a, floor(d * 1.5) as b from orders")
    out = kinds_as_duckdb(tree, "duckdb", TYPES.get).sql("spark")
    assert "CAST(FLOOR(f * 1.5) AS DOUBLE) AS a" in out
    assert "FLOOR(d * 1.5) AS b" in out and "CAST(FLOOR(d" not in out

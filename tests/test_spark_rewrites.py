"""Which DuckDB calls SparkEngine.transpile writes otherwise for Spark (engine/spark_meanings.py),
and which it leaves. The values are checked on a real Spark by
tests/spark/test_spark_sync.py (tests/portable_exprs.py)."""

from __future__ import annotations

import sqlglot

from reverse_etl.engine import spark_meanings as spark

# The ordered list's lambda parameters (engine/spark_meanings.py)
L, R, ITEM = "__retl_left", "__retl_right", "__retl_item"


def spark_sql(sql: str) -> str:
    tree = sqlglot.parse_one(sql, read="duckdb")
    for rewrite in (
        spark._names_as_written,
        spark._week_as_written,
        spark._ends_as_written,
        spark._times_as_written,
        spark._strftime_as_written,
        spark._named_as_written,
    ):
        tree = tree.transform(rewrite)
    return tree.sql("spark")


def test_seconds_keep_duckdbs_fraction_or_are_whole() -> None:
    out = spark_sql(
        "select epoch(ts) as a, to_timestamp(x) as b, extract(second from ts) as c, "
        "date_part('second', ts) as d, epoch_ms(x) as e from t"
    )
    assert "(UNIX_MICROS(CAST(ts AS TIMESTAMP)) / 1000000) AS a" in out
    assert "TIMESTAMP_SECONDS(x) AS b" in out
    assert "SECOND(ts) AS c" in out and "SECOND(ts) AS d" in out
    assert "TIMESTAMP_MILLIS(x) AS e" in out  # milliseconds: as sqlglot writes it


def test_a_strftime_format_has_its_text_quoted() -> None:
    out = spark_sql(
        "select strftime(ts, 'order-%Y%m%d-%H%M%S') as a, strftime(ts, '%-I o''clock') as b, "
        "strftime(ts, '100%% %A') as c, strftime(ts, '%U') as e from t"
    )
    # (Spark SQL escapes a quote inside a string with a backslash)
    assert r"DATE_FORMAT(ts, '\'order-\'yyyyMMdd\'-\'HHmmss') AS a" in out
    assert r"DATE_FORMAT(ts, 'h\' o\'\'clock\'') AS b" in out
    assert r"DATE_FORMAT(ts, '\'100% \'EEEE') AS c" in out
    assert "DATE_FORMAT(ts, '%U') AS e" in out  # no counterpart: as sqlglot writes it


def test_names_and_ends() -> None:
    out = spark_sql(
        "select dayname(d) as a, left(s, -2) as b, right(s, 3) as c, week(d) as e from t"
    )
    assert "DATE_FORMAT(d, 'EEEE') AS a" in out
    assert "SUBSTRING(s, 1, GREATEST(LENGTH(s) + (-2), 0))" in out
    assert "RIGHT(s, 3) AS c" in out
    assert "WEEKOFYEAR(d) AS e" in out


def test_epochs_of_a_time_and_epoch_parts() -> None:
    out = spark_sql(
        "select epoch_us(ts) as a, epoch_ns(ts) as b, epoch_ms(timestamp '2024-01-01') as c, "
        "extract(epoch from ts) as d, date_part('epoch', ts) as e from t"
    )
    micros = "UNIX_MICROS(CAST(ts AS TIMESTAMP))"
    assert f"{micros} AS a" in out
    assert f"{micros} * 1000 AS b" in out
    # integer division: toward zero, as DuckDB's (-0.5 ms is 0 ms)
    day = "CAST(CAST('2024-01-01' AS TIMESTAMP_NTZ) AS TIMESTAMP)"
    assert f"(UNIX_MICROS({day}) DIV 1000) AS c" in out
    assert f"({micros} / 1000000) AS d" in out and f"({micros} / 1000000) AS e" in out


def test_iso_years_weeks_lengths_and_sub_second_parts() -> None:
    out = spark_sql(
        "select isoyear(d) as a, yearweek(d) as b, strlen(s) as c, millisecond(ts) as e, "
        "microsecond(ts) as f from t"
    )
    iso = "YEAR(DATE_ADD(CAST(d AS DATE), 3 - WEEKDAY(CAST(d AS DATE))))"
    assert f"CAST({iso} AS BIGINT) AS a" in out
    assert f"CAST({iso} * 100 + WEEKOFYEAR(d) AS BIGINT) AS b" in out
    assert "CAST(OCTET_LENGTH(s) AS BIGINT) AS c" in out
    assert "CAST(FLOOR(EXTRACT(SECOND FROM ts) * 1000) AS BIGINT) AS e" in out
    assert "CAST(FLOOR(EXTRACT(SECOND FROM ts) * 1000000) AS BIGINT) AS f" in out


def _lists(sql: str, read: str = "duckdb") -> str:
    tree = sqlglot.parse_one(sql, read=read)
    spark._lists_as_written(tree)
    return tree.sql("spark")


def test_an_ordered_list_is_sorted_by_its_keys_with_nulls_kept() -> None:
    """COLLECT_LIST, as sqlglot wrote it, dropped the ORDER BY and the NULL elements."""
    out = _lists("select k, list(x order by y desc, z) as a from t group by k")
    collect = "COLLECT_LIST(NAMED_STRUCT('k0', y, 'k1', z, 'v', x))"
    assert out.startswith(f"SELECT k, CASE WHEN SIZE({collect}) = 0 THEN NULL ELSE TRANSFORM(")
    assert f"ARRAY_SORT({collect}, ({L}, {R}) -> CASE " in out
    # DESC (NULLs last, as DuckDB reads it), then ASC
    assert f"WHEN ({R}.k0 IS NULL AND NOT {L}.k0 IS NULL) OR {L}.k0 > {R}.k0 THEN -1" in out
    assert f"WHEN ({R}.k1 IS NULL AND NOT {L}.k1 IS NULL) OR {L}.k1 < {R}.k1 THEN -1" in out
    assert f"{ITEM} -> {ITEM}.v) END AS a" in out
    assert "COLLECT_LIST(x)" not in out


def test_a_postgresql_models_descending_order_puts_nulls_first() -> None:
    out = _lists("select array_agg(x order by y desc) as a from t", read="postgres")
    assert f"WHEN ({L}.k0 IS NULL AND NOT {R}.k0 IS NULL) OR {L}.k0 > {R}.k0 THEN -1" in out


def test_a_list_keeps_its_filter_and_window_on_the_aggregate() -> None:
    out = _lists(
        "select list(x) filter (where x > 1) as a, list(x order by y) over (partition by k) "
        "as b, list(distinct x) as c from t"
    )
    assert "SIZE(COLLECT_LIST(NAMED_STRUCT('v', x)) FILTER(WHERE x > 1)) = 0" in out
    filtered = "COLLECT_LIST(NAMED_STRUCT('v', x)) FILTER(WHERE x > 1)"
    assert f"TRANSFORM({filtered}, {ITEM} -> {ITEM}.v)" in out
    assert "ARRAY_SORT(COLLECT_LIST(NAMED_STRUCT('k0', y, 'v', x)) OVER (PARTITION BY k)" in out
    assert "COLLECT_LIST(DISTINCT x) AS c" in out  # as written


def test_urls_are_encoded_and_decoded_as_duckdb() -> None:
    out = spark_sql("select url_encode(s) as a, url_decode(s) as b from t")
    assert (
        "REPLACE(REPLACE(REPLACE(URL_ENCODE(s), '+', '%20'), '*', '%2A'), '%7E', '~') AS a"
    ) in out
    assert "URL_DECODE(REPLACE(s, '+', '%2B')) AS b" in out


def test_picks_skip_nulls_and_first_takes_the_sorted_lists_first() -> None:
    tree = sqlglot.parse_one(
        "select arg_max(x, y) as a, min_by(x, y) filter (where z) as b, "
        "first(x order by y desc) as c, first(x) as e from t",
        read="duckdb",
    )
    spark._picks_as_written(tree)
    out = tree.sql("spark")
    skip = "NOT x IS NULL AND NOT y IS NULL"
    assert f"MAX_BY(x, y) FILTER(WHERE {skip}) AS a" in out
    assert f"MIN_BY(x, y) FILTER(WHERE (z) AND ({skip})) AS b" in out
    assert "ELEMENT_AT(ARRAY_SORT(COLLECT_LIST(NAMED_STRUCT('k0', y, 'v', x))" in out
    assert "1).v END AS c" in out
    assert "FIRST(x) AS e" in out


def test_full_matches_and_splits() -> None:
    out = spark_sql(
        "select regexp_full_match(s, 'a.c') as a, string_split(s, '') as b, "
        "regexp_split_to_array(s, '[0-9]') as c from t"
    )
    assert "(s RLIKE '^(?:a.c)\\\\z') AS a" in out  # \z: Java's $ allows a final line break
    assert "CASE WHEN s = '' THEN ARRAY('') ELSE REGEXP_EXTRACT_ALL(s, '(?s).', 0) END AS b" in out
    assert "SPLIT(s, '[0-9]') AS c" in out


def test_list_distinct_is_refused_only_where_its_order_is_sent() -> None:
    """list_distinct's order is DuckDB's hash table's (spark_lists): refused where the list
    is sent as it is, not where nothing depends on its order. list_has_any(a, ...) (the
    second argument), list_max, list_min and unnest of one synced before the refusal, and
    were refused."""
    import pytest

    from reverse_etl.engine.spark_lists import refuse_unordered_distinct
    from reverse_etl.errors import EngineError

    free = [
        "list_sort(list_distinct(x))",
        "len(list_distinct(x))",
        "list_contains(list_distinct(x), 1)",
        "list_has_any(list_distinct(x), a)",
        "list_has_any(a, list_distinct(x))",
        "array_has_all(a, list_distinct(x))",
        "list_max(list_distinct(x))",
        "list_min(list_distinct(x))",
        "unnest(list_distinct(x))",
    ]
    for sql in free:
        refuse_unordered_distinct(sqlglot.parse_one(f"select {sql} from t", read="duckdb"))
    refuse_unordered_distinct(
        sqlglot.parse_one("select * from unnest(list_distinct(x))", read="duckdb")
    )
    for sql in (
        "list_distinct(x)",
        "array_to_string(list_distinct(x), ',')",
        "list_distinct(x)[1]",
    ):
        with pytest.raises(EngineError, match="hash table's order"):
            refuse_unordered_distinct(sqlglot.parse_one(f"select {sql} from t", read="duckdb"))

"""Which calls engine/pg_meanings.py writes for PostgreSQL with DuckDB's meaning, and which it
leaves. The values are checked on a real PostgreSQL by tests/warehouse/test_portable_pg.py
(tests/portable_exprs.py)."""

from __future__ import annotations

import sqlglot

from reverse_etl.engine.pg_meanings import duckdb_meanings

AWAY = "CASE WHEN ABS({x} - TRUNC({x})) = 0.5 THEN TRUNC({x}) + SIGN({x}) ELSE ROUND({x}) END"


def pg(sql: str) -> str:
    return duckdb_meanings(sqlglot.parse_one(sql, read="duckdb")).sql("postgres")


def test_round_of_a_number_rounds_half_away_from_zero() -> None:
    out = pg("select round(x) as a, round(x, 2) as b, round(7) as c from t")
    assert f"{AWAY.format(x='x')} AS a" in out
    assert "ROUND(x, 2) AS b" in out  # NUMERIC only in PostgreSQL: half away there too
    assert "ROUND(7) AS c" in out


def test_a_negative_position_counts_from_the_end() -> None:
    out = pg(
        "select substr(s, -3) as a, substr(s, -3, 2) as b, substring(s, k, 2) as c, "
        "substr(s, 2) as d from t"
    )
    assert "SUBSTRING(s FROM LENGTH(s) + (-3) + 1) AS a" in out
    assert "SUBSTRING(s FROM LENGTH(s) + (-3) + 1 FOR 2) AS b" in out
    assert (
        "CASE WHEN k < 0 THEN SUBSTRING(s FROM LENGTH(s) + (k) + 1 FOR 2) "
        "ELSE SUBSTRING(s FROM k FOR 2) END AS c"
    ) in out
    assert "SUBSTRING(s FROM 2) AS d" in out


def test_nested_calls_are_each_rewritten() -> None:
    out = pg("select round(round(x) * 2) as a, substr(substr(s, -4), -2) as b from t")
    inner = AWAY.format(x="x")
    assert f"{AWAY.format(x=inner + ' * 2')} AS a" in out
    once = "SUBSTRING(s FROM LENGTH(s) + (-4) + 1)"
    assert f"SUBSTRING({once} FROM LENGTH({once}) + (-2) + 1) AS b" in out


def test_a_strftime_format_is_written_for_to_char_with_its_text_quoted() -> None:
    """sqlglot wrote '%Y-%m-%dT%H' as 'YYYY-MM-DDTHH24', whose TH PostgreSQL reads as the
    ordinal suffix ('2024-03-15THH24'); names come unpadded and in English."""
    out = pg(
        "select strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') as a, strftime(ts, '%A %-d %B') as b, "
        "strftime(ts, '100%% %Y') as c, strftime(ts, '%U') as e, strftime(ts, f) as g from t"
    )
    assert """TO_CHAR(ts, 'YYYY"-"MM"-"DD"T"HH24":"MI":"SS"."US"Z"') AS a""" in out
    assert """TO_CHAR(ts, 'FMDay" "FMDD" "FMMonth') AS b""" in out
    assert """TO_CHAR(ts, '"100% "YYYY') AS c""" in out  # one quoted run
    assert "TO_CHAR(ts, 'WW') AS e" in out  # %U has no counterpart: as sqlglot writes it
    assert "TO_CHAR(ts, f) AS g" in out


def test_seconds_are_whole_as_in_duckdb() -> None:
    out = pg(
        "select extract(second from ts) as a, date_part('second', ts) as b, "
        "date_part('minute', ts) as c from t"
    )
    assert "CAST(FLOOR(EXTRACT(SECOND FROM ts)) AS BIGINT) AS a" in out
    assert "CAST(FLOOR(DATE_PART('second', ts)) AS BIGINT) AS b" in out
    assert "CAST(TRUNC(DATE_PART('minute', ts)) AS BIGINT) AS c" in out


def test_functions_postgresql_lacks_are_written_in_its_words() -> None:
    out = pg(
        "select quarter(d) as a, week(d) as b, dayofweek(d) as c, isodow(d) as e, "
        "second(t) as g, dayname(d) as h, monthname(d) as i, contains(s, 'x') as j, "
        "ends_with(s, 'x') = true as k from x"
    )
    assert "CAST(EXTRACT(QUARTER FROM d) AS BIGINT) AS a" in out
    assert "CAST(EXTRACT(WEEK FROM d) AS BIGINT) AS b" in out
    assert "CAST(EXTRACT(DOW FROM d) AS BIGINT) AS c" in out
    assert "CAST(EXTRACT(ISODOW FROM d) AS BIGINT) AS e" in out
    assert "CAST(FLOOR(EXTRACT(SECOND FROM t)) AS BIGINT) AS g" in out
    assert "TO_CHAR(d, 'FMDay') AS h" in out and "TO_CHAR(d, 'FMMonth') AS i" in out
    assert "(STRPOS(s, 'x') > 0) AS j" in out
    assert "(RIGHT(s, LENGTH('x')) = 'x') = TRUE AS k" in out


def test_more_functions_postgresql_lacks_are_written_in_its_words() -> None:
    out = pg(
        "select weekday(d) as a, isoyear(d) as b, yearweek(d) as c, strlen(s) as e, "
        "millisecond(t) as f, microsecond(t) as g, make_date(y, 2, 29) as h from t"
    )
    assert "CAST(EXTRACT(DOW FROM d) AS BIGINT) AS a" in out
    assert "CAST(EXTRACT(ISOYEAR FROM d) AS BIGINT) AS b" in out
    assert "CAST(EXTRACT(ISOYEAR FROM d) * 100 + EXTRACT(WEEK FROM d) AS BIGINT) AS c" in out
    assert "CAST(OCTET_LENGTH(s) AS BIGINT) AS e" in out
    assert "CAST(TRUNC(EXTRACT(MILLISECONDS FROM t)) AS BIGINT) AS f" in out
    assert "CAST(EXTRACT(MICROSECONDS FROM t) AS BIGINT) AS g" in out
    assert "MAKE_DATE(CAST(y AS INT), CAST(2 AS INT), CAST(29 AS INT)) AS h" in out


def test_epochs_of_a_time_truncate_as_duckdb_and_epoch_ms_of_a_number_stays() -> None:
    out = pg(
        "select epoch_us(t) as a, epoch_ns(t) as b, epoch_ms(timestamp '2024-01-01') as c, "
        "epoch_ms(n) as d from t"
    )
    assert "CAST(TRUNC(EXTRACT(EPOCH FROM t) * 1000000) AS BIGINT) AS a" in out
    assert "CAST(TRUNC(EXTRACT(EPOCH FROM t) * 1000000) AS BIGINT) * 1000 AS b" in out
    assert (
        "CAST(TRUNC(EXTRACT(EPOCH FROM CAST('2024-01-01' AS TIMESTAMP)) * 1000) AS BIGINT) AS c"
    ) in out
    # a column: its type is not known here; a number (milliseconds to a timestamp) is
    # right as sqlglot writes it, and a timestamp column then fails in PostgreSQL, loudly
    assert (
        "(TO_TIMESTAMP(CAST(n AS DOUBLE PRECISION) / POWER(10, 3)) AT TIME ZONE 'UTC') AS d" in out
    )


def test_regexp_extract_takes_its_group_from_regexp_match() -> None:
    out = pg(
        "select regexp_extract(s, 'a([0-9]+)') as a, regexp_extract(s, 'a([0-9]+)', 1) as b, "
        "regexp_extract(s, '(?i)x.') as c from t"
    )
    whole = (
        "CASE WHEN s IS NULL THEN NULL ELSE COALESCE((REGEXP_MATCH(s, '(a([0-9]+))'))[1], '') END"
    )
    assert f"{whole} AS a" in out
    assert f"{whole.replace('[1]', '[2]')} AS b" in out
    assert "COALESCE((REGEXP_MATCH(s, '(?i)(x.)'))[1], '') END AS c" in out


def test_regexp_extract_goes_as_written_where_its_meaning_is_not_known() -> None:
    out = pg(
        "select regexp_extract(s, p) as a, regexp_extract(s, 'x', k) as b, "
        "regexp_extract(s, '(?s)x.') as c, regexp_extract(s, '(x)', ['name']) as d from t"
    )
    assert "REGEXP_MATCH" not in out
    assert "REGEXP_EXTRACT(s, p, 0) AS a" in out
    assert "REGEXP_EXTRACT(s, '(?s)x.', 0) AS c" in out


def test_first_and_arg_max_are_the_first_element_of_an_array_agg() -> None:
    out = pg(
        "select arg_max(x, y) as a, arg_min(x, y) filter (where z > 1) as b, "
        "first(x order by y desc) as c, max_by(x, y) over (partition by k) as e, "
        "arg_max(x, y, 3) as g from t"
    )
    skip = "NOT x IS NULL AND NOT y IS NULL"
    assert f"(ARRAY_AGG(x ORDER BY y DESC NULLS LAST) FILTER(WHERE {skip}))[1] AS a" in out
    assert f"(ARRAY_AGG(x ORDER BY y ASC) FILTER(WHERE (z > 1) AND ({skip})))[1] AS b" in out
    assert "(ARRAY_AGG(x ORDER BY y DESC NULLS LAST))[1] AS c" in out
    # no ORDER BY inside a window's aggregate in PostgreSQL: as written (it fails there)
    assert "ARG_MAX(x, y) OVER (PARTITION BY k) AS e" in out
    window = pg("select first(x) over (partition by k order by t) as a from t")
    assert "(ARRAY_AGG(x) OVER (PARTITION BY k ORDER BY t))[1] AS a" in window
    assert "ARG_MAX(x, y, 3) AS g" in out  # the top 3, a list: as written


def test_full_matches_and_splits() -> None:
    out = pg(
        "select regexp_full_match(s, 'a.c') as a, regexp_full_match(s, '(?i)a') as b, "
        "regexp_full_match(s, p) as c, string_split(s, ',') as e, str_split(s, '') as g "
        "from t"
    )
    assert "(s ~ '^(?:a.c)$') AS a" in out
    assert "(s ~ '(?i)^(?:a)$') AS b" in out
    assert "REGEXP_FULL_MATCH(s, p) AS c" in out  # not a literal: as written (fails there)
    assert "WHEN s = '' THEN ARRAY[CAST('' AS TEXT)] ELSE STRING_TO_ARRAY(s, ',') END AS e" in out
    assert "SPLIT(s, '') AS g" in out  # characters in DuckDB, not there: as written


def test_a_lists_length_counts_an_empty_list_as_0() -> None:
    """array_length(l, 1) is NULL for an empty array in PostgreSQL; length() takes text."""
    out = pg(
        "select array_length(l) as a, len([1, 2]) as b, len(cast(x as int[])) as c, "
        "len(s) as e, length(l) as g from t"
    )
    assert (
        "CASE WHEN l IS NULL THEN NULL ELSE CAST(COALESCE(ARRAY_LENGTH(l, 1), 0) AS BIGINT) END"
        " AS a"
    ) in out
    assert "COALESCE(ARRAY_LENGTH(ARRAY[1, 2], 1), 0)" in out
    assert "COALESCE(ARRAY_LENGTH(CAST(x AS INT[]), 1), 0)" in out
    # a column: text or a list, not known here (a list column then fails there, loudly)
    assert "LENGTH(s) AS e" in out and "LENGTH(l) AS g" in out


def test_epoch_ms_and_len_of_columns_by_their_catalog_types() -> None:
    from reverse_etl.engine.pg_meanings import typed_meanings

    types = {("", "shop", "orders"): {"ts": "TIMESTAMP", "d": "DATE", "l": "INT[]", "n": "BIGINT"}}
    tree = duckdb_meanings(
        sqlglot.parse_one(
            "select epoch_ms(ts) as a, epoch_ms(d) as b, epoch_ms(n) as c, len(l) as e, "
            "len(s) as g from shop.orders",
            read="duckdb",
        )
    )
    out = typed_meanings(tree, "duckdb", types.get).sql("postgres")
    assert "CAST(TRUNC(EXTRACT(EPOCH FROM ts) * 1000) AS BIGINT) AS a" in out
    assert "CAST(TRUNC(EXTRACT(EPOCH FROM d) * 1000) AS BIGINT) AS b" in out
    assert (
        "(TO_TIMESTAMP(CAST(n AS DOUBLE PRECISION) / POWER(10, 3)) AT TIME ZONE 'UTC') AS c" in out
    )
    assert "COALESCE(ARRAY_LENGTH(l, 1), 0)" in out
    assert "LENGTH(s) AS g" in out  # not a column of the table: not known, as written
    unknown = typed_meanings(
        sqlglot.parse_one("select epoch_ms(ts) as a from other.t", read="duckdb"),
        "duckdb",
        types.get,
    ).sql("postgres")
    assert "TO_TIMESTAMP(CAST(ts AS DOUBLE PRECISION)" in unknown


def test_an_interval_divided_by_a_number_stays_a_division_of_the_interval() -> None:
    """sqlglot wrote DuckDB's ``/`` of an interval as ``CAST(<interval> AS DOUBLE
    PRECISION) / 2``, which PostgreSQL refuses; a division of numbers keeps the cast."""
    from reverse_etl.engine.pg_meanings import typed_meanings

    types = {("", "shop", "orders"): {"ts": "TIMESTAMP", "d": "DATE", "n": "BIGINT"}}
    model = (
        "select (ts - ts) / 2 as a, interval '3 day' / 2 as b, n / 2 as c, (d - d) / 2 as e "
        "from shop.orders"
    )
    tree = sqlglot.parse_one(model, read="duckdb")
    out = typed_meanings(tree, "duckdb", types.get).sql("postgres")
    assert "(ts - ts) / 2 AS a" in out
    assert "INTERVAL '3 DAY' / 2 AS b" in out
    assert "CAST(n AS DOUBLE PRECISION) / 2 AS c" in out
    assert "CAST((d - d) AS DOUBLE PRECISION) / 2 AS e" in out


def test_an_average_interval_divided_by_a_number_stays_a_division_of_the_interval() -> None:
    """``avg`` of an interval is an interval (sqlglot typed it a DOUBLE, so its division was
    written ``CAST(AVG(ts - ts) AS DOUBLE PRECISION) / 2``, which PostgreSQL refuses)."""
    from reverse_etl.engine.pg_meanings import typed_meanings

    types = {("", "shop", "orders"): {"ts": "TIMESTAMP", "n": "BIGINT"}}
    model = "select avg(ts - ts) / 2 as a, avg(n) / 2 as c from shop.orders"
    tree = sqlglot.parse_one(model, read="duckdb")
    out = typed_meanings(tree, "duckdb", types.get).sql("postgres")
    assert "AVG(ts - ts) / 2 AS a" in out
    assert "CAST(AVG(n) AS DOUBLE PRECISION) / 2 AS c" in out


def test_an_alias_a_later_clause_names_keeps_the_typed_rewrites() -> None:
    """qualify() writes the aliased expression where GROUP BY or a later select item names
    it: the typed copy had more nodes than the query, and every typed rewrite was given up
    (``len`` of a list went as PostgreSQL's ``length``, an error there)."""
    from reverse_etl.engine.pg_meanings import typed_meanings

    types = {("", "shop", "orders"): {"l": "INT[]", "n": "BIGINT"}}
    for model in (
        "select len(l) as k, count(*) as c from shop.orders group by k",
        "select len(l) as k, count(*) as c from shop.orders group by 1",
        "select len(l) as k, k + 1 as j from shop.orders",
    ):
        tree = sqlglot.parse_one(model, read="duckdb")
        out = typed_meanings(tree, "duckdb", types.get).sql("postgres")
        assert "COALESCE(ARRAY_LENGTH(l, 1), 0) AS BIGINT) END AS k" in out, model

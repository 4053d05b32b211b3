"""Static inference (reverse_etl/columns) against what DuckDB itself says of the same model:
cases a fuzzer found where `retl validate` read a model otherwise than DuckDB runs it.

Each case is checked against DuckDB's own ``DESCRIBE`` of the query over empty tables of the
declared types: the output names, in order, and each column's type class (what the checks of
a destination parameter read)."""

from __future__ import annotations

import duckdb
import pytest

from reverse_etl.columns import TableRef, TypeClass, infer_columns, parse_type

TABLES = {
    "t": [
        ("a", "integer"),
        ("b", "varchar"),
        ("Mixed", "varchar"),
        ("ts", "timestamp"),
        ("d", "date"),
        ("amt", "decimal(12,2)"),
        ("tags", "varchar[]"),
        ("tm", "time"),
    ],
    "u": [("a", "integer"), ("c", "varchar"), ("ts", "timestamp"), ("email", "varchar")],
    "v": [("id", "varchar"), ("a", "integer"), ("b", "varchar")],
    "w": [("j", "json"), ("k", "varchar")],
}
SCHEMA = {TableRef.of(name, "s"): cols for name, cols in TABLES.items()}


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema s")
    for name, cols in TABLES.items():
        con.execute(f"create table s.{name} (" + ", ".join(f'"{n}" {t}' for n, t in cols) + ")")
    return con


def described(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[str, TypeClass | None]]:
    rows = con.execute(f"describe {sql}").fetchall()
    out = []
    for name, type_text, *_ in rows:
        parsed = parse_type(str(type_text))
        out.append((str(name), parsed.cls if parsed is not None else None))
    return out


def inferred(sql: str) -> list[tuple[str, TypeClass]]:
    result = infer_columns(sql, schema=SCHEMA)
    assert not result.issues and result.complete, result.issues
    return [(c.name, c.type.cls) for c in result.columns]


STARS = [
    # REPLACE of a name two joined tables have: DuckDB keeps one column (a false
    # "column name appears more than once" before)
    "select * replace (1 as a) from s.v as t join s.u as u on t.a = u.a",
    "select * replace (upper(t.b) as a) from s.v as t, s.v as w",
    "select * from (select * replace (1 as a) from s.v as t join s.u as u on t.a = u.a) as q",
    # REPLACE and RENAME of a USING join's column
    "select * replace ('x' as a) from s.v join s.u using (a)",
    "select * rename (a as z) from s.v join s.u using (a)",
    # RENAME: the new name, as written
    "select * rename (a as z) from s.v",
    "select * rename (a as z), a from s.v",
    "select * rename (a as A) from s.v",
    "select * exclude (b) rename (a as b) from s.v",
    "select t.* rename (a as z), u.* rename (a as y) from s.v as t join s.u as u using (a)",
    'select * rename ("Mixed" as event) from s.t',
]


@pytest.mark.parametrize("sql", STARS)
def test_stars_are_expanded_as_duckdb_does(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    assert inferred(sql) == described(con, sql)


TYPES = [
    # an interval scaled by a number is an INTERVAL (it was the number's type: `value` of
    # it passed validate, and failed at sync)
    "select a * interval '1 day' as value, interval 1 hour / 2 as half,\n"
    "  ts + a * interval '1 day' as event_time from s.t",
    # a timestamp minus a timestamp is an INTERVAL, a date minus a date a number of days
    # (it was a DATE: `num_items` of it was a false error)
    "select ts - ts as waited, d - d as num_items, d - ts as since, d - 1 as day from s.t",
    # epoch_ms of a timestamp is its milliseconds (epoch_ms of a number is a timestamp)
    "select epoch_ms(ts) as value, epoch_ms(a) as event_time from s.t",
    # a date plus a time of day is a TIMESTAMP (it was a DATE)
    "select d + tm as event_time, tm + d as since from s.t",
    # an integer column plus a date is a DATE, either way round (it was an INTEGER)
    "select a + d as event_time, d + a as since, a::smallint + d as day from s.t",
    # the average of an interval is an INTERVAL, of a date or timestamp a TIMESTAMP
    # (TIMESTAMPTZ's its own), of a time a TIME (each was a number: `value` of one passed
    # validate, and failed at sync; `event_time` of avg(ts) was a false error)
    "select avg(ts - ts) as value, avg(a * interval '1 day') as waited, avg(d) as day,\n"
    "  avg(ts) as event_time, avg(ts::timestamptz) as tz, avg(tm) as tm, avg(a) as n from s.t",
    # a text literal minus a date is a number of days, minus a timestamp an INTERVAL: DuckDB
    # casts the text to the other side's type (a DATE and a TIMESTAMP before)
    "select '2020-01-01' - d as num_items, '2020-01-01 10:00' - ts as waited,\n"
    "  '2020-01-01' - ts::timestamptz as tz, '2020-01-01' - ts::date as days from s.t",
]


@pytest.mark.parametrize("sql", TYPES)
def test_time_arithmetic_is_typed_as_duckdb_does(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    assert inferred(sql) == described(con, sql)


def test_now_is_a_timestamp_with_time_zone(con: duckdb.DuckDBPyConnection) -> None:
    # now() and its synonyms are a TIMESTAMPTZ (unknown before: `event_time` of now() was
    # "type not inferred"), and so are the values computed from one
    sql = (
        "select now() as event_time, get_current_timestamp() as a, NOW() as b,\n"
        "  transaction_timestamp() as c, now() - ts as waited, epoch_ms(now()) as value,\n"
        "  now()::date as day from s.t"
    )
    result = infer_columns(sql, schema=SCHEMA)
    rows = con.execute(f"describe {sql}").fetchall()
    assert not result.issues and result.complete, result.issues
    types = [(n, parse_type(str(t))) for n, t, *_ in rows]
    assert [(c.name, c.type) for c in result.columns] == types


RUN_TIME = [
    # columns listed only when the query runs: not a column of their own (a complete list of
    # wrong names before: "a" for `* LIKE '%a%'`, unnamed "MIN(COLUMNS(...))")
    "select * like '%a%' from s.t",
    "select * similar to 'a.*', b as event from s.t",
    "select min(columns('a|b')) from s.t",
    "select * from (select columns(*), 1 as one from s.v) as q",
    "with c as (select columns('^(a|b)$'), 'x' as event from s.v) select * from c",
    # a qualified star's pattern, GLOB, and the ILIKE forms sqlglot reads as a pattern (a
    # complete list with a made-up boolean column "t.* LIKE 'b%'" before)
    "select a as event, t.* like 'b%' from s.v as t",
    "select t.* similar to 'b.*', a as event from s.v as t",
    "select * glob 'b*' from s.v",
    "select a, * not ilike 'B%' from s.v",
    "select a, * exclude (a) ilike 'B%' from s.v",
]


@pytest.mark.parametrize("sql", RUN_TIME)
def test_columns_known_only_at_run_time_leave_the_list_incomplete(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    result = infer_columns(sql, schema=SCHEMA)
    assert not result.issues
    assert not result.complete
    listed = [(c.name, c.type.cls) for c in result.columns]
    described_ = described(con, sql)
    assert all(c.named for c in result.columns)
    assert all(col in described_ for col in listed)  # each one listed is DuckDB's


def test_columns_in_a_where_subquery_leave_the_list_complete(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Only the output's own SELECT (and what it reads from) counts: COLUMNS(*) in a WHERE's
    subquery made the whole list incomplete (8e61202)."""
    sql = "select a as event from s.v where exists (select columns(*) from s.u)"
    assert inferred(sql) == described(con, sql)


SET_OPERATIONS = [
    # DuckDB's common type of the branches, not the left branch's (INTEGER before: a text
    # column judged a number, a missed error)
    "select 1 as v from s.t union all select 'x' from s.t",
    "select a as v from s.t union select c from s.u",
    "select true as v from s.t union select a from s.t",
    "select d as v from s.t union all select ts from s.t",
    "select a as v, amt as w from s.t intersect select amt, a from s.t",
    "select a as v from s.t except select 2.5 from s.t",
    "select * from (select a as v from s.t union all select b from s.v) as q",
    "with w as (select tags as v from s.t union all select [1]) select v from w",
    # BY NAME: columns matched by name, and those of one branch only added (matched by
    # position before: c typed as a's INTEGER, b missing)
    "select a, b from s.v union all by name select c as b, ts as a from s.u",
    "select a from s.v union by name select c, a from s.u",
    "select * from (select a, b from s.v union by name select 'x' as a, ts from s.u) as q",
]


@pytest.mark.parametrize("sql", SET_OPERATIONS)
def test_set_operations_are_typed_as_duckdb_does(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    assert inferred(sql) == described(con, sql)


LISTS = [
    # list || list is DuckDB's list_concat: a list (a VARCHAR before)
    "select tags || tags as contents, tags || ['x'] as l from s.t",
    "select [a] || [a, 2] as l, [a] || [amt] as m, [d] || [ts] as n from s.t",
    "select list_concat(tags, ['x']) as l, b || 'x' as event, b || a as m from s.t",
]


@pytest.mark.parametrize("sql", LISTS)
def test_lists_concatenated_are_lists(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    assert inferred(sql) == described(con, sql)


STRUCT_STARS = [
    # a struct column's star is its fields (one column named '*' before, of no type)
    "select st.* from (select {'a': a, 'b': 'x'} as st from s.t) as q",
    "with w as (select {'b': ts, 'a': tags} as st, a as z from s.t) select z, st.* from w",
    "select * from (select st.* from (select {'a': a, 'b': amt} as st from s.t) as q) as r",
    "select st.* exclude (a), b from (select {'a': d, 'b': 2.5} as st, 'x' as b from s.t) as q",
    # a table's star is still the table's
    "select t.*, u.c from s.t as t join s.u as u on t.a = u.a",
    # REPLACE and RENAME on a struct's star (one column named '*' before, or a false
    # "column 'a' is not in 'q'")
    "select st.* replace (2 as A) from (select {'a': 1, 'b': 2} as st) as q",
    "select a, st.* rename (A as z) from (select {'a': b, 'b': d} as st, a from s.t) as q",
    "select st.* exclude (a) rename (b as a)\n"
    "from (select {'a': 1, 'b': 'x', 'c': d} as st from s.t) as q",
    "select st.* replace (upper(st.b) as b) from (select {'a': 1, 'b': 'x'} as st) as q",
]


@pytest.mark.parametrize("sql", STRUCT_STARS)
def test_a_struct_star_is_its_fields(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    assert inferred(sql) == described(con, sql)


PIVOTS = [
    # a column a PIVOT passes on keeps its spelling ('mixed' before: a false "missing
    # column 'Mixed'")
    "select * from (select a, \"Mixed\", b from s.t) pivot (count(*) for b in ('x', 'y'))",
    'select * from (select "Mixed" as "MiXeD", b, a from s.t) pivot (max(a) for b in (\'q\'))',
    "with c as (select 'e' as \"Event\", b, a from s.v)\n"
    "select * from c pivot (sum(a) for b in ('p'))",
    "select * from s.u pivot (count(*) for c in ('x'))",
]


@pytest.mark.parametrize("sql", PIVOTS)
def test_a_pivot_keeps_the_names_it_passes_on(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    assert inferred(sql) == described(con, sql)


@pytest.mark.parametrize(
    "sql",
    [
        # a column of a subquery's COLUMNS(...) read by name: no error (it was "column 'a'
        # is not in '_0'", though DuckDB runs it), the list incomplete as COLUMNS leaves it
        "select a from (select columns('a|b') from s.t)",
        "select b as event, one from (select columns('^b$'), 1 as one from s.t) as q",
        "with c as (select columns(*) from s.u) select c, ts from c",
    ],
)
def test_a_subquerys_columns_read_by_name_are_no_error(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    result = infer_columns(sql, schema=SCHEMA)
    assert not result.issues
    assert not result.complete
    names = [name for name, _ in described(con, sql)]
    assert [c.name for c in result.columns] == names


@pytest.mark.parametrize(
    "sql",
    [
        # an outer relation's COLUMNS(...) read by a subquery or a LATERAL (correlated):
        # no error (5cd2016 looked at the relations the subquery reads only: "column 'b' is
        # not in 'a' or table s.u"; a derived table's was an error before that, too)
        "with a as (select columns('a|b') from s.t) "
        "select * from a where exists (select 1 from s.u where u.c = b)",
        "with a as (select columns('a|b') from s.t) "
        "select b, (select max(c) from s.u where u.c = b) as m from a",
        "with a as (select columns('a|b') from s.t) select bb from a, lateral (select b as bb) l",
        "select * from (select columns('a|b') from s.t) q "
        "where exists (select 1 from s.u where u.c = b)",
    ],
)
def test_an_outer_querys_run_time_columns_read_by_a_subquery_are_no_error(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    described(con, sql)  # DuckDB runs it
    result = infer_columns(sql, schema=SCHEMA)
    assert not result.issues
    assert not result.complete


@pytest.mark.parametrize(
    "sql",
    [
        # a column no relation has, beside a COLUMNS(...) the scope does not read: an error
        "with a as (select columns('a|b') from s.t), c as (select zzz from s.u) select * from c, a",
        "with a as (select columns('a|b') from s.t) "
        "select * from s.u where exists (select 1 from s.t where zzz = 1)",
    ],
)
def test_a_run_time_column_list_not_read_hides_no_error(sql: str) -> None:
    result = infer_columns(sql, schema=SCHEMA)
    assert any(i.code == "unresolved_column" and "'zzz'" in i.message for i in result.issues)


NATURAL = [
    # a NATURAL (or USING) join's merged column is named as its left relation spells it
    # ('a' before, where DuckDB says 'A')
    'select * from (select a as "A", b from s.v) as x natural join s.u',
    'select a, c from (select a as "A", b from s.v) as x natural join s.u',
    'select "A", c from (select a as "A", b from s.v) as x join s.u using (a)',
    "select a, id from s.v natural join (select a, 'x' as e from s.u) as y where a > 1",
    # the right relation's spelling in a RIGHT join, the name as written in a FULL one
    'select a from s.u natural right join (select a as "A", b from s.v) as x',
    'select A, c from (select a as "a", b from s.v) as x natural full join s.u',
    'select * from (select a as "A", b from s.v) as x full join s.u using (a)',
]


@pytest.mark.parametrize("sql", NATURAL)
def test_a_natural_joins_column_is_named_as_duckdb_does(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    assert inferred(sql) == described(con, sql)


PIVOT_JOINS = [
    # a PIVOT's aggregate reads the relation pivoted, not the table joined to the pivot's
    # result (a false "column 'a' is ambiguous: 'q' and table s.u have it" before)
    "select p.d, x from (select a, b, d from s.t) as q pivot (sum(a) for b in ('x')) as p\n"
    "join s.u on p.d = u.ts",
    "select p.* from s.t pivot (max(a) for b in ('a', 'y')) as p join s.u on p.d = u.ts",
]


@pytest.mark.parametrize("sql", PIVOT_JOINS)
def test_a_pivots_aggregate_reads_the_relation_pivoted(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    described(con, sql)  # DuckDB runs it
    result = infer_columns(sql, schema=SCHEMA)
    assert not result.issues


STRUCT_FIELDS = [
    # a struct's field names keep their spelling ('Cc' became 'cc' before), and a field is
    # read in any case, named as the query writes it (typed unknown before, as 'cc')
    "select {'Cc': 1, 'dD': b} as st from s.t",
    'select struct_pack("Bb" := 1) as st, {\'x\': a}::struct("X" int) as y from s.t',
    "select st.Cc, st.cc as x, q.st.CC from (select {'Cc': 1, 'e': d} as st from s.t) as q",
    "with w as (select {'Ev': {'Io': 1}, 'Cc': 'x'} as st) select w.st.cC, st.eV.iO, st from w",
    'select st.* from (select struct_pack("Aa" := 1, "bB" := ts) as st from s.t) as q',
]


@pytest.mark.parametrize("sql", STRUCT_FIELDS)
def test_a_structs_fields_keep_their_spelling(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    rows = con.execute(f"describe {sql}").fetchall()
    result = infer_columns(sql, schema=SCHEMA)
    assert not result.issues and result.complete, result.issues
    assert [(c.name, c.type.text) for c in result.columns] == [(n, t) for n, t, *_ in rows]


def test_a_declared_structs_fields_keep_their_spelling(con: duckdb.DuckDBPyConnection) -> None:
    schema = {TableRef.of("x", "s"): [("st", 'struct("Bb" int, cC varchar)')]}
    con.execute('create table s.x (st struct("Bb" int, cC varchar))')
    sql = "select st, st.bb, st.CC as z, st.* from s.x"
    result = infer_columns(sql, schema=schema)
    rows = con.execute(f"describe {sql}").fetchall()
    assert not result.issues
    assert [(c.name, c.type.text) for c in result.columns] == [(n, t) for n, t, *_ in rows]


def test_a_chain_of_ctes_is_looked_at_once_per_cte(monkeypatch: pytest.MonkeyPatch) -> None:
    # each CTE's scope lists every CTE before it as a source: looking for COLUMNS(...)
    # through them path by path took exponential time (50 CTEs: minutes); each is looked at
    # once per scope that reads them now. Counted, not timed.
    from reverse_etl.columns import trace

    calls = 0
    original = trace._run_time_columns

    def counted(*args: object) -> bool:
        nonlocal calls
        calls += 1
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(trace, "_run_time_columns", counted)
    n = 14
    ctes = ["k0 as (select a, b from s.t)"]
    ctes += [f"k{i} as (select a + {i} as a, b from k{i - 1})" for i in range(1, n)]
    sql = "with " + ", ".join(ctes) + f" select * from k{n - 1}"
    result = infer_columns(sql, schema=SCHEMA)
    assert [c.name for c in result.columns] == ["a", "b"] and not result.issues
    assert calls <= n**3  # about n**3 / 1.5 here; path by path it was 49136


def test_a_chain_of_fifty_ctes_is_looked_at_once_per_cte(monkeypatch: pytest.MonkeyPatch) -> None:
    # each CTE's scope lists every CTE before it as a source, read or not: looking at each
    # one's sources, once per scope of the query, was more than cubic still (50 CTEs: about
    # a second). Only the relations a scope reads are looked at, each once. Counted.
    from reverse_etl.columns import infer, trace

    calls = {"run_time": 0, "sources": 0}
    run_time, sources = trace._run_time_columns, infer._source_columns

    def counted_run_time(*args: object) -> bool:
        calls["run_time"] += 1
        return run_time(*args)  # type: ignore[arg-type]

    def counted_sources(*args: object) -> object:
        calls["sources"] += 1
        return sources(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(trace, "_run_time_columns", counted_run_time)
    monkeypatch.setattr(infer, "_source_columns", counted_sources)
    n = 50
    ctes = ["k0 as (select a, b from s.t)"]
    ctes += [f"k{i} as (select a + {i} as a, b from k{i - 1})" for i in range(1, n)]
    sql = "with " + ", ".join(ctes) + f" select * from k{n - 1}"
    result = infer_columns(sql, schema=SCHEMA)
    assert [c.name for c in result.columns] == ["a", "b"] and not result.issues
    assert calls["run_time"] <= 3 * n  # linear (it was about n**3 / 1.5)
    assert calls["sources"] <= 3 * n  # (once per scope: each one's n sources' columns)


def exact(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """The names and the types (not only their class) are DuckDB's."""
    result = infer_columns(sql, schema=SCHEMA)
    assert not result.issues and result.complete, result.issues
    rows = con.execute(f"describe {sql}").fetchall()
    assert [(c.name, c.type) for c in result.columns] == [
        (n, parse_type(str(t))) for n, t, *_ in rows
    ]


FUNCTIONS = [
    # median, mean, list_avg, list_append, age, date_part: typed unknown before ("type not
    # inferred" for `value` of one)
    "select median(a) as n, median(amt) as m, median(ts) as t, median(d) as day,\n"
    "  median(a::double) as x from s.t",
    "select mean(a) as n, mean(ts) as t, mean(d) as day, mean(ts - ts) as w from s.t",
    "select list_avg([a, 2]) as n, list_avg([ts]) as t from s.t",
    "select list_append(tags, 'x') as l, list_append([a], 1) as m, list_append([a], 2.5::double)\n"
    "  as n, list_append([d], ts) as o from s.t",
    "select age(ts, ts) as w, age(ts) as v, age(d, d) as u from s.t",
    "select date_part('year', d) as y, date_part('epoch', ts) as e, datepart('dow', ts) as w,\n"
    "  date_part('julian', d) as j from s.t",
    # epoch (and julian) are a DOUBLE, the other parts a BIGINT (epoch was a BIGINT: a
    # number of seconds with its fraction, judged a whole number)
    "select extract(epoch from ts) as e, extract(year from d) as y, extract(julian from ts) as j,\n"
    "  extract(epoch from tm) as f from s.t",
    # current_timestamp is now(), WITH TIME ZONE; current_time too (a TIMESTAMP and a TIME)
    "select current_timestamp as t, current_time as tm, current_date as d from s.t",
]


@pytest.mark.parametrize("sql", FUNCTIONS)
def test_functions_are_typed_as_duckdb_does(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    exact(con, sql)


AUTO_NAMES = [
    # an expression without AS is named as DuckDB names it: count(*) is count_star() and
    # function names are in lower case ('COUNT(*)', 'SUM(a)', 'MEDIAN(a)' before)
    "select count(*), count(), count(a), count(distinct a), sum(a), min(a), max(b), avg(a),\n"
    "  median(a), Upper(max(b)), any_value(b) from s.t",
    "select b, count(*), count(*) + 1 as n from s.t group by b",
    "select count(*) over (), count() over (partition by b) from s.t",
    # operators in parentheses, a parenthesised column by its name, COALESCE in capitals,
    # a cast's type as DuckDB spells it (before: 'a + 1', '(a)', 'coalesce(a, 1)', 'CAST(b
    # AS TEXT)', 'CAST("Mixed" AS TEXT)')
    'select a + 1, (a), (("Mixed")), (a + 1) * 2, a = 1 and b is null, a in (1, 2),\n'
    "  a between 1 and 2, not a, b || 'x', (upper(b)) from s.t",
    "select COALESCE(a, 1), coalesce(b, 'x') || b, ifnull(a, 2), coalesce((a), coalesce(a, 3))\n"
    "  from s.t",
    'select CAST(a AS TEXT), b::varchar, a::int, a::double, d::date, cast("Mixed" as text),\n'
    "  tags::text[], a::real, ts::timestamptz, (a + 1)::text from s.t",
]


@pytest.mark.parametrize("sql", AUTO_NAMES)
def test_unnamed_columns_are_named_as_duckdb_does(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    assert [c.name for c in infer_columns(sql, schema=SCHEMA).columns] == [
        n for n, _ in described(con, sql)
    ]


NULL_SETS = [
    # a column NULL in every branch of the query's set operation is an INTEGER (NULL before)
    "select null as v union all select null",
    "select null union all select null union all select null",
    "select null as v, 1 as w from s.t union select null, null from s.t",
    "select null as v union all by name select null as v, 'x' as w",
]


@pytest.mark.parametrize("sql", NULL_SETS)
def test_a_set_operations_null_column_is_an_integer(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    exact(con, sql)


# --- a syntax error's fix --------------------------------------------------------------
def test_a_typo_is_the_users_to_correct_and_syntax_duckdb_reads_is_the_checkers() -> None:
    """'please report it' was the fix of every syntax error, a plain typo too (a missing
    comma): DuckDB's own parser now says which it is."""
    import sqlglot
    from sqlglot.errors import ParseError

    from reverse_etl.columns.syntax import syntax_issue

    typo = "SELECT 1 AS a 2 AS b"
    with pytest.raises(ParseError) as raised:
        sqlglot.parse(typo, read="duckdb")
    assert (
        syntax_issue(raised.value, typo).hint
        == "DuckDB cannot read it either: correct the SQL there"
    )
    # SQL DuckDB reads (here a stand-in) keeps the report hint, as does another dialect
    assert "please report it" in (syntax_issue(raised.value, "SELECT 1").hint or "")
    assert "please report it" in (syntax_issue(raised.value, typo, "postgres").hint or "")


def test_duckdbs_parse_check_takes_text_it_cannot_read_as_unread() -> None:
    """A lone surrogate made duckdb.extract_statements raise TypeError (a traceback)."""
    from reverse_etl.engine.duckdb import parses

    assert parses("SELECT 1 AS a")
    assert not parses("SELECT 1 AS a 2 AS b")
    assert not parses("SELECT '\udcff' AS a")


def test_a_struct_star_rewrite_that_trips_is_a_note_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The struct-star and field-spelling rewrites ran outside the net that turns an
    optimizer's unexpected error into an 'unsupported' issue."""
    from reverse_etl.columns import infer

    def trips(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(infer, "expand_struct_stars", trips)
    result = infer.infer_columns("SELECT 1 AS a", schema={})
    assert not result.complete
    assert [i.code for i in result.issues] == ["unsupported"]


@pytest.mark.parametrize(
    "sql",
    [
        # a column list names a CTE's or a subquery's columns, over the query's own names
        # and aliases: 'a', 'b' before, and a recursive CTE's '1' (unnamed), though DuckDB
        # names them x, y, n
        "with c(x, y) as (select a, b from s.t) select x, y from c",
        "with c(X, y) as (select a, b from s.t) select * from c",
        "with c(x) as (select a as k, b as m from s.t) select * from c",
        "select * from (select a, b from s.t) as q(x, y)",
        "with c(x, y) as (select a, count(*) from s.t group by a) select c.* from c",
        "with recursive r(n, s) as (select 1, 'a' union all "
        "select n + 1, s || 'a' from r where n < 3) select * from r",
        "with c(x) as (select a from s.t union all select a from s.u union all select 1) "
        "select * from c",
    ],
)
def test_a_column_list_names_the_columns(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    assert inferred(sql) == described(con, sql)


NULL_READS = [
    # a NULL read from a subquery or CTE is an INTEGER, as DuckDB binds it (unknown before:
    # "type not inferred")
    "select x from (select null as x)",
    "with c as (select null as x) select * from c",
    "select q.x, q.y from (select null as x, 1 as y) as q",
    "select x from (select x from (select null as x))",
    "select x + 1 as n from (select null as x)",
    # inside an expression it is still a NULL: coalesce and CASE take the other value's
    # type, a VARCHAR (an INTEGER, a false "email must be text" error, before)
    "with c as (select null as x, b from s.t) select coalesce(x, b) as y from c",
    "with c as (select null as x, a, b from s.t) "
    "select case when a > 1 then x else b end as y, greatest(x, b) as z from c",
    "select coalesce(q.x, 'a') as y, (x) as z from (select null as x) as q",
]


@pytest.mark.parametrize("sql", NULL_READS)
def test_a_null_read_from_a_subquery_is_an_integer(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    exact(con, sql)


JSON_ARROWS = [
    # ->> is a VARCHAR, on a JSON or a text column (unknown before). -> (a JSON) is left
    # untyped: see sqlglot_fixes.install_null_and_json
    "select j->>'k' as v, j->>'$.k.z' as x, j->>0 as z from s.w",
    "select k->>'k' as v from s.w",
    "with c as (select j->>'k' as v from s.w) select * from c",
]


@pytest.mark.parametrize("sql", JSON_ARROWS)
def test_json_arrows_are_typed_as_duckdb_does(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    exact(con, sql)


WINDOW_ORDERS = [
    # a window's ORDER BY reads the tables' column before an output alias of that name:
    # ambiguous where two joined tables have it (missed before, DuckDB refuses the query)
    "select 1 as a, row_number() over (order by a) as r from s.t join s.u on t.ts = u.ts",
    "select t.a as a, sum(t.a) over (partition by c order by a desc) as r\n"
    "from s.t join s.u on t.ts = u.ts",
    "select t.a, row_number() over (order by a) as r from s.t join s.u on t.ts = u.ts",
]


@pytest.mark.parametrize("sql", WINDOW_ORDERS)
def test_an_ambiguous_column_in_a_windows_order_is_an_error(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    with pytest.raises(duckdb.BinderException, match="Ambiguous"):
        con.execute(f"describe {sql}")
    issues = infer_columns(sql, schema=SCHEMA).issues
    assert [(i.code, i.subject) for i in issues] == [("unresolved_column", "a")]
    assert "ambiguous" in issues[0].message and issues[0].line is not None


@pytest.mark.parametrize(
    "sql",
    [
        "select t.a as a, row_number() over (order by a) as r from s.t",
        "select 1 as x, row_number() over (order by x) as r from s.t join s.u on t.a = u.a",
    ],
)
def test_a_windows_order_on_an_alias_alone_is_no_error(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    assert inferred(sql) == described(con, sql)


@pytest.mark.parametrize(
    ("dialect", "sql", "names"),
    [
        # PostgreSQL names a cast after its column (FigureColname), through any number of
        # casts; Spark names one cast of a column after it (ResolveAliases). Before: each
        # was an unnamed column ("output column CAST(a AS DATE) has no name").
        ("postgres", "select a::date, cast(b as text), (a)::text::int from s.t", ["a", "b", "a"]),
        ("postgres", "select x::date from (select a as x from s.t) as q", ["x"]),
        ("spark", "select a::date, cast(b as string) from s.t", ["a", "b"]),
    ],
)
def test_a_cast_of_a_column_is_named_after_it_in_postgres_and_spark(
    dialect: str, sql: str, names: list[str]
) -> None:
    result = infer_columns(sql, schema=SCHEMA, dialect=dialect)
    assert not result.issues
    assert [(c.name, c.named) for c in result.columns] == [(n, True) for n in names]


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("postgres", "select a + 1 from s.t"),
        ("spark", "select cast(cast(a as date) as string) from s.t"),
        ("duckdb", "select a::date from s.t"),
    ],
)
def test_other_unaliased_expressions_stay_unnamed(dialect: str, sql: str) -> None:
    assert [c.named for c in infer_columns(sql, schema=SCHEMA, dialect=dialect).columns] == [False]


PIVOT_STATEMENTS = [
    # DuckDB's statement form of PIVOT read as a relation: every column it names was a false
    # unresolved-column error ("column 'b' is not in the tables the query reads"), or sqlglot
    # could not analyse it; the SELECT ... PIVOT (...) form already worked
    "select * from (pivot s.v on b in ('x') using sum(a) group by id)",
    "select id, x from (pivot s.v on b in ('x', 'y') using sum(a) group by id) as p",
    "select * from (pivot s.v on b in ('x') using sum(a) as s, max(a) as m group by id)",
    "select * from (pivot s.v on b in ('x') using sum(a))",
    "with p as (pivot s.v on b in ('x') using sum(a) group by id) select * from p",
    "select * from (pivot (select * from s.v) on b in ('x') using sum(a) group by id) as p\n"
    "  join s.v as w using (id)",
]


@pytest.mark.parametrize("sql", PIVOT_STATEMENTS)
def test_a_pivot_statement_in_a_subquery_is_read_as_duckdb_does(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    assert inferred(sql) == described(con, sql)


def test_a_pivot_statement_without_in_list_has_run_time_columns() -> None:
    # its columns come from the data: not known, but nothing false said of the names it reads
    good = infer_columns("select * from (pivot s.v on b using sum(a) group by id)", schema=SCHEMA)
    assert not good.issues and not good.complete
    bad = infer_columns("select * from (pivot s.v on bx using sum(zz))", schema=SCHEMA)
    assert [i.subject for i in bad.issues] == ["bx", "zz"]


LIST_TYPES = ["integer", "bigint", "double", "decimal(12,2)", "varchar", "boolean", "date"]
LIST_TYPES += ["timestamp", "timestamptz", "time", "interval", "json", "uuid", "blob"]
LISTS = {f"l{i}": f"{t}[]" for i, t in enumerate(LIST_TYPES)}
LIST_SCHEMA = {TableRef.of("l", "s"): list(LISTS.items())}
LIST_CASES = [
    # lists of items DuckDB finds no common type of: "Cannot concatenate lists of types
    # INTEGER[] and VARCHAR[]" (each passed validate before, and failed at sync)
    "select list_append([1], 'x') as l from s.t",
    "select [1] || ['a'] as l from s.t",
    "select list_concat([1], ['a']) as l from s.t",
    "select array_concat([a], tags) as l from s.t",
    "select list_prepend(a, tags) as l from s.t",
    "select list_append(tags, a) as l from s.t",
    "select list_concat(tags, tags, [a]) as l from s.t",
    # DuckDB mixes numbers, and NULL goes with anything
    "select list_append([1], 1.5) as l, [1] || [2.5::double] as m from s.t",
    "select list_concat([a], [amt], null) as l, list_append(tags, null) as m from s.t",
    "select list_prepend('x', tags) as l, [d] || [ts] as m from s.t",
]


def refused(con: duckdb.DuckDBPyConnection, sql: str) -> bool:
    try:
        con.execute(f"describe {sql}")
    except duckdb.BinderException as exc:
        assert "Cannot concatenate lists of types" in str(exc)
        return True
    return False


@pytest.mark.parametrize("sql", LIST_CASES)
def test_lists_of_clashing_items_are_type_errors_as_in_duckdb(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    result = infer_columns(sql, schema=SCHEMA)
    errors = [i for i in result.issues if i.code == "type_error"]
    assert [i.code for i in result.issues] == [i.code for i in errors]
    assert bool(errors) == refused(con, sql)
    if errors:
        assert errors[0].message == "cannot concatenate lists of types INTEGER[] and VARCHAR[]" or (
            errors[0].message == "cannot concatenate lists of types VARCHAR[] and INTEGER[]"
        )
        assert errors[0].line == 1
    else:
        assert inferred(sql) == described(con, sql)


def test_which_lists_concatenate_is_duckdbs_answer() -> None:
    con = duckdb.connect()
    con.execute("create schema s")
    con.execute("create table s.l (" + ", ".join(f"{n} {t}" for n, t in LISTS.items()) + ")")
    differ = []
    for left in LISTS:
        for right in LISTS:
            sql = f"select list_concat({left}, {right}) as l from s.l"
            result = infer_columns(sql, schema=LIST_SCHEMA)
            said = any(i.code == "type_error" for i in result.issues)
            if said != refused(con, sql):
                differ.append((LISTS[left], LISTS[right], said))
    assert differ == []


LIST_FUNCTIONS = [
    # list_cat, array_push_back and array_push_front: typed as list_concat, list_append and
    # list_prepend (of no type before), their clashing items a type error (missed before)
    "select list_cat(tags, ['x']) as l, array_push_back(tags, 'y') as m,\n"
    "  array_push_front(tags, 'z') as n, list_cat([a], [amt], null) as o from s.t",
    "select array_push_back([a], 2.5) as l, array_push_front(null, d) as m from s.t",
    "select list_cat(tags, [a]) as l from s.t",
    "select array_push_back(tags, a) as l from s.t",
    "select array_push_front([a], b) as l from s.t",
    # a list and what is no list: DuckDB concatenates neither (a VARCHAR before, no error)
    "select tags || 'x' as l from s.t",
    "select b || tags as l from s.t",
    "select [a] || 2 as l from s.t",
    "select list_cat(tags, 'x') as l from s.t",
    "select list_concat(tags, b) as l from s.t",
]


@pytest.mark.parametrize("sql", LIST_FUNCTIONS)
def test_list_functions_are_typed_and_checked_as_in_duckdb(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    result = infer_columns(sql, schema=SCHEMA)
    errors = [i for i in result.issues if i.code == "type_error"]
    assert [i.code for i in result.issues] == [i.code for i in errors]
    try:
        expected = described(con, sql)
    except duckdb.BinderException:
        assert len(errors) == 1 and "cannot concatenate" in errors[0].message
        assert errors[0].line == 1
    else:
        assert not errors
        assert inferred(sql) == expected


PARTITIONS_AND_AGGREGATE_ORDERS = [
    # a window's PARTITION BY and an aggregate's ORDER BY read the tables' column before an
    # output alias of that name too: ambiguous where two joined tables have it (missed before)
    "select t.ts as ts, row_number() over (partition by ts order by t.a) as n\n"
    "from s.t join s.u on t.a = u.a",
    "select t.a as a, first(u.c order by a) as f from s.t join s.u on t.a = u.a group by t.a",
    "select t.ts as ts, count(*) over (partition by t.b, ts) as n from s.t join s.u on t.a = u.a",
]


@pytest.mark.parametrize("sql", PARTITIONS_AND_AGGREGATE_ORDERS)
def test_an_ambiguous_column_in_a_partition_or_an_aggregates_order_is_an_error(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    with pytest.raises(duckdb.BinderException, match="Ambiguous"):
        con.execute(f"describe {sql}")
    issues = infer_columns(sql, schema=SCHEMA).issues
    assert [i.code for i in issues] == ["unresolved_column"]
    assert "ambiguous" in issues[0].message and issues[0].line is not None


@pytest.mark.parametrize(
    "sql",
    [
        "select t.ts as ts, row_number() over (partition by ts) as r from s.t",
        "select t.a as a, first(t.b order by a) as f from s.t group by t.a",
        "select t.a as a, (select first(c order by a) from s.u) as f from s.t",
    ],
)
def test_a_partition_or_an_aggregates_order_on_an_alias_alone_is_no_error(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    described(con, sql)  # DuckDB runs it
    result = infer_columns(sql, schema=SCHEMA)
    assert not result.issues and result.complete, result.issues


def test_a_pivot_statements_aliased_value_is_read(con: duckdb.DuckDBPyConnection) -> None:
    """An aliased IN value of DuckDB's PIVOT statement names its column (a syntax error
    before: "expected ')' near 'AS'"), as a subquery and as the model itself."""
    sql = "select * from (pivot s.t on b in ('x' as ex, 'y') using sum(a)) as q"
    assert inferred(sql) == described(con, sql)
    statement = "pivot s.t on b in ('x' as ex) using sum(a)"
    described(con, statement)  # DuckDB runs it
    codes = [i.code for i in infer_columns(statement, schema=SCHEMA).issues]
    assert codes == ["not_a_query"]  # as any PIVOT statement: no syntax error


COMMON_TYPES = [
    # a sum of booleans counts rows: DuckDB's HUGEINT (a BOOLEAN before: `num_items` of
    # sum(status = 'paid') was refused as "must be an integer, not BOOLEAN")
    "select sum(a > 1) as n, sum(a > 1) filter (where a < 5) as f from s.t",
    "select sum(b is null) over (partition by a) as w from s.t",
    "with q as (select a > 1 as flag from s.t) select sum(flag) as n from q",
    # a boolean and an integer in one CASE, COALESCE, IF, greatest, list: DuckDB's INTEGER
    # (a BOOLEAN before: a number refused where a number is asked for)
    "select case when a > 1 then true else 0 end as c, coalesce(a > 1, 0) as k,\n"
    "  if(b = 'x', a > 1, 0) as i, greatest(a > 1, 0) as g, [a > 1, 0] as l from s.t",
    "select case when b = 'x' then a > 1 when b = 'y' then a else 0 end as c from s.t",
    # a text literal takes the other values' type (a TIMESTAMP, an INTEGER)
    "select coalesce(ts, '2020-01-01') as t, case when a > 1 then d else '2020-01-01' end as d,\n"
    "  coalesce(a, '0') as n, case when a > 1 then 'x' else null end as x from s.t",
    # round of an integer keeps its type: no fraction to drop (a DOUBLE before: a warning
    # that a value with a fraction makes its row invalid)
    "select round(a) as r, round(a, 2) as q, round(amt) as m from s.t",
    "select round(sum(a)) as s from s.t",
]


@pytest.mark.parametrize("sql", COMMON_TYPES)
def test_one_of_several_values_is_of_duckdbs_common_type(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    assert inferred(sql) == described(con, sql)
    # a list's items too
    items = [c.type.element for c in infer_columns(sql, schema=SCHEMA).columns]
    rows = con.execute(f"describe {sql}").fetchall()
    described_items = [getattr(parse_type(str(t)), "element", None) for _, t, *_ in rows]
    assert [i.cls if i else None for i in items] == [i.cls if i else None for i in described_items]


MIXED_VALUES = [
    # DuckDB refuses these when the model runs ("Cannot mix values of type VARCHAR and
    # INTEGER_LITERAL in COALESCE operator"); validate passed them before
    "select coalesce(b, 0) as v from s.t",
    "select case when a > 1 then b else a end as v from s.t",
    "select case when a > 1 then d else 0 end as v from s.t",
    "select coalesce(ts, tm) as v from s.t",
    "select if(a > 1, b, 1.5) as v from s.t",
    "select greatest(b, a) as v from s.t",
    "select coalesce(a > 1, amt) as v from s.t",
    "select coalesce(tags, b) as v from s.t",
    "select coalesce(a, amt, b) as v from s.t",
    # ... and runs these: a text literal is cast; a boolean and an integer, a DATE and a
    # TIMESTAMP, JSON and text have a common type; from the left (an INTEGER, then a DOUBLE)
    "select coalesce(ts, '2020-01-01') as v, coalesce(a, '1') as w from s.t",
    "select coalesce(a, a > 1, amt) as v, least(d, ts) as w, [d, ts] as x from s.t",
    "select coalesce(j, k) as v, case when k = 'x' then null else 1 end as w from s.w",
    "select coalesce(b, null, 'x') as v, coalesce(tags, ['x']) as w from s.t",
    # a CASE's common type starts from its ELSE value (BOOLEAN and INTEGER, then DOUBLE);
    # a boolean and an unsigned integer are the unsigned integer (then a DOUBLE)
    "select case when a > 1 then a > 2 when a > 3 then 1.5 else a end as v from s.t",
    "select case when k = 'x' then 1 when k = 'y' then k else j end as v from s.w",
    "select case when a > 1 then 1.5 when a > 3 then a > 2 else a end as v from s.t",
    "select coalesce(a > 1, a::ubigint, a) as v, [true, a::utinyint, 1.5] as w from s.t",
]


def refused_mix(con: duckdb.DuckDBPyConnection, sql: str) -> bool:
    try:
        con.execute(f"describe {sql}")
    except duckdb.BinderException as exc:
        assert "Cannot mix values of type" in str(exc) or "Cannot combine types" in str(exc)
        return True
    return False


@pytest.mark.parametrize("sql", MIXED_VALUES)
def test_values_of_no_common_type_are_type_errors_as_in_duckdb(
    con: duckdb.DuckDBPyConnection, sql: str
) -> None:
    result = infer_columns(sql, schema=SCHEMA)
    errors = [i for i in result.issues if i.code == "type_error"]
    assert [i.code for i in result.issues] == [i.code for i in errors]
    if refused_mix(con, sql):
        assert len(errors) == 1 and errors[0].message.startswith("cannot mix values of types")
        assert errors[0].line == 1
    else:
        assert not errors
        assert inferred(sql) == described(con, sql)


TEXT_FUNCTIONS = [
    # typed unknown before: "type not inferred, so not checked", and split_part(...) AS
    # num_items passed (a text where an integer is asked for)
    "select replace(b, 'a', 'b') as r, left(b, 2) as l, right(b, 2) as g, lpad(b, 5, '0') as p,\n"
    "  rpad(b, 5, ' ') as q, split_part(b, ',', 1) as s from s.t",
    "select regexp_replace(b, 'a', 'b') as r, regexp_extract(b, 'a(b)', 1) as e,\n"
    "  regexp_extract(b, 'a') as f, regexp_extract_all(b, 'a') as x from s.t",
    "select string_split(b, ',') as s, str_split(b, ',') as t, split(b, ',') as u,\n"
    "  regexp_split_to_array(b, ',') as v from s.t",
    "select strlen(b) as n, printf('%d', a) as p, hash(b) as h, epoch_us(ts) as u,\n"
    "  epoch_ns(ts) as ns, try_strptime(b, '%Y') as t, uuid() as i from s.t",
    "select product(a) as p, fsum(a) as f, favg(a) as g from s.t",
]


@pytest.mark.parametrize("sql", TEXT_FUNCTIONS)
def test_text_functions_are_typed_as_duckdb_does(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    assert inferred(sql) == described(con, sql)

"""columns.infer_columns: pure static inference, no engine."""

from __future__ import annotations

import pytest

from reverse_etl.columns import (
    InferenceResult,
    TableRef,
    TypeClass,
    infer_columns,
    parse_sql,
    parse_type,
    tables_read,
)

ORDERS = TableRef.of("orders", "shop")
CUSTOMERS = TableRef.of("customers", "shop")
SCHEMA = {
    ORDERS: [
        ("Order_ID", "varchar"),
        ("ordered_at", "timestamp"),
        ("status", "varchar"),
        ("customer_id", "varchar"),
        ("total", "decimal(12,2)"),
    ],
    CUSTOMERS: [("customer_id", "varchar"), ("email", "varchar")],
}


def infer(sql: str) -> InferenceResult:
    return infer_columns(sql, schema=SCHEMA)


def test_names_types_lines_and_values() -> None:
    r = infer(
        "select\n"
        "  case when status = 'a' then 'AddToCart' else 'Purchase' end as \"Event\",\n"
        "  order_id,\n"
        "  total as value\n"
        "from shop.orders"
    )
    assert r.complete and not r.issues
    assert [(c.name, c.type.text, c.type.cls, c.line) for c in r.columns] == [
        ("Event", "VARCHAR", TypeClass.STRING, 2),  # the alias as written, not lower-cased
        ("Order_ID", "VARCHAR", TypeClass.STRING, 3),  # an unaliased column: the table's case
        ("value", "DECIMAL(12, 2)", TypeClass.NUMBER, 4),
    ]
    assert r.columns[0].values == frozenset({"AddToCart", "Purchase"})
    assert r.columns[1].values is None


def test_union_all_names_from_the_left_values_from_every_branch() -> None:
    r = infer(
        "select 'ViewContent' as event, null as value from shop.orders\n"
        "union all select upper('purchase'), total from shop.orders"
    )
    assert [c.name for c in r.columns] == ["event", "value"]
    assert r.columns[0].values == frozenset({"ViewContent", "PURCHASE"})
    assert r.columns[1].type.cls is TypeClass.NUMBER  # a NULL branch defers to the next


def test_values_are_traced_through_ctes_and_subqueries() -> None:
    r = infer(
        "with a as (select coalesce(status, 'Lead') as ev from shop.orders),\n"
        "b as (select case when true then 'Contact' end as ev from shop.orders)\n"
        "select ev as event from (select ev from a union all select ev from b) as u"
    )
    assert r.columns[0].values is None  # status is a column: not statically known
    r = infer(
        "with a as (select cast('Lead' as varchar) as ev from shop.orders)\n"
        "select x.ev as event from a as x"
    )
    assert r.columns[0].values == frozenset({"Lead"})


def test_star_exclude_replace_and_joins() -> None:
    r = infer(
        "select * exclude (status) replace (lower(Order_ID) as order_id)\n"
        "from shop.orders join shop.customers using (customer_id)"
    )
    assert [c.name for c in r.columns] == [
        "order_id",
        "ordered_at",
        "customer_id",
        "total",
        "email",
    ]
    assert {c.from_star for c in r.columns[1:]} == {True}


def test_structs_and_lists() -> None:
    r = infer(
        "select {'email': c.email, 'currency': 'EUR'} as s,\n"
        "       [{'content_id': o.order_id, 'price': o.total}] as contents\n"
        "from shop.orders as o join shop.customers as c using (customer_id)"
    )
    s, contents = r.columns
    assert s.type.cls is TypeClass.STRUCT
    assert [(f.name, f.type.text, f.values) for f in s.fields] == [
        ("email", "VARCHAR", None),
        ("currency", "VARCHAR", frozenset({"EUR"})),
    ]
    assert contents.type.cls is TypeClass.LIST
    assert contents.type.element is not None
    assert [n for n, _ in contents.type.element.fields] == ["content_id", "price"]


def test_an_unnamed_expression_is_flagged() -> None:
    (col,) = infer("select lower(status) from shop.orders").columns
    assert not col.named


@pytest.mark.parametrize(
    ("sql", "code", "line"),
    [
        ("select a,\nfrom where", "parse_error", 2),
        ("create table t (a int)", "not_a_query", None),
        ("select x.a from raw.x as x", "unknown_table", 1),
        ("select * from read_csv('a.csv')", "table_function", 1),
        ("select * from 'data/a.csv'", "table_function", 1),
        ("select o.nope from shop.orders as o", "unknown_column", 1),
        (
            "select customer_id from shop.orders as o join shop.customers as c on true",
            "unresolved_column",
            1,
        ),
    ],
)
def test_problems_are_issues_never_exceptions(sql: str, code: str, line: int | None) -> None:
    r = infer(sql)
    assert [(i.code, i.line) for i in r.issues] == [(code, line)]


def test_a_generator_defines_its_own_columns() -> None:
    r = infer("select 'Lead' as event, i as event_id from range(5) as t(i)")
    assert r.issues == ()
    assert [c.name for c in r.columns] == ["event", "event_id"]


def test_a_star_over_an_unknown_table_makes_the_list_incomplete() -> None:
    r = infer("select * from raw.events")
    assert not r.complete
    assert r.issues[0].table == TableRef.of("events", "raw")


@pytest.mark.parametrize("declared", ["varchr", "varchar); drop table x; --", "int; select 1"])
def test_a_bad_declared_type_is_an_issue(declared: str) -> None:
    """Two statements build a Block, not a type: sqlglot's analysis then failed on it, blamed
    on the model with a raw AttributeError (a fuzz run)."""
    r = infer_columns("select a from t", schema={TableRef.of("t"): [("a", declared)]})
    assert [i.code for i in r.issues] == ["bad_type"]
    assert r.columns[0].type.cls is TypeClass.UNKNOWN


def test_tables_read_skips_ctes_and_functions_and_keeps_parts() -> None:
    tree = parse_sql(
        "with stg as (select * from shop.orders) select * from stg "
        "join wh.crm.contacts using (id) join read_parquet('x.parquet') using (id) join plain "
        "using (id) join 'data/x.csv' using (id)"
    )
    assert set(tables_read(tree)) == {
        ORDERS,
        TableRef("wh", "crm", "contacts"),
        TableRef("", "", "plain"),
    }


def test_a_parsed_tree_is_not_modified() -> None:
    tree = parse_sql("select * from shop.orders")
    before = tree.sql()
    infer_columns(tree, schema=SCHEMA)
    assert tree.sql() == before


@pytest.mark.parametrize(
    ("text", "cls", "display"),
    [
        ("varchar", TypeClass.STRING, "VARCHAR"),
        ("hugeint", TypeClass.INTEGER, "HUGEINT"),
        ("decimal(10,2)", TypeClass.NUMBER, "DECIMAL(10, 2)"),
        ("timestamp with time zone", TypeClass.TIMESTAMP, "TIMESTAMPTZ"),
        ("date", TypeClass.DATE, "DATE"),
        ("boolean", TypeClass.BOOLEAN, "BOOLEAN"),
        ("struct(a int)[]", TypeClass.LIST, "STRUCT(a INTEGER)[]"),
        ("json", TypeClass.JSON, "JSON"),
        ("interval", TypeClass.OTHER, "INTERVAL"),
        # sqlglot counts BIT among its integer types: DuckDB's bit strings are no numbers
        ("bit", TypeClass.BINARY, "BIT"),
        ("bitstring", TypeClass.BINARY, "BIT"),
        ("bit(3)", TypeClass.BINARY, "BIT(3)"),
    ],
)
def test_type_classes(text: str, cls: TypeClass, display: str) -> None:
    t = parse_type(text)
    assert t is not None
    assert (t.cls, t.text) == (cls, display)


def test_an_unreadable_type_is_none() -> None:
    assert parse_type("varchr") is None


def test_lists_and_texts_aggregated_without_order_by_are_marked_unordered() -> None:
    r = infer(
        "with l as (select customer_id, list(status) as statuses, "
        "list(status order by status) as ordered, string_agg(status, ',') as text, "
        "list_sort(list(status)) as sorted_after, "
        "list(status) over (partition by customer_id order by ordered_at) as running "
        "from shop.orders group by all) "
        "select statuses, ordered, text, sorted_after, running, len(statuses) as n, "
        "statuses[1] as first_status from l"
    )
    unordered = {c.name: c.unordered for c in r.columns}
    assert unordered == {
        "statuses": True,
        "ordered": False,
        "text": True,
        "sorted_after": False,
        "running": False,
        "n": True,  # marked; the rule skips numbers (validation/checks.py)
        "first_status": True,
    }


def test_a_chain_of_ctes_reading_a_column_twice_is_followed_once_per_column(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each CTE's ``case when x is null then 'a' else x end`` reads the one before twice:
    the unordered-aggregate test followed every path (2^n: 18 CTEs took 7 s, 25 minutes, a
    validate or plan that seemed to hang). Each projection is followed once, as its sources
    are; what it says is unchanged (an ordered list at the chain's start is not unordered)."""
    from reverse_etl.columns import trace

    calls = 0
    traced = trace._traced

    def counted(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return traced(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(trace, "_traced", counted)
    n = 18
    ctes = ["c0 as (select string_agg(status, ',' order by status) as x from shop.orders)"]
    ctes += [
        f"c{i} as (select case when x is null then 'a' else x end as x from c{i - 1})"
        for i in range(1, n)
    ]
    r = infer("with " + ", ".join(ctes) + f" select x as event_id from c{n - 1}")
    assert r.complete and [c.unordered for c in r.columns] == [False]
    assert calls < 50 * n, calls  # linear in the chain, not 2^n


@pytest.mark.parametrize(
    ("param", "hint"),
    [
        ("value", "CAST(... AS DECIMAL(18, 2))"),
        ("num_items", "CAST(... AS BIGINT)"),
        ("event_time", "CAST(... AS TIMESTAMP)"),
        ("event_id", "CAST(... AS VARCHAR)"),
    ],
)
def test_a_bit_string_is_no_number_time_or_id(param: str, hint: str) -> None:
    """BIT was an integer: BIT '1010' as value was sent as 5e-323, as num_items it failed the
    encode (trunc(BIT)), as event_time every row was invalid. Refused with the cast to
    write."""
    from reverse_etl.destinations.tiktok.catalog import CATALOG
    from reverse_etl.destinations.tiktok.rules import TikTokRules
    from reverse_etl.validation.types import check_type

    spec = CATALOG.lookup(param)
    bit = parse_type("bit")
    assert spec is not None and bit is not None
    (verdict,) = check_type(spec, bit, TikTokRules("WEB"))
    assert verdict.severity == "error" and "not BIT" in verdict.message
    assert verdict.hint == f"convert it in the model: {hint}"

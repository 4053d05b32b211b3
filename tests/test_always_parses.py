"""A number, integer or boolean check that cannot fail for a column's type is not written
(``shared.sql.always_parses``): an INTEGER quantity is always an integer, a DECIMAL price
always a number. What is checked for the types that can fail is unchanged (issue #18: the
contents' two list filters per row took 31 of the 200k first sync's encode's CPU-ms)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa
import pytest

from reverse_etl.destinations.shared.phones import register_phone_udf as prepare_engine
from reverse_etl.destinations.shared.rows import key_columns_for
from reverse_etl.destinations.shared.sql import always_parses, boolean, integer, number
from reverse_etl.destinations.tiktok.encode import EncodeSpec, build_encode_sql
from reverse_etl.destinations.tiktok.mapping import key_only_columns, map_columns
from reverse_etl.engine.duckdb import DuckDBEngine

from .meta.helpers import NOW as META_NOW
from .meta.helpers import encode as meta_encode
from .meta.helpers import plan_for as meta_plan_for
from .tiktok.test_encode import NOW
from .tiktok.test_encode import encode as tiktok_encode

# Each type (Arrow's, DuckDB's) with its extreme values, and NaN, the infinities, 'abc' or
# 2.5 where the type has them.
EXTREMES: list[tuple[pa.DataType, str, list[str]]] = [
    (pa.int8(), "TINYINT", ["-128", "127"]),
    (pa.int64(), "BIGINT", ["-9223372036854775808", "9223372036854775807"]),
    (pa.uint32(), "UINTEGER", ["0", "4294967295"]),
    (pa.uint64(), "UBIGINT", ["0", "18446744073709551615"]),
    (pa.decimal128(38, 0), "DECIMAL(38, 0)", ["-" + "9" * 38, "9" * 38]),
    (pa.decimal128(10, 2), "DECIMAL(10, 2)", ["-99999999.99", "2.50", "99999999.99"]),
    (pa.float32(), "FLOAT", ["'nan'", "'inf'", "2.5"]),
    (pa.float64(), "DOUBLE", ["'nan'", "'-inf'", "1e300"]),
    (pa.string(), "VARCHAR", ["'abc'", "'1'", "' true '"]),
    (pa.bool_(), "BOOLEAN", ["true", "false"]),
]
PARSERS: list[Callable[[str, pa.DataType], str]] = [number, integer, boolean]


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine()
    prepare_engine(eng)
    yield eng
    eng.close()


@pytest.mark.parametrize("t, duck, values", EXTREMES, ids=[str(t) for t, _, _ in EXTREMES])
@pytest.mark.parametrize("parse", PARSERS, ids=[p.__name__ for p in PARSERS])
def test_a_parse_said_always_to_give_a_value_gives_one_for_every_extreme(
    engine: DuckDBEngine,
    t: pa.DataType,
    duck: str,
    values: list[str],
    parse: Callable[[str, pa.DataType], str],
) -> None:
    """``always_parses`` True only where the parse's SQL is never NULL for a value of the
    type; and it is False where some value makes it NULL (there the check is needed)."""
    if (parse.__name__, duck) == ("integer", "BOOLEAN"):
        pytest.skip("integer() of a BOOLEAN is no SQL DuckDB binds (trunc(BOOLEAN))")
    rows = " UNION ALL ".join(f"SELECT CAST({v} AS {duck}) AS x" for v in values)
    assert engine.schema(rows).field("x").type == t
    sql = f"SELECT count(*) FILTER (WHERE ({parse('x', t)}) IS NULL) FROM ({rows})"
    (nulls,) = engine.rows(sql)
    if always_parses(parse, t):
        assert nulls[0] == 0, (str(t), parse.__name__)
    if (parse.__name__, str(t)) in NEEDED:
        assert nulls[0] > 0 and not always_parses(parse, t), (str(t), parse.__name__)


# The parses that can fail for a type: a float's NaN, a UBIGINT or DECIMAL(38, 0) past
# BIGINT, 2.5, text.
NEEDED = {
    ("number", "float"),
    ("number", "double"),
    ("number", "string"),
    ("integer", "uint64"),
    ("integer", "decimal128(38, 0)"),
    ("integer", "decimal128(10, 2)"),
    ("integer", "float"),
    ("integer", "double"),
    ("integer", "string"),
    ("boolean", "string"),
}


CONTENTS = (
    f"SELECT 'Purchase' AS event, 'e' AS event_id, {NOW} AS event_time, 2 AS num_items, "
    "'a@x.io' AS email, "
    "CAST(12.5 AS DECIMAL(10, 2)) AS value, "
    "[{'content_id': 'a', 'price': CAST(1.5 AS DECIMAL(10, 2)), 'quantity': 2}] AS contents"
)


def test_tiktok_writes_no_check_an_integer_or_decimal_cannot_fail(engine: DuckDBEngine) -> None:
    schema = engine.schema(CONTENTS)
    keys = key_columns_for(schema.names, None, None)
    assert keys is not None
    mapping = map_columns(schema.names, "WEB", ignore=key_only_columns(keys[0]))
    sql = build_encode_sql(f"({CONTENTS}) AS t", schema, mapping, EncodeSpec("m", "WEB", *keys))
    assert "(left out)" not in sql
    assert "is not a number" not in sql and "is not an integer" not in sql
    (row,) = tiktok_encode(engine, CONTENTS)
    assert (row["errors"], row["warnings"]) == (None, None)
    assert row["payload"]["properties"]["contents"] == [
        {"content_id": "a", "price": 1.5, "quantity": 2}
    ]
    # The same checks stay for text, which can fail them.
    # (num_items by its whole text: NOW, a time, may end in a 2 before " AS event_time")
    texts = CONTENTS.replace("CAST(1.5 AS DECIMAL(10, 2))", "'abc'").replace(
        "2 AS num_items", "'x' AS num_items"
    )
    (bad,) = tiktok_encode(engine, texts)
    assert "a contents item's price is not a number (left out)" in bad["warnings"]
    assert "num_items is not an integer" in bad["errors"]


def test_meta_writes_no_check_an_integer_or_decimal_cannot_fail(engine: DuckDBEngine) -> None:
    select = (
        f"SELECT 'Purchase' AS event_name, 'e' AS event_id, {META_NOW} AS event_time, "
        "2 AS num_items, CAST(12.5 AS DECIMAL(10, 2)) AS value, 'USD' AS currency, "
        "'https://shop.example/a' AS page_url, 'Mozilla/5.0' AS user_agent, "
        "[{'id': 'a', 'item_price': CAST(1.5 AS DECIMAL(10, 2)), 'quantity': 2}] AS contents"
    )
    plan, problems = meta_plan_for(engine, select)
    assert plan is not None, [p.render() for p in problems]
    assert "(left out)" not in plan.sql
    assert "is not a number" not in plan.sql and "is not an integer" not in plan.sql
    (row,) = meta_encode(engine, select)
    assert row["errors"] is None
    assert row["payload"]["custom_data"]["contents"] == [
        {"id": "a", "item_price": 1.5, "quantity": 2}
    ]
    texts = select.replace("CAST(1.5 AS DECIMAL(10, 2))", "'abc'")
    (bad,) = meta_encode(engine, texts)
    assert "a contents item's item_price is not a number (left out)" in bad["warnings"]

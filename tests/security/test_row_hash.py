"""The row hash finds every changed row (issue #12, item 3).

Numbers used to hash through DOUBLE, so 7300000000000000001 and 7300000000000000002 (an order
id, a 19-digit TikTok ID) hashed the same and a change was never sent. The exact form (3)
hashes each value's exact canonical text; scopes synced by an older retl keep their form.

The properties are stated over the values of one column type: two values hash the same
exactly when they are equal. The payload is a function of the row's values and the mapping
(a changed mapping resends everything), so rows whose payloads differ have different hashes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from reverse_etl.state.diff import FORM_EXACT, FORM_MD5, FORM_SHA1, row_parts
from reverse_etl.state.store import LocalStateStore
from tests.test_sync import NOW, SECRET, events_project

# --- values near the edges of each type -----------------------------------------------------
I64 = 2**63
U64 = 2**64
I128 = 2**127


def _near(*edges: int, spread: int = 3) -> st.SearchStrategy[int]:
    return st.sampled_from(edges).flatmap(
        lambda e: st.integers(e - spread, e + spread) if spread else st.just(e)
    )


bigints = st.one_of(_near(-I64, I64 - 1, 2**53, -(2**53), 0), st.integers(-I64, I64 - 1)).filter(
    lambda v: -I64 <= v < I64
)
ubigints = st.one_of(_near(U64 - 1, I64, 2**53), st.integers(0, U64 - 1)).filter(
    lambda v: 0 <= v < U64
)
hugeints = st.one_of(
    _near(-I128 + 1, I128 - 1, U64, -U64), st.integers(-I128 + 1, I128 - 1)
).filter(lambda v: -I128 < v < I128)
DEC_MAX = 10**28  # DECIMAL(38,10): 28 digits before the point, 10 after


def _decimal(units: int) -> Decimal:
    return Decimal(f"{units}E-10")  # exact (arithmetic would round to 28 digits)


decimals = st.one_of(
    st.integers(-(10**38) + 1, 10**38 - 1),
    _near(10**37, -(10**37), 10**10, 1, spread=2),
).map(_decimal)
doubles = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 0.1, 2.0**53, 2.0**53 + 2, 2.0**60, 1e16, 1e-7]),
    st.integers(-(2**60), 2**60).map(float),
)
floats32 = st.floats(width=32, allow_nan=False)


def _same(a: Any, b: Any) -> bool:
    """Equality as the payload sees it: -0.0 is not 0.0, NaN is NaN."""
    if isinstance(a, float) and isinstance(b, float):
        return (a == b and math.copysign(1, a) == math.copysign(1, b)) or (a != a and b != b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def hashes(con: duckdb.DuckDBPyConnection, sql_type: str, values: list[Any]) -> list[str]:
    """The exact form's row hash of each value, as a one-column row of ``sql_type``."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE v (i INTEGER, x {sql_type})")
    con.executemany("INSERT INTO v VALUES (?, ?)", list(enumerate(values)))
    engine_sql = "SELECT x FROM v ORDER BY i"
    schema = con.execute(f"{engine_sql} LIMIT 0").arrow().schema
    parts = row_parts(engine_sql, schema, ["x"], form=FORM_EXACT)
    return [r[0] for r in con.execute(f"SELECT __row_hash FROM ({parts.sql})").fetchall()]


def check_exact(values: list[Any], digests: list[str]) -> None:
    for i, (a, ha) in enumerate(zip(values, digests, strict=True)):
        for b, hb in zip(values[i + 1 :], digests[i + 1 :], strict=True):
            assert (ha == hb) == _same(a, b), (a, b)


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as c:
        yield c


CASES: list[tuple[str, st.SearchStrategy[Any]]] = [
    ("BIGINT", bigints),
    ("UBIGINT", ubigints),
    ("HUGEINT", hugeints),
    ("DECIMAL(38,10)", decimals),
    ("DOUBLE", doubles),
    ("FLOAT", floats32),
    ("BIGINT[]", st.lists(bigints, max_size=3)),
    ("STRUCT(n HUGEINT, d DECIMAL(38,10))", st.fixed_dictionaries({"n": hugeints, "d": decimals})),
    (
        "STRUCT(ids UBIGINT[], x DOUBLE)",
        st.fixed_dictionaries({"ids": st.lists(ubigints, max_size=2), "x": doubles}),
    ),
    ("VARCHAR", st.text('ab\x1e\x1fN,[]"\\', max_size=4)),
]


@pytest.mark.parametrize(("sql_type", "strategy"), CASES, ids=[c[0] for c in CASES])
def test_two_values_hash_the_same_only_when_they_are_equal(
    con: duckdb.DuckDBPyConnection, sql_type: str, strategy: st.SearchStrategy[Any]
) -> None:
    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(values=st.lists(strategy, min_size=2, max_size=12))
    def prop(values: list[Any]) -> None:
        check_exact(values, hashes(con, sql_type, values))

    prop()


@settings(max_examples=25, deadline=None)
@example(a=["a\x1f", "", "N"], b=["a", "\x1f", "N"])
@example(a=["a", None, "N"], b=["a", "\x1eN", "N"])
@given(
    a=st.lists(st.text("a\x1e\x1fN", max_size=3) | st.none(), min_size=3, max_size=3),
    b=st.lists(st.text("a\x1e\x1fN", max_size=3) | st.none(), min_size=3, max_size=3),
)
def test_no_text_passes_for_a_separator_or_null(
    con: duckdb.DuckDBPyConnection, a: list[str | None], b: list[str | None]
) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE r (i INTEGER, x VARCHAR, y VARCHAR, z VARCHAR)")
    con.executemany("INSERT INTO r VALUES (?, ?, ?, ?)", [[0, *a], [1, *b]])
    sql = "SELECT x, y, z FROM r ORDER BY i"
    parts = row_parts(sql, con.execute(f"{sql} LIMIT 0").arrow().schema, ["x"], form=FORM_EXACT)
    ha, hb = (r[0] for r in con.execute(f"SELECT __row_hash FROM ({parts.sql})").fetchall())
    assert (ha == hb) == (a == b)


EDGES: list[tuple[str, list[Any]]] = [
    ("BIGINT", [7300000000000000001, 7300000000000000002, I64 - 1, I64 - 2, -I64, -I64 + 1]),
    ("UBIGINT", [U64 - 1, U64 - 2, 2**53 + 1, 2**53]),
    ("HUGEINT", [I128 - 1, I128 - 2, -I128 + 1, -I128 + 2, U64 + 1, U64]),
    ("DECIMAL(38,10)", [_decimal(10**38 - 1), _decimal(10**38 - 2), _decimal(1), _decimal(2)]),
    ("DOUBLE", [0.0, -0.0, math.nan, math.inf, -math.inf, 2.0**53, 2.0**53 + 2, 0.1]),
    ("BIGINT[]", [[I64 - 1], [I64 - 2], [], None]),
    (
        "STRUCT(n HUGEINT, d DECIMAL(38,10))",
        [
            {"n": I128 - 1, "d": _decimal(1)},
            {"n": I128 - 2, "d": _decimal(1)},
            {"n": I128 - 1, "d": _decimal(2)},
        ],
    ),
]


@pytest.mark.parametrize(("sql_type", "values"), EDGES, ids=[e[0] for e in EDGES])
def test_neighbours_at_the_edges_hash_apart(
    con: duckdb.DuckDBPyConnection, sql_type: str, values: list[Any]
) -> None:
    check_exact(values, hashes(con, sql_type, values))


def _one_hash(con: duckdb.DuckDBPyConnection, select: str, form: int = FORM_EXACT) -> str:
    schema = con.execute(f"{select} LIMIT 0").arrow().schema
    parts = row_parts(select, schema, [schema.names[0]], form=form)
    return str(con.execute(f"SELECT __row_hash FROM ({parts.sql})").fetchone()[0])  # type: ignore[index]


@pytest.mark.parametrize(
    "select",
    [
        "SELECT 1.0::DOUBLE AS v",
        "SELECT 1.00::DECIMAL(10,2) AS v",
        "SELECT 1::HUGEINT AS v",
        "SELECT 1::UTINYINT AS v",
        "SELECT CAST(1 AS FLOAT) AS v",
        "SELECT 1::DECIMAL(38,10) AS v",
    ],
)
def test_a_cast_in_the_model_is_no_change(con: duckdb.DuckDBPyConnection, select: str) -> None:
    assert _one_hash(con, select) == _one_hash(con, "SELECT 1::BIGINT AS v")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("0.5::DOUBLE", "0.50::DECIMAL(10,2)"),
        ("9007199254740991::DOUBLE", "9007199254740991::BIGINT"),
        ("[1, 2]::INTEGER[]", "[1, 2]::BIGINT[]"),
    ],
)
def test_equal_numbers_of_other_types_hash_the_same(
    con: duckdb.DuckDBPyConnection, a: str, b: str
) -> None:
    assert _one_hash(con, f"SELECT {a} AS v") == _one_hash(con, f"SELECT {b} AS v")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("7300000000000000001::BIGINT", "7300000000000000001::DOUBLE"),
        ("9007199254740993::BIGINT", "9007199254740992::DOUBLE"),
        ("0::BIGINT", "-0.0::DOUBLE"),
        ("CAST(0.1 AS FLOAT)", "0.1::DOUBLE"),
        ("2.0^53::DOUBLE", "9007199254740992::BIGINT"),  # beyond 2**53: as DOUBLE's text
        ("NULL::VARCHAR", "chr(30) || 'N'"),
    ],
)
def test_different_values_of_other_types_hash_apart(
    con: duckdb.DuckDBPyConnection, a: str, b: str
) -> None:
    assert _one_hash(con, f"SELECT {a} AS v") != _one_hash(con, f"SELECT {b} AS v")


# --- old scopes keep hashing exactly as before ----------------------------------------------
GOLDEN_ROW = """SELECT 'k1' AS id, 7300000000000000001::BIGINT AS big,
 18446744073709551615::UBIGINT AS ubig,
 (-170141183460469231731687303715884105727)::HUGEINT AS huge,
 CAST('1234567890123456789012345678.1234567890' AS DECIMAL(38,10)) AS dec,
 1.50::DECIMAL(10,2) AS small_dec,
 0.1::DOUBLE AS dbl, CAST(0.1 AS FLOAT) AS flt, -0.0::DOUBLE AS negzero, 'nan'::DOUBLE AS nan,
 NULL::INTEGER AS nothing, 'a' || chr(31) || 'b' AS text, [7300000000000000001, 2]::BIGINT[] AS ids,
 {'n': 12::HUGEINT, 'd': 0.25::DECIMAL(38,10)} AS obj,
 TIMESTAMP '2024-01-02 03:04:05.123456' AS ts, true AS flag"""
# Computed by retl before the exact form (its row_parts, over this row): any byte of SQL
# changed in forms 1 or 2 would make every row of an older scope look changed.
GOLDEN = {
    FORM_MD5: "08a136fb6397dbde4fa7c38f2d8c859b",
    FORM_SHA1: "0197823e5e02b91811798d04913005260cf3d243",
}


@pytest.mark.parametrize("form", [FORM_MD5, FORM_SHA1])
def test_forms_1_and_2_hash_as_before(con: duckdb.DuckDBPyConnection, form: int) -> None:
    assert _one_hash(con, GOLDEN_ROW, form) == GOLDEN[form]


def test_the_exact_form_is_marked() -> None:
    engine = DuckDBEngine()  # the engine retl runs models in
    try:
        parts = row_parts(GOLDEN_ROW, engine.schema(GOLDEN_ROW), ["id"], form=FORM_EXACT)
        (digest,) = engine.rows(f"SELECT __row_hash FROM ({parts.sql})")[0]
    finally:
        engine.close()
    assert digest.startswith("3:") and len(digest) == 34  # told apart from md5 (32), sha1 (40)


# --- end to end -----------------------------------------------------------------------------
def orders(order_id: int) -> str:
    return (
        "select 'Purchase' as event, 'o' || i as event_id, "
        f"{NOW} as event_time, i + {order_id}::BIGINT as order_id, 'USD' as currency, "
        "1 as value from range(3) t(i)"
    )


def _sync(project: Path) -> tuple[int, int]:
    with Project.load(project) as p:
        p.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05, max_attempts=3)
        (r,) = p.sync().results
    return r.sent, r.rows_unchanged


def _hash_lengths(project: Path) -> set[int]:
    with duckdb.connect(str(project / ".retl" / "state.duckdb"), read_only=True) as c:
        return {r[0] for r in c.execute("SELECT length(row_hash) FROM synced_rows").fetchall()}


def test_a_changed_19_digit_id_is_sent(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    project = events_project(tmp_path, server.base_url, select=orders(7300000000000000000))
    assert _sync(project) == (3, 0)
    # order o1's id goes from ...001 to ...002 (o2's is ...003): one row changed
    (project / "models" / "events.sql").write_text(
        orders(7300000000000000000).replace("i + ", "i + (i = 1)::int + "), encoding="utf-8"
    )
    with Project.load(project) as p:
        (plan,) = p.plan()
    assert (plan.rows_new, plan.rows_changed, plan.rows_unchanged) == (0, 1, 2)
    assert _sync(project) == (1, 2)
    sent = [e["data"] for e in server.events()][-1]
    assert sent["properties"]["order_id"] == "7300000000000000002"


@pytest.mark.parametrize(("form", "length"), [(FORM_MD5, 32), (FORM_SHA1, 40)])
def test_a_scope_of_an_older_form_keeps_it_after_the_upgrade(
    server: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    form: int,
    length: int,
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    project = events_project(tmp_path, server.base_url, select=orders(1))
    with monkeypatch.context() as older:  # what an older retl wrote
        older.setattr(LocalStateStore, "new_scope_form", form)
        assert _sync(project) == (3, 0)
    assert _hash_lengths(project) == {length}
    assert _sync(project) == (0, 3)  # the upgrade makes no row look changed
    assert _hash_lengths(project) == {length}
    with Project.load(project) as p:
        p.state_reset(["tiktok"])
    assert _sync(project) == (3, 0)
    assert _hash_lengths(project) == {34}  # an empty scope starts with the exact form

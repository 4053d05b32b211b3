"""A sync does not import pandas (issue #18): pyarrow imports it on its first array or
scalar built from Python objects, DuckDB's Python binding on its first query with a parameter
(to compare the value with ``pandas.NA``) and on its first scan of an Arrow object (through
pyarrow.dataset); 0.35-0.6 s of a sync that never needs it, where pandas is installed (retl's
Spark extra pulls it in). The engine passes retl's parameters as literals of a prepared
statement (``engine/duckdb.py`` ``run_sql``), the few Arrow values retl makes from Python
ones are built from their bytes (``arrow_values.py``), and the fold reads the journal's
entries from a Parquet file (``state/store.py``).

An import check in a fresh interpreter, never a timing."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from reverse_etl.engine.duckdb import DuckDBEngine, run_sql
from reverse_etl.sandbox import SandboxServer
from tests.conftest import cli_env
from tests.test_sync import NOW, SECRET, events_project

PROBE = """
import json, sys
from reverse_etl.cli.app import main
sys.argv = ["retl", *json.loads(sys.argv[1])]
code = None
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "pandas": "pandas" in sys.modules}), file=sys.stderr)
"""

# Phones (the pre-pass), e-mails, a decimal value: the columns whose handling could build
# Arrow values from Python objects.
MODEL = (
    "select 'Purchase' as event, 'order-' || i as event_id, "
    f"{NOW} - i as event_time, 'user' || i || '@example.com' as email, "
    "'+1 650 555 ' || lpad(cast(i as varchar), 4, '0') as phone, "
    "cast(i * 1.5 as decimal(10, 2)) as value, 'USD' as currency "
    "from range(40) t(i)"
)


def sync_in_a_fresh_interpreter(project: Path) -> tuple[dict[str, object], str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(["sync", "--project-dir", str(project)])],
        capture_output=True,
        text=True,
        cwd=project.parent,
        env=cli_env({"TIKTOK_ACCESS_TOKEN": SECRET}),
        check=False,
        timeout=120,
    )
    result: dict[str, object] = json.loads(proc.stderr.strip().splitlines()[-1])
    assert result["code"] in (0, None), proc.stderr
    return result, proc.stdout


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("pandas") is None, reason="pandas not installed")
def test_a_sync_imports_no_pandas(server: SandboxServer, tmp_path: Path) -> None:
    """A first sync (sends, journals, folds, writes the delivery log) and the unchanged
    re-sync after it, each in a fresh interpreter: neither imports pandas."""
    project = events_project(tmp_path, server.base_url, select=MODEL)
    first, _ = sync_in_a_fresh_interpreter(project)
    assert server.stats.snapshot()["events_accepted"] == 40
    received = server.stats.snapshot()
    again, output = sync_in_a_fresh_interpreter(project)
    assert "40" in output  # unchanged
    assert server.stats.snapshot() == received  # nothing was sent
    assert (first["pandas"], again["pandas"]) == (False, False)


def test_parameters_passed_as_literals_bind_as_the_driver_binds_them() -> None:
    """``run_sql`` gives a statement the same values and types as DuckDB's own binding, with
    quotes, NULLs, big integers, floats that SQL text cannot write plainly, and times."""
    con = duckdb.connect()
    params = [
        "it's; DROP TABLE x; --",
        "",
        None,
        True,
        2**63 - 1,
        -7,
        0.1,
        float("inf"),
        -0.0,
        dt.datetime(2026, 12, 3, 17, 15, 0, 123456),
        dt.datetime(1, 1, 1),
    ]
    marks = ", ".join("?" * len(params))
    sql = f"SELECT {marks}"
    assert run_sql(con, sql, params) == con.execute(sql, params).fetchall()
    for value in params:
        assert (
            run_sql(con, "SELECT typeof(?)", [value])
            == con.execute("SELECT typeof(?)", [value]).fetchall()
        )
    for items in (["b", "a'"], [1, 2], [[1], [2, 3]]):
        sql = "SELECT ?, typeof(?)"
        assert run_sql(con, sql, [items, items]) == con.execute(sql, [items, items]).fetchall()
    # a value the literals do not cover (a string with NUL, a time zone, an empty list, a list
    # with a NULL) is bound as before
    for value in ([], [None, "a"]):
        assert run_sql(con, "SELECT ?", [value]) == con.execute("SELECT ?", [value]).fetchall()
    aware = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert (
        run_sql(con, "SELECT ?, ?", ["a\0b", aware])
        == con.execute("SELECT ?, ?", ["a\0b", aware]).fetchall()
    )
    # the prepared statement does not outlive the call: a failing one leaves nothing behind
    with pytest.raises(duckdb.Error):
        run_sql(con, "SELECT * FROM no_such_table WHERE x = ?", ["a"])
    assert run_sql(con, "SELECT ? || ?", ["a", "b"]) == [("ab",)]
    con.close()


def test_the_engine_writes_and_reads_with_literal_parameters() -> None:
    engine = DuckDBEngine()
    try:
        engine.execute("CREATE TABLE t (k VARCHAR, n BIGINT, t TIMESTAMP, f DOUBLE)")
        at = dt.datetime(2026, 12, 3, 1, 2, 3, 4)
        engine.execute("INSERT INTO t VALUES (?, ?, ?, ?)", ["o'1", 5, at, 0.25])
        assert engine.rows("SELECT * FROM t WHERE k = ?", ["o'1"]) == [("o'1", 5, at, 0.25)]
    finally:
        engine.close()


def test_arrow_values_equal_pyarrow_s_own() -> None:
    import pyarrow as pa

    from reverse_etl.arrow_values import int32s, int64_range, scalar, strings

    texts = ["a", None, "", "é€😀", None, "x" * 300, "b", "c", "d"]
    assert strings(texts).equals(pa.array(texts, pa.string()))
    assert strings([]).equals(pa.array([], pa.string()))
    assert strings(["k1", "k2"]).equals(pa.array(["k1", "k2"], pa.string()))
    assert int32s([0, 7]).equals(pa.array([0, 7], pa.int32()))
    assert int64_range(3, 6).equals(pa.array([3, 4, 5], pa.int64()))
    assert int64_range(6, 6).equals(pa.array([], pa.int64()))
    at = dt.datetime(2026, 12, 3, 17, 15, 0, 123456)
    for value, kind in [
        ("dest'x", pa.string()),
        (b",", pa.binary()),
        (40002, pa.int64()),
        (-(2**63), pa.int64()),
        (at, pa.timestamp("us")),
        (dt.datetime(1, 1, 1), pa.timestamp("us")),
    ]:
        assert scalar(value).equals(pa.scalar(value, kind)), value
    with pytest.raises(ValueError):
        scalar(at.replace(tzinfo=dt.timezone.utc))

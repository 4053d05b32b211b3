"""`retl plan`, `retl ui`'s pages, `retl state show` and `retl runs` on a state in Spark
write nothing: no database, no table in the catalog, no file in the warehouse's folder, not
even the local journal folder. Before the first sync the plan says every row is new and the
history is empty, as on a fresh local state.

The session of this module keeps its catalog in a Hive metastore (Derby, in the module's
temporary folder), as Databricks or a Hive-backed cluster does: there the state's tables are
catalog tables, created with ``CREATE ... IF NOT EXISTS`` by a sync. (Spark's in-memory
catalog keeps them as folders, read through temporary views: tests/spark/test_spark_sync.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reverse_etl.engine.spark import SparkConnection, SparkEngine
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from reverse_etl.ui import UiApp
from tests.spark.test_spark_sync import TOKEN, spark_project, sync, write_orders

pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'retl[spark]'")
pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark(spark_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """This module's own session (the conftest's, with a Hive metastore as its catalog)."""
    meta = tmp_path_factory.mktemp("metastore")
    engine = SparkEngine(
        SparkConnection(
            master="local[2]",
            conf={
                "spark.sql.shuffle.partitions": "2",
                "spark.default.parallelism": "2",
                "spark.sql.catalogImplementation": "hive",
                "spark.hadoop.javax.jdo.option.ConnectionURL": (
                    f"jdbc:derby:;databaseName={meta / 'db'};create=true"
                ),
            },
            warehouse_dir=spark_dir,
        )
    )
    session = engine.session
    # Derby's log in the temporary folder, not the working directory (the JVM may be an
    # earlier module's: set before the metastore is first opened).
    jvm = session.sparkContext._jvm
    jvm.java.lang.System.setProperty("derby.stream.error.file", str(meta / "derby.log"))
    assert session.conf.get("spark.sql.catalogImplementation") == "hive"
    yield session
    engine.close()


@pytest.fixture
def sandbox_token() -> str:
    """The token the ``server`` fixture (tests/conftest.py) accepts here."""
    return TOKEN


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARK_TEST_TOKEN", TOKEN)


def _catalog(spark: Any) -> set[tuple[str, str]]:
    """Every database, and every table that outlives the session (not temporary views)."""
    found = set()
    for db in spark.catalog.listDatabases():
        found.add((db.name, ""))
        found |= {(db.name, t.name) for t in spark.catalog.listTables(db.name) if not t.isTemporary}
    return found


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_before_the_first_sync_the_readers_create_nothing_and_every_row_is_new(
    spark: Any, spark_dir: Path, tmp_path: Path
) -> None:
    root = spark_project(tmp_path, "http://127.0.0.1:9", spark_dir, "read_only_state")
    write_orders(root / "data" / "orders.parquet", 10)
    catalog, files = _catalog(spark), _files(spark_dir)
    assert not any(db == "read_only_state" for db, _ in catalog)
    with Project.load(root) as p:
        (plan,) = p.plan()
        shown = p.state_show()
        assert _catalog(spark) == catalog  # no database, no table
        app = UiApp(p, title="t")
        pages = {
            path: app.handle(path, query)
            for path, query in (
                ("/plan", {"compute": "1"}),
                ("/", {}),
                ("/destinations", {}),
                ("/destinations/tiktok", {}),
            )
        }
        runs = p.runs()
    assert (plan.rows_new, plan.rows_changed, plan.rows_unchanged) == (10, 0, 0)
    assert {path: page.status for path, page in pages.items()} == dict.fromkeys(pages, 200)
    assert b'id="plan-counts-tiktok"' in pages["/plan"].body
    assert shown == [] and runs == []
    assert _catalog(spark) == catalog  # no database, no table
    assert _files(spark_dir) == files  # nothing in the warehouse's folder
    assert not (root / ".retl" / "warehouse-state.acks").exists()


def test_a_state_of_catalog_tables_is_read_by_the_next_sync_and_the_history(
    spark: Any, spark_dir: Path, server: SandboxServer, tmp_path: Path
) -> None:
    """The state's catalog tables were named with backticks in the diff's SQL, which is
    DuckDB's (transpiled to Spark's), and DuckDB reads none: every sync after the first, its
    plan and `retl runs` failed "cannot parse ... as duckdb SQL"."""
    root = spark_project(tmp_path, server.base_url, spark_dir, "catalog_state")
    write_orders(root / "data" / "orders.parquet", 10)
    assert sync(root) == (10, 0)
    write_orders(root / "data" / "orders.parquet", 10, changed=(3,), extra=1)
    with Project.load(root) as p:
        (plan,) = p.plan()
        assert (plan.rows_new, plan.rows_changed, plan.rows_unchanged) == (1, 1, 9)
        assert len(p.runs()) == 1
    assert sync(root) == (2, 9)
    with Project.load(root) as p:
        assert [r.status for r in p.runs()] == ["ok", "ok"]

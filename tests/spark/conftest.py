"""A real, local Spark session for the Spark tests: one per test module (a JVM start costs
~10 s), ``local[2]``, two shuffle partitions, no UI. The engine under test finds it as the
process's active session and shares it.

Each module skips (``importorskip``; in a conftest it would be a collection error) only when
pyspark is not importable (``pip install 'retl[spark]'``); CI installs it, and ``.ci/run``
installs Java when it is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reverse_etl.engine.spark import SparkConnection, SparkEngine


@pytest.fixture(scope="module")
def spark_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module session's spark.sql.warehouse.dir (tables of its in-memory catalog)."""
    return tmp_path_factory.mktemp("spark-warehouse")


@pytest.fixture(scope="module")
def spark(spark_dir: Path) -> Iterator[Any]:
    engine = SparkEngine(
        SparkConnection(
            master="local[2]",
            conf={
                "spark.sql.shuffle.partitions": "2",
                "spark.default.parallelism": "2",
                # The JVM keeps the first session's settings as its defaults (spark-submit's
                # --conf): a module that starts it with a Hive catalog (test_read_only_spark)
                # must not make later modules' sessions Hive's.
                "spark.sql.catalogImplementation": "in-memory",
            },
            warehouse_dir=spark_dir,
        )
    )
    session = engine.session
    yield session
    engine.close()  # it started the session: this stops it

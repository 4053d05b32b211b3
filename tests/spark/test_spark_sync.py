"""Syncs from a Spark warehouse to the sandbox: the same events as from DuckDB, the state and
the diff in Spark (only the rows to send leave it), and a SIGKILL mid-send loses nothing."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.engine.base import JSON_TEXT, iter_batches
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.engine.spark import SparkConnection, SparkEngine
from reverse_etl.errors import EngineError, RetlError
from reverse_etl.models.dialects import query_for
from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_ADVERTISER_ID, DEMO_PIXEL_CODE, SandboxServer, SandboxWorld
from reverse_etl.state.journal import journal_files
from reverse_etl.state.spark import SparkStateStore
from reverse_etl.validation import validate_project
from tests.conftest import kill_sync_midway
from tests.portable_exprs import (
    date_diff_grid_sql,
    differences,
    engine_value,
    engine_values,
    normal,
)

pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'retl[spark]'")
pytestmark = pytest.mark.spark

TOKEN = "spark-test-token-41d7"
NOW = int(time.time()) - 3600


@pytest.fixture
def sandbox_token() -> str:
    """The token the ``server`` fixture (tests/conftest.py) accepts here."""
    return TOKEN


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARK_TEST_TOKEN", TOKEN)


def write_orders(path: Path, rows: int, *, changed: tuple[int, ...] = (), extra: int = 0) -> None:
    """Orders 1..rows (+ ``extra`` new ones) as Parquet; ``changed`` orders cost one more."""
    bumped = ", ".join(str(i) for i in changed) or "NULL"
    duckdb.sql(
        f"""COPY (SELECT i AS order_id, 'User' || i || '@Example.com' AS email,
                  make_timestamp(({NOW} - i) * 1000000) AS ordered_at,
                  CAST(i % 100 AS DECIMAL(10, 2)) + 0.5
                    + CASE WHEN i IN ({bumped}) THEN 1 ELSE 0 END AS total,
                  CASE WHEN i % 3 = 0 THEN '+1 415 555 ' || lpad(CAST(i % 10000 AS VARCHAR), 4, '0')
                  END AS phone
           FROM range(1, {rows + extra + 1}) AS t(i)) TO '{path}' (FORMAT parquet)"""
    )


MODEL = """
select 'Purchase' as event,
       'order-' || order_id::varchar as event_id,
       ordered_at as event_time,
       lower(email) as email,
       phone,
       total as value,
       'USD' as currency,
       list_value('sku-' || order_id::varchar) as content_ids
from {{ source('shop', 'orders') }}
where email ilike '%@example.com'
"""


def project(
    root: Path, base_url: str, warehouse: str, *, state: str = "", thread_count: int = 5
) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "retl_project.yml").write_text(
        f"""
warehouse:
{warehouse}
{state}
sources:
  - name: shop
    meta: {{external_location: "data/orders.parquet"}}
    tables:
      - name: orders
        columns:
          - {{name: order_id, data_type: bigint}}
          - {{name: email, data_type: varchar}}
          - {{name: ordered_at, data_type: timestamp}}
          - {{name: total, data_type: "decimal(12,2)"}}
          - {{name: phone, data_type: varchar}}
""",
        encoding="utf-8",
    )
    (root / "models" / "purchases.sql").write_text(MODEL, encoding="utf-8")
    (root / "destinations.yml").write_text(
        f"""
destinations:
  tiktok:
    type: tiktok_events
    model: purchases
    auth_method: access_token
    access_token: "{{{{ env_var('SPARK_TEST_TOKEN') }}}}"
    event_source_id: {DEMO_PIXEL_CODE}
    api_base_url: {base_url}
    thread_count: {thread_count}
""",
        encoding="utf-8",
    )
    (root / "data").mkdir()
    return root


def spark_project(root: Path, base_url: str, spark_dir: Path, schema: str, **kw: Any) -> Path:
    warehouse = f"  type: spark\n  master: local[2]\n  warehouse_dir: {spark_dir}"
    state = f"state:\n  location: warehouse\n  schema: {schema}"
    return project(root, base_url, warehouse, state=state, **kw)


def sync(root: Path) -> tuple[int, int]:
    with Project.load(root) as p:
        p.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
        report = p.sync()
    assert report.ok, report.to_dict()
    (r,) = report.results
    return r.sent, r.rows_unchanged


def events(server: SandboxServer) -> dict[str, dict[str, Any]]:
    return {e["data"]["event_id"]: e["data"] for e in server.events()}


def sandbox_events(
    make: Callable[[str], Path],
    synced: tuple[int, int],
    resynced: tuple[int, int] | None = None,
) -> dict[str, dict[str, Any]]:
    """The events the project ``make(base_url)`` sends to a sandbox of its own: its sync
    sends and leaves unchanged ``synced``; a second sync ``resynced``, when given."""
    world = SandboxWorld.demo()
    world.add_token(TOKEN, [DEMO_ADVERTISER_ID])
    with SandboxServer(world) as other:
        root = make(other.base_url)
        assert sync(root) == synced
        sent = events(other)
        if resynced is not None:
            assert sync(root) == resynced
    return sent


def test_spark_sends_the_events_duckdb_sends(
    spark: Any, spark_dir: Path, server: SandboxServer, tmp_path: Path
) -> None:
    on_spark = spark_project(tmp_path / "spark", server.base_url, spark_dir, "same_events")
    write_orders(on_spark / "data" / "orders.parquet", 1500)
    assert sync(on_spark) == (1500, 0)
    from_spark = events(server)

    def on_duckdb(base_url: str) -> Path:
        root = project(tmp_path / "duckdb", base_url, "  type: duckdb")
        write_orders(root / "data" / "orders.parquet", 1500)
        return root

    from_duckdb = sandbox_events(on_duckdb, (1500, 0))
    assert len(from_spark) == 1500
    assert from_spark == from_duckdb
    sample = from_spark["order-3"]
    assert sample["event_time"] == NOW - 3
    assert sample["properties"]["content_ids"] == ["sku-3"]
    assert sample["user"]["phone"]  # hashed by the same encoder


def test_only_the_rows_to_send_leave_spark(
    spark: Any, spark_dir: Path, server: SandboxServer, tmp_path: Path
) -> None:
    root = spark_project(tmp_path, server.base_url, spark_dir, "incremental")
    data = root / "data" / "orders.parquet"
    write_orders(data, 2000)
    assert sync(root) == (2000, 0)
    assert sync(root) == (0, 2000)  # nothing changed: no row left Spark
    write_orders(data, 2000, changed=(5, 6), extra=1)
    with Project.load(root) as p:
        (plan,) = p.plan()
    assert (plan.rows_new, plan.rows_changed, plan.rows_unchanged) == (1, 2, 1998)
    assert sync(root) == (3, 1998)
    # the state lives in Spark, not in a local state file
    assert not (root / ".retl" / "state.duckdb").exists()
    with Project.load(root) as p:
        (info,) = p.state_show()
        assert info.rows == 2001
        # the run history and the delivery log are in Spark too, newest run first
        runs = p.runs()
        assert [(r.sent, r.status) for r in runs] == [(3, "ok"), (0, "ok"), (2000, "ok")]
        # order-5 was sent by the first sync, and again once it changed
        assert [d.outcome for d in p.deliveries("order-5")] == ["accepted", "accepted"]
        assert p.state_reset(["tiktok"]) == {"tiktok": 2001}
    assert sync(root) == (2001, 0)


@pytest.mark.slow
def test_sigkill_mid_send_with_the_state_in_spark_loses_nothing(
    spark: Any, spark_dir: Path, server: SandboxServer, tmp_path: Path
) -> None:
    # 12 requests of 1,000, 3 at a time: killed once 2 were answered and the next 3 are
    # held in flight (the sandbox holds them, so the kill lands there whatever the load).
    root = spark_project(tmp_path, server.base_url, spark_dir, "killed", thread_count=3)
    write_orders(root / "data" / "orders.parquet", 12_000)
    env = {**os.environ, "SPARK_TEST_TOKEN": TOKEN}
    before = kill_sync_midway(root, server, env, after_requests=2, in_flight=3)
    assert before == 5000  # the 3 requests in flight landed after their sender died
    sent, _ = sync(root)  # folds the killed run's journal first
    assert server.stats.events_accepted == 12_000
    assert server.stats.events_deduplicated == 3 * 1000
    assert sent == 12_000 - 2000
    assert sync(root) == (0, 12_000)


def test_validate_reads_column_types_from_the_spark_catalog(
    spark: Any, spark_dir: Path, server: SandboxServer, tmp_path: Path
) -> None:
    spark.sql("CREATE DATABASE IF NOT EXISTS shop_catalog")
    spark.sql(
        "CREATE TABLE IF NOT EXISTS shop_catalog.orders (order_id BIGINT, email STRING, "
        "ordered_at TIMESTAMP_NTZ, total DECIMAL(10, 2)) USING parquet"
    )
    root = spark_project(tmp_path, server.base_url, spark_dir, "validate")
    yml = (root / "retl_project.yml").read_text(encoding="utf-8")
    # a catalog table, no declared columns: only Spark's catalog can type it
    yml = yml[: yml.index("sources:")] + (
        "sources:\n  - name: shop_catalog\n    tables:\n      - name: orders\n"
    )
    (root / "retl_project.yml").write_text(yml, encoding="utf-8")
    (root / "models" / "purchases.sql").write_text(
        "select 'Purchase' as event, 'o' || order_id::varchar as event_id, "
        "ordered_at as event_time, email, total as value, email as num_items "
        "from {{ source('shop_catalog', 'orders') }}",
        encoding="utf-8",
    )
    with Project.load(root) as p:
        (result,) = p.validate()
        types = {c.column: c.type.upper() for c in result.columns}
        assert types["email"] in ("TEXT", "VARCHAR")
        assert types["value"].replace(" ", "") == "DECIMAL(10,2)"
        # email as num_items is caught from the catalog's type alone
        errors = [d for d in result.diagnostics if d.severity == "error"]
        assert [d.column for d in errors] == ["num_items"], [d.problem for d in errors]
        # offline: the catalog is not asked, the table is not known
        (offline,) = validate_project(p, offline=True)
        assert any(d.rule == "unknown-table" for d in offline.diagnostics), [
            (d.rule, d.problem.message) for d in offline.diagnostics
        ]


def state_rows(store: SparkStateStore) -> dict[str, tuple[str, Any]]:
    rel = store.latest_relation("d", "s", with_first=True)
    sql = store.engine.transpile(f"SELECT row_key, row_hash, first_synced_at FROM {rel} AS t")
    return {k: (h, first) for k, h, first in store.engine.rows(sql)}


def test_a_fold_that_dies_is_finished_by_the_next_run(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    acks = tmp_path / "acks"
    clock = iter([1000.0, 2000.0, 3000.0])
    store = SparkStateStore(engine, "fold_dies", acks, write=True, clock=lambda: next(clock))
    assert [r["value"] for r in store._small("meta", "key STRING, value STRING")] == ["1"]
    store.record_acknowledged("d", "s", ["k1", "k2"], ["h1", "h2"])
    store.compact("d", "s")
    before = state_rows(store)
    assert {k: h for k, (h, _) in before.items()} == {"k1": "h1", "k2": "h2"}
    store.record_acknowledged("d", "s", ["k2", "k3"], ["h2b", "h3"])

    def dies(*_: Any, **__: Any) -> None:
        raise RuntimeError("killed between the new slot and the pointer")

    # The free slot is written whole, then the process dies before pointing at it.
    monkeypatch.setattr(SparkStateStore, "_point", dies)
    with pytest.raises(RuntimeError):
        store.compact("d", "s")
    monkeypatch.undo()
    assert journal_files(acks)  # the journal stays for the next run
    reader = SparkStateStore(engine, "fold_dies", acks, write=False)
    assert state_rows(reader) == before  # readers keep the slot in use
    assert any("not in the Spark state yet" in w for w in reader.warnings)
    reader.close()
    # The next run that writes folds the journal first; k2 keeps its first acknowledgement.
    rerun = SparkStateStore(engine, "fold_dies", acks, write=True, clock=lambda: 4000.0)
    after = state_rows(rerun)
    rerun.close()
    assert {k: h for k, (h, _) in after.items()} == {"k1": "h1", "k2": "h2b", "k3": "h3"}
    assert after["k2"][1] == before["k2"][1]
    assert journal_files(acks) == []


def test_a_resync_classifies_every_row_once_in_spark(
    spark: Any, spark_dir: Path, server: SandboxServer, tmp_path: Path
) -> None:
    # Queries Spark runs that hash the model's rows (md5 of each row): an unchanged re-sync
    # hashes them once, in the one classification it keeps; counts are read from that.
    root = spark_project(tmp_path, server.base_url, spark_dir, "classified_once")
    data = root / "data" / "orders.parquet"
    write_orders(data, 500)
    assert sync(root) == (500, 0)
    hashing: list[str] = []
    plans: list[str] = []
    rows, stream = SparkEngine.rows, SparkEngine.stream
    cached = getattr(SparkEngine, "cached", None)

    def run(sql: str) -> None:
        if "md5(" in sql.lower():
            hashing.append(sql)

    def counted_rows(self: SparkEngine, sql: str, params: Any = ()) -> Any:
        run(sql)
        if "__retl_cached_" in sql:  # read from what Spark kept, not computed again
            plan = str(self.session.sql(sql)._jdf.queryExecution().executedPlan())
            plans.append(plan.partition("InMemoryRelation")[0])  # not the kept plan's text
        return rows(self, sql, params)

    def counted_stream(self: SparkEngine, sql: str, **kw: Any) -> Any:
        run(sql)
        return stream(self, sql, **kw)

    def counted_cached(self: SparkEngine, sql: str) -> Any:
        run(sql)
        assert cached is not None
        return cached(self, sql)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SparkEngine, "rows", counted_rows)
        patch.setattr(SparkEngine, "stream", counted_stream)
        if cached is not None:
            patch.setattr(SparkEngine, "cached", counted_cached)
        assert sync(root) == (0, 500)
        assert len(hashing) == 1, hashing  # before: a count pass, then a diff pass
        assert plans and all("InMemoryTableScan" in p for p in plans), plans
        assert not any("FileScan" in p or "Join" in p for p in plans), plans
        # 1 new, 2 changed: the model runs again only to fetch those 3 rows
        write_orders(data, 500, changed=(5, 6), extra=1)
        hashing.clear()
        assert sync(root) == (3, 498)
        assert len(hashing) == 2, hashing


# A model in Spark SQL (config(dialect='spark')): backquoted names, concat, array(), a LIKE on
# lower(): on Spark it runs as written, on DuckDB sqlglot translates it; both send the same.
SPARK_MODEL = """{{ config(dialect='spark') }}
select 'Purchase' as event,
       concat('order-', cast(`order_id` as string)) as event_id,
       ordered_at as event_time,
       lower(email) as email,
       phone,
       total as value,
       'USD' as currency,
       array(concat('sku-', cast(order_id as string))) as content_ids
from {{ source('shop', 'orders') }}
where lower(email) like '%@example.com'
"""


def spark_model_on_duckdb(tmp_path: Path) -> Callable[[str], Path]:
    """The project of SPARK_MODEL over 300 orders on the embedded DuckDB (translated there),
    for ``sandbox_events``."""

    def make(base_url: str) -> Path:
        root = project(tmp_path / "duckdb", base_url, "  type: duckdb")
        (root / "models" / "purchases.sql").write_text(SPARK_MODEL, encoding="utf-8")
        write_orders(root / "data" / "orders.parquet", 300)
        return root

    return make


def test_a_model_in_spark_sql_runs_as_written_and_sends_what_duckdb_sends(
    spark: Any, spark_dir: Path, server: SandboxServer, tmp_path: Path
) -> None:
    on_spark = spark_project(tmp_path / "spark", server.base_url, spark_dir, "native_model")
    (on_spark / "models" / "purchases.sql").write_text(SPARK_MODEL, encoding="utf-8")
    write_orders(on_spark / "data" / "orders.parquet", 300)
    with Project.load(on_spark) as p:
        (compiled,) = p.compile()
        sql = query_for(compiled, p.engine)
        assert sql.startswith("SELECT * FROM __retl_model_")  # a view of the text as written
    assert sync(on_spark) == (300, 0)
    from_spark = events(server)

    from_duckdb = sandbox_events(spark_model_on_duckdb(tmp_path), (300, 0))
    assert len(from_spark) == 300
    assert from_spark == from_duckdb
    assert from_spark["order-3"]["properties"]["content_ids"] == ["sku-3"]


def test_a_project_in_spark_sql_runs_its_models_as_written_and_its_own_sql_as_duckdb_s(
    spark: Any, spark_dir: Path, server: SandboxServer, tmp_path: Path
) -> None:
    """``warehouse: {dialect: spark}``: each model is Spark SQL, taken as written, as one
    declaring ``config(dialect='spark')``; retl's own SQL around it (the diff, the row hash,
    the history) is still DuckDB's, translated. It was read as Spark SQL too, where
    ``"name"`` is a string and a quote is escaped by a backslash."""
    root = tmp_path / "spark"
    warehouse = f"  type: spark\n  master: local[2]\n  warehouse_dir: {spark_dir}\n  dialect: spark"
    state = "state:\n  location: warehouse\n  schema: project_dialect"
    on_spark = project(root, server.base_url, warehouse, state=state)
    model = SPARK_MODEL.replace("{{ config(dialect='spark') }}\n", "")
    (on_spark / "models" / "purchases.sql").write_text(model, encoding="utf-8")
    write_orders(on_spark / "data" / "orders.parquet", 300)
    with Project.load(on_spark) as p:
        (compiled,) = p.compile()
        assert compiled.dialect == "spark"
        assert query_for(compiled, p.engine).startswith("SELECT * FROM __retl_model_")
    assert sync(on_spark) == (300, 0)
    assert sync(on_spark) == (0, 300)
    from_spark = events(server)

    assert from_spark == sandbox_events(spark_model_on_duckdb(tmp_path), (300, 0))
    with Project.load(on_spark) as p:
        (run,) = p.runs(limit=1)
    assert run.sent == 0


@pytest.mark.slow
def test_a_failing_task_s_values_reach_neither_the_message_nor_the_terminal(
    spark: Any, spark_dir: Path, tmp_path: Path, run_cli: Any
) -> None:
    """Spark's executors log the value a task failed on at ERROR, with the Java stack, on
    the process's stderr; retl's log4j configuration keeps Spark's log off the terminal. A
    process of its own: the log's configuration is read when its Java starts."""
    warehouse = f"  type: spark\n  master: local[1]\n  warehouse_dir: {spark_dir}"
    root = project(tmp_path / "p", "http://127.0.0.1:9", warehouse)
    write_orders(root / "data" / "orders.parquet", 20)
    (root / "models" / "purchases.sql").write_text(
        MODEL.replace("lower(email) as email", "cast(email || ' Hidden Lane' as int) as email"),
        encoding="utf-8",
    )
    result = run_cli("show", "purchases", "--project-dir", root)
    assert result.returncode == 1
    assert "Hidden Lane" not in result.stdout + result.stderr
    assert "Exception" not in result.stderr  # no Java stack on the terminal
    assert "purchases.sql" in result.stderr  # retl's own message, naming the model


def test_a_csv_file_is_read_as_duckdb_reads_it(spark: Any, tmp_path: Path) -> None:
    """A quoted value over two lines and a doubled quote (RFC 4180, DuckDB's reading);
    Spark's defaults split the record and kept the quotes. A value not of its column's type
    is an error in both, not a NULL."""
    import duckdb

    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    good = tmp_path / "notes.csv"
    good.write_text('id,note,n\n1,ok,5\n2,"line one\nline two",7\n3,"say ""hi""",9\n')
    types = "types = {'id': 'BIGINT', 'note': 'VARCHAR', 'n': 'BIGINT'}"
    sql = f"select id, note, n from read_csv('{good}', header = true, {types}) order by id"
    from_spark = engine.stream(sql).read_all().to_pylist()
    assert from_spark == duckdb.sql(sql).to_arrow_table().to_pylist()
    assert [r["note"] for r in from_spark] == ["ok", "line one\nline two", 'say "hi"']
    bad = tmp_path / "bad.csv"
    bad.write_text("id,note,n\n1,ok,5\n2,Jane Roe,notanumber\n")
    with pytest.raises(EngineError, match="Malformed records") as failed:
        engine.stream(sql.replace(str(good), str(bad))).read_all()
    assert "Jane Roe" not in failed.value.message  # Spark quotes the record: masked


@pytest.mark.parametrize(
    ("expression", "left"),
    [
        ("cast(cast('12125550199' as bigint) as int)", "cannot be cast"),  # 12125550199L
        ("from_utc_timestamp(current_timestamp(), 'Jane Doe/Home 10.1.2.3')", "timezone"),
        ("parse_url('Jane Doe', 'HOST')", "url is invalid"),
        ("to_number('Jane Doe', '999')", "does not match the format"),
        ("raise_error('Jane Doe')", "raise_error(): ***"),
    ],
)
def test_a_value_a_running_query_failed_on_is_not_quoted(
    spark: Any, expression: str, left: str
) -> None:
    """Spark quotes the value bare, not in quotes (an audit): 'The timezone: Jane Doe/Home
    10.1.2.3 is invalid', 'The value 12125550199L of the type ...'. Each of its message
    parameters that names nothing is masked; the sentence around stays."""
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    with pytest.raises(EngineError) as failed:
        engine.stream(f"select {expression} as x").read_all()
    message = failed.value.message
    assert "Jane" not in message and "12125550199" not in message and "10.1.2.3" not in message
    assert left in message


def test_a_csv_record_of_other_columns_than_declared_is_not_quoted(
    spark: Any, tmp_path: Path
) -> None:
    """A source declared one column short: Spark's 'Malformed CSV record: 1,Jane Doe,...'."""
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    bad = tmp_path / "wide.csv"
    bad.write_text("id,note\n1,Jane Doe,jane@x.com,+12125550199\n")
    types = "types = {'id': 'BIGINT', 'note': 'VARCHAR'}"
    with pytest.raises(EngineError) as failed:
        engine.stream(f"select * from read_csv('{bad}', header = true, {types})").read_all()
    assert "Jane" not in failed.value.message


def test_an_interval_of_days_and_a_time_is_refused_with_its_text_not_cut_short(
    spark: Any,
) -> None:
    """sqlglot alone translated ``interval '1 day 02:00:03'`` as one day
    (reverse_etl/sqlglot_fixes.py). Spark reads no time of day in an interval's text:
    retl says so, naming the text; the same interval in units means the same in Spark."""
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    start = "select timestamp '2024-01-01 00:00:00' + "
    with pytest.raises(EngineError, match=r"INTERVAL '1 day 02:00:03'") as refused:
        engine.transpile(start + "interval '1 day 02:00:03' as t")
    assert "1 day 2 hours 3 seconds" in (refused.value.hint or "")
    sql = engine.transpile(start + "interval '1 day 2 hours 3 seconds' as t")
    assert engine.rows(sql) == [(dt.datetime(2024, 1, 2, 2, 0, 3),)]


WEEKDAYS = (
    "select d, dayofweek(d) as a, extract(dow from d) as b, date_part('dow', d) as c, "
    "weekday(d) as e, isodow(d) as f, extract(isodow from d) as g, "
    "date_part('isodow', d) as h, extract(day from d) as i "
    "from (select cast('2024-03-17' as date) + cast(i as integer) as d "
    "from (values (0), (1), (2), (3), (4), (5), (6)) as t(i)) as w order by d"
)


def test_a_day_of_the_week_is_numbered_as_in_duckdb(spark: Any) -> None:
    """sqlglot writes DuckDB's day-of-week numbers (Sunday 0, ISO Monday 1) as Spark's own
    (Sunday 1, Monday 0): a day off, silently. A whole week, both engines."""
    duck = duckdb.connect()
    expected = duck.execute(WEEKDAYS.format(step="i", days="range(7) as t(i)")).fetchall()
    assert [r[1] for r in expected] == [0, 1, 2, 3, 4, 5, 6]  # Sunday 17 March 2024 first
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    sql = engine.transpile(WEEKDAYS)
    assert engine.rows(sql) == expected


FRACTIONS = """
with m as (
    select i, d, f, r, s, b, d * 3 as d3, f / 2 as half from read_parquet('{path}')
)
select i, cast(d as int) as a, cast(f as bigint) as c, try_cast(r as int) as e,
       d::smallint as g, cast(d3 as int) as h, cast(half as int) as k, cast(i as int) as n,
       cast(s as int) as o, cast(b as int) as p
from m order by i
"""


def test_a_fraction_cast_to_an_integer_rounds_as_in_duckdb(spark: Any, tmp_path: Path) -> None:
    """DuckDB rounds a DECIMAL half away from zero and a DOUBLE or FLOAT half to even when
    it casts one to an integer; Spark truncates both. Columns of a file, through a CTE,
    ties of both signs: the same rows from both engines (engine/spark_numbers.py). Text and
    boolean casts are left as they are."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ties = [2.5, -2.5, 3.5, 1.9, 0.5, -1.49, 4.5]
    table = pa.table(
        {
            "i": pa.array(range(len(ties)), pa.int32()),
            "d": pa.array([decimal.Decimal(str(t)) for t in ties], pa.decimal128(10, 2)),
            "f": pa.array(ties, pa.float64()),
            "r": pa.array(ties, pa.float32()),
            "s": pa.array([str(n) for n in range(len(ties))]),
            "b": pa.array([n % 2 == 0 for n in range(len(ties))]),
        }
    )
    path = tmp_path / "fractions.parquet"
    pq.write_table(table, path)
    sql = FRACTIONS.format(path=path)
    expected = duckdb.sql(sql).fetchall()
    assert [r[1] for r in expected] == [3, -3, 4, 2, 1, -1, 5]  # half away from zero
    assert [r[2] for r in expected] == [2, -2, 4, 2, 0, -1, 4]  # half to even
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    assert engine.rows(engine.transpile(sql)) == expected


JSON_VALUES = ["2.5", "3.5", "2.6", "-2.5", "-0.5", "1e2", "2", "true", "false", "null", "1.5"]
WIDE_VALUES = ["9007199254740993", "2147483647.4", "-9007199254740993"]  # a BIGINT


def test_a_json_number_cast_to_an_integer_is_duckdbs_value(spark: Any) -> None:
    """DuckDB reads a JSON number as a DOUBLE when it casts it to an integer, rounded half to
    even (2.5 gives 2, 3.5 gives 4, 1e2 gives 100), ``true`` as 1, ``null`` as NULL; Spark
    failed on the fraction's JSON text ("malformed ... Use try_cast"), naming neither the
    model nor the column (engine/spark_numbers.json_integer). Every integer type, side by
    side; what neither can cast (out of range, a list) fails on both."""
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session

    def rows(values: list[str]) -> str:
        return " union all ".join(
            f"select {i} as i, '{{\"a\": {v}}}'::json as j" for i, v in enumerate(values)
        )

    for to in ("tinyint", "smallint", "int", "bigint"):  # (HUGEINT: Spark has no INT128)
        values = JSON_VALUES + (WIDE_VALUES if to == "bigint" else [])
        sql = f"select i, cast(j->'a' as {to}) as n, (j->'a')::{to} as m from ({rows(values)}) t"
        expected = duckdb.sql(sql + " order by i").fetchall()
        if to == "int":
            assert [r[1] for r in expected] == [2, 4, 3, -2, 0, 100, 2, 1, 0, None, 2]
        got = engine.rows(engine.transpile(sql) + " ORDER BY i")
        assert [tuple(None if v is None else int(v) for v in r) for r in got] == expected, to
        assert engine.untyped(sql) == []  # its JSON text says what it is: nothing to say
    for bad in ("9007199254740993", "40000.5", "[1]", '{"b": 1}'):  # both fail
        sql = f"select cast(j->'a' as smallint) as n from (select '{{\"a\": {bad}}}'::json as j) t"
        with pytest.raises(duckdb.Error):
            duckdb.sql(sql).fetchall()
        with pytest.raises(EngineError):
            engine.rows(engine.transpile(sql))


def test_a_json_value_try_cast_to_an_integer_is_null_where_duckdb_s_is(spark: Any) -> None:
    """``try_cast(j->'k' as <integer>)`` is DuckDB's value too, and NULL where DuckDB's is
    (a quoted text, a list, an object, a number out of the type's range): the rewrite of
    ``cast`` (json_integer) wrote a plain CAST for it, and Spark failed the model on the
    value DuckDB gives NULL for."""
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    values = ["2.5", "3.5", "1e2", "7", "true", "null", '"abc"', "[1]", '{"b": 1}', "40000.5"]
    rows = " union all ".join(
        f"select {i} as i, '{{\"a\": {v}}}'::json as j" for i, v in enumerate(values)
    )
    sql = f"select i, try_cast(j->'a' as smallint) as n from ({rows}) t"
    expected = duckdb.sql(sql + " order by i").fetchall()
    assert [r[1] for r in expected] == [2, 4, 100, 7, 1, None, None, None, None, None]
    got = engine.rows(engine.transpile(sql) + " ORDER BY i")
    assert [tuple(None if v is None else int(v) for v in r) for r in got] == expected


def test_char_columns_come_without_the_padding_spark_gives_them(spark: Any) -> None:
    """Spark pads a CHAR(n) value to n characters: 'ab' in a CHAR(5) column came back as
    'ab   ' and was sent so (an event named 'usd  ', an event_id no pixel event matches).
    Read as PostgreSQL's char(n) is: without the trailing spaces, in lists, structs and map
    values too; VARCHAR(n) and text keep theirs."""
    spark.sql(
        "CREATE TABLE char_padded (k INT, c CHAR(5), a ARRAY<CHAR(5)>, "
        "st STRUCT<x: CHAR(4), n: INT>, m MAP<STRING, CHAR(3)>, v VARCHAR(5)) USING parquet"
    )
    spark.sql(
        "INSERT INTO char_padded VALUES (1, 'ab', array('ab', NULL), "
        "named_struct('x', 'q', 'n', 1), map('k', 'z'), 'ab '), (2, NULL, NULL, NULL, NULL, NULL)"
    )
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    sql = "select k, c, c as event_id, a, st, m, v, c || '|' as joined from char_padded order by k"
    rows = engine.stream(sql).read_all().to_pylist()
    assert rows == [
        {
            "k": 1,
            "c": "ab",
            "event_id": "ab",
            "a": ["ab", None],
            "st": {"x": "q", "n": 1},
            "m": [("k", "z")],
            "v": "ab ",
            "joined": "ab   |",  # computed from the padded value: Spark's text, kept
        },
        dict.fromkeys(["c", "event_id", "a", "st", "m", "v", "joined"]) | {"k": 2},
    ]


def test_variant_columns_are_read_as_the_json_they_hold(spark: Any) -> None:
    """Arrow has no variant: a VARIANT column (a Databricks table's semi-structured column,
    ``parse_json(s)``) came as a struct of Spark's two binary encodings and was sent so,
    ``{"value": "\\x02...", "metadata": "\\x01..."}``, where DuckDB sends the object a
    JSON column holds. It is read as its JSON text, marked JSON for the workbench, in any
    dialect; in a list or a struct too."""
    spark.sql("CREATE TABLE variant_cols (k INT, v VARIANT, a ARRAY<VARIANT>) USING parquet")
    spark.sql(
        'INSERT INTO variant_cols SELECT 1, parse_json(\'{"a": 1, "n": 9007199254740993}\'), '
        "array(parse_json('\"sku-1\"'), parse_json('12.5')) UNION ALL SELECT 2, NULL, NULL"
    )
    for dialect in ("duckdb", "spark"):
        engine = SparkEngine(SparkConnection(master="local[2]"), model_dialect=dialect)
        reader = engine.stream("select k, v, a from variant_cols order by k")
        assert [f.name for f in reader.schema if f.metadata and JSON_TEXT in f.metadata] == [
            "v",
            "a",
        ], dialect
        rows = reader.read_all().to_pylist()
        assert [
            (r["k"], json.loads(r["v"] or "null"), json.loads(r["a"] or "null")) for r in rows
        ] == [
            (1, {"a": 1, "n": 9007199254740993}, ["sku-1", 12.5]),
            (2, None, None),
        ], dialect


INTERVAL_MODEL = """
select 'Purchase' as event,
       'order-' || order_id::varchar as event_id,
       ordered_at as event_time,
       lower(email) as email,
       case when order_id % 2 = 0 then interval '1 year 2 months'
            when order_id = 1 then interval '-14 months' end as "properties.ym",
       case when order_id % 2 = 0 then interval '1 day 2 hours 3 minutes 4.5 seconds'
            when order_id = 1 then interval '3 days'
            else interval '-1 day -2 hours -0.25 seconds' end as "properties.dt",
       list_value(interval '26 hours', interval '-0.5 seconds') as "properties.times",
       interval '0 seconds' as "properties.zero"
from {{ source('shop', 'orders') }}
"""


def test_intervals_are_sent_as_the_text_duckdb_sends(
    spark: Any, spark_dir: Path, server: SandboxServer, tmp_path: Path
) -> None:
    """Arrow has no year-month interval: a column of one failed the whole model on Spark
    (``YearMonthIntervalType(0, 1) is not supported in conversion to Arrow``), and a day-time
    interval was sent as hours ('26:03:04.5', '72:00:00'). Both are sent as DuckDB's text of
    them ('1 year 2 months', '1 day 02:03:04.5', '3 days'), in a list too
    (engine/spark_intervals.py)."""

    def interval_project(root: Path, base_url: str, warehouse: str, state: str = "") -> Path:
        root = project(root, base_url, warehouse, state=state)
        (root / "models" / "purchases.sql").write_text(INTERVAL_MODEL, encoding="utf-8")
        write_orders(root / "data" / "orders.parquet", 3)
        return root

    warehouse = f"  type: spark\n  master: local[2]\n  warehouse_dir: {spark_dir}"
    state = "state:\n  location: warehouse\n  schema: interval_columns"
    from_spark = sandbox_events(
        lambda url: interval_project(tmp_path / "spark", url, warehouse, state), (3, 0), (0, 3)
    )
    from_duckdb = sandbox_events(
        lambda url: interval_project(tmp_path / "duckdb", url, "  type: duckdb"), (3, 0)
    )
    sent = {
        k: {p: e["properties"].get(p) for p in ("ym", "dt", "times", "zero")}
        for k, e in from_duckdb.items()
    }
    assert sent == {
        "order-1": {
            "ym": "-1 year -2 months",
            "dt": "3 days",
            "times": ["26:00:00", "-00:00:00.5"],
            "zero": "00:00:00",
        },
        "order-2": {
            "ym": "1 year 2 months",
            "dt": "1 day 02:03:04.5",
            "times": ["26:00:00", "-00:00:00.5"],
            "zero": "00:00:00",
        },
        "order-3": {
            "ym": None,
            "dt": "-1 day -02:00:00.25",
            "times": ["26:00:00", "-00:00:00.5"],
            "zero": "00:00:00",
        },
    }
    assert from_spark == from_duckdb


def test_interval_columns_of_every_kind_read_as_duckdb_s_text(spark: Any) -> None:
    """Spark's own interval types (a Spark SQL model, a table's column) and a timestamp less a
    timestamp, in a struct and a map: the text DuckDB gives the same intervals."""
    pairs = [
        ("INTERVAL '1-2' YEAR TO MONTH", "INTERVAL '1 year 2 months'"),
        ("INTERVAL '-1-2' YEAR TO MONTH", "INTERVAL '-14 months'"),
        ("INTERVAL '0-0' YEAR TO MONTH", "INTERVAL '0 months'"),
        ("INTERVAL '12' MONTH", "INTERVAL '12 months'"),
        ("INTERVAL '-1' MONTH", "INTERVAL '-1 month'"),
        ("INTERVAL '1 02:03:04.5' DAY TO SECOND", "INTERVAL '1 day 02:03:04.5'"),
        ("INTERVAL '-1 02:03:04.5' DAY TO SECOND", "INTERVAL '-1 day -02:03:04.5'"),
        ("INTERVAL '3' DAY", "INTERVAL '3 days'"),
        ("INTERVAL '-1' DAY", "INTERVAL '-1 day'"),
        ("INTERVAL '26' HOUR", "INTERVAL '26 hours'"),
        ("INTERVAL '100:00' HOUR TO MINUTE", "INTERVAL '100 hours'"),
        ("INTERVAL '90' MINUTE", "INTERVAL '90 minutes'"),
        ("INTERVAL '0.000001' SECOND", "INTERVAL '0.000001 seconds'"),
        ("INTERVAL '1.10' SECOND", "INTERVAL '1.1 seconds'"),
        ("INTERVAL '0' SECOND", "INTERVAL '0 seconds'"),
        ("INTERVAL '-1 00:00:00.000001' DAY TO SECOND", "INTERVAL '-1 day -00:00:00.000001'"),
        ("timestamp '2024-01-01' - timestamp '2024-01-03 01:00:00.25'",) * 2,
    ]
    columns = ", ".join(f"{s} AS c{i}" for i, (s, _) in enumerate(pairs))
    texts = ", ".join(f"CAST({d} AS VARCHAR)" for _, d in pairs)
    expected = duckdb.sql(f"SELECT {texts}").fetchone()
    assert expected is not None and expected[:2] == ("1 year 2 months", "-1 year -2 months")
    engine = SparkEngine(SparkConnection(master="local[2]"), model_dialect="spark")
    (row,) = engine.stream(f"SELECT {columns}").read_all().to_pylist()
    assert tuple(row.values()) == expected
    nested = (
        "SELECT named_struct('i', INTERVAL '1-2' YEAR TO MONTH, 'n', 1) AS st, "
        "map('k', INTERVAL '3' DAY) AS m, CAST(NULL AS INTERVAL DAY) AS z"
    )
    assert engine.stream(nested).read_all().to_pylist() == [
        {"st": {"i": "1 year 2 months", "n": 1}, "m": [("k", "3 days")], "z": None}
    ]


def test_a_calendar_interval_column_is_refused_by_name(spark: Any) -> None:
    """Spark's legacy calendar interval (make_interval) reaches neither Arrow nor a table:
    Spark's own error ("CalendarIntervalType() is not supported in conversion to Arrow")
    named no column, at the top level or inside a struct."""
    engine = SparkEngine(SparkConnection(master="local[2]"), model_dialect="spark")
    for sql, column in [
        ("SELECT 1 AS n, make_interval(1, 2, 0, 3, 4, 5, 6.5) AS waited", "'waited'"),
        ("SELECT named_struct('i', make_interval(0, 1), 'n', 1) AS st", "'st'"),
    ]:
        with pytest.raises(EngineError, match=f"model column {column} is a Spark calendar") as e:
            engine.stream(sql).read_all()
        assert "make_dt_interval" in (e.value.hint or "")


def test_a_regexp_replace_spark_cannot_say_is_refused(spark: Any) -> None:
    """Without 'g', DuckDB replaces the first match and Spark every match; an 'i' option
    sqlglot drops. With 'g' alone both replace every match."""
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    with pytest.raises(EngineError, match="first match only") as first:
        engine.transpile("select regexp_replace('a1b22', '[0-9]+', '#') as r")
    assert "'g'" in (first.value.hint or "")
    with pytest.raises(EngineError, match="options 'gi'"):
        engine.transpile("select regexp_replace('a1B', '[a-z]', '', 'gi') as r")
    every = "select regexp_replace('a1b22', '[0-9]+', '#', 'g') as r"
    assert engine.rows(engine.transpile(every)) == duckdb.sql(every).fetchall() == [("a#b#",)]


def test_duckdbs_format_is_refused_for_spark(spark: Any) -> None:
    """Spark's FORMAT_STRING, which sqlglot writes for DuckDB's format(), takes '%s' and
    writes NULL as 'null': DuckDB's '{}' template came out as it was written."""
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    with pytest.raises(EngineError, match=r"format\(\) gives other text in Spark SQL"):
        engine.transpile("select format('{}-{}', 'a', 'b') as s")


def test_duckdbs_printf_is_refused_for_spark_but_for_integers(spark: Any) -> None:
    """Spark's printf (Java's Formatter) writes %.2f of 1.005 as 1.01 (DuckDB: 1.00), a
    timestamp's %s as its microseconds: refused; an integer's %d is the same text."""
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    with pytest.raises(EngineError, match=r"printf\(\) gives other text in Spark SQL"):
        engine.transpile("select printf('%.2f', 1.005::double) as s")
    same = "select printf('o-%05d', 42) as s"
    assert engine.rows(engine.transpile(same)) == duckdb.sql(same).fetchall() == [("o-00042",)]


def test_no_expression_gives_another_value_on_spark_silently(spark: Any) -> None:
    """DuckDB-dialect expressions give DuckDB's values on Spark, fail loudly, or differ as
    docs/warehouses.md says (tests/portable_exprs.py)."""
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    bench = DuckDBEngine()
    try:
        # read as a sync reads it (the stream): a Row has no zone, nor an interval's text
        found = differences(
            "spark",
            lambda sql: engine_value(engine, bench, sql),
            (EngineError,),
            run_many=lambda expressions: engine_values(engine, bench, expressions),
        )
    finally:
        bench.close()
    assert found == []


def test_an_ordered_list_beside_a_cast_keeps_the_cast_rounded_as_in_duckdb(spark: Any) -> None:
    """``list(r ORDER BY k)`` is written with lambdas whose parameters were ``s``, ``l`` and
    ``r``: beside a derived table ``s`` or a column ``r``, sqlglot could not type the query,
    and every rewrite that needs types was dropped, silently: ``cast(2.5 as int)`` beside it
    truncated to 2 where DuckDB rounds to 3, and ``len()`` of a list became a text's length."""
    sql = (
        "select (select list(r order by k) from (select k, k * 10 as r "
        "from (values (2, 1), (1, 2)) t(k, x)) s) as l, cast(2.5 as int) as c, "
        "len(string_split('a,b,c', ',')) as n"
    )
    expected = duckdb.sql(sql).fetchall()
    assert expected == [([10, 20], 3, 3)]
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    assert [tuple(r) for r in engine.rows(engine.transpile(sql))] == expected


def test_an_alias_named_again_keeps_the_cast_rounded_and_the_untyped_is_said(
    spark: Any, spark_dir: Path, tmp_path: Path
) -> None:
    """``GROUP BY v`` of a cast's alias (DuckDB allows it): sqlglot's typed copy had the
    cast twice, and every rewrite of the query was given up, silently (2.5 truncated to
    2). What cannot be typed (a division of a JSON value's ``->``; ``list_max`` of a list is
    typed now, as its items) goes as written, and ``retl plan`` says so at the model."""
    sql = (
        "select cast(d as int) as v, count(*) as n "
        "from (values (cast(2.5 as decimal(3, 1)))) t(d) group by v"
    )
    expected = duckdb.sql(sql).fetchall()
    assert expected == [(3, 1)]
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    assert [tuple(r) for r in engine.rows(engine.transpile(sql))] == expected
    root = spark_project(tmp_path, "http://127.0.0.1:9", spark_dir, "untyped")
    write_orders(root / "data" / "orders.parquet", 3)
    model = root / "models" / "purchases.sql"
    model.write_text(
        MODEL.replace("total as value", "(json_object('n', order_id)->'n') / 2 as value"),
        encoding="utf-8",
    )
    with Project.load(root) as p:
        (plan,) = p.plan()
    (said,) = [w for w in plan.warnings if "operands' types not found" in w.message]
    assert said.file == model and said.severity == "warning"
    # the model's own text (DuckDB's SQL), not its Spark form (CAST(TO_JSON(VARIANT_GET(...)
    assert "run as written: (JSON_OBJECT('n', order_id) -> '$.n') / 2" in said.message
    assert "VARIANT" not in said.message, said.message
    assert "config(dialect='spark')" in (said.hint or "")
    model.write_text(MODEL, encoding="utf-8")  # every operand typed: nothing said
    with Project.load(root) as p:
        (plan,) = p.plan()
    assert not [w for w in plan.warnings if "operands' types not found" in w.message]


def test_date_diff_counts_as_duckdb_over_a_grid_of_times_and_dates(spark: Any) -> None:
    """Spark's datediff counts whole units; retl writes DuckDB's count (the boundaries
    crossed) for every part, over 225 pairs of times and of their dates."""
    sql = date_diff_grid_sql()
    expected = duckdb.sql(sql).fetchall()
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    got = [tuple(row) for row in engine.rows(engine.transpile(sql))]
    assert len(expected) == 225
    assert got == expected


def test_epoch_ms_of_a_timestamp_column_is_its_milliseconds_as_in_duckdb(
    spark: Any, tmp_path: Path
) -> None:
    """sqlglot reads DuckDB's epoch_ms(x) as milliseconds to a timestamp, which Spark
    refuses for a timestamp column; a column typed as a date or timestamp (here a file's,
    through a CTE) gives DuckDB's milliseconds, truncated toward zero before 1970, and a
    number of milliseconds still gives DuckDB's timestamp (engine/spark_numbers.py)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    at = [
        dt.datetime(2024, 3, 15, 10, 11, 12, 500500),
        dt.datetime(1969, 12, 31, 23, 59, 59, 999500),
        dt.datetime(2000, 1, 1),
    ]
    table = pa.table(
        {
            "i": pa.array(range(len(at)), pa.int32()),
            "ts": pa.array(at, pa.timestamp("us")),
            "day": pa.array([t.date() for t in at], pa.date32()),
            "ms": pa.array([1710497472500, -1, 0], pa.int64()),
        }
    )
    path = tmp_path / "times.parquet"
    pq.write_table(table, path)
    sql = (
        f"with t as (select * from read_parquet('{path}')) "
        "select i, epoch_ms(ts) as a, epoch_ms(day) as d, epoch_ms(ms) as m from t order by i"
    )
    expected = duckdb.sql(sql).fetchall()
    assert [r[1] for r in expected] == [1710497472500, 0, 946684800000]
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    assert engine.rows(engine.transpile(sql)) == expected


def test_times_signs_and_floors_are_duckdbs_kind_of_value(spark: Any, tmp_path: Path) -> None:
    """Spark's date_trunc, to_timestamp (strptime), timestamp_millis (epoch_ms of a number),
    make_timestamp and from_utc_timestamp (AT TIME ZONE) give a time with a zone (read as
    one in UTC) where DuckDB's is a TIMESTAMP without one; its sign() a DOUBLE where
    DuckDB's is a TINYINT; floor/ceil of an integer or a DOUBLE (a map's value too; a map
    literal was not read back) a BIGINT where DuckDB's is a DOUBLE; sqlglot's TRUNC(d,
    'DAY') for date_trunc of a DATE NULL (a DATE for others).
    Read as a sync reads them (the stream), the values and their Python types are DuckDB's,
    for a file's columns (through a CTE) too; a zoned time's date_trunc stays zoned."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "ts": pa.array([dt.datetime(2024, 3, 15, 10, 11, 12)], pa.timestamp("us")),
            "ms": pa.array([1710497472500], pa.int64()),
            "x": pa.array([-2.5], pa.float64()),
            "mp": pa.array([[("a", 2.5)]], pa.map_(pa.string(), pa.float64())),
        }
    )
    path = tmp_path / "kinds.parquet"
    pq.write_table(table, path)
    sql = (
        f"with t as (select * from read_parquet('{path}')) select"
        " date_trunc('month', ts) as a, date_trunc('hour', timestamp '2024-03-15 10:11:12') as b,"
        " strptime('15/03/2024', '%d/%m/%Y') as c, epoch_ms(ms) as d,"
        " epoch_ms(1710497472500) as e, make_timestamp(2024, 3, 15, 10, 11, 12.5) as f,"
        " timestamptz '2024-03-15 10:11:12+00' at time zone 'America/New_York' as g,"
        " sign(x) as h, sign(-3) as i,"
        " date_trunc('day', timestamptz '2024-03-15 10:11:12+00') as j,"
        " date_trunc('day', date '2024-02-29') as k, date_trunc('month', cast(ts as date)) as l,"
        " ceil(7) as m, floor(x) as n, ceil(ms) as o, floor(mp['a']) as p,"
        " floor(map {'a': 2.5::double}['a']) as q from t"
    )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    expected = con.execute(sql).fetchall()[0]
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    (got,) = [r for b in iter_batches(engine.stream(sql)) for r in b.to_pylist()]
    assert [normal(v) for v in got.values()] == [normal(v) for v in expected]
    assert isinstance(expected[0], dt.datetime) and expected[0].tzinfo is None
    assert expected[9].tzinfo is not None  # j: a zoned time's date_trunc


def test_integer_division_of_a_fraction_divides_as_in_duckdb(spark: Any, tmp_path: Path) -> None:
    """DuckDB's // divides whole numbers as integers and others as / does (2.5 // 2 is
    1.25); Spark's DIV, as sqlglot wrote it, truncated (1), silently: a file's DOUBLE and
    DECIMAL columns (through a CTE) give DuckDB's values and types, an INTEGER's stays
    whole."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "x": pa.array([2.5], pa.float64()),
            "d": pa.array([decimal.Decimal("-7.50")], pa.decimal128(10, 2)),
            "i": pa.array([-7], pa.int32()),
        }
    )
    path = tmp_path / "halves.parquet"
    pq.write_table(table, path)
    sql = (
        f"with t as (select * from read_parquet('{path}'))"
        " select x // 2 as a, d // 2 as b, i // 2 as c, 2.5 // 2 as e from t"
    )
    expected = duckdb.sql(sql).fetchall()[0]
    assert expected == (1.25, -3.75, -3, 1.25)
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    (got,) = [r for b in iter_batches(engine.stream(sql)) for r in b.to_pylist()]
    assert [normal(v) for v in got.values()] == [normal(v) for v in expected]


CONTENTS_MODEL = """
select 'Purchase' as event,
       'order-' || o.order_id::varchar as event_id,
       o.ordered_at as event_time,
       lower(o.email) as email,
       sum(i.price * i.quantity) as value,
       'USD' as currency,
       list({'content_id': i.sku, 'price': i.price, 'quantity': i.quantity}
            order by i.price desc, i.sku) as contents,
       first(i.sku order by i.price, i.sku) as description
from {{ source('shop', 'orders') }} as o
join {{ source('shop', 'items') }} as i on i.order_id = o.order_id
group by all
"""


def test_contents_from_line_items_come_in_the_models_order_as_from_duckdb(
    spark: Any, spark_dir: Path, server: SandboxServer, tmp_path: Path
) -> None:
    """A contents list aggregated from line items with an ORDER BY: Spark's collect_list,
    as sqlglot wrote it, kept the file's order (sku-0, sku-1, ...), so the events differed
    from DuckDB's (ordered by price). Now the same events, and an unchanged re-sync sends
    nothing (the list, and so the row's hash, is the same each time)."""
    items = (
        "SELECT o AS order_id, 'sku-' || k AS sku, CAST(10 + (k * 7 + o) % 5 AS DECIMAL(10, 2))"
        " AS price, 1 + k AS quantity FROM range(1, 41) AS a(o), range(0, 4) AS b(k)"
        " ORDER BY o, k"
    )

    def contents_project(root: Path, base_url: str, warehouse: str, state: str = "") -> Path:
        root = project(root, base_url, warehouse, state=state)
        config = (root / "retl_project.yml").read_text(encoding="utf-8")
        config += """      - name: items
        meta: {external_location: "data/items.parquet"}
        columns:
          - {name: order_id, data_type: bigint}
          - {name: sku, data_type: varchar}
          - {name: price, data_type: "decimal(10,2)"}
          - {name: quantity, data_type: bigint}
"""
        (root / "retl_project.yml").write_text(config, encoding="utf-8")
        (root / "models" / "purchases.sql").write_text(CONTENTS_MODEL, encoding="utf-8")
        write_orders(root / "data" / "orders.parquet", 40)
        duckdb.sql(f"COPY ({items}) TO '{root / 'data' / 'items.parquet'}' (FORMAT parquet)")
        return root

    warehouse = f"  type: spark\n  master: local[2]\n  warehouse_dir: {spark_dir}"
    state = "state:\n  location: warehouse\n  schema: contents_order"
    on_spark = contents_project(tmp_path / "spark", server.base_url, warehouse, state)
    assert sync(on_spark) == (40, 0)
    from_spark = events(server)
    from_duckdb = sandbox_events(
        lambda url: contents_project(tmp_path / "duckdb", url, "  type: duckdb"), (40, 0)
    )
    assert from_spark == from_duckdb
    contents = from_spark["order-1"]["properties"]["contents"]
    prices = [c["price"] for c in contents]
    assert prices == sorted(prices, reverse=True) and len(contents) == 4
    assert [c["content_id"] for c in contents] != ["sku-0", "sku-1", "sku-2", "sku-3"]
    cheapest = min(contents, key=lambda c: (c["price"], c["content_id"]))
    assert from_spark["order-1"]["properties"]["description"] == cheapest["content_id"]
    assert sync(on_spark) == (0, 40)


JSON_MODEL = """
select 'Purchase' as event,
       'order-' || order_id::varchar as event_id,
       ordered_at as event_time,
       lower(email) as email,
       json_object('gift', order_id % 2 = 0, 'n', order_id) as "properties.details",
       to_json(list_value('a', 'b' || order_id::varchar)) as "properties.tags",
       ('{"k": [1, 2], "m": {"x": "y"}}'::json) -> 'm' as "properties.extracted",
       ('{"k": "v"}'::json) ->> 'k' as "properties.text",
       coalesce(json_object('total', total), '{}'::json) as "properties.money"
from {{ source('shop', 'orders') }}
"""


def test_json_columns_are_sent_as_their_values_as_from_duckdb(
    spark: Any, spark_dir: Path, server: SandboxServer, tmp_path: Path
) -> None:
    """Spark has no JSON type: a model column of JSON (``json_object``, ``to_json``, ``->``)
    came back as text and went to the platform as a JSON *string*, where DuckDB sends the
    object or list. Now the columns DuckDB would type JSON are marked as JSON text and read
    back as their values, on both kinds of state."""

    def json_project(root: Path, base_url: str, warehouse: str, state: str = "") -> Path:
        root = project(root, base_url, warehouse, state=state)
        (root / "models" / "purchases.sql").write_text(JSON_MODEL, encoding="utf-8")
        write_orders(root / "data" / "orders.parquet", 6)
        return root

    warehouse = f"  type: spark\n  master: local[2]\n  warehouse_dir: {spark_dir}"
    sent = {}
    for state in ("state:\n  location: warehouse\n  schema: json_columns", ""):
        folder = tmp_path / f"spark{len(sent)}"
        sent[state] = sandbox_events(
            lambda url, f=folder, s=state: json_project(f, url, warehouse, s), (6, 0), (0, 6)
        )
    from_duckdb = sandbox_events(
        lambda url: json_project(tmp_path / "duckdb", url, "  type: duckdb"), (6, 0)
    )
    properties = from_duckdb["order-2"]["properties"]
    assert properties["details"] == {"gift": True, "n": 2}
    assert properties["tags"] == ["a", "b2"]
    assert properties["extracted"] == {"x": "y"}
    assert properties["text"] == "v"
    for from_spark in sent.values():
        assert from_spark == from_duckdb


def test_a_model_reads_files_only_where_the_workbench_would_let_it(
    spark: Any, spark_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spark reads whatever file its process can: a model on a Spark warehouse read
    ``.git/config`` (where actions/checkout keeps the job's token) and files anywhere on the
    machine, with read_csv(...) or Spark's own csv.`path`, and `retl show` printed them. It
    is held to the workbench's rule: the project's folders (not hidden ones), the state
    folder, RETL_ALLOWED_PATHS; a pattern is expanded and each file checked. (A link out of
    the project is refused when the project loads, for every engine.)"""
    monkeypatch.delenv("RETL_ALLOWED_PATHS", raising=False)
    root = spark_project(tmp_path / "p", "http://127.0.0.1:9", spark_dir, "files")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("id,extraheader\n1,AUTHORIZATION: basic SECRET-41\n")
    (root / "data" / "a.csv").write_text("id,v\n1,x\n")
    (root / "data" / "b.csv").write_text("id,v\n2,y\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o.csv").write_text("id,v\n3,SECRET-41\n")
    (root / "{.git,zz}").mkdir()
    (root / "{.git,zz}" / "config").write_text("id,v\n9,decoy\n")
    (root / "linked").mkdir()
    (root / "linked" / "a.csv").write_text("id,v\n1,x\n")
    (root / "linked" / "cfg").symlink_to(root / ".git" / "config")
    models = root / "models"

    def show(sql: str) -> list[dict[str, Any]]:
        (models / "m.sql").write_text(sql, encoding="utf-8")
        with Project.load(root) as p:
            shown = p.preview("m")
        return [dict(zip(shown.columns, row, strict=True)) for row in shown.rows]

    assert show("select id, v from read_csv('data/a.csv')") == [{"id": "1", "v": "x"}]
    both = show("select id, v from read_csv('data/*.csv') order by id")
    assert [r["id"] for r in both] == ["1", "2"]
    refused = [
        "select * from read_csv('.git/config')",
        f"select * from read_csv('{root}/.git/config')",
        "select * from read_csv('data/../.git/conf*')",
        f"select * from read_csv('{outside}/o.csv')",
        f"select * from read_csv('file://{outside}/o.csv')",
        "select * from read_csv('data/{a.csv,../.git/config}')",
        "{{ config(dialect='spark') }}\nselect * from csv.`.git/config`",
        # Spark expands glob characters in the path it is handed: a folder named
        # "{.git,zz}" matched here and read .git/config there
        "select * from read_csv('?.git,zz?/config')",
        # a folder's files are what Spark reads: a link in it to a hidden file
        "select * from read_csv('linked')",
        f"{{{{ config(dialect='spark') }}}}\nselect * from text.`{outside}/o.csv`",
    ]
    for sql in refused:
        with pytest.raises(RetlError) as info:
            show(sql)
        said = " ".join(p.render() for p in info.value.problems)
        assert "SECRET-41" not in said and "may not read" in said, (sql, said)
    monkeypatch.setenv("RETL_ALLOWED_PATHS", str(outside))
    assert show(f"select id, v from read_csv('{outside}/o.csv')") == [{"id": "3", "v": "SECRET-41"}]


# Patterns and positions Spark read otherwise, silently (engine/spark_patterns.py).
PATTERN_EXPRESSIONS = [
    "regexp_replace('abc', '(b)', '\\1\\1', 'g')",
    "regexp_replace('abc', '(b)', '<\\0>', 'g')",
    "regexp_replace('a1b2', '([a-z])([0-9])', '\\2\\1', 'g')",
    "regexp_replace('abc', 'b', '$0', 'g')",
    "regexp_replace('abc', 'b', '$', 'g')",
    "regexp_replace('a.b', '\\.', '\\\\', 'g')",
    "'a\\b' like 'a\\b'",
    "'a_b' like 'a\\_b'",
    "'a\\_b' like 'a\\_b'",
    "'a%' like 'a\\%'",
    "'a\\b' ilike 'A\\B'",
    "'a\\b' not like 'a\\b'",
    "(select x like p from (values ('a\\b', 'a\\b')) t(x, p))",
    "(select x like p from (values ('a_b', 'a\\_b')) t(x, p))",
    "'a!_b' like 'a!_b' escape '!'",
    "'a%c' glob 'a%c'",
    "array_position([1, 2], 3)",
    "list_position([1, 2], 2)",
    "list_indexof([1, 2], 5)",
    # RE2's \10 is group 1 then 0 (Java's $10 was group 10: 'jk' for 'a0<b>k')
    "regexp_replace('abcdefghijk', '(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)', '\\1\\0\\10<\\2>', 'g')",
]


def test_patterns_and_positions_give_duckdbs_values(spark: Any) -> None:
    """DuckDB's LIKE has no escape character (Spark's is a backslash), its regexp_replace
    names a group \\1 (Spark's $1, a $ there not a dollar), its list_position of a missing
    item is NULL (Spark's 0): each gave another value from Spark, or failed."""
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    bench = DuckDBEngine()
    try:
        got = engine_values(engine, bench, PATTERN_EXPRESSIONS)
    finally:
        bench.close()
    expected = [duckdb.sql(f"select {e}").fetchall()[0][0] for e in PATTERN_EXPRESSIONS]
    assert expected[:3] == ["abbc", "a<b>c", "1a2b"]
    assert expected[7:9] == [False, True] and expected[16] is None
    assert expected[19] == "aabcdefghija0<b>k"
    assert [normal(v) for v in got] == [normal(v) for v in expected]


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        ("select date_trunc('decade', date '2024-03-15') as d", r"no part 'decade'"),
        ("select strftime(timestamp '2024-03-15 10:11:12', '%x') as s", r"strftime format '%x'"),
        ("select strftime(timestamp '2024-03-15', 'at %z') as s", r"strftime format 'at %z'"),
        (
            "select regexp_replace(a, 'b', r, 'g') as s from (values ('ab', 'c')) t(a, r)",
            r"regexp_replace's replacement r is not a quoted text",
        ),
        # RE2 stops the replacement at an escape it does not know ('x\gy' gave 'x')
        ("select regexp_replace('abc', 'b', 'x\\gy', 'g') as r", r"\\g names no group"),
        ("select regexp_replace('abc', 'b', 'x\\', 'g') as r", r"backslash at its end"),
    ],
)
def test_what_spark_would_give_other_text_for_is_refused_by_name(
    spark: Any, sql: str, said: str
) -> None:
    """date_trunc to a part Spark lacks gave NULL there; a strftime code date_format lacks
    went as sqlglot wrote it (%x gave '%+00'); a replacement that is not a quoted text
    cannot be written in Java's words."""
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    with pytest.raises(EngineError, match=said):
        engine.transpile(sql)


def test_a_postgresql_replacement_gives_postgresqls_text(spark: Any) -> None:
    """PostgreSQL's replacement names groups \\1 to \\9 and \\& only: any other backslash is
    itself (\\0 and \\x were written $0 and x for Spark). The values are PostgreSQL 15's."""
    engine = SparkEngine(SparkConnection(master="local[2]"), model_dialect="postgres")
    sql = (
        "select regexp_replace('abc', '(b)', '\\0\\x\\&1\\1\\\\$', 'g') as a,"
        " regexp_replace('abcdefghijk', '(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)', '\\1\\0<\\&>0', 'g')"
        " as b, regexp_replace('abc', 'b', 'x\\', 'g') as c"
    )
    got = [tuple(r.values()) for b in iter_batches(engine.stream(sql)) for r in b.to_pylist()]
    assert got == [("a\\0\\xb1b\\$c", "a\\0<abcdefghij>0k", "ax\\c")]


def test_a_double_rounded_to_digits_is_duckdbs_value(spark: Any, tmp_path: Path) -> None:
    """DuckDB rounds a DOUBLE to n digits as round(x * 10^n) / 10^n, and casts one to
    DECIMAL(p, s) so (1.005 * 100 is 100.49999999999999: 1.0, 1.00); Spark rounds its decimal
    text half up (1.01). A file's DOUBLE column (through a CTE) and a cast literal give
    DuckDB's values; a DECIMAL, and a fraction literal (a DECIMAL in both), round as they
    did (engine/spark_numbers.py)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    xs = [1.005, 0.285, -1.005, 2.675, 0.125, 1234.5, -0.125]
    table = pa.table({"i": pa.array(range(len(xs)), pa.int32()), "x": pa.array(xs, pa.float64())})
    path = tmp_path / "doubles.parquet"
    pq.write_table(table, path)
    sql = (
        f"with t as (select * from read_parquet('{path}')) select i, round(x, 2) as r,"
        " round(x, -1) as m, cast(x as decimal(12, 2)) as d,"
        " round(x::decimal(10, 3), 2) as e, round(1.005::double, 2) as l,"
        " cast(1.005 as decimal(10, 2)) as f from t order by i"
    )
    con = duckdb.connect()
    expected = con.execute(sql).fetchall()
    assert expected[0][1:4] == (1.0, 0.0, decimal.Decimal("1.00"))
    assert expected[0][4:] == (decimal.Decimal("1.01"), 1.0, decimal.Decimal("1.01"))
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    got = [tuple(r.values()) for b in iter_batches(engine.stream(sql)) for r in b.to_pylist()]
    assert [[normal(v) for v in r] for r in got] == [[normal(v) for v in r] for r in expected]


def test_a_zoned_time_joined_to_text_keeps_its_offset_as_in_duckdb(
    spark: Any, tmp_path: Path
) -> None:
    """DuckDB writes a TIMESTAMPTZ's offset when ``||`` or ``concat`` joins it to text
    ('order-2024-03-15 10:11:12.5+00'); Spark wrote none: an event_id made so was another
    id from Spark, silently. A file's column (through a CTE) and a literal."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    at = dt.datetime(2024, 3, 15, 10, 11, 12, 500000, tzinfo=dt.timezone.utc)
    table = pa.table({"t": pa.array([at], pa.timestamp("us", tz="UTC"))})
    path = tmp_path / "zoned.parquet"
    pq.write_table(table, path)
    sql = (
        f"with o as (select * from read_parquet('{path}')) select 'order-' || t as a,"
        " concat('order-', t, '-', 1) as b,"
        " concat('a', timestamptz '2024-03-15 10:11:12+00') as c from o"
    )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    expected = con.execute(sql).fetchall()
    assert expected == [
        (
            "order-2024-03-15 10:11:12.5+00",
            "order-2024-03-15 10:11:12.5+00-1",
            "a2024-03-15 10:11:12+00",
        )
    ]
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    got = [tuple(r.values()) for b in iter_batches(engine.stream(sql)) for r in b.to_pylist()]
    assert got == expected


def test_trim_takes_off_the_spaces_duckdb_takes_off(spark: Any, tmp_path: Path) -> None:
    """DuckDB's trim, ltrim and rtrim take off Unicode's space separators (a no-break space
    pasted with an email, an ideographic space), Spark's the space only: the email hashed
    otherwise. Spark's chr(n) is chr(n % 256): chr(12288) gave a NUL for U+3000."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = ["\u00a0A@b.com \u2003", " x\u3000", "\ta\n", None, "\u00a0"]
    table = pa.table({"i": pa.array(range(len(texts)), pa.int32()), "s": pa.array(texts)})
    path = tmp_path / "spaces.parquet"
    pq.write_table(table, path)
    sql = (
        f"with t as (select * from read_parquet('{path}')) select i, trim(s) as a,"
        " ltrim(s) as b, rtrim(s) as c, trim(s, 'x') as d, chr(12288) || 'y' as e"
        " from t order by i"
    )
    expected = duckdb.sql(sql).fetchall()
    assert expected[0][1:4] == ("A@b.com", "A@b.com \u2003", "\u00a0A@b.com")
    assert expected[0][5] == "\u3000y"
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    got = [tuple(r.values()) for b in iter_batches(engine.stream(sql)) for r in b.to_pylist()]
    assert got == expected


def test_a_double_made_text_is_refused_and_its_decimal_gives_duckdbs_text(
    spark: Any, tmp_path: Path
) -> None:
    """DuckDB writes a DOUBLE's shortest digits ('order-0.0001', 'order-123456789.0',
    'order-1e+20'), Spark Java's Double.toString ('order-1.0E-4', 'order-1.23456789E8',
    'order-1.0E20'): an event_id so built was another id from Spark, silently. Refused by
    name; the fix the message gives, a cast to DECIMAL(p, s) (or BIGINT) first, gives
    DuckDB's text for doubles of every kind, in one query. A DECIMAL in concat() went
    through COALESCE(d, ''), a DOUBLE in Spark ('o-0.0', '1.23456789E8'): cast to text."""
    import random

    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(61)
    xs = [0.0, -0.0, 0.0001, 123456789.0, 1e15, 0.1, 0.5, -2.5, 1.005, 2.675, 0.125, 1 / 3]
    xs += [rng.uniform(-1e6, 1e6) for _ in range(300)] + [rng.randint(-(10**9), 10**9) / 100]
    xs += [float(10**k) for k in range(-8, 16)] + [-(10.0**k) * 1.5 for k in range(-8, 14)]
    table = pa.table({"i": pa.array(range(len(xs)), pa.int32()), "x": pa.array(xs, pa.float64())})
    path = tmp_path / "doubles.parquet"
    pq.write_table(table, path)
    engine = SparkEngine(SparkConnection(master="local[2]"))  # the module's session
    read = f"with t as (select * from read_parquet('{path}'))"
    for refused in ("'order-' || x", "concat('order-', x)", "cast(x as varchar)", "x::text"):
        with pytest.raises(EngineError, match=r"is a DOUBLE \(or FLOAT\) made text"):
            engine.check_model(f"{read} select {refused} as e from t")
        engine.transpile(f"{read} select {refused} as e from t")  # retl's own SQL: as written
    sql = (
        f"{read} select i, 'order-' || cast(x as decimal(18, 2)) as a,"
        " concat('o-', cast(x as decimal(18, 2)), '-', 123456789.00) as b,"
        " cast(x as bigint)::varchar as c"
        " from t order by i"
    )
    expected = duckdb.sql(sql).fetchall()
    assert expected[3][1:] == ("order-123456789.00", "o-123456789.00-123456789.00", "123456789")
    got = [tuple(r.values()) for b in iter_batches(engine.stream(sql)) for r in b.to_pylist()]
    assert got == expected


def test_a_double_column_syncs_with_the_state_in_spark_and_a_model_s_text_of_it_is_refused(
    spark: Any, spark_dir: Path, server: SandboxServer, tmp_path: Path
) -> None:
    """retl's own row hash makes text of a DOUBLE column (compared in Spark only): the
    refusal of a DOUBLE made text is the model's alone. Applied to every transpile, it
    refused every sync of a model with a DOUBLE column, state in Spark, naming the hash's
    column."""
    root = spark_project(tmp_path, server.base_url, spark_dir, "double_hash")
    model = root / "models" / "purchases.sql"
    model.write_text(MODEL.replace("total as value", "cast(total as double) as value"), "utf-8")
    data = root / "data" / "orders.parquet"
    write_orders(data, 50)
    assert sync(root) == (50, 0)
    assert sync(root) == (0, 50)
    sent = events(server)
    assert sent["order-3"]["properties"]["value"] == 3.5

    model.write_text(
        MODEL.replace("'order-' || order_id::varchar", "'order-' || cast(total as double)"),
        "utf-8",
    )
    with Project.load(root) as p, pytest.raises(RetlError) as caught:
        p.plan()
    # said by plan's validation first (rule warehouse-value), at the model's line
    (refused,) = [q for q in caught.value.problems if "made text" in q.message]
    assert (str(refused.file).endswith("purchases.sql"), refused.line) == (True, 3)
    assert "is a DOUBLE (or FLOAT) made text" in refused.message
    assert "CAST(total AS DOUBLE)" in refused.message

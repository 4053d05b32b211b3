"""The DuckDB engine: errors name the model, rows arrive as a stream of Arrow record batches."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from reverse_etl import EngineError, Project
from reverse_etl.engine.base import iter_batches
from reverse_etl.engine.duckdb import DuckDBEngine, MemoryPolicy

BIG = {"models/big.sql": "select range as id, 'row-' || range as label from range(50000)"}


@pytest.mark.slow
def test_model_with_sql_error_exits_1_naming_the_model_file(tmp_path, make_project, run_cli):
    root = make_project(
        tmp_path,
        {"models/ok.sql": "select 1 as a", "models/broken.sql": "select * from no_such_table\n"},
    )

    text = run_cli("show", "broken", "--project-dir", root)
    assert text.returncode == 1
    assert "Traceback" not in text.stderr
    (line,) = text.stderr.splitlines()
    # the line that names the table (issue #15: errors name the model's line)
    assert line.startswith("error: models/broken.sql:1: model 'broken' failed: Catalog Error:")
    assert "no_such_table" in line
    assert "retl compile --select broken" in line

    as_json = run_cli("show", "broken", "--project-dir", root, "--format", "json")
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    assert document["ok"] is False
    (problem,) = document["problems"]
    assert problem["file"] == "models/broken.sql"
    assert "no_such_table" in problem["message"]


def test_sql_syntax_error_in_process(tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"models/m.sql": "selec 1"})
    with Project.load(root) as project, pytest.raises(EngineError) as info:
        project.preview("m")
    (problem,) = info.value.problems
    assert problem.file == root / "models" / "m.sql"
    assert problem.message.startswith("model 'm' failed: Parser Error: syntax error")


@pytest.mark.parametrize(("batch_rows", "sizes"), [(10_000, [10_000] * 5), (4096, None)])
def test_stream_yields_record_batches_of_the_requested_size(
    batch_rows, sizes, tmp_path, make_project
) -> None:
    with Project.load(make_project(tmp_path, BIG)) as project:
        (compiled,) = project.compile(["big"])
        reader = project.stream_model(compiled, batch_rows=batch_rows)
        assert isinstance(reader, pa.RecordBatchReader)
        assert reader.schema.names == ["id", "label"]
        batches = list(iter_batches(reader))
    assert all(isinstance(b, pa.RecordBatch) for b in batches)
    got = [b.num_rows for b in batches]
    assert sum(got) == 50_000
    assert len(got) > 1
    assert max(got) <= batch_rows
    if sizes is not None:
        assert got == sizes
    else:
        assert got[:-1] == [batch_rows] * (len(got) - 1)
    ids = pa.concat_arrays([b.column(0) for b in batches])
    assert ids.to_pylist() == list(range(50_000))


def test_error_while_streaming_is_an_engine_error() -> None:
    engine = DuckDBEngine()
    # One thread: with two, the thread reading the batches is now and then told "INTERRUPT
    # Error: Interrupted!" before the conversion error itself, and the engine then finds the
    # error by running the statement again (tested below); here the first error is checked.
    engine.execute("SET threads = 1")
    try:
        # The bad value sits far into the result, so DuckDB may only fail while batches are
        # read: wherever it fails, it must be an EngineError (exit 1), never a bare OSError.
        with pytest.raises(EngineError) as info:
            reader = engine.stream(
                "select cast(case when range >= 300000 then 'x' else '1' end as integer) as v "
                "from range(400000)",
                batch_rows=1000,
            )
            for _ in iter_batches(reader):
                pass
        # The value itself is masked (it may be PII): tests/security/test_pii_in_errors.py
        assert "Could not convert string '<redacted>' to INT32" in info.value.message
    finally:
        engine.close()


def test_describe_and_utc_session() -> None:
    engine = DuckDBEngine()
    try:
        columns = engine.describe("select 1::bigint as id, 'x' as name")
        assert [(c.name, c.type) for c in columns] == [("id", "BIGINT"), ("name", "VARCHAR")]
        reader = engine.stream("select current_setting('TimeZone') as tz")
        assert reader.read_all().column("tz").to_pylist() == ["UTC"]
        with pytest.raises(EngineError) as info:
            engine.describe("select nope from nowhere")
        assert "nowhere" in info.value.message
    finally:
        engine.close()


# A statement DuckDB cannot spill: one ~47 MB string built by an aggregate.
_NEEDS_MEMORY = (
    "SELECT max(length(s)) FROM (SELECT string_agg(i::VARCHAR, ',') AS s FROM range(6000000) t(i))"
)


def test_the_automatic_memory_limit_is_raised_once_for_a_statement_that_needs_it() -> None:
    engine = DuckDBEngine(memory=MemoryPolicy(limit="16MB", fallback="1GB"))
    assert engine.rows("SELECT current_setting('memory_limit')") == [("15.2 MiB",)]
    assert engine.rows(_NEEDS_MEMORY) == [(46_888_889,)]
    assert engine.memory_raised and engine.memory_limit == "1GB"
    engine.close()


def _threads(engine: DuckDBEngine) -> int:
    return int(engine.rows("SELECT current_setting('threads')")[0][0])


def _fits_on(threads: int, engine: DuckDBEngine, runs: list[int]) -> Any:
    """A statement that runs out of memory on more than ``threads`` threads (as a wide encode
    beside a large join does: each thread's working memory is what cannot spill)."""

    def run() -> Any:
        now = _threads(engine)
        runs.append(now)
        if now > threads:
            raise duckdb.OutOfMemoryException("could not allocate block of size 256.0 KiB")
        return "done"

    return run


def _out_of_core(engine: DuckDBEngine) -> bool:
    return engine.rows("SELECT current_setting('debug_force_external')")[0][0] is True


def test_out_of_memory_a_statement_is_rerun_out_of_core_on_every_thread_first() -> None:
    """A hash join DuckDB judged to fit in memory, under expressions that then find none
    left, runs when it is partitioned to disk from the start (the 3M-row encode)."""
    engine = DuckDBEngine(memory=MemoryPolicy(limit="64MB", fallback="1GB"))
    engine.execute("SET threads = 4")
    runs: list[tuple[int, bool]] = []

    def fits_out_of_core() -> str:
        runs.append((_threads(engine), _out_of_core(engine)))
        if not runs[-1][1]:
            raise duckdb.OutOfMemoryException("failed to allocate data of size 512.0 KiB")
        return "done"

    assert engine._retrying(fits_out_of_core) == "done"
    assert runs == [(4, False), (4, True)]
    assert engine.out_of_core == 1 and engine.single_threaded == 0 and not engine.memory_raised
    assert not _out_of_core(engine)  # the statements that follow plan as DuckDB would
    engine.close()


def test_a_duckdb_without_the_out_of_core_switch_goes_on_to_one_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The switch is a debug setting of DuckDB's: if a version drops it, the rerun out of
    core is skipped, not turned into an error."""
    monkeypatch.setattr(DuckDBEngine, "EXTERNAL", "no_such_setting")
    engine = DuckDBEngine(memory=MemoryPolicy(limit="64MB", fallback="1GB"))
    engine.execute("SET threads = 4")
    runs: list[int] = []
    assert engine._retrying(_fits_on(1, engine, runs)) == "done"
    assert runs == [4, 1]
    assert engine.out_of_core == 0 and engine.single_threaded == 1
    assert _threads(engine) == 4
    engine.close()


def test_out_of_core_gives_the_same_rows_as_in_memory() -> None:
    """The switch changes how a join runs, not what it returns."""
    engine = DuckDBEngine(memory=MemoryPolicy(limit="64MB", fallback="1GB"))
    sql = (
        "SELECT count(*), count(p.v), sum(hash(l.k, p.v)) FROM range(300000) l(k) "
        "LEFT JOIN (SELECT i * 2 AS k, 'v' || i AS v FROM range(200000) t(i)) p USING (k)"
    )
    plain = engine.rows(sql)
    with engine._out_of_core():
        assert _out_of_core(engine)
        forced = engine.rows(sql)
    assert forced == plain and plain[0][:2] == (300_000, 150_000)
    engine.close()


def test_a_statement_can_start_out_of_core_and_is_then_rerun_on_one_thread() -> None:
    """``execute(out_of_core=True)``: partitioned from the start (not counted as a rerun);
    out of memory even so, the next step is one thread, as after a failed rerun."""
    engine = DuckDBEngine(memory=MemoryPolicy(limit="64MB", fallback="1GB"))
    engine.execute("SET threads = 4")
    engine.execute(
        "CREATE TABLE seen AS SELECT current_setting('debug_force_external') AS x",
        out_of_core=True,
    )
    assert engine.rows("SELECT x FROM seen") == [(True,)]
    assert engine.started_out_of_core == 1 and engine.out_of_core == 0
    assert not _out_of_core(engine)  # only for that statement
    runs: list[tuple[int, bool]] = []

    def fits_on_one_thread() -> str:
        runs.append((_threads(engine), _out_of_core(engine)))
        if runs[-1][0] > 1:
            raise duckdb.OutOfMemoryException("failed to allocate data of size 512.0 KiB")
        return "done"

    assert engine._retrying(fits_on_one_thread, out_of_core=True) == "done"
    assert runs == [(4, True), (1, True)]  # not a second try out of core on every thread
    assert engine.single_threaded == 1 and engine.out_of_core == 0
    assert _threads(engine) == 4 and not _out_of_core(engine)
    engine.close()


def test_a_duckdb_without_the_switch_starts_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DuckDBEngine, "EXTERNAL", "no_such_setting")
    engine = DuckDBEngine(memory=MemoryPolicy(limit="64MB", fallback="1GB"))
    engine.execute("CREATE TABLE t AS SELECT 1 AS x", out_of_core=True)
    assert engine.rows("SELECT x FROM t") == [(1,)]
    assert engine.started_out_of_core == 0 and engine.single_threaded == 0
    engine.close()


def test_join_tables_large_beside_the_limit_are_told_apart() -> None:
    """At 200MB: a table of 1M rows and two columns (an estimated 48 MB hash table) is past
    an eighth of the limit, one of 200k rows is not; without a limit nothing is."""
    engine = DuckDBEngine(memory=MemoryPolicy(limit="200MB", fallback="1GB"))
    engine.execute(
        "CREATE TEMP TABLE big AS SELECT i::VARCHAR AS raw, i::VARCHAR AS e "
        "FROM range(1000000) t(i)"
    )
    engine.execute("CREATE TEMP TABLE small AS SELECT * FROM big LIMIT 200000")
    assert engine.joins_outgrow(["big"])
    assert not engine.joins_outgrow(["small"])
    assert not engine.joins_outgrow([])
    assert engine.joins_outgrow(["small", "big"])
    unlimited = DuckDBEngine(memory=None)
    unlimited.execute("CREATE TEMP TABLE big AS SELECT i AS a, i AS b FROM range(1000000) t(i)")
    assert not unlimited.joins_outgrow(["big"])
    engine.close()
    unlimited.close()


def test_the_encode_starts_out_of_core_when_its_phone_table_outgrows_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rows either way; a tiny share makes the five-phone table "large"."""
    from .test_sync import NOW, events_project

    model = (
        "select 'Purchase' as event, 'order-' || i as event_id, "
        f"{NOW} - i as event_time, '+1 212 555 ' || lpad(i::varchar, 4, '0') as phone, "
        "i * 1.5 as value, 'USD' as currency, 'product' as content_type from range(5) t(i)"
    )
    project = events_project(tmp_path / "p", "http://127.0.0.1:9", select=model)

    def planned() -> tuple[list[Any], int]:
        with Project.load(project) as loaded:
            (plan,) = loaded.plan()
            rows = loaded.workbench.rows(
                f"SELECT __key, __hash, __payload FROM {plan.rows_table} ORDER BY __key"
            )
            return rows, loaded.workbench.started_out_of_core

    in_memory, started = planned()
    assert started == 0 and len(in_memory) == 5
    monkeypatch.setattr(DuckDBEngine, "JOIN_SHARE", 10**9)
    out_of_core, started = planned()
    assert started == 1 and out_of_core == in_memory


def test_out_of_memory_a_statement_is_rerun_on_one_thread_before_the_limit_is_raised() -> None:
    engine = DuckDBEngine(memory=MemoryPolicy(limit="64MB", fallback="1GB"))
    engine.execute("SET threads = 4")
    runs: list[int] = []
    external: list[bool] = []

    def fits_on_one() -> Any:
        external.append(_out_of_core(engine))
        return _fits_on(1, engine, runs)()

    assert engine._retrying(fits_on_one) == "done"
    assert runs == [4, 4, 1]  # as it was, out of core, then on one thread
    assert external == [False, True, True]  # one thread is out of core too
    assert not engine.memory_raised and engine.single_threaded == 1 and engine.out_of_core == 1
    assert not _out_of_core(engine)
    assert _threads(engine) == 4  # given back for the statements that follow
    assert engine.rows("SELECT current_setting('memory_limit')") == [("61.0 MiB",)]
    engine.close()


def test_out_of_memory_on_one_thread_too_the_automatic_limit_is_raised_on_all_threads() -> None:
    engine = DuckDBEngine(memory=MemoryPolicy(limit="64MB", fallback="1GB"))
    engine.execute("SET threads = 4")
    calls: list[int] = []

    def needs_more() -> str:
        calls.append(_threads(engine))
        if engine.memory_limit != "1GB":
            raise duckdb.OutOfMemoryException("could not allocate block of size 256.0 KiB")
        return "done"

    assert engine._retrying(needs_more) == "done"
    assert calls == [4, 4, 1, 4] and engine.memory_raised
    engine.close()


def test_a_configured_limit_is_kept_but_one_thread_is_tried_before_the_error() -> None:
    engine = DuckDBEngine(memory=MemoryPolicy.from_config("64MB"))
    engine.execute("SET threads = 3")
    runs: list[int] = []
    assert engine._retrying(_fits_on(1, engine, runs)) == "done"
    assert runs == [3, 3, 1] and not engine.memory_raised
    runs.clear()
    with pytest.raises(EngineError, match=r"ran out of memory \(64MB\)"):
        engine._retrying(_fits_on(0, engine, runs))
    assert runs == [3, 3, 1] and _threads(engine) == 3
    engine.close()


def test_a_configured_memory_limit_is_a_hard_limit_with_a_clear_error() -> None:
    engine = DuckDBEngine(memory=MemoryPolicy.from_config("16MB"))
    with pytest.raises(EngineError, match=r"ran out of memory \(16MB\).*warehouse.memory_limit"):
        engine.rows(_NEEDS_MEMORY)
    assert not engine.memory_raised
    engine.close()


def test_memory_is_lowered_while_sending_and_given_back_afterwards() -> None:
    engine = DuckDBEngine(memory=MemoryPolicy())
    setting = "SELECT current_setting('memory_limit')"
    before = engine.rows(setting)
    with engine.memory_while("64MB"):
        assert engine.rows(setting) == [("61.0 MiB",)]
    assert engine.rows(setting) == before
    with engine.memory_while("4GB"):  # never raised by it
        assert engine.rows(setting) == before
    engine.close()


def test_the_encode_holds_one_hash_table_the_phone_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lists of accepted values (currencies, event names) are functions, not joins: DuckDB
    turns an IN list of five constants or more into a join, whose hash table shares the
    encode's pipeline with the phone lookup's, and hash tables that share a pipeline cannot
    spill together (the encode of 1M distinct phones then needed the 1GB fallback)."""
    from .test_sync import NOW, events_project

    model = (
        "select 'Purchase' as event, 'order-' || i as event_id, "
        f"{NOW} - i as event_time, '+1 212 555 ' || lpad(i::varchar, 4, '0') as phone, "
        "i * 1.5 as value, 'USD' as currency, 'product' as content_type from range(5) t(i)"
    )
    project = events_project(tmp_path / "p", "http://127.0.0.1:9", select=model)
    statements: list[str] = []
    execute = DuckDBEngine.execute

    def spy(self: DuckDBEngine, sql: str, params: Any = (), **kw: Any) -> None:
        statements.append(sql)
        execute(self, sql, params, **kw)

    monkeypatch.setattr(DuckDBEngine, "execute", spy)
    with Project.load(project) as loaded:
        (plan,) = loaded.plan()
        (encode,) = [s for s in statements if "__change_in AS __change" in s]
        found = re.match(r"\s*COPY \((.*)\)\s+TO '[^']*'", encode, re.DOTALL)
        assert found is not None, encode
        select = found.group(1)
        (explained,) = loaded.workbench.rows("EXPLAIN " + select)
    assert plan.rows_to_send == 5
    assert "currency" in encode and "list_contains" in encode
    assert explained[1].count("HASH_JOIN") == 1, explained[1]
    assert "MARK" not in explained[1]


CONVERSION_FAILS = (
    "select cast(case when range >= 300000 then 'x' else '1' end as integer) as v "
    "from range(400000)"
)


class _InterruptedReader:
    """A stream whose first read says what DuckDB now and then says to the reading thread
    when another of its threads failed (1 run in 60 of CONVERSION_FAILS on two threads)."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema

    def read_next_batch(self) -> pa.RecordBatch:
        raise OSError("INTERRUPT Error: Interrupted!")


class _FirstStreamInterrupted:
    """The engine's connection, whose first stream of ``sql`` is interrupted."""

    def __init__(self, con: Any, sql: str) -> None:
        self._con, self._sql, self.interrupted = con, sql, 0

    def execute(self, sql: str, *args: Any) -> Any:
        result = self._con.execute(sql, *args)
        if sql != self._sql or self.interrupted:
            return result
        self.interrupted += 1
        schema = result.to_arrow_reader(10).schema

        class Result:
            def to_arrow_reader(self, _rows: int) -> _InterruptedReader:
                return _InterruptedReader(schema)

        return Result()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def test_an_interrupted_stream_says_the_error_that_stopped_it() -> None:
    """DuckDB's "Interrupted!" in place of the error of the thread that failed: retl never
    interrupts DuckDB, so the statement runs again on one thread and its error is said
    (before, the sync failed with "Interrupted!" alone)."""
    engine = DuckDBEngine()
    try:
        engine.execute("SET threads = 2")
        con = _FirstStreamInterrupted(engine._con, CONVERSION_FAILS)
        engine._con = con
        with pytest.raises(EngineError) as info:
            for _ in iter_batches(engine.stream(CONVERSION_FAILS, batch_rows=1000)):
                pass
        assert con.interrupted == 1
        assert "Could not convert string '<redacted>' to INT32" in info.value.message
        assert "Interrupted" not in info.value.message
        assert engine.rows("select current_setting('threads')") == [(2,)]
        # A statement that runs to its end the second time: the interruption is said.
        engine._con = con = _FirstStreamInterrupted(con._con, "select 1 as v")
        with pytest.raises(EngineError, match="Interrupted"):
            for _ in iter_batches(engine.stream("select 1 as v")):
                pass
        assert con.interrupted == 1
    finally:
        engine._con = getattr(engine._con, "_con", engine._con)
        engine.close()

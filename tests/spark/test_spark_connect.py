"""Spark Connect (how Databricks is reached): a Spark Connect server started from the pyspark
installation (``sbin/start-connect-server.sh``), and a project whose warehouse is
``remote: sc://...`` syncing to the sandbox with the state and the diff in Spark."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reverse_etl.engine.spark import SparkConnection, SparkEngine
from reverse_etl.errors import EngineError
from reverse_etl.sandbox import SandboxServer
from tests.spark.test_spark_sync import project, sync, write_orders

pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'retl[spark]'")
pytestmark = [pytest.mark.spark, pytest.mark.slow]

STARTUP_TIMEOUT = 240  # seconds: a JVM start on a loaded machine; only bounds a failure


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import pyspark

    home = Path(pyspark.__file__).parent
    script = home / "sbin" / "start-connect-server.sh"
    if not script.exists():
        pytest.fail(f"pyspark ships no {script}: cannot start a Spark Connect server")
    root = tmp_path_factory.mktemp("connect")
    port = _free_port()
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOG_DIR": str(root / "logs"),
        "SPARK_PID_DIR": str(root),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = (root / "server.log").open("wb")
    server = subprocess.Popen(
        [
            "bash",
            str(script),
            "--wait",  # in the foreground: this process group is the server
            "--master",
            "local[2]",
            "--conf",
            f"spark.connect.grpc.binding.port={port}",
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.sql.shuffle.partitions=2",
            "--conf",
            f"spark.sql.warehouse.dir={root / 'warehouse'}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_listening(port, server)
        yield f"sc://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
        shutil.rmtree(root / "warehouse", ignore_errors=True)


def _wait_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    """Until the server accepts connections (a readiness wait, not a timing assertion)."""
    import time

    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the Spark Connect server exited with {server.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    pytest.fail("the Spark Connect server did not start listening")


def test_a_sync_over_spark_connect_keeps_its_state_in_spark(
    connect_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reverse_etl.sandbox import DEMO_ADVERTISER_ID, SandboxWorld
    from tests.spark.test_spark_sync import TOKEN

    monkeypatch.setenv("SPARK_TEST_TOKEN", TOKEN)
    world = SandboxWorld.demo()
    world.add_token(TOKEN, [DEMO_ADVERTISER_ID])
    with SandboxServer(world) as server:
        warehouse = f"  type: spark\n  remote: {connect_url}"
        state = "state:\n  location: warehouse\n  schema: over_connect"
        root = project(tmp_path, server.base_url, warehouse, state=state)
        write_orders(root / "data" / "orders.parquet", 1200)
        assert sync(root) == (1200, 0)
        assert sync(root) == (0, 1200)  # the diff ran in the server: no row came back
        (event,) = [e["data"] for e in server.events() if e["data"]["event_id"] == "order-9"]
        assert event["properties"]["content_ids"] == ["sku-9"]


def test_a_failed_query_over_spark_connect_names_no_value(connect_url: str) -> None:
    engine = SparkEngine(SparkConnection(remote=connect_url))
    try:
        with pytest.raises(EngineError) as caught:
            engine.stream("select cast('secret@example.com' as int) as x").read_all()
    finally:
        engine.close()
    assert "secret@example.com" not in caught.value.message
    assert "cannot be cast" in caught.value.message


def test_a_value_a_task_failed_on_over_spark_connect_is_masked(
    connect_url: str, tmp_path: Path
) -> None:
    """The rows' errors of tests/spark/test_spark_error_values.py over Spark Connect, whose
    errors come from gRPC with their own message parameters; then with a value too long for
    the gRPC metadata and the error enrichment off, which the server sends without them: the
    values are read against Spark's template (``The timezone: Jane/Quixote is invalid``,
    ``Duplicate map key Jane`` reached the message). Spark's sentence stays; and through
    ``Project.plan``, neither its message nor its hint quotes the row."""
    from tests.spark.test_spark_error_values import FAILING, PII, plan_error, write_people

    people = write_people(tmp_path / "people.parquet")
    engine = SparkEngine(SparkConnection(remote=connect_url), model_dialect="spark")
    pad = "repeat('x', 1100)"  # over the 1 KiB of the error's gRPC metadata
    without_parameters = [
        (f"from_utc_timestamp(ts, concat({pad}, tz))", "The timezone: *** is invalid"),
        (f"map(concat({pad}, nl), 1, concat({pad}, nl), 2)", "Duplicate map key *** was found"),
        (f"encode(name, concat({pad}, cs))", "but got ***"),
        (f"regexp_replace(name, 'J', concat({pad}, rep))", 'source = "***"'),
        (f"variant_get(parse_json(concat('\"', {pad}, name, '\"')), '$', 'int')", "variant value"),
        (f"cast(concat({pad}, name) as int)", 'cannot be cast to "INT"'),
        (f"raise_error(concat({pad}, email))", "raise_error(): ***"),
    ]
    raised = [(e, "raise_error(): ***") for e in ("raise_error(concat('bad ', email))",)]
    leaks = {}
    try:
        engine.session.read.parquet(str(people)).createOrReplaceTempView("people")
        for enriched, cases in (("true", FAILING + raised), ("false", without_parameters)):
            engine.session.conf.set("spark.sql.connect.enrichError.enabled", enriched)
            for expression, kept in cases:
                with pytest.raises(EngineError) as failed:
                    engine.stream(f"select {expression} as x from people").read_all()
                message = failed.value.message
                if any(value in message for value in PII) or kept not in message:
                    leaks[expression] = message
    finally:
        engine.close()
    assert leaks == {}
    warehouse = f"  remote: {connect_url}"
    said = plan_error(tmp_path / "p", people, warehouse, time_zone=f"concat({pad}, tz)")
    assert "The timezone: *** is invalid" in said
    assert not [value for value in PII if value in said], said


def test_closing_over_an_unreachable_connect_server_does_not_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A sync stopped by SIGTERM while the server was unreachable did not end: closing
    dropped the views and released the session through pyspark's retry policy (up to 10
    minutes each). Clean-up now tries once. (No server here: the port is closed.)"""
    from pyspark.sql import SparkSession
    from pyspark.sql.connect.client import retries

    class Retried(BaseException):  # not swallowed by close()'s best-effort suppression
        pass

    def no_wait(self: object) -> None:
        raise Retried

    monkeypatch.setattr(retries.Retrying, "_wait", no_wait)
    url = f"sc://127.0.0.1:{_free_port()}"
    engine = SparkEngine(SparkConnection(remote=url))
    engine._session = SparkSession.builder.remote(url).getOrCreate()  # no call made yet
    engine._owned = True
    engine._views[("parquet", "x", "")] = "__retl_file_1"
    engine.close()  # raised Retried before
    assert engine._session is None


def test_connect_timeout_bounds_the_retries_of_each_call() -> None:
    """pyspark's backoff, cut at the deadline: no wait starts past it, the last one ends on
    it; each call (a new state) has its own deadline, counted from its first failure."""
    from reverse_etl.engine.spark_retry import DeadlinePolicy

    now = [100.0]
    policy = DeadlinePolicy(5.0, clock=lambda: now[0])
    for _ in range(2):
        state = policy.to_state()
        waited = []
        while (wait := state.next_attempt()) is not None:
            waited.append(wait)
            now[0] += wait / 1000
        assert sum(waited) <= 5000 and sum(waited) >= 4999  # the last wait ends on the deadline
        assert waited[:3] == [50, 200, 800]  # pyspark's own backoff until then
        assert len(waited) < 15  # pyspark's default: 15 retries, 10+ minutes


def test_a_project_s_connect_timeout_reaches_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``warehouse.connect_timeout``: an unreachable server is an error after about that
    long (pyspark's own policy retried 10+ minutes), said once, without pyspark's warning."""
    from reverse_etl.engine.spark_retry import DeadlinePolicy
    from reverse_etl.project import Project
    from tests.conftest import invoke_in_process

    monkeypatch.setenv("SPARK_TEST_TOKEN", "t" * 40)
    url = f"sc://127.0.0.1:{_free_port()}"  # nothing listens there
    warehouse = f"  type: spark\n  remote: {url}\n  connect_timeout: 1"
    root = project(tmp_path, "http://127.0.0.1:9", warehouse)
    write_orders(root / "data" / "orders.parquet", 10)
    with Project.load(root) as p:
        engine = p.engine
        assert isinstance(engine, SparkEngine)
        session = engine._open()  # no call made yet: engine.session's first call is refused
        (policy,) = session.client.get_retry_policies()
        assert isinstance(policy, DeadlinePolicy) and policy.seconds == 1
    # Each call waits out its own deadline: the error comes after the first call's, not
    # after the session's setting was retried (and ignored) and the first query retried again.
    waits: list[object] = []
    to_state = DeadlinePolicy.to_state
    monkeypatch.setattr(DeadlinePolicy, "to_state", lambda self: waits.append(1) or to_state(self))
    planned = invoke_in_process("plan", "--project-dir", root)
    assert planned.returncode == 1
    assert len(waits) == 1
    assert f"warehouse.remote: cannot reach Spark Connect at {url}: UNAVAILABLE" in planned.stderr
    assert "Connection refused" in planned.stderr and "retl compile" not in planned.stderr
    assert "Traceback" not in planned.stderr and "RETRIES_EXCEEDED" not in planned.stderr

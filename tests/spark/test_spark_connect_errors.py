"""A Spark warehouse that cannot be reached or started is named as a configuration error is,
and as PostgreSQL's connection errors are: retl_project.yml's file, line and key to check.

No test starts a session: a closed loopback port refuses at once (with a one-second
``connect_timeout``), a master Spark would refuse is refused with the file's other errors,
and a session start's failure is read from the text py4j gives (a JVM launched here would be
the gateway the later Spark tests of this process reuse).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from reverse_etl.errors import ConfigError, EngineError
from reverse_etl.project import Project

pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'retl[spark]'")
pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _refused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once closed


def _project(root: Path, body: str) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "retl_project.yml").write_text(body, encoding="utf-8")
    (root / "models" / "m.sql").write_text("select 1 as event_id\n", encoding="utf-8")
    return root


def _line(body: str, text: str) -> int:
    return next(i for i, row in enumerate(body.splitlines(), 1) if row.strip() == text)


@pytest.mark.parametrize("in_target", [False, True])
def test_an_unreachable_spark_connect_server_names_warehouse_remote_s_line(
    tmp_path: Path, in_target: bool
) -> None:
    remote = f"remote: sc://127.0.0.1:{_refused_port()}"
    settings = ["type: spark", remote, "connect_timeout: 1"]
    if in_target:
        head, indent, key = "targets:\n  prod:\n    warehouse:\n", "      ", "targets.prod."
    else:
        head, indent, key = "name: x\nwarehouse:\n", "  ", ""
    body = head + "".join(f"{indent}{s}\n" for s in settings)
    root = _project(tmp_path / "p", body)
    with Project.load(root) as p, pytest.raises(EngineError) as info:
        p.preview("m")
    err = info.value
    where = (Path(str(err.file)).name, err.line, err.key)
    assert where == ("retl_project.yml", _line(body, remote), f"{key}warehouse.remote")
    (text,) = err.render_lines()
    assert f"retl_project.yml:{_line(body, remote)} {key}warehouse.remote: cannot" in text


def test_a_master_spark_would_refuse_is_retl_project_yml_s_error(tmp_path: Path) -> None:
    """Spark's own rule (yarn, or spark/k8s/local...), checked before any JVM starts."""
    body = "name: x\nwarehouse:\n  type: spark\n  master: bogus://nowhere\n"
    root = _project(tmp_path / "p", body)
    with pytest.raises(ConfigError) as info:
        Project.load(root)
    (text,) = info.value.render_lines()
    assert "retl_project.yml:4 warehouse.master: 'bogus://nowhere' is not a Spark master" in text
    assert "local[*]" in text


@pytest.mark.parametrize("master", ["local", "local[*]", "local[2]", "spark://h:7077", "yarn"])
def test_spark_s_masters_are_taken(tmp_path: Path, master: str) -> None:
    body = f"name: x\nwarehouse:\n  type: spark\n  master: '{master}'\n"
    with Project.load(_project(tmp_path / "p", body)) as p:
        assert p.config.warehouse.master == master  # type: ignore[union-attr]


def test_a_session_that_does_not_start_says_the_jvm_s_reason() -> None:
    """py4j's own line ("An error occurred while calling ...") says nothing: the JVM's
    exception does (what local[0] gives, as pyspark 4.3 words it)."""
    from reverse_etl.engine.spark import _start_cause

    text = (
        "An error occurred while calling None.org.apache.spark.api.java.JavaSparkContext.\n"
        ": org.apache.spark.SparkException: Asked to run locally with 0 threads\n"
        "\tat org.apache.spark.SparkContext$.createTaskScheduler(SparkContext.scala:3333)\n"
    )
    assert _start_cause(text) == "Asked to run locally with 0 threads"
    assert _start_cause("An error occurred while calling x.\n\tat y(Z.java:1)\n") is None


def _show_with_java_home(root: Path, java_home: Path) -> str:
    env = {**os.environ, "JAVA_HOME": str(java_home)}
    done = subprocess.run(
        [sys.executable, "-m", "reverse_etl", "show", "m", "--project-dir", str(root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


def test_no_java_says_to_install_it_and_a_jvm_that_stops_says_where_to_look(
    tmp_path: Path,
) -> None:
    """Each in its own process: the JVM pyspark launches is the process's gateway."""
    body = "name: x\nwarehouse:\n  type: spark\n  master: 'local[*]'\n"
    root = _project(tmp_path / "p", body)
    missing = _show_with_java_home(root, tmp_path / "no-java")
    assert "retl_project.yml:4 warehouse.master: cannot start Spark (local[*])" in missing
    assert "install Java 17 or newer" in missing
    broken = tmp_path / "jvm"
    (broken / "bin").mkdir(parents=True)
    java = broken / "bin" / "java"
    java.write_text("#!/bin/sh\necho 'Error: Could not create the Java VM' >&2\nexit 1\n")
    java.chmod(0o755)
    stopped = _show_with_java_home(root, broken)
    assert "Java started and stopped: its reason is printed above" in stopped
    assert "install Java" not in stopped


@pytest.mark.parametrize(
    ("remote", "allowed"), [("sc://[::1]:{port}", "::1"), ("sc://:{port}", "localhost")]
)
def test_retl_allowed_hosts_reads_a_spark_connect_host_as_it_is_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, remote: str, allowed: str
) -> None:
    """An IPv6 address is listed without its brackets, and no host is localhost (it was
    checked as '[::1]', and as PGHOST's host): the listed host is let through, to the
    refusal of its closed port."""
    monkeypatch.setenv("RETL_ALLOWED_HOSTS", allowed)
    address = remote.format(port=_refused_port())
    body = f"name: x\nwarehouse:\n  type: spark\n  remote: '{address}'\n  connect_timeout: 1\n"
    with Project.load(_project(tmp_path / "p", body)) as p, pytest.raises(EngineError) as info:
        p.preview("m")
    assert "may not connect" not in info.value.message
    assert "Spark Connect at sc://" in info.value.message  # cannot start, or reach

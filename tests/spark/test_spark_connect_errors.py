"""A Spark warehouse that cannot be reached or started is named as a configuration error is,
and as PostgreSQL's connection errors are: retl_project.yml's file, line and key to check.

Neither test starts a working session: a closed loopback port refuses at once (with a
one-second ``connect_timeout``), and a bad master makes spark-submit exit before its JVM runs.
"""

from __future__ import annotations

import gc
import socket
from pathlib import Path

import pytest

from reverse_etl.errors import EngineError
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


# pyspark leaves the failed spark-submit's stdin pipe open (its leak, not retl's)
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_spark_master_that_does_not_start_names_warehouse_master_s_line(
    tmp_path: Path,
) -> None:
    body = "name: x\nwarehouse:\n  type: spark\n  master: bogus://nowhere\n"
    root = _project(tmp_path / "p", body)
    with Project.load(root) as p, pytest.raises(EngineError) as info:
        p.preview("m")
    err = info.value
    where = (Path(str(err.file)).name, err.line, err.key)
    assert where == ("retl_project.yml", 4, "warehouse.master")
    assert "cannot start Spark (bogus://nowhere)" in err.message
    del info, err
    gc.collect()  # pyspark's open pipe (see the mark) is collected here, not after the run

"""The workbench gives back what DuckDB's allocator keeps between the plan's steps (#18)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reverse_etl.engine.duckdb import DuckDBEngine, MemoryPolicy
from reverse_etl.project import Project

from .conftest import trace_calls
from .test_sync import events_project

# A wide string expression over 300k rows, as the plan's encode is: DuckDB frees its
# intermediate strings, and its allocator keeps ~45 MB of them for reuse.
_MEASURE = """
from reverse_etl.engine.duckdb import DuckDBEngine, MemoryPolicy

def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))

engine = DuckDBEngine(memory=MemoryPolicy(limit="200MB", fallback=None))
fields = ", ".join(
    f"'\\"f{j}\\":' || to_json(md5(i::varchar || '{j}') || repeat('y', 20))" for j in range(20)
)
engine.rows(
    f"SELECT sum(strlen(p)) FROM (SELECT '{{' || concat_ws(',', {fields}) || '}}' AS p "
    "FROM range(300000) t(i))"
)
kept = rss()
engine.release_memory()
print(kept - rss(), engine.memory_limit)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_release_memory_gives_back_what_duckdb_s_allocator_kept() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE], capture_output=True, text=True, check=True
    ).stdout.split()
    given_back_kb, limit = int(out[0]), out[1]
    assert given_back_kb > 20 * 1024, out  # ~45 MB here; 0 without the flush
    assert limit == "200MB"  # the limit itself is unchanged


def test_release_memory_keeps_the_limit_and_the_data() -> None:
    engine = DuckDBEngine(memory=MemoryPolicy(limit="64MB", fallback=None))
    engine.execute("CREATE TEMP TABLE t AS SELECT range AS i FROM range(1000)")
    before = engine.rows("SELECT current_setting('memory_limit')")[0][0]
    engine.release_memory()
    assert engine.rows("SELECT current_setting('memory_limit')")[0][0] == before
    assert engine.rows("SELECT count(*) FROM t")[0][0] == 1000
    engine.close()
    # Without a limit of retl's own, DuckDB's default is left as it is.
    default = DuckDBEngine()
    before = default.rows("SELECT current_setting('memory_limit')")[0][0]
    default.release_memory()
    assert default.rows("SELECT current_setting('memory_limit')")[0][0] == before
    default.close()


def test_the_plan_gives_memory_back_before_and_after_its_encode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[str] = []

    def encode(self: DuckDBEngine, sql: str, *args: Any, **kwargs: Any) -> bool:
        return sql.lstrip().startswith("COPY (") and "__payload" in sql

    trace_calls(monkeypatch, DuckDBEngine, "execute", steps, "encode", when=encode)

    def duplicates(self: DuckDBEngine, sql: str, *args: Any, **kwargs: Any) -> bool:
        return "_duplicates AS" in sql

    trace_calls(monkeypatch, DuckDBEngine, "execute", steps, "duplicates", when=duplicates)
    trace_calls(monkeypatch, DuckDBEngine, "release_memory", steps, "release")
    project = events_project(tmp_path / "p", "http://127.0.0.1:9")
    with Project.load(project) as loaded:
        (plan,) = loaded.plan()
    assert plan.rows_to_send > 0
    encode_at = steps.index("encode")
    assert steps[encode_at - 1] == "release"
    # and between the encode and the duplicate keys' pass, and after it
    assert steps[encode_at + 1 : encode_at + 3] == ["release", "duplicates"], steps
    assert "release" in steps[encode_at + 3 :]

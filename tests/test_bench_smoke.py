"""The benchmark (bench/run.py) runs end to end at a tiny size. No timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
PHASES = {"full_sync", "resync", "resync_diff", "resync_delta", "full_sync_sandbox"}


def _load_bench() -> object:
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("retl_bench_run", BENCH / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_benchmark_runs_every_phase(tmp_path: Path) -> None:
    bench = _load_bench()
    out = tmp_path / "result.json"
    doc = bench.main(  # type: ignore[attr-defined]
        ["--rows", "2000", "--threads", "3", "--out", str(out), "--workdir", str(tmp_path / "w")]
    )
    assert json.loads(out.read_text(encoding="utf-8")) == doc
    (size,) = doc["sizes"]
    assert size["rows"] == 2000
    assert {p["phase"] for p in size["phases"]} == PHASES
    phases = {p["phase"]: p for p in size["phases"]}
    for p in phases.values():
        assert p["ok"], p
        for key in ("wall_s", "sync_s", "peak_rss_mb", "rows_per_s", "floor_s", "ratio"):
            assert p[key] > 0, (p["phase"], key)
        assert sum(p["stages"].values()) > 0
    assert phases["full_sync"]["events_sent"] == phases["full_sync"]["rows_total"] > 0
    assert phases["resync"]["events_sent"] == 0
    # The same unchanged re-sync with its record removed: the diff runs and finds nothing.
    assert phases["resync_diff"]["events_sent"] == 0
    assert phases["resync_diff"]["rows_total"] == phases["full_sync"]["rows_total"]
    assert phases["resync_delta"]["events_sent"] == (
        size["delta"]["changed_rows"] + size["delta"]["new_rows"]
    )
    assert phases["full_sync_sandbox"]["events_sent"] > 0
    cli = size["cli_first_sync"]  # retl sync --yes from an empty state, as a user runs it
    assert cli["ok"] and cli["events_sent"] == phases["full_sync"]["events_sent"]
    assert cli["wall_s"] > 0 and cli["peak_rss_mb"] > 0
    floor = size["floor"]
    for key in ("encode_s", "send_fast_s", "send_sandbox_s", "scan_s", "serial_s", "overlap_s"):
        assert floor[key] > 0, key
    assert floor["send_sandbox_failed_requests"] == 0


def test_repeat_prints_each_phase_s_median_range_and_growth() -> None:
    """``--repeat``: the summary over runs (no benchmark is run here)."""
    bench = _load_bench()

    def size(rows: int, sync_s: float) -> dict[str, object]:
        phase = {"phase": "full_sync", "sync_s": sync_s, "wall_s": sync_s + 1}
        return {"rows": rows, "phases": [phase, {**phase, "phase": "resync_delta"}]}

    runs = [[size(1000, 1.0), size(4000, 4.0)], [size(1000, 2.0), size(4000, 6.0)]]
    text = bench.repeated(runs)  # type: ignore[attr-defined]
    lines = text.splitlines()
    assert lines[0] == "== 2 runs per size: median (min-max) =="
    (sync,) = [ln for ln in lines if ln.startswith("full_sync ") and "sync_s" in ln]
    # Medians 1.5 and 5.0; growth of the medians x3.33, and x2.00-x6.00 over the runs.
    assert "1,000: 1.50 (1.00-2.00)" in sync
    assert "4,000: 5.00 (4.00-6.00)" in sync
    assert "growth x3.33 (x2.00-x6.00; linear x4)" in sync
    assert any(ln.startswith("resync_delta ") and "wall_s" in ln for ln in lines)

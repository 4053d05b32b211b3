"""The send reads the plan's Parquet file with Arrow's reader when the plan's view reads the
file as written (no duplicate key), and through the view otherwise
(``send.stream_chunks``, ``DuckDBEngine.read_parquet``). Both must give the same rows, in the
same order, with the same ``--limit``."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.errors import EngineError
from reverse_etl.pipeline.plan import PLAN_ROW_GROUP, _rows_view
from reverse_etl.pipeline.send import stream_chunks

ROWS = 3 * PLAN_ROW_GROUP + 500  # several row groups, the last one short


def _plan_file(engine: DuckDBEngine, sql: str) -> Path:
    """``sql``'s rows written as ``encode_rows`` writes the plan's file."""
    path = engine.scratch.new("t", ".parquet")
    engine.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE {PLAN_ROW_GROUP})")
    return path


def _rows() -> str:
    # Every seventh row invalid (no payload), so row groups are filtered unevenly.
    return f"""SELECT 'k' || i AS __key, 'h' || i AS __hash,
                      CASE WHEN i % 7 = 3 THEN 'bad' END AS __errors,
                      CASE WHEN i % 7 <> 3 THEN '{{"i":' || i || '}}' END AS __payload,
                      'e' || i AS __event_id
               FROM range({ROWS}) AS r(i) ORDER BY i"""


def _keys(engine: DuckDBEngine, plan: Any, limit: int | None) -> list[str]:
    keys: list[str] = []
    for key, hashes, payloads, events in stream_chunks(engine, plan, limit):
        assert len(key) == len(hashes) == len(payloads) == len(events)
        assert payloads.null_count == 0
        keys.extend(key.to_pylist())
    return keys


@pytest.mark.parametrize("limit", [None, 0, 1, PLAN_ROW_GROUP - 1, PLAN_ROW_GROUP, 5000, ROWS])
def test_the_file_and_the_view_give_the_same_rows(limit: int | None) -> None:
    import pyarrow.parquet as pq

    engine = DuckDBEngine()
    path = _plan_file(engine, _rows())
    assert _rows_view(engine, "v", f"read_parquet('{path}')")  # no duplicate: plain
    from_file = _keys(engine, SimpleNamespace(rows_table="v", rows_file=path), limit)
    through_view = _keys(engine, SimpleNamespace(rows_table="v", rows_file=None), limit)
    # The file's valid rows, in its order (the workbench does not keep insertion order, so
    # the view's stream may come in another one).
    written = pq.read_table(path).to_pylist()
    valid = [r["__key"] for r in written if r["__payload"] is not None]
    assert len(valid) == ROWS - len(range(3, ROWS, 7))
    assert from_file == (valid if limit is None else valid[:limit])
    assert len(through_view) == len(from_file) and set(through_view) <= set(valid)
    if limit is None:
        assert sorted(through_view) == sorted(from_file)
    engine.close()


def test_a_view_that_marks_duplicates_is_not_plain() -> None:
    engine = DuckDBEngine()
    path = _plan_file(engine, _rows().replace("'k' || i AS __key", "'k' || (i % 10) AS __key"))
    assert not _rows_view(engine, "v", f"read_parquet('{path}')")
    engine.close()


def test_a_damaged_file_is_an_engine_error_naming_it(tmp_path: Path) -> None:
    engine = DuckDBEngine(temp_directory=tmp_path)
    path = _plan_file(engine, _rows())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # cut short
    with pytest.raises(EngineError) as raised:
        list(engine.read_parquet(path, ["__key"], batch_rows=PLAN_ROW_GROUP))
    assert str(path) in raised.value.message
    engine.close()

"""A value of a source's CSV file that its declared type does not take ("yesterday" in a
timestamp column): the error names the file's line and column, blames the model that reads
the source (not the selected one downstream), and says what to do, without DuckDB's advice
for its own reader (a null string, "select a different type") or "run retl compile"."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import invoke_in_process
from tests.test_sync import copy_demo


def test_a_value_the_declared_type_does_not_take_names_the_file_line_and_the_fix(
    tmp_path: Path,
) -> None:
    root = copy_demo(tmp_path)
    orders = root / "data" / "orders.csv"
    lines = orders.read_text().splitlines(keepends=True)
    cells = lines[1].split(",")
    cells[2] = "yesterday"  # ordered_at, declared timestamp
    lines[1] = ",".join(cells)
    orders.write_text("".join(lines))
    result = invoke_in_process("plan", "--sandbox", "--project-dir", root)
    assert result.returncode == 1
    said = " ".join(result.stderr.split())
    assert "models/staging/stg_orders.sql: model 'stg_orders'" in said
    assert "orders.csv line 2: column ordered_at holds a value that is not a TIMESTAMP" in said
    assert "convert it in the model with TRY_CAST or try_strptime" in said
    assert "nullstr" not in said and "retl compile" not in said
    assert "yesterday" not in said  # a value of the file is data

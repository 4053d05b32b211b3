"""DuckDB's table macros ``histogram(source, col)`` and ``histogram_values(source, col)`` read
``query_table(source)``: the table, or the file, their first argument names. A review (S15):
``retl show`` of ``select * from histogram('data/.hidden.csv', a)`` printed the hidden
file's values as bins, past the read rule (models/read_rule.py), which knew no such call.
The aggregate ``histogram(x)`` reads no file and stays allowed, as does a macro of a table."""

from __future__ import annotations

from pathlib import Path

import pytest

SENTINEL = "SENTINEL-histogram-41b7"


@pytest.fixture(autouse=True)
def _beside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # run from another folder than the project's


@pytest.mark.parametrize(
    "read",
    [
        "histogram('data/.hidden.csv', a)",
        "histogram_values('data/.hidden.csv', a)",
        'HISTOGRAM("data/.hidden.csv", a)',
        "histogram('data/' || '.hidden.csv', a)",
    ],
)
def test_a_table_macro_reads_no_hidden_file(tmp_path: Path, make_project, cli, read: str) -> None:
    root = make_project(tmp_path / "p", {"models/m.sql": f"select *\nfrom {read}"})
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / ".hidden.csv").write_text(f"a\n{SENTINEL}\n")
    result = cli("show", "m", "--project-dir", root)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, said
    assert SENTINEL not in said, said
    assert "Traceback" not in said
    assert "models/m.sql:2: retl may not read data/.hidden.csv" in said, said


@pytest.mark.parametrize(
    "sql",
    [
        "select histogram(a) as h from read_csv('data/ok.csv')",  # the aggregate
        "with t as (select 7 as a) select * from histogram(t, a)",  # a table's
    ],
)
def test_histogram_of_a_table_or_as_an_aggregate_runs(
    tmp_path: Path, make_project, cli, sql: str
) -> None:
    root = make_project(tmp_path / "p", {"models/m.sql": sql, "data/ok.csv": "a\n7\n"})
    result = cli("show", "m", "--project-dir", root)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 0, said
    assert "7" in said, said


DESTINATIONS = """
destinations:
  shop:
    type: tiktok_events
    model: events
    event_source_id: CPIXEL
"""


@pytest.mark.parametrize(
    ("read", "ok"),
    [
        ("histogram('data/.hidden.csv', a)", False),
        ('histogram_values("data/.hidden.csv", a)', False),
        ("histogram('data/ok.csv', a)", True),
    ],
)
def test_validate_says_what_plan_refuses(
    tmp_path: Path, make_project, cli, read: str, ok: bool
) -> None:
    sql = (
        "select 'Purchase' as event, bin::varchar as event_id, now() as event_time,\n"
        f"  'a@b.c' as email, 'https://x.y/' as page_url\nfrom {read}"
    )
    root = make_project(
        tmp_path / "p",
        {"models/events.sql": sql, "destinations.yml": DESTINATIONS, "data/ok.csv": "a\n7\n"},
    )
    (root / "data" / ".hidden.csv").write_text(f"a\n{SENTINEL}\n")
    result = cli("validate", "--project-dir", root)
    said = " ".join((result.stdout + result.stderr).split())
    assert SENTINEL not in said, said
    if ok:
        assert "retl may not read" not in said, said
    else:
        assert result.returncode == 1, said
        assert "models/events.sql:3: retl may not read data/.hidden.csv" in said, said

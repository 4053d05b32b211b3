"""An unchanged re-sync skips the diff when the model's files and the state are as when the
last sync left nothing to send: its diff found nothing, or every row it found was
acknowledged (pipeline/unchanged.py, issue #18); any change runs it again."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from reverse_etl.pipeline import inputs, runner, unchanged
from reverse_etl.project import Project
from tests.conftest import invoke_in_process
from tests.test_sync import copy_demo

SECOND = 1_000_000_000


# --- what the SQL reads ---------------------------------------------------------------------
def test_the_files_a_model_reads_are_listed() -> None:
    sql = """
        with a as (select * from read_csv('/d/a.csv', header = true, types = {'x': 'varchar'})),
             b as (select * from read_parquet(['/d/b.parquet', '/d/c.parquet']))
        select * from a join b using (x) join parquet_scan('/d/e.parquet') using (x)
        cross join range(3) t(i)
    """
    assert sorted(unchanged.read_files(sql) or []) == [
        "/d/a.csv",
        "/d/b.parquet",
        "/d/c.parquet",
        "/d/e.parquet",
    ]


def test_every_reader_whose_paths_are_made_the_project_s_is_a_file_read() -> None:
    """One list of DuckDB's file readers (engine/file_paths.READERS): the metadata readers
    were not in this one, so such a model's diff always ran. (read_text and read_blob give
    a file's times too: never known, see VOLATILE.)"""
    sql = "select * from parquet_metadata('/d/b.parquet') cross join sniff_csv('/d/a.csv')"
    assert sorted(unchanged.read_files(sql) or []) == ["/d/a.csv", "/d/b.parquet"]
    assert unchanged.read_files("select * from read_text('/d/a.txt')") is None


@pytest.mark.parametrize(
    "sql",
    [
        "select * from orders",  # a catalog table or view: its rows cannot be known
        "select * from main.orders",
        "select * from 'orders.parquet'",  # a file named as a table
        "select now() as t from range(3)",
        "select current_date as d from range(3)",
        "select current_timestamp as d from range(3)",
        "select get_current_timestamp() as d from range(3)",
        "select random() as r from range(3)",
        "select uuid() as u from range(3)",
        "select gen_random_uuid() as u from range(3)",
        "select nextval('s') as n from range(3)",
        "select * from read_csv(getvariable('f'))",  # not a literal path
        "select * from read_text('/d/a.txt')",
        "select * from glob('/d/*')",
        "select * from sqlite_scan('/d/x.db', 't')",
        "select from where (",  # sqlglot cannot read it
    ],
)
def test_sql_that_reads_more_than_files_is_never_known(sql: str) -> None:
    assert unchanged.read_files(sql) is None


def test_a_file_is_known_by_its_stat_once_settled(tmp_path: Path) -> None:
    data = tmp_path / "a.csv"
    data.write_text("x\n1\n")
    st = os.stat(data)
    settled = max(st.st_mtime_ns, st.st_ctime_ns) + unchanged.SETTLE_NS
    stat = unchanged.stat_of(str(data), settled)
    assert stat == [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]
    # Changed less than SETTLE_NS ago: a second change could keep the same times.
    assert unchanged.stat_of(str(data), settled - 1) is None
    assert unchanged.expand([str(data)]) == [str(data)]
    assert unchanged.expand([str(tmp_path / "missing.csv")]) is None
    assert unchanged.expand(["a.csv"]) is None  # relative: whose folder?
    assert unchanged.expand(["s3://bucket/a.csv"]) is None


def test_a_file_s_bytes_decide_when_its_stat_differs(tmp_path: Path) -> None:
    data = tmp_path / "a.csv"
    data.write_bytes(b"x\n1\n")
    first = unchanged.content_digest(str(data))
    data.unlink()
    data.write_bytes(b"x\n1\n")  # a fresh checkout: new inode and times, same bytes
    assert unchanged.content_digest(str(data)) == first
    data.write_bytes(b"x\n2\n")
    assert unchanged.content_digest(str(data)) != first
    assert unchanged.content_digest(str(tmp_path / "missing.csv")) is None


def test_a_glob_is_known_by_its_matches(tmp_path: Path) -> None:
    (tmp_path / "part-1.parquet").write_text("1")
    (tmp_path / ".part-2.parquet").write_text("2")
    pattern = str(tmp_path / "*.parquet")
    if unchanged.sys.version_info < (3, 11):
        assert unchanged.expand([pattern]) is None
        return
    matches = unchanged.expand([pattern])
    assert matches == sorted(str(p) for p in tmp_path.iterdir())  # hidden ones too
    assert unchanged.expand([str(tmp_path / "*.csv")]) is None  # no match


# --- a sync ------------------------------------------------------------------------------------
@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo project (three CSV files), with files trusted as soon as written: the tests
    change a file's size or times themselves, never within one clock tick."""
    monkeypatch.setattr(unchanged, "SETTLE_NS", 0)
    return copy_demo(tmp_path)


@pytest.fixture
def recorded(demo: Path) -> Path:
    """The demo synced twice: every row sent, then a diff that found nothing, recorded."""
    assert sync(demo) == (6, 0)
    assert sync(demo) == (0, 6)
    assert record(demo).exists()
    return demo


class DiffSpy:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.monkeypatch = monkeypatch
        original = inputs.local_diff

        def counted(*args: Any, **kw: Any) -> Any:
            self.calls += 1
            return original(*args, **kw)

        monkeypatch.setattr(inputs, "local_diff", counted)


def sync(root: Path) -> tuple[int, int]:
    with Project.load(root) as project:
        report = project.sync(sandbox=True)
    assert report.ok
    (result,) = report.results
    return result.sent, result.rows_unchanged


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> DiffSpy:
    """Counts the diffs run from now on (after ``recorded``'s syncs, when asked after it)."""
    return DiffSpy(monkeypatch)


def record(root: Path) -> Path:
    return root / ".retl" / ("sandbox-state.duckdb" + unchanged.RECORD_SUFFIX)


def test_an_unchanged_resync_runs_no_diff_after_a_clean_one(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = DiffSpy(monkeypatch)
    with Project.load(demo) as project:  # a plan records nothing
        (plan,) = project.plan(sandbox=True)
    assert plan.rows_to_send == 6 and not record(demo).exists()
    assert sync(demo) == (6, 0)  # a first sync (no diff): every row acknowledged, recorded
    assert spy.calls == 0
    text = record(demo).read_text()
    assert "order-" not in text and "data" not in text and "@" not in text  # digests only
    assert sync(demo) == (0, 6)
    assert sync(demo) == (0, 6)
    assert spy.calls == 0  # neither ran it
    with Project.load(demo) as project:
        (plan,) = project.plan(sandbox=True)
    assert (plan.rows_total, plan.rows_unchanged, plan.rows_to_send) == (6, 6, 0)
    assert spy.calls == 0
    record(demo).unlink()  # without the record: the diff runs, finds nothing, records
    assert sync(demo) == (0, 6)
    assert spy.calls == 1 and record(demo).exists()
    assert sync(demo) == (0, 6)
    assert spy.calls == 1


def test_a_first_sync_records_the_same_as_a_clean_diff(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record a first sync leaves after its send is the one a diff that found nothing
    leaves: the same inputs, state digest, rows and files."""
    assert sync(demo) == (6, 0)
    after_send = orjson.loads(record(demo).read_bytes())
    record(demo).unlink()
    DiffSpy(monkeypatch)
    assert sync(demo) == (0, 6)
    assert orjson.loads(record(demo).read_bytes()) == after_send


def test_a_sync_that_leaves_rows_unsent_records_nothing(demo: Path, spy: DiffSpy) -> None:
    with Project.load(demo) as project:
        report = project.sync(sandbox=True, limit=4)
    assert report.results[0].sent == 4 and not record(demo).exists()
    assert sync(demo) == (2, 4)  # the diff runs and finds the two left
    assert spy.calls == 1
    assert sync(demo) == (0, 6)  # every row acknowledged now: recorded after that send
    assert spy.calls == 1


def test_a_sync_with_invalid_rows_records_nothing(demo: Path, spy: DiffSpy) -> None:
    orders = demo / "data" / "orders.csv"
    orders.write_text(orders.read_text().replace(",2026-11-20 09:15:00,", ",,", 1))
    dests = demo / "destinations.yml"
    dests.write_text(
        dests.read_text().replace("skip_invalid_record: false", "skip_invalid_record: true")
    )
    with Project.load(demo) as project:
        report = project.sync(sandbox=True)
    (result,) = report.results
    assert (result.sent, result.rows_invalid) == (5, 1) and not record(demo).exists()
    with Project.load(demo) as project:  # the invalid row is found, and reported, again
        report = project.sync(sandbox=True)
    assert (report.results[0].sent, report.results[0].rows_invalid) == (0, 1)
    assert spy.calls == 1


def test_a_file_changed_while_the_sync_ran_is_not_vouched_for(
    demo: Path, spy: DiffSpy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files are digested before the model reads them and their stats compared when the
    record is written: a row added in between is found by the next diff, and sent."""
    orders = demo / "data" / "orders.csv"
    original = runner.execute

    def then_edit(*args: Any, **kw: Any) -> Any:
        result = original(*args, **kw)
        text = orders.read_text()
        orders.write_text(text.replace("wool-socks", "wool-socks-2"))
        return result

    monkeypatch.setattr(runner, "execute", then_edit)
    assert sync(demo) == (6, 0)
    monkeypatch.setattr(runner, "execute", original)
    assert not record(demo).exists()
    assert sync(demo) == (1, 5)
    assert spy.calls == 1


def test_a_changed_file_runs_the_diff_again(recorded: Path, spy: DiffSpy) -> None:
    demo = recorded
    orders = demo / "data" / "orders.csv"
    text = orders.read_text()
    orders.write_text(text.replace("wool-socks", "wool-socks-2"))  # one order changed
    assert sync(demo) == (1, 5)
    assert spy.calls == 1
    assert sync(demo) == (0, 6)  # the changed row acknowledged: recorded after that send
    assert spy.calls == 1
    orders.write_text(text.replace("wool-socks", "wool-socks-3"))  # same size, other bytes
    st = os.stat(orders)
    os.utime(orders, ns=(st.st_atime_ns, st.st_mtime_ns - SECOND))
    assert sync(demo) == (1, 5)
    assert spy.calls == 2


def test_the_same_bytes_under_new_times_need_no_diff(recorded: Path, spy: DiffSpy) -> None:
    """A fresh checkout (a CI job) writes every file again: other inode and times, the same
    bytes. Known by their content, then by their new stats."""
    demo = recorded
    for name in ("orders.csv", "customers.csv", "order_items.csv"):
        path = demo / "data" / name
        data = path.read_bytes()
        path.unlink()
        path.write_bytes(data)
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - SECOND))
    reads: list[str] = []
    original = unchanged.content_digest

    def counted(path: str) -> str | None:
        reads.append(path)
        return original(path)

    spy.monkeypatch.setattr(unchanged, "content_digest", counted)
    assert sync(demo) == (0, 6)
    assert spy.calls == 0 and len(reads) == 3  # no diff: the bytes were read instead
    assert sync(demo) == (0, 6)
    assert spy.calls == 0 and len(reads) == 3  # and their new stats were recorded


def test_a_state_changed_by_anything_else_runs_the_diff_again(recorded: Path, spy: DiffSpy) -> None:
    demo = recorded
    # One acknowledged hash changed behind retl's back (another tool, a restored backup):
    # the recorded diff no longer stands for this state.
    state = demo / ".retl" / "sandbox-state.duckdb"
    with duckdb.connect(str(state)) as con:
        key = con.execute("SELECT min(row_key) FROM synced_rows").fetchone()
        assert key is not None
        con.execute(
            "UPDATE synced_rows SET row_hash = '3:' || repeat('0', 32) WHERE row_key = ?", key
        )
    assert sync(demo) == (1, 5)
    assert spy.calls == 1


def test_a_model_or_var_change_runs_the_diff_again(recorded: Path, spy: DiffSpy) -> None:
    demo = recorded
    project_file = demo / "retl_project.yml"
    project_file.write_text(
        project_file.read_text().replace("min_order_value: 1", "min_order_value: 2")
    )
    assert sync(demo) == (0, 6)
    assert spy.calls == 1


def test_a_damaged_record_costs_one_diff(recorded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = recorded
    record(demo).write_text("{not json")
    spy = DiffSpy(monkeypatch)
    assert sync(demo) == (0, 6)
    assert spy.calls == 1
    assert sync(demo) == (0, 6)
    assert spy.calls == 1


def test_a_record_that_cannot_be_taken_does_not_fail_the_sync(
    demo: Path, spy: DiffSpy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record is a cache: a state digest that fails after the send leaves no record and
    a successful sync."""
    digest = inputs.state_print_sql
    monkeypatch.setattr(inputs, "state_print_sql", lambda latest: "SELECT no_such_column")
    assert sync(demo) == (6, 0)
    assert not record(demo).exists()
    monkeypatch.setattr(inputs, "state_print_sql", digest)
    assert sync(demo) == (0, 6)  # the next sync diffs, and records
    assert record(demo).exists()


def test_a_relative_direct_read_is_known_from_the_project_folder(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from the project folder (the README's way), a model's read_csv('data/x.csv')
    stays relative: it is the project's file (engine/file_paths.project_paths), and is
    known as such. The unchanged re-sync ran its diff every time there."""
    staging = demo / "models" / "staging" / "stg_orders.sql"
    staging.write_text(
        staging.read_text().replace(
            "{{ source('shop', 'customers') }}",
            "read_csv('data/customers.csv', all_varchar = true)",
        )
    )
    monkeypatch.chdir(demo)
    assert sync(demo) == (6, 0)
    assert sync(demo) == (0, 6)
    spy = DiffSpy(monkeypatch)
    assert sync(demo) == (0, 6)
    assert spy.calls == 0


def test_json_says_the_model_was_not_run(recorded: Path, spy: DiffSpy) -> None:
    """Text output said "the model was not run"; the JSON documents of plan and sync did
    not: the destination's entry says it (``model_run``, ``notes``)."""
    said = "the model's files and the state are as when the last sync left nothing to send: "
    said += "the model was not run"
    text = invoke_in_process("plan", "--sandbox", "--project-dir", recorded)
    assert f"tiktok_purchases: {said}" in text.stdout.splitlines()
    for command in ("plan", "sync"):
        result = invoke_in_process(
            command, "--sandbox", "--project-dir", recorded, "--format", "json"
        )
        assert result.returncode == 0, result.stdout + result.stderr
        [destination] = orjson.loads(result.stdout)["destinations"]
        assert destination["model_run"] is False, command
        assert destination["notes"] == [said], command
    assert spy.calls == 0
    record(recorded).unlink()  # the diff runs: no note
    result = invoke_in_process("plan", "--sandbox", "--project-dir", recorded, "--format", "json")
    [destination] = orjson.loads(result.stdout)["destinations"]
    assert (destination["model_run"], destination["notes"]) == (True, [])
    assert spy.calls == 1

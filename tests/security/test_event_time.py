"""event_time bounds (issue #12, item 4): times TikTok rejects are invalid rows before sending.

TikTok rejects an event_time before 2000-01-01 (a ``timestamp '1900-01-01'`` placeholder, a
negative or zero epoch). retl used to send them: the plan showed no invalid row and the run
sent everything but the rejected events, although ``skip_invalid_record`` was false.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from reverse_etl.destinations.shared.phones import register_phone_udf as prepare_engine
from reverse_etl.destinations.shared.rows import key_columns_for
from reverse_etl.destinations.tiktok.encode import EncodeSpec, build_encode_sql
from reverse_etl.destinations.tiktok.mapping import key_only_columns, map_columns
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.sandbox.options import SandboxOptions
from reverse_etl.sandbox.validation import EventValidator
from tests.conftest import CliResult, MakeProject, RunCli

REJECTED = "is before 2000-01-01: TikTok rejects it"
OLD = "event_time is more than 7 days old (TikTok may not attribute it)"


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine()
    prepare_engine(eng)
    yield eng
    eng.close()


def encode(engine: DuckDBEngine, select: str) -> dict[str, tuple[str | None, str | None]]:
    """key -> (errors, warnings) of every row of ``select`` as WEB events."""
    schema = engine.schema(select)
    keys = key_columns_for(schema.names, None, None)
    assert keys is not None
    mapping = map_columns(schema.names, "WEB", ignore=key_only_columns(keys[0]))
    spec = EncodeSpec("m", "WEB", keys[0], keys[1])
    sql = build_encode_sql(f"({select}) AS t", schema, mapping, spec)
    rows = engine.rows(f"SELECT __key, __errors, __warnings FROM ({sql})")
    return {str(k): (e, w) for k, e, w in rows}


def _rows(values: dict[str, str], cast: str) -> str:
    return " union all ".join(
        f"select 'Lead' as event, 'a@x.io' as email, '{key}' as event_id, "
        f"{cast.format(v=value)} as event_time"
        for key, value in values.items()
    )


def _reason(iso: str) -> tuple[str, None]:
    return (f"event_time {iso} {REJECTED}", None)


# One case per event_time type the encoder takes: the same instants written in that type.
TIMESTAMPS = {
    "1900": "1900-01-01 00:00:00",
    "1999": "1999-12-31 23:59:59",
    "2000": "2000-01-01 00:00:00",
    "negative": "1969-12-31 23:59:59",
    "zero": "1970-01-01 00:00:00",
}
EPOCHS = {
    "1900": "-2208988800",
    "1999": "946684799",
    "2000": "946684800",
    "negative": "-1",
    "zero": "0",
}
EXPECTED = {
    "1900": _reason("1900-01-01T00:00:00Z"),
    "1999": _reason("1999-12-31T23:59:59Z"),
    "2000": (None, OLD),  # the first valid second: old, so a warning, not an error
    "negative": _reason("1969-12-31T23:59:59Z"),
    "zero": _reason("1970-01-01T00:00:00Z"),
}
DATES = {"1900": "1900-01-01", "1999": "1999-12-31", "2000": "2000-01-01"}
EXPECTED_DATES = {
    "1900": _reason("1900-01-01T00:00:00Z"),
    "1999": _reason("1999-12-31T00:00:00Z"),
    "2000": (None, OLD),
}


@pytest.mark.parametrize(
    ("values", "cast", "expected"),
    [
        (TIMESTAMPS, "timestamp '{v}'", EXPECTED),
        (TIMESTAMPS, "timestamptz '{v}+00'", EXPECTED),
        # A zone offset is honoured: 01:00+01 is midnight UTC.
        (
            {"2000": "2000-01-01 01:00:00+01", "1999": "2000-01-01 00:59:59+01"},
            "timestamptz '{v}'",
            {"2000": (None, OLD), "1999": EXPECTED["1999"]},
        ),
        (DATES, "date '{v}'", EXPECTED_DATES),
        (EPOCHS, "CAST({v} AS BIGINT)", EXPECTED),
        # INTEGER cannot hold 1900 in seconds.
        (
            {k: v for k, v in EPOCHS.items() if k != "1900"},
            "CAST({v} AS INTEGER)",
            {k: v for k, v in EXPECTED.items() if k != "1900"},
        ),
        (EPOCHS, "CAST({v} AS DOUBLE)", EXPECTED),
        (EPOCHS, "CAST({v} AS DECIMAL(18, 3))", EXPECTED),
        # Text is parsed as a time (static validation warns about the type).
        (TIMESTAMPS, "'{v}'", EXPECTED),
    ],
    ids=[
        "timestamp",
        "timestamptz",
        "timestamptz-offset",
        "date",
        "bigint",
        "integer",
        "double",
        "decimal",
        "varchar",
    ],
)
def test_times_before_2000_are_invalid_with_their_time(
    engine: DuckDBEngine,
    values: dict[str, str],
    cast: str,
    expected: dict[str, tuple[str | None, str | None]],
) -> None:
    assert encode(engine, _rows(values, cast)) == expected


def test_times_outside_bigint_are_invalid_rows_not_a_crash(engine: DuckDBEngine) -> None:
    select = (
        "select 'Lead' as event, 'a@x.io' as email, 'min' as event_id, "
        "CAST('-9223372036854775808' AS BIGINT) as event_time"
    )
    assert encode(engine, select)["min"] == (
        f"event_time -9223372036854775808 (Unix seconds) {REJECTED}",
        None,
    )
    for cast in (
        "CAST(1e300 AS DOUBLE)",
        "CAST('-inf' AS DOUBLE)",
        "18446744073709551615::UBIGINT",
    ):
        row = encode(
            engine,
            f"select 'Lead' as event, 'a@x.io' as email, 'x' as event_id, {cast} as event_time",
        )
        assert row == {"x": ("event_time is missing or not a time", None)}, cast


def test_the_sandbox_rejects_times_before_2000_as_tiktok_does() -> None:
    validator = EventValidator("web", SandboxOptions(), now=1_800_000_000)
    messages = {
        t: validator.check_all(
            [{"event": "Lead", "event_id": "k", "event_time": t}], may_contain_null=False
        )
        for t in (-2208988800, 0, 946684799, 946684800)
    }
    assert messages == {
        -2208988800: "data.0.event_time: Not a Unix timestamp in seconds",
        0: "data.0.event_time: Event time is before 2000-01-01",
        946684799: "data.0.event_time: Event time is before 2000-01-01",
        946684800: None,
    }


def _project(make_project: MakeProject, root: Path) -> Path:
    return make_project(
        root,
        {
            "retl_project.yml": """
                name: event_times
                warehouse:
                  type: duckdb
            """,
            "destinations.yml": """
                destinations:
                  tiktok_purchases:
                    type: tiktok_events
                    model: purchases
                    access_token: "{{ env_var('TIKTOK_ACCESS_TOKEN') }}"
                    event_data_source: WEB
                    target_event_source: ID
                    event_source_id: CABC1234567890
                    skip_invalid_record: false
            """,
            # 3,000 rows, one with a 1900 placeholder date in the middle of a batch.
            "models/purchases.sql": """
                select 'Purchase' as event, 'e-' || i as event_id, 'a@x.io' as email,
                       case when i = 1500 then timestamp '1900-01-01'
                            else now()::timestamp - interval 1 hour end as event_time
                from range(3000) as t(i)
            """,
        },
    )


@pytest.mark.slow
def test_a_1900_row_is_invalid_in_the_plan_and_nothing_is_sent(
    tmp_path: Path, make_project: MakeProject, run_cli: RunCli, cli: Callable[..., CliResult]
) -> None:
    project = _project(make_project, tmp_path / "p")
    reason = f"event_time 1900-01-01T00:00:00Z {REJECTED}"

    plan = cli("plan", "--project-dir", project, "--format", "json")
    assert plan.returncode == 0, plan.stderr
    (dest,) = orjson.loads(plan.stdout)["destinations"]
    assert dest["rows"]["invalid"] == 1 and dest["rows"]["total"] == 3000
    assert dest["invalid_rows"] == [{"key": "e-1500", "reason": reason}]
    # The invalid row is not also warned about as merely old.
    assert dest["warning_reasons"] == []

    sync = run_cli("sync", "--sandbox", "--project-dir", project)
    assert sync.returncode == 1, sync.stdout + sync.stderr
    assert reason in sync.stderr
    assert "1 of 3000 rows are invalid" in sync.stderr
    assert "sync summary" not in sync.stdout  # no destination got as far as sending

    (report_file,) = (project / ".retl" / "runs").glob("*.json")
    report: dict[str, Any] = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["error"] == "invalid rows: nothing was sent"
    assert report["destinations"] == [] and report["not_run"] == ["tiktok_purchases"]

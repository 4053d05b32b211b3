"""Raw PII in error messages and run reports (issue #12, item 5).

Databases quote the values they fail on: DuckDB a whole CSV record ("Original Line: ..."), the
string a cast refused, a JSON document; PostgreSQL a key's value in DETAIL. retl printed those
messages and stored them in the run report. Every error string here comes from the real
database, so a new wording after an upgrade fails these tests instead of leaking quietly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.errors import EngineError
from tests.conftest import CliResult, MakeProject, RunCli
from tests.warehouse.conftest import pg_db, pg_server  # noqa: F401  (fixtures)

EMAIL = "secret.person@x.com"
PHONE = "+12125550199"
PHONE_DIGITS = "12125550199"
NAME = "Jane Quixote"  # PII that looks like nothing in particular
SECRETS = (EMAIL, PHONE_DIGITS, NAME)


def assert_no_pii(text: str) -> None:
    lowered = text.lower()
    for secret in (*SECRETS, hashlib.sha256(EMAIL.encode()).hexdigest()):
        assert secret.lower() not in lowered, f"{secret!r} leaked: {text}"


def duckdb_error(sql: str) -> str:
    """The raw message real DuckDB gives for ``sql`` (which must fail)."""
    con = duckdb.connect()
    try:
        con.execute(sql).fetchall()
    except duckdb.Error as exc:
        return str(exc)
    finally:
        con.close()
    raise AssertionError(f"no error from {sql}")


def engine_error(sql: str) -> str:
    """The message of the EngineError retl's DuckDB engine raises for ``sql``."""
    engine = DuckDBEngine()
    try:
        with pytest.raises(EngineError) as caught:
            engine.rows(sql)
    finally:
        engine.close()
    return caught.value.message


@pytest.fixture
def files(tmp_path: Path) -> Path:
    rows = "".join(
        f"{i},user{i}@example.com,+1212555{i:04d},2026-11-01 10:00:00\n" for i in range(3)
    )
    (tmp_path / "bad_date.csv").write_text(
        f"id,email,phone,signed_up_at\n{rows}1001,{EMAIL},{PHONE},not-a-date\n", encoding="utf-8"
    )
    # The sniffer infers a TIMESTAMP from its sample; the bad row comes after it.
    sampled = "".join(f"{i},2026-11-01 10:00:00\n" for i in range(25_000))
    (tmp_path / "inferred.csv").write_text(
        f"id,signed_up_at\n{sampled}1001,{EMAIL} {PHONE}\n", encoding="utf-8"
    )
    # A quoted field with a line break: DuckDB quotes the record over two lines.
    (tmp_path / "multiline.csv").write_text(
        f'id,note,n\n1,ok,5\n2,"{EMAIL}\n{NAME} {PHONE}",{NAME}\n', encoding="utf-8"
    )
    (tmp_path / "records.json").write_text(
        f'[{{"id": 1, "n": 2}}, {{"id": 2, "n": "{NAME}"}}]\n', encoding="utf-8"
    )
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT '{EMAIL}' AS email, '{NAME}' AS name) TO '{tmp_path / 'people.parquet'}'"
    )
    # Values whose messages have other shapes (found by an audit): over two lines, a phone
    # kept as a DOUBLE, a value holding quotes or an apostrophe.
    con.execute(
        f"""COPY (SELECT '{NAME}' || chr(10) || 'Hidden Lane 12' AS two_lines,
                         {PHONE_DIGITS}::DOUBLE AS phone_double,
                         '"{NAME}, 12 Elm St" 77341' AS quoted,
                         '{NAME} O''Brien' AS apostrophe)
            TO '{tmp_path / "shapes.parquet"}'"""
    )
    con.close()
    return tmp_path


# (case, SQL over the files in {d}, facts the message must still give)
CASES = [
    (
        "csv-typed-date",
        "SELECT * FROM read_csv('{d}/bad_date.csv', header = true, "
        "types = {'signed_up_at': 'TIMESTAMP'})",
        ["CSV Error on Line: 5 of file {d}/bad_date.csv", 'column "signed_up_at"', "TIMESTAMP"],
    ),
    (
        "csv-inferred-type",
        "SELECT * FROM read_csv('{d}/inferred.csv', header = true)",
        ["CSV Error on Line: 25002 of file {d}/inferred.csv", 'column "signed_up_at"'],
    ),
    (
        "csv-multiline-record",
        "SELECT * FROM read_csv('{d}/multiline.csv', header = true, types = {'n': 'INTEGER'})",
        ["CSV Error on Line: 3 of file {d}/multiline.csv", 'column "n"', "INTEGER"],
    ),
    (
        "cast-in-a-model",
        f"SELECT CAST('{EMAIL}' AS INTEGER) AS id",
        ["Could not convert string", "INT32"],
    ),
    (
        "cast-of-a-column",
        f"SELECT CAST(x AS INTEGER) FROM (VALUES ('{NAME}')) AS t(x)",
        ["Could not convert string", "INT32", "source column x"],
    ),
    (
        "date-format",
        f"SELECT CAST(x AS DATE) FROM (VALUES ('{PHONE}')) AS t(x)",
        ["date field format", "YYYY-MM-DD"],
    ),
    (
        "number-out-of-range",
        f"SELECT CAST(x AS TINYINT) FROM (VALUES ({PHONE_DIGITS})) AS t(x)",
        ["can't be cast", "INT8"],
    ),
    (
        "strptime-echo",
        f"SELECT strptime(x, '%Y-%m-%d') FROM (VALUES ('{NAME}')) AS t(x)",
        ["Could not parse string", "%Y-%m-%d"],
    ),
    (
        "json-cast",
        f"""SELECT x::JSON FROM (VALUES ('{{"name": "{NAME}", "email": "{EMAIL}"')) AS t(x)""",
        ["Malformed JSON", "Input: <redacted>"],
    ),
    (
        "json-read",
        "SELECT * FROM read_json('{d}/records.json', columns = {'id': 'INTEGER', 'n': 'INTEGER'})",
        ['in file "{d}/records.json"', "record/value 2"],
    ),
    (
        "cast-of-a-value-over-two-lines",
        "SELECT CAST(two_lines AS INTEGER) FROM read_parquet('{d}/shapes.parquet')",
        ["Could not convert string", "INT32", "source column two_lines"],
    ),
    (
        "decimal-of-a-phone-kept-as-double",
        "SELECT CAST(phone_double AS DECIMAL(10,0)) FROM read_parquet('{d}/shapes.parquet')",
        ["Could not cast value", "DECIMAL(10,0)", "source column phone_double"],
    ),
    (
        "base64-of-a-name",
        "SELECT from_base64(quoted) FROM read_parquet('{d}/shapes.parquet')",
        ["Could not decode string", "base64"],
    ),
    (
        "timestamp-of-a-value-with-quotes",
        "SELECT CAST(quoted AS TIMESTAMP) FROM read_parquet('{d}/shapes.parquet')",
        ["timestamp field format", "source column quoted"],
    ),
    (
        "uuid-interval-and-list-casts",
        "SELECT CAST(apostrophe AS UUID), CAST(apostrophe AS INTERVAL), "
        "CAST(apostrophe AS INT[]) FROM read_parquet('{d}/shapes.parquet')",
        ["Could not convert string", "source column apostrophe"],
    ),
    (
        "parquet-read",
        "SELECT CAST(name AS INTEGER) FROM read_parquet('{d}/people.parquet')",
        ["Could not convert string", "source column name"],
    ),
]


@pytest.mark.parametrize(("sql", "facts"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_engine_errors_keep_the_facts_and_mask_the_values(
    files: Path, sql: str, facts: list[str]
) -> None:
    sql = sql.replace("{d}", str(files))
    raw = duckdb_error(sql)
    assert any(s in raw for s in SECRETS), "the case must make DuckDB quote a value"
    message = engine_error(sql)
    assert_no_pii(message)
    for fact in facts:
        assert fact.replace("{d}", str(files)) in message, message


def test_the_redaction_is_a_pure_function_of_the_text(files: Path) -> None:
    from reverse_etl.engine.errors_text import REDACTED, redact_error

    raw = duckdb_error(CASES[0][1].replace("{d}", str(files)))
    assert "Original Line: 1001," in raw and EMAIL in raw
    redacted = redact_error(raw)
    assert "Original Line" not in redacted and redact_error(redacted) == redacted
    assert f'Could not convert string "{REDACTED}"' in redacted
    # Locations are not values: line and byte numbers stay, however large.
    assert redact_error("CSV Error on Line: 123456789012") == "CSV Error on Line: 123456789012"
    assert redact_error("at byte 123456789012 in line 3") == "at byte 123456789012 in line 3"


@pytest.mark.postgres
def test_postgres_errors_mask_quoted_values(pg_db: PostgresConnection) -> None:  # noqa: F811
    engine = PostgresEngine(pg_db)
    try:
        engine.execute("CREATE TABLE people (id int NOT NULL, email text UNIQUE, name text)")
        engine.execute("INSERT INTO people VALUES (1, %s, %s)", [EMAIL, NAME])
        messages = []
        for sql, params in [
            ("INSERT INTO people VALUES (2, %s, 'x')", [EMAIL]),  # DETAIL: Key (email)=(...)
            ("INSERT INTO people VALUES (NULL, %s, %s)", ["b@c.de", NAME]),  # Failing row
            ("SELECT CAST(email AS integer) FROM people", []),  # invalid input syntax: "..."
            ("SELECT CAST(%s AS date)", [NAME]),
            # shapes found by an audit: a token of JSON, a to_date field, a value over lines
            ("SELECT CAST(%s AS json)", [NAME.replace(" ", "")]),
            ("SELECT to_date(%s, 'YYYY-MM-DD')", [NAME]),
            ("SELECT CAST(%s AS integer)", [f"{NAME}\n22 Secret St"]),
            # a row's value passed as a parameter of the SQL (22023): "time zone "Jane Doe"
            # not recognized" (a second audit)
            ("SELECT now() AT TIME ZONE %s", [NAME]),
            ("SELECT convert_to('x', %s)", [NAME]),
        ]:
            with pytest.raises(EngineError) as caught:
                engine.rows(sql, params)
            messages.append(caught.value.message + " " + (caught.value.hint or ""))
    finally:
        engine.close()
    assert "Key (email)=(<redacted>) already exists" in messages[0]
    assert "Failing row contains (<redacted>)" in messages[1]
    assert 'invalid input syntax for type integer: "<redacted>"' in messages[2]
    for message in messages:
        assert_no_pii(message.replace(NAME.replace(" ", ""), NAME))
        assert "Secret St" not in message


def _project(make_project: MakeProject, root: Path, data: Path) -> Path:
    """A project whose model reads a CSV (kept outside the project) through a staging model."""
    data.mkdir(parents=True)
    rows = "".join(
        f"{i},user{i}@example.com,+1212555{i:04d},2026-11-01 10:00:00\n" for i in range(1, 1001)
    )
    (data / "signups.csv").write_text(
        f"id,email,phone,signed_up_at\n{rows}1001,{EMAIL},{PHONE},not-a-date\n",
        encoding="utf-8",
    )
    return make_project(
        root,
        {
            "retl_project.yml": f"""
                name: pii_errors
                warehouse:
                  type: duckdb
                sources:
                  - name: crm
                    tables:
                      - name: signups
                        config:
                          external_location: {data / "signups.csv"}
                        columns:
                          - {{name: id, data_type: integer}}
                          - {{name: email, data_type: varchar}}
                          - {{name: phone, data_type: varchar}}
                          - {{name: signed_up_at, data_type: timestamp}}
            """,
            "destinations.yml": """
                destinations:
                  tiktok_signups:
                    type: tiktok_events
                    model: signups
                    access_token: "{{ env_var('TIKTOK_ACCESS_TOKEN') }}"
                    event_data_source: WEB
                    target_event_source: ID
                    event_source_id: CABC1234567890
                    skip_invalid_record: false
            """,
            "models/stg_signups.sql": "select * from {{ source('crm', 'signups') }}\n",
            "models/signups.sql": """
                select 'CompleteRegistration' as event, id::varchar as event_id,
                       signed_up_at as event_time, email, phone
                from {{ ref('stg_signups') }}
            """,
        },
    )


def _files_under(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file())


@pytest.mark.slow
def test_a_bad_csv_value_fails_plan_and_sync_without_leaking_the_row(
    tmp_path: Path, make_project: MakeProject, run_cli: RunCli, cli: Callable[..., CliResult]
) -> None:
    data = tmp_path / "exports"
    project = _project(make_project, tmp_path / "project", data)
    csv = data / "signups.csv"
    # plan in this process, sync as the real command (its exit status included)
    for run, command in ((cli, ["plan"]), (run_cli, ["sync", "--sandbox"])):
        # the export folder is outside the project: allowed by whoever runs retl
        result = run(*command, "--project-dir", project, env={"RETL_ALLOWED_PATHS": str(data)})
        assert result.returncode == 1, result.stdout + result.stderr
        assert_no_pii(result.stdout + result.stderr)
        error = result.stderr
        # blamed on the model reading the source, said as the file's line and column
        assert "model 'stg_signups' (source crm.signups) failed" in error, error
        assert f"{csv} line 1002: column signed_up_at holds a value that is not a" in error, error

    (report_file,) = (project / ".retl" / "runs").glob("*.json")
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["ok"] is False
    assert report["error"].startswith("model 'stg_signups' (source crm.signups) failed")
    assert f"{csv} line 1002: column signed_up_at" in report["error"]
    files = list(_files_under(project))
    assert report_file in files
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        assert_no_pii(text)


def test_a_long_value_is_said_without_it_and_without_a_quadratic_scan() -> None:
    """A message about a value is scanned for quotes; a long one (a row's megabyte of text
    with many quotes) is said as '<redacted> (a long value)', with the facts that locate it:
    the scan of its quotes would take minutes (it did, in a test's sample)."""
    from reverse_etl.engine.errors_text import redact_error

    value = f" '{NAME}" * 100_000
    raw = (
        f'Conversion Error: Could not decode string "{value}" as base64 when casting from '
        "source column note\nLINE 1: SELECT from_base64(note) FROM t"
    )
    message = redact_error(raw)
    assert message.startswith("Conversion Error: <redacted> (a long value)")
    assert "when casting from source column note" in message
    assert_no_pii(message)


def test_a_reason_that_quotes_a_row_s_value_masks_its_personal_data(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """ "currency 'zed@example.com' is not accepted by TikTok" was printed, put in the plan's
    and the sync's JSON and in the run report (an audit); `retl runs show` masked it."""
    root = tmp_path / "p"
    assert cli("init", str(root)).returncode == 0
    model = root / "models" / "purchase_events.sql"
    text = model.read_text()
    assert "currency                    as currency," in text
    model.write_text(
        text.replace(
            "currency                    as currency,",
            f"case when order_id = '1001' then '{EMAIL}' else currency end as currency,",
        )
    )
    config = root / "destinations.yml"
    config.write_text(
        config.read_text().replace("skip_invalid_record: false", "skip_invalid_record: true")
    )
    plan = cli("plan", "--sandbox", "--format", "json", "--project-dir", root)
    sync = cli("sync", "--sandbox", "--yes", "--project-dir", root)
    (report,) = (root / ".retl" / "runs").glob("*.json")
    for said in (plan.stdout, plan.stderr, sync.stdout, sync.stderr, report.read_text()):
        assert EMAIL not in said
    assert "is not accepted by TikTok" in plan.stdout

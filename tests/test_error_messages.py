"""Errors users hit (issue #15, section 2), said so that the fix is obvious: which file, which
line or key, what is wrong, the nearest valid name; each problem once, all of them at once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reverse_etl.project import Project

ORDERS_CSV = """\
order_id,email,ordered_at,currency,total
1001,alice@example.com,2026-01-01 10:00:00,USD,10.5
1002,bob@example.com,2026-01-02 11:00:00,EUR,20.0
"""
DECLARED = """\
        columns:
          - {name: order_id, data_type: varchar}
          - {name: email, data_type: varchar}
          - {name: ordered_at, data_type: timestamp}
          - {name: currency, data_type: varchar}
          - {name: total, data_type: "decimal(12,2)"}
"""
EVENTS_SQL = """\
select
    'Purchase'              as event,
    'order-' || order_id    as event_id,
    ordered_at              as event_time,
    email,
    total                   as value,
    currency
from {{ source('shop', 'orders') }}
"""


def destination(name: str = "tiktok_web", model: str = "events", **settings: str) -> str:
    lines = [
        f"  {name}:",
        "    type: tiktok_events",
        f"    model: {model}",
        "    auth_method: access_token",
        "    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"",
    ]
    settings = {"event_data_source": "WEB", "event_source_id": '"7000000000000000001"', **settings}
    lines += [f"    {k}: {v}" for k, v in settings.items()]
    return "\n".join(lines) + "\n"


def project(
    root: Path,
    make_project,
    *,
    location: str = "data/orders.csv",
    declared: bool = True,
    models: dict[str, str] | None = None,
    destinations: str | None = None,
) -> Path:
    project_yml = (
        "name: shop\n"
        "sources:\n"
        "  - name: shop\n"
        "    tables:\n"
        "      - name: orders\n"
        "        config:\n"
        f"          external_location: {location}\n" + (DECLARED if declared else "")
    )
    files = {
        "retl_project.yml": project_yml,
        "data/orders.csv": ORDERS_CSV,
        "destinations.yml": "destinations:\n" + (destinations or destination()),
    }
    files.update({f"models/{n}.sql": sql for n, sql in (models or {"events": EVENTS_SQL}).items()})
    return make_project(root, files)


def errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


# --- a source file that does not exist ----------------------------------------------------
def test_a_missing_source_file_is_named_at_its_key_with_the_nearest_file(
    tmp_path, make_project, cli
) -> None:
    root = project(tmp_path, make_project, location="data/order.csv", declared=False)
    result = cli("validate", "--project-dir", root)
    assert result.returncode == 1
    (line,) = errors(result.stdout + result.stderr)
    # retl_project.yml line 7 holds external_location; the columns are not what is wrong
    assert "retl_project.yml:7 sources[0].tables[0].config.external_location" in line
    assert "file data/order.csv does not exist (did you mean 'data/orders.csv'?)" in line
    assert "unknown" not in line and "data_type" not in line


@pytest.mark.parametrize("command", [["plan"], ["sync", "--sandbox"], ["show", "events"]])
def test_a_run_says_the_file_is_missing_not_that_the_model_failed(
    command, tmp_path, make_project, cli
) -> None:
    # Declared columns let validate check the model (a warning there), but a run needs the file.
    root = project(tmp_path, make_project, location="data/order.csv")
    result = cli(*command, "--project-dir", root, env={"TIKTOK_ACCESS_TOKEN": "test-token"})
    assert result.returncode == 1
    (line,) = errors(result.stderr)
    assert "IO Error" not in line and "events.sql" not in line
    assert "retl_project.yml:7 sources[0].tables[0].config.external_location" in line
    assert "did you mean 'data/orders.csv'?" in line
    validated = cli("validate", "--project-dir", root)
    assert validated.returncode == 0
    assert "data/order.csv does not exist" in validated.stderr


def test_a_missing_source_file_is_named_by_its_normalised_path(tmp_path, make_project, cli) -> None:
    root = project(tmp_path, make_project, location="data/../data/order.csv")
    result = cli("sync", "--sandbox", "--project-dir", root)
    assert result.returncode == 1
    (line,) = errors(result.stderr)
    assert "file data/order.csv does not exist" in line and "../" not in line


# --- a source file models may not read ----------------------------------------------------
@pytest.mark.parametrize("command", [["sync", "--sandbox"], ["show", "events"]])
def test_a_source_file_outside_the_project_is_blamed_on_its_key_with_the_fix(
    command, tmp_path, make_project, cli
) -> None:
    (tmp_path / "outside.csv").write_text(ORDERS_CSV, encoding="utf-8")
    root = project(tmp_path / "proj", make_project, location="data/../../outside.csv")
    result = cli(*command, "--project-dir", root, env={"RETL_ALLOWED_PATHS": None})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = errors(result.stderr)
    assert "retl_project.yml:7 sources[0].tables[0].config.external_location" in line
    assert f"retl may not read ../outside.csv ({tmp_path / 'outside.csv'})" in line
    assert f"list {tmp_path} in the environment variable RETL_ALLOWED_PATHS" in line
    assert "events.sql" not in line and "retl compile" not in line
    allowed = cli(*command, "--project-dir", root, env={"RETL_ALLOWED_PATHS": str(tmp_path)})
    assert allowed.returncode == 0, allowed.stderr


def test_a_source_file_in_a_hidden_folder_is_refused_at_its_key(
    tmp_path, make_project, cli
) -> None:
    root = project(tmp_path, make_project, location=".cache/orders.csv")
    (root / ".cache").mkdir()
    (root / ".cache" / "orders.csv").write_text(ORDERS_CSV, encoding="utf-8")
    result = cli("sync", "--sandbox", "--project-dir", root, env={"RETL_ALLOWED_PATHS": None})
    assert result.returncode == 1
    (line,) = errors(result.stderr)
    assert "retl_project.yml:7 sources[0].tables[0].config.external_location" in line
    assert "retl may not read .cache/orders.csv" in line and "hidden folder" in line


@pytest.mark.parametrize("offline", [[], ["--offline"]])
def test_validate_refuses_a_source_file_outside_the_project_as_sync_does(
    offline, tmp_path, make_project, cli
) -> None:
    # validate runs on pull requests without credentials: it says what sync would refuse
    (tmp_path / "outside.csv").write_text(ORDERS_CSV, encoding="utf-8")
    root = project(tmp_path / "proj", make_project, location="data/../../outside.csv")
    env = {"RETL_ALLOWED_PATHS": None, "TIKTOK_ACCESS_TOKEN": "test-token"}
    synced = cli("sync", "--sandbox", "--project-dir", root, env=env)
    result = cli("validate", *offline, "--project-dir", root, env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    (line,) = errors(result.stdout + result.stderr)
    assert "retl_project.yml:7 sources[0].tables[0].config.external_location" in line
    # the message and the fix sync gives (it is the declared columns' table, not a warning)
    (refused,) = errors(synced.stderr)
    assert refused.split("external_location: ", 1)[1] in line
    assert f"list {tmp_path} in the environment variable RETL_ALLOWED_PATHS" in line
    document = json.loads(
        cli("validate", *offline, "--format", "json", "--project-dir", root, env=env).stdout
    )
    assert document["ok"] is False
    (diagnostic,) = [
        d for d in document["destinations"][0]["diagnostics"] if d["severity"] == "error"
    ]
    assert diagnostic["rule"] == "source-file"
    assert (diagnostic["file"], diagnostic["line"]) == ("retl_project.yml", 7)
    assert diagnostic["key"] == "sources[0].tables[0].config.external_location"
    assert diagnostic["message"].startswith("source('shop', 'orders'): retl may not read ")
    assert "RETL_ALLOWED_PATHS" in diagnostic["hint"]
    allowed = cli(
        "validate", *offline, "--project-dir", root, env={"RETL_ALLOWED_PATHS": str(tmp_path)}
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def test_validate_refuses_a_source_file_in_a_hidden_folder(tmp_path, make_project, cli) -> None:
    root = project(tmp_path, make_project, location=".cache/orders.csv", declared=False)
    (root / ".cache").mkdir()
    (root / ".cache" / "orders.csv").write_text(ORDERS_CSV, encoding="utf-8")
    result = cli("validate", "--project-dir", root, env={"RETL_ALLOWED_PATHS": None})
    assert result.returncode == 1
    (line,) = errors(result.stdout + result.stderr)
    assert "retl_project.yml:7 sources[0].tables[0].config.external_location" in line
    assert "retl may not read .cache/orders.csv" in line and "hidden folder" in line


def test_validate_does_not_read_the_header_of_a_file_models_may_not_read(
    tmp_path, make_project, cli
) -> None:
    # Its column names would be said in validate's output (SELECT * lists them).
    (tmp_path / "outside.csv").write_text("private_a,private_b\n1,2\n", encoding="utf-8")
    root = project(
        tmp_path / "proj",
        make_project,
        location="../outside.csv",
        declared=False,
        models={"events": "select * from {{ source('shop', 'orders') }}\n"},
    )
    result = cli("validate", "--project-dir", root, env={"RETL_ALLOWED_PATHS": None})
    assert result.returncode == 1
    assert "private_" not in result.stdout + result.stderr
    assert "retl may not read ../outside.csv" in result.stdout + result.stderr


@pytest.mark.parametrize("read", ["read_csv('../outside.csv')", "'../outside.csv'"])
def test_validate_names_a_file_a_model_may_not_read_directly_and_the_fix(
    read, tmp_path, make_project, cli
) -> None:
    # Not "its columns are unknown: declare the file as a source": sync refuses that too.
    (tmp_path / "outside.csv").write_text(ORDERS_CSV, encoding="utf-8")
    sql = EVENTS_SQL.replace("{{ source('shop', 'orders') }}", read)
    root = project(tmp_path / "proj", make_project, models={"events": sql})
    result = cli("validate", "--project-dir", root, env={"RETL_ALLOWED_PATHS": None})
    assert result.returncode == 1
    (line,) = errors(result.stdout + result.stderr)
    assert "events.sql:8: retl may not read ../outside.csv" in line
    assert f"list {tmp_path} in the environment variable RETL_ALLOWED_PATHS" in line
    assert "columns are unknown" not in line and "source()" not in line
    # Allowed, its columns are learned as a project file's are (DESCRIBE): nothing to say.
    allowed = cli("validate", "--project-dir", root, env={"RETL_ALLOWED_PATHS": str(tmp_path)})
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert errors(allowed.stdout + allowed.stderr) == []


# --- a source file that is not UTF-8 ------------------------------------------------------
def test_a_csv_file_not_in_utf8_hints_at_its_encoding_not_at_compile(
    tmp_path, make_project, cli
) -> None:
    root = project(tmp_path, make_project)
    latin = ORDERS_CSV.replace("bob@", "b\u00f6b@").encode("latin-1")
    (root / "data" / "orders.csv").write_bytes(latin)
    result = cli("sync", "--sandbox", "--project-dir", root)
    assert result.returncode == 1
    (line,) = errors(result.stderr)
    assert "not utf-8 encoded" in line
    assert f"save {root / 'data' / 'orders.csv'} as UTF-8" in line
    assert "encoding = 'latin-1'" in line
    assert "retl compile" not in line and "Possible Solution" not in line


# --- retl show: the model and line an engine error comes from ----------------------------
STAGING_OK = """\
{{ config(primary_key='order_id') }}
select
    order_id,
    email,
    ordered_at,
    currency,
    total
from {{ source('shop', 'orders') }}
"""
READS_STAGING = """\
select
    'Purchase' as event,
    'order-' || order_id as event_id,
    ordered_at as event_time,
    email,
    currency
from {{ ref('stg_orders') }}
"""


@pytest.mark.parametrize(
    ("staging", "line", "says"),
    [
        # an unfinished WHERE: DuckDB stops at the ")" that closes the model's CTE
        (STAGING_OK + "where total > 0 and\n", 9, 'syntax error at or near ")"'),
        # a value that cannot be cast: a runtime error, on the line of the cast
        (
            STAGING_OK.replace("    currency,", "    cast(currency as integer) as currency,"),
            6,
            "Could not convert",
        ),
        # a misspelt column: a binder error, which quotes no line
        (STAGING_OK.replace("    email,", "    emial as email,"), 4, '"emial" not found'),
    ],
)
def test_show_blames_the_upstream_model_at_its_line(
    staging, line, says, tmp_path, make_project, cli
) -> None:
    root = project(tmp_path, make_project, models={"stg_orders": staging, "events": READS_STAGING})
    result = cli("show", "events", "--project-dir", root)
    assert result.returncode == 1
    (text,) = errors(result.stderr)
    assert f"models/stg_orders.sql:{line}: model 'stg_orders'" in text
    assert "while running 'events'" in text
    assert says in text
    assert "LINE " not in text  # the compiled SQL's line numbers mean nothing to the user


def test_show_gives_the_models_own_line_for_its_syntax_error(tmp_path, make_project, cli) -> None:
    root = project(tmp_path, make_project, models={"events": EVENTS_SQL + "where total >\n"})
    result = cli("show", "events", "--project-dir", root)
    (text,) = errors(result.stderr)
    assert "models/events.sql:9: model 'events'" in text
    assert "syntax error" in text and "LINE " not in text


def test_compiled_lines_map_back_to_each_model(tmp_path, make_project) -> None:
    root = project(
        tmp_path, make_project, models={"stg_orders": STAGING_OK, "events": READS_STAGING}
    )
    with Project.load(root) as p:
        compiled = p.graph.compiled("events")
    lines = compiled.sql.split("\n")
    for number, text in enumerate(lines, 1):
        origin = compiled.origin(number)
        if text.strip() in ("", ")", "),") or text.startswith(("WITH ", '"')):
            continue  # lines retl adds
        assert origin is not None, (number, text)
        model, rendered = origin
        assert model.sql.split("\n")[rendered - 1] == text


# --- syntax errors sqlglot finds ------------------------------------------------------------
@pytest.mark.parametrize(
    ("sql", "line", "message"),
    [
        (
            "{{ config(primary_key='event_id') }}\n" + EVENTS_SQL.replace("email,", "email e x,"),
            6,
            "syntax error at column 13: unexpected 'x'",
        ),
        (EVENTS_SQL + "where (total > 0\n", 9, "syntax error at column 16: expected ')' near '0'"),
        (
            EVENTS_SQL + "where total > 0 and\n",
            9,
            "syntax error at column 17: 'and' is incomplete: something is missing after it",
        ),
        (EVENTS_SQL + "where currency = 'USD\n", 9, "syntax error at column 18: the ' opened here"),
    ],
)
def test_syntax_errors_name_the_token_line_and_column(
    sql, line, message, tmp_path, make_project, cli
) -> None:
    root = project(tmp_path, make_project, models={"events": sql})
    result = cli("validate", "--project-dir", root)
    assert result.returncode == 1
    (text,) = [t for t in result.stdout.splitlines() if t.startswith("error:")]
    assert f"models/events.sql:{line}: {message}" in text
    assert "sqlglot" not in text


# --- a misspelt column, once ---------------------------------------------------------------
def test_a_misspelt_source_column_gets_did_you_mean_once(tmp_path, make_project, cli) -> None:
    root = project(
        tmp_path,
        make_project,
        models={"events": EVENTS_SQL.replace("    email,", "    emial as email,")},
        destinations=destination("tiktok_a") + destination("tiktok_b"),
    )
    result = cli("validate", "--project-dir", root)
    assert result.returncode == 1
    (text,) = [t for t in result.stdout.splitlines() if t.startswith("error:")]
    assert text == (
        "error: tiktok_a, tiktok_b: models/events.sql:5: column 'emial' is not in table "
        "shop.orders (did you mean 'email'?)"
    )
    # the error, the page_url warning and the type note are tiktok_a's too
    assert "tiktok_b: FAILED (1 error(s), 1 warning(s), 1 note(s); 3 shown above)" in result.stdout
    assert "validate FAILED: 2 destination(s), 1 error(s), 1 warning(s)" in result.stdout
    planned = cli("plan", "--project-dir", root)
    assert planned.returncode == 1
    assert errors(planned.stderr) == [
        "error: models/events.sql:5: column 'emial' is not in table shop.orders "
        "(did you mean 'email'?)"
    ]


# --- destinations.yml: every problem at once -------------------------------------------------
def test_every_config_problem_is_shown_in_one_run(tmp_path, make_project, cli) -> None:
    dests = (
        "  tiktok_web:\n"
        "    type: tiktok_events\n"
        "    model: events\n"
        "    auth_method: access_token\n"
        "    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"\n"
        "    event_data_source: web\n"
        "    pixel_code: '7000000000000000001'\n"
        "    primary_key: eventid\n"
        "  tiktok_named:\n"
        "    type: tiktok_events\n"
        "    model: events\n"
        "    target_event_source: NAME\n"
        "    partner_name: ''\n"
    )
    root = project(
        tmp_path,
        make_project,
        models={"events": EVENTS_SQL.replace("    currency\n", "    'usd' as currency\n")},
        destinations=dests,
    )
    result = cli("validate", "--project-dir", root)
    assert result.returncode == 1
    lines = errors(result.stderr)
    expected = [
        # an unknown key, with the name TikTok's own documents use for the setting
        "destinations.yml:8 destinations.tiktok_web.pixel_code: unknown key 'pixel_code' "
        "(did you mean 'event_source_id'?)",
        # a value pydantic refuses, and the rules between keys of the same destination
        "destinations.yml:14 destinations.tiktok_named.partner_name:",
        "destinations.yml:10 destinations.tiktok_named.advertiser_id: is required with "
        "target_event_source: NAME",
        "destinations.yml:10 destinations.tiktok_named.event_source_name: is required",
        # and what the model's columns say, with the destinations read as far as they go
        "models/events.sql:7: currency 'usd' is not accepted by TikTok (did you mean 'USD'?)",
        "destinations.yml:9 destinations.tiktok_web.primary_key: primary key column 'eventid' "
        "is not in the model (did you mean 'event_id'",
    ]
    for want in expected:
        assert sum(want in line for line in lines) == 1, (want, lines)
    # 'web' is read as WEB: no error about it; the misspelt event_source_id is not "missing"
    assert not any("event_data_source" in line for line in lines)
    assert not any("tiktok_web.event_source_id" in line for line in lines)


def test_a_value_in_another_case_is_read_with_a_note(tmp_path, make_project, cli) -> None:
    root = project(tmp_path, make_project, destinations=destination(event_data_source="web"))
    result = cli("validate", "--project-dir", root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "note: tiktok_web: destinations.yml:7 destinations.tiktok_web.event_data_source: "
        "'web' read as 'WEB' (write event_data_source: WEB)"
    ) in result.stdout
    with Project.load(root) as p:
        (config,) = p.destinations
    assert config.settings.event_data_source == "WEB"  # type: ignore[attr-defined]
    planned = cli("plan", "--project-dir", root)
    assert "'web' read as 'WEB'" in planned.stdout


def test_meta_fixed_vocabularies_suggest_the_value_in_its_case() -> None:
    from reverse_etl.destinations.meta.catalog import CATALOG
    from reverse_etl.destinations.meta.rules import MetaRules

    spec = CATALOG.lookup("content_type")
    assert spec is not None
    (issue,) = MetaRules("website").value_issues(spec, ["Product"])
    assert issue.hint == "did you mean 'product'?"


# --- reasons of invalid rows -----------------------------------------------------------------
MANY_REASONS = """\
select
    'UnusualEventNameNumber' || lpad(cast(i as varchar), 3, '0') || 'ThatIsLongerThanACell'
        as event,
    'id-' || lpad(cast(i as varchar), 2, '0') as event_id,
    now() - interval 1 hour as event_time,
    'user' || i || '@example.com' as email
from range(30) t(i)
"""


@pytest.fixture
def thirty_invalid_rows(tmp_path, make_project) -> Path:
    """30 invalid rows, each with its own long reason (OFFLINE takes standard events only)."""
    return project(
        tmp_path,
        make_project,
        models={"events": MANY_REASONS},
        destinations=destination(event_data_source="OFFLINE"),
    )


def test_a_log_gets_every_reason_whole_and_the_rows_left_out_are_counted(
    thirty_invalid_rows, cli
) -> None:
    result = cli("plan", "--project-dir", thirty_invalid_rows)
    reasons = [t for t in result.stderr.splitlines() if "1 invalid row(s): event" in t]
    assert len(reasons) == 30
    assert all(
        t.endswith("is not a standard event (OFFLINE takes standard events only)") for t in reasons
    )
    rows = [t for t in result.stdout.splitlines() if t.startswith("  key id-")]
    assert len(rows) == 20
    assert "UnusualEventNameNumber000ThatIsLongerThanACell' is not a standard event" in rows[0]
    assert "tiktok_web: invalid rows (first 20 of 30):" in result.stdout
    assert "  … and 10 more invalid row(s) (counted in the reasons)" in result.stdout


def test_json_has_every_reason_and_counts_the_rows_not_listed(thirty_invalid_rows, cli) -> None:
    result = cli("plan", "--project-dir", thirty_invalid_rows, "--format", "json")
    (plan,) = json.loads(result.stdout)["destinations"]
    assert len(plan["invalid_reasons"]) == 30
    assert plan["invalid_reasons_not_listed"] == 0
    assert len(plan["invalid_rows"]) == 20
    assert plan["invalid_rows_not_listed"] == 10


def test_a_list_cut_short_says_how_many_more() -> None:
    from reverse_etl.cli.render import LOG_REASONS, TERMINAL_REASONS, capped

    lines = [f"reason {i}" for i in range(LOG_REASONS + 2)]
    on_terminal = capped(lines, True, 0, "reason(s)")
    more = len(lines) - TERMINAL_REASONS
    assert on_terminal == [
        *lines[:TERMINAL_REASONS],
        f"… and {more} more reason(s) (--format json lists them)",
    ]
    in_log = capped(lines, False, 0, "reason(s)")
    assert in_log == [*lines[:LOG_REASONS], "… and 2 more reason(s) (--format json lists them)"]
    assert capped(lines[:3], False, 0, "reason(s)") == lines[:3]
    assert capped(lines[:3], False, 4, "reason(s)")[-1] == "… and 4 more reason(s) (not kept)"


def test_a_file_where_the_state_folder_goes_is_said_so(tmp_path, cli) -> None:
    """``.retl`` as a file: an internal FileExistsError before."""
    root = tmp_path / "p"
    assert cli("init", str(root)).returncode == 0
    (root / ".retl").write_text("junk\n", encoding="utf-8")
    result = cli("sync", "--sandbox", "--project-dir", root)
    assert result.returncode == 1, result.stderr
    assert "error: .retl: a file is where retl keeps a folder (move that file away)" in (
        result.stderr
    )
    assert "bug in retl" not in result.stderr and "Traceback" not in result.stderr


def test_a_file_that_is_not_utf8_names_its_line_and_the_fix(tmp_path, cli) -> None:
    """The codec's own words before: 'utf-8' codec can't decode byte 0xff in position 15."""
    root = tmp_path / "p"
    assert cli("init", str(root)).returncode == 0
    (root / "models" / "bad.sql").write_bytes(b"select 1 as a,\n\xff\xfe as b\n")
    result = cli("compile", "--project-dir", root)
    assert result.returncode == 1
    assert "error: models/bad.sql:2: cannot read model: not UTF-8 text" in result.stderr
    assert "save the file as UTF-8" in result.stderr and "codec" not in result.stderr
    (root / "destinations.yml").write_bytes(b"destinations:\n  x: \xe9\n")
    result = cli("validate", "--project-dir", root)
    assert "error: destinations.yml:2: cannot read destinations.yml: not UTF-8" in (result.stderr)


def test_a_project_dir_that_is_a_file_is_said_so(tmp_path, cli) -> None:
    path = tmp_path / "retl_project.yml"
    path.write_text("name: x\n", encoding="utf-8")
    result = cli("compile", "--project-dir", path)
    assert result.returncode == 1
    assert f"{path} is a file, not a project folder" in result.stderr
    assert "holds retl_project.yml" in result.stderr


@pytest.mark.parametrize("sql", ["delete from orders", "update orders set total = 0 returning *"])
def test_show_refuses_a_model_that_is_not_a_select(sql, tmp_path, cli) -> None:
    """As validate and sync do; DuckDB ran it inside SELECT * FROM (...) and said a table was
    missing (or, given RETURNING and a writable table, would have changed it)."""
    root = tmp_path / "p"
    assert cli("init", str(root)).returncode == 0
    (root / "models" / "del.sql").write_text(sql + "\n", encoding="utf-8")
    result = cli("show", "del", "--project-dir", root)
    assert result.returncode == 1
    assert "error: models/del.sql: the model is not a SELECT" in result.stderr
    assert "Catalog Error" not in result.stderr


def test_show_runs_duckdb_s_own_forms_that_return_rows(tmp_path, cli) -> None:
    root = tmp_path / "p"
    assert cli("init", str(root)).returncode == 0
    (root / "models" / "v.sql").write_text("values (1, 'a'), (2, 'b')\n", encoding="utf-8")
    result = cli("show", "v", "--project-dir", root)
    assert result.returncode == 0, result.stderr
    assert "2 row(s)" in result.stdout


def test_a_yaml_boolean_as_type_and_a_jinja_syntax_error_say_the_fix(tmp_path, cli) -> None:
    """``type: yes`` was "unknown destination type 'True'"; a Jinja syntax error had no fix."""
    root = tmp_path / "p"
    assert cli("init", str(root)).returncode == 0
    dests = root / "destinations.yml"
    dests.write_text(dests.read_text().replace("type: tiktok_events", "type: yes"))
    result = cli("validate", "--project-dir", root)
    assert "type is a boolean to YAML" in result.stderr and "'True'" not in result.stderr
    dests.write_text(dests.read_text().replace("type: yes", "type: tiktok_events"))
    (root / "models" / "j.sql").write_text("select {{ 1 + }} as a\n", encoding="utf-8")
    result = cli("compile", "--project-dir", root, "--select", "j")
    assert "error: models/j.sql:1" in result.stderr
    assert "check the {{ }} and {% %} on that line" in result.stderr


@pytest.mark.parametrize(
    ("sql", "said", "fix"),
    [
        ("values ('Purchase', 'e1')", "is a bare VALUES, not a SELECT", "AS t(event, event_id"),
        ("pivot (select 1 as a, 'x' as b) on b using sum(a)", "is a PIVOT, not a SELECT", "FILTER"),
        ("delete from orders", "is not a SELECT", "a model is one query"),
    ],
)
def test_validate_says_why_a_model_that_is_no_select_cannot_be_checked(
    sql, said, fix, tmp_path, cli
) -> None:
    """A bare VALUES or PIVOT runs (retl show), but its columns have no names known before it
    runs: validate said only "not a SELECT", as for a DELETE, with no fix."""
    root = tmp_path / "p"
    assert cli("init", str(root)).returncode == 0
    model = root / "models" / "purchase_events.sql"
    model.write_text("{{ config(primary_key='event_id') }}\n" + sql + "\n", encoding="utf-8")
    result = cli("validate", "--project-dir", root)
    assert result.returncode == 1
    assert f"models/purchase_events.sql: the model {said}" in result.stdout + result.stderr
    assert fix in result.stdout + result.stderr


def test_a_declared_type_sqlglot_cannot_read_is_named_at_its_line(tmp_path, cli) -> None:
    """The message named retl_project.yml but no line or key: a project with many sources
    left the user to search for the column."""
    root = tmp_path / "p"
    assert cli("init", str(root)).returncode == 0
    config = root / "retl_project.yml"
    text = config.read_text(encoding="utf-8")
    assert '{name: total, data_type: "decimal(12,2)"}' in text
    config.write_text(text.replace('"decimal(12,2)"', '"decimall(12"'), encoding="utf-8")
    line = next(n for n, row in enumerate(config.read_text().splitlines(), 1) if "decimall" in row)
    for command in ("validate", "plan"):
        result = (
            cli(command, "--project-dir", root, "--sandbox")
            if command == "plan"
            else cli(command, "--project-dir", root)
        )
        assert result.returncode == 1
        said = result.stdout + result.stderr
        assert f"retl_project.yml:{line} sources[0].tables[0].columns[5].data_type:" in said
        assert "'decimall(12' is not a type sqlglot knows" in said


def test_plan_on_a_warehouse_it_cannot_reach_says_so_not_that_tables_are_unknown(
    tmp_path, cli
) -> None:
    """Validation, which plan and sync run first, takes an unreachable warehouse's catalog as
    unread (a note) and its tables as unknown: the only error shown blamed the model's table
    and told a PostgreSQL user to set warehouse.path (an audit)."""
    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "retl_project.yml").write_text(
        "name: x\nwarehouse:\n  type: postgres\n  host: 127.0.0.1\n  port: 1\n  dbname: app\n"
    )
    (root / "destinations.yml").write_text(
        "destinations:\n  tt:\n    type: tiktok_events\n    model: ev\n    access_token: x\n"
        "    event_source_id: CSANDBOXDEMOPIXEL001\n"
    )
    (root / "models" / "ev.sql").write_text(
        "select 'Purchase' as event, 'e-' || id as event_id, now() as event_time, email,\n"
        "  'https://x.example' as page_url from public.users\n"
    )
    for command in ("plan", "sync"):
        result = cli(command, "--sandbox", "--project-dir", root)
        assert result.returncode == 1
        # named as a configuration error is: the file, the line and the setting to check
        said = " ".join(result.stderr.split())
        assert (
            "retl_project.yml:5 warehouse.port: cannot connect to PostgreSQL at 127.0.0.1:1" in said
        )
        assert "are unknown" not in result.stderr


def test_validate_names_an_unreachable_warehouse_s_setting_as_sync_does(tmp_path, cli) -> None:
    """validate's note that the catalog was not read named retl_project.yml without a line
    or the setting to check (warehouse), where sync names 'retl_project.yml:5 warehouse.port'
    and says what to do."""
    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "retl_project.yml").write_text(
        "name: x\nwarehouse:\n  type: postgres\n  host: 127.0.0.1\n  port: 1\n  dbname: app\n"
    )
    (root / "destinations.yml").write_text(
        "destinations:\n  tt:\n    type: tiktok_events\n    model: ev\n    access_token: x\n"
        "    event_source_id: CSANDBOXDEMOPIXEL001\n"
    )
    (root / "models" / "ev.sql").write_text(
        "select 'Purchase' as event, 'e-' || id as event_id, now() as event_time, email,\n"
        "  'https://x.example' as page_url from public.users\n"
    )
    result = cli("validate", "--project-dir", root)
    said = " ".join((result.stdout + result.stderr).split())
    assert (
        "retl_project.yml:5 warehouse.port: the postgres warehouse's catalog was not read "
        "(cannot connect to PostgreSQL at 127.0.0.1:1" in said
    )
    assert "(is the server running and listening on that host and port?)" in said


@pytest.mark.parametrize("word", ["selec", "SELCT", "wiht"])
def test_a_misspelt_first_keyword_is_named_with_the_keyword_meant(word, tmp_path, cli) -> None:
    """'selec' was read as a name: the error came a line later ("unexpected 'Purchase'")
    with the hint that retl's checker lacked the syntax (an audit)."""
    root = tmp_path / "p"
    assert cli("init", str(root)).returncode == 0
    model = root / "models" / "purchase_events.sql"
    lines = model.read_text(encoding="utf-8").splitlines()
    at = next(i for i, row in enumerate(lines) if row.strip() == "select")
    lines[at] = word
    model.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("validate", "--project-dir", root)
    assert result.returncode == 1
    said = result.stdout + result.stderr
    meant = "with" if word == "wiht" else "select"
    assert f"purchase_events.sql:{at + 1}: syntax error at column 1: the model starts with " in said
    assert f"'{word}': did you mean '{meant}'?" in said and "please report" not in said


@pytest.mark.parametrize(
    ("expr", "says"),
    [
        ("union_value(s := 'A@x.com')", "email must be text, not UNION(s VARCHAR)"),
        ("map_from_entries([('k', 'A@x.com')])", "email must be text, not MAP(VARCHAR, VARCHAR)"),
        ("to_hours(2)", "email must be text, not INTERVAL"),
    ],
)
def test_a_column_validation_could_not_type_is_checked_as_the_model_runs(
    expr, says, tmp_path, make_project, cli
) -> None:
    """sqlglot cannot type these, so validate only notes "type not inferred"; the plan used
    to fail on DuckDB's binder error about retl's own payload SQL, blamed on the model. The
    type the engine gives the column is checked with validation's rules instead."""
    root = make_project(
        tmp_path,
        {
            "retl_project.yml": "name: x\n",
            "destinations.yml": """
                destinations:
                  d:
                    type: tiktok_events
                    model: ev
                    access_token: x
                    event_source_id: X
                """,
            "models/ev.sql": "select 'e1' as event_id, 'Purchase' as event, now() as event_time,"
            f"\n  {expr} as email, 'https://x.example' as page_url\n",
        },
    )
    validated = cli("validate", "--project-dir", root).stdout
    assert re.search(r"^email +user\.email +UNKNOWN +ok$", validated, re.M), validated
    for command in ("plan", "sync"):
        result = cli(command, "--project-dir", root, "--sandbox")
        said = " ".join(result.stderr.split())
        assert result.returncode == 1, said
        assert f"models/ev.sql:2: column email: {says}" in said, said
        assert "CAST(... AS VARCHAR)" in said and "Binder" not in said, said


def test_a_linked_source_file_out_of_the_project_names_the_folder_it_leads_to(
    tmp_path, make_project, cli
) -> None:
    """A link at the project's top (orders.csv -> ../outside/orders.csv): the folder to allow
    is the one the link leads to; allowing the project's own folder changes nothing."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "orders.csv").write_text(ORDERS_CSV, encoding="utf-8")
    root = project(tmp_path / "proj", make_project, location="orders.csv")
    (root / "orders.csv").symlink_to(outside / "orders.csv")
    result = cli("sync", "--sandbox", "--project-dir", root, env={"RETL_ALLOWED_PATHS": None})
    assert result.returncode == 1
    (line,) = errors(result.stderr)
    assert "retl may not read orders.csv" in line
    assert f"list {outside} in the environment variable RETL_ALLOWED_PATHS" in line
    allowed = cli(
        "sync", "--sandbox", "--project-dir", root, env={"RETL_ALLOWED_PATHS": str(outside)}
    )
    assert allowed.returncode == 0, allowed.stderr


def test_the_files_models_may_read_are_listed_once_per_project(
    tmp_path, make_project, monkeypatch
) -> None:
    """Listing them walks every folder of the project for links (0.17 s for a dbt target/ of
    20k files): once per project, as the workbench's rule is, not once more per model."""
    three = "".join(destination(f"d{i}", model=f"events{i}") for i in range(3))
    root = project(
        tmp_path,
        make_project,
        models={f"events{i}": EVENTS_SQL for i in range(3)},
        destinations=three,
    )
    listed = []
    readable = Project._list_readable_files

    def counted(self: Project) -> tuple[list[Path], list[Path]]:
        listed.append(1)
        return readable(self)

    monkeypatch.setattr(Project, "_list_readable_files", counted)
    with Project.load(root) as p:
        plans = p.plan(full_refresh=True)
    assert [x.rows_total for x in plans] == [2, 2, 2]
    assert len(listed) == 1

"""retl_project.yml and destinations.yml: every mistake is one located message, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl import ConfigError, Project
from reverse_etl.config.env import LazySecret
from reverse_etl.destinations.tiktok.config import TikTokConfig

MODEL = {"models/events.sql": "select 'Purchase' as event, 'e-1' as event_id\n"}
SECRET = "super-secret-token-123"


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def assert_user_error(result, *expected: str, lines: int = 1) -> list[str]:
    """Exit 1, nothing on stdout, ``lines`` 'error:' lines holding every ``expected`` text."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    found = error_lines(result.stderr)
    assert len(found) == lines, found
    assert all(line.startswith("error: ") for line in found), found
    for text in expected:
        assert text in result.stderr, (text, result.stderr)
    return found


# --- retl_project.yml -------------------------------------------------------------------------


@pytest.mark.slow
def test_not_a_project_directory(tmp_path: Path, run_cli) -> None:
    (tmp_path / "README.md").write_text("not a project\n")
    result = run_cli("compile", "--project-dir", tmp_path)
    (line,) = assert_user_error(result, "not a retl project", str(tmp_path))
    assert "retl_project.yml" in line and "destinations.yml" in line and "models" in line
    assert f"retl init {tmp_path}" in line


@pytest.mark.slow
def test_missing_project_dir(tmp_path: Path, run_cli) -> None:
    missing = tmp_path / "nowhere"
    result = run_cli("compile", "--project-dir", missing)
    assert_user_error(result, f"project directory not found: {missing}", "--project-dir")


@pytest.mark.slow
def test_project_with_only_destinations_file_has_no_models(tmp_path, make_project, run_cli):
    root = make_project(tmp_path, {"destinations.yml": "destinations: {}\n"})
    result = run_cli("compile", "--project-dir", root)
    assert_user_error(result, f"no models found in {root / 'models'}")


BAD_PROJECTS = {
    "yaml-syntax": (
        "name: x\nvars:\n  a: 1\n  b: c: d\n",
        ["retl_project.yml:4: YAML syntax error: mapping values are not allowed here"],
        1,
    ),
    "yaml-tab": (
        "name: x\nwarehouse:\n\ttype: duckdb\n",
        ["retl_project.yml:3: YAML syntax error", "'\\t'"],
        1,
    ),
    "unknown-keys-at-two-depths": (
        """
        name: x
        warehous:
          type: duckdb
        sources:
          - name: shop
            tables:
              - name: orders
                descriptin: the orders
        """,
        [
            "retl_project.yml:2 warehous: unknown key 'warehous' (did you mean 'warehouse'?)",
            "retl_project.yml:8 sources[0].tables[0].descriptin: unknown key 'descriptin' "
            "(did you mean 'description'?)",
        ],
        2,
    ),
    "duplicate-key": (
        "name: x\nvars:\n  start: 1\n  other: 2\n  start: 3\n",
        ["retl_project.yml:5 vars.start: duplicate key 'start' (first on line 3)"],
        1,
    ),
    "wrong-types": (
        "name: [1]\nwarehouse: 5\nvars: 3\nstate:\n  path: {a: 1}\n",
        [
            "retl_project.yml:1 name: must be a text, not a list",
            "retl_project.yml:2 warehouse: must be a mapping (indented 'key: value' lines)",
            "retl_project.yml:3 vars: must be a mapping (indented 'key: value' lines)",
            "retl_project.yml:5 state.path: must be a text, not a mapping",
        ],
        4,
    ),
    "unsupported-warehouse": (
        "warehouse:\n  type: postgress\n",
        ["retl_project.yml:2 warehouse.type: unknown type 'postgress' (did you mean 'postgres'?)"],
        1,
    ),
    "not-a-mapping": (
        "- a\n- b\n",
        ["retl_project.yml:1: must be a mapping of settings"],
        1,
    ),
    "source-declared-twice": (
        "sources:\n  - name: shop\n  - name: shop\n",
        ["retl_project.yml:1 sources: source 'shop' is declared twice"],
        1,
    ),
    # It names a schema or a Spark database in retl's own statements: a backtick there made
    # `CREATE DATABASE IF NOT EXISTS `x` LOCATION '...' --`` (engine/sql_guard.py's note).
    "state-schema-not-a-plain-name": (
        "state:\n  location: warehouse\n  schema: \"x` LOCATION '/tmp/elsewhere' --\"\n",
        [
            "retl_project.yml:3 state.schema: must be a plain name: letters, digits and "
            "underscores, not starting with a digit, at most 63 characters (e.g. retl_state)"
        ],
        1,
    ),
    # Named unquoted in the state's SQL (DuckDB's, transpiled): `from.folds` read another
    # table, `select.folds` did not parse (a review)
    "state-schema-a-keyword": (
        "state:\n  location: warehouse\n  schema: from\n",
        [
            "retl_project.yml:3 state.schema: 'from' is an SQL keyword, which retl's "
            "statements cannot name unquoted: choose another name (e.g. retl_state)"
        ],
        1,
    ),
    "spark-connect-timeout-without-remote": (
        'warehouse:\n  type: spark\n  master: "local[1]"\n  connect_timeout: 30\n',
        ["'connect_timeout' is for Spark Connect ('remote'), not 'master'"],
        1,
    ),
    "spark-connect-timeout-not-positive": (
        "warehouse:\n  type: spark\n  remote: sc://h:15002\n  connect_timeout: 0\n",
        ["retl_project.yml:4 warehouse.connect_timeout: must be more than 0"],
        1,
    ),
    "table-declared-twice": (
        "sources:\n  - name: shop\n    tables:\n      - name: orders\n      - name: orders\n",
        ["retl_project.yml:3 sources[0].tables: table 'orders' is declared twice in this source"],
        1,
    ),
    "empty-vars": (
        "name: x\nvars:\n",
        ["retl_project.yml:2 vars: is empty: it must be a mapping", "remove the key"],
        1,
    ),
    "table-without-name": (
        "sources:\n  - name: shop\n    tables:\n      - identifier: t_orders\n",
        ["retl_project.yml:4 sources[0].tables[0].name: missing required key 'name'"],
        1,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_PROJECTS))
def test_bad_retl_project_yml_is_one_located_message(case, tmp_path, make_project, cli):
    text, expected, lines = BAD_PROJECTS[case]
    root = make_project(tmp_path, {"retl_project.yml": text, **MODEL})
    assert_user_error(cli("compile", "--project-dir", root), *expected, lines=lines)


def test_a_token_inside_the_spark_connect_address_is_refused_and_never_printed(
    tmp_path, make_project, cli
):
    token = "dapiSPARKTOKEN1234567890"
    text = f'warehouse:\n  type: spark\n  remote: "sc://127.0.0.1:badport/;token={token}"\n'
    root = make_project(tmp_path, {"retl_project.yml": text, **MODEL})
    result = cli("compile", "--project-dir", root)
    assert_user_error(result, "retl_project.yml:", "'remote' holds a token", "env_var(")
    assert token not in result.stderr + result.stdout


def test_a_spark_connect_address_is_shown_without_its_parameters() -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'retl[spark]'")
    from reverse_etl.engine.spark import SparkConnection

    conn = SparkConnection(remote="sc://db.example.com:443/;user_id=ci;use_ssl=true")
    assert conn.describe() == "Spark Connect at sc://db.example.com:443"


@pytest.mark.slow
def test_bad_retl_project_yml_through_the_real_command(tmp_path, make_project, run_cli):
    text, expected, _ = BAD_PROJECTS["unknown-keys-at-two-depths"]
    root = make_project(tmp_path, {"retl_project.yml": text, **MODEL})
    assert_user_error(run_cli("compile", "--project-dir", root), *expected, lines=2)
    (root / "retl_project.yml").write_text(BAD_PROJECTS["yaml-syntax"][0])
    assert_user_error(run_cli("show", "events", "--project-dir", root), "retl_project.yml:4:")


def test_project_errors_carry_file_line_and_key(tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"retl_project.yml": "warehouse:\n  typ: duckdb\n", **MODEL})
    with pytest.raises(ConfigError) as info:
        Project.load(root)
    (problem,) = info.value.problems
    assert problem.file == root / "retl_project.yml"
    assert problem.line == 2
    assert problem.key == "warehouse.typ"
    assert problem.hint == "did you mean 'type'?"


def test_yaml_merge_keys_override_without_duplicate_error(tmp_path, make_project) -> None:
    root = make_project(
        tmp_path,
        {
            "retl_project.yml": """
            vars:
              defaults: &defaults {country: US, min_value: 1}
              shop: &shop
                <<: *defaults
                min_value: 5
              again: *shop
            """,
            **MODEL,
        },
    )
    config = Project.load(root).config
    assert config.vars["shop"] == {"country": "US", "min_value": 5}
    assert config.vars["again"] == {"country": "US", "min_value": 5}


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        ("vars:\n  n: !!int abc\n", 2, "vars.n", "cannot read 'abc' as the YAML tag !!int says"),
        ("vars:\n  t: !!timestamp bad\n", 2, "vars.t", "as the YAML tag !!timestamp says"),
        ("vars:\n  f: !!float x\n", 2, "vars.f", "cannot read 'x' as the YAML tag !!float"),
        ("vars:\n  x: &x 5\n  y:\n    <<: *x\n", 4, "vars.y", "but found scalar"),
        ("vars:\n  y:\n    a: 1\n    b: 2\n    <<: 5\n", 5, "vars.y", "'<<' merges"),
        ("vars:\n  y:\n    a: 1\n    <<: [5]\n", 4, "vars.y", "expected a mapping"),
        # Python's int digit limit, no tag in the file: it named one ("as the YAML tag !!int")
        ("vars:\n  n: " + "9" * 5000 + "\n", 2, "vars.n", "a number of 5000 characters is too"),
        # its alias too: the anchor's problem, once (the alias's said 'as the YAML tag !!int')
        ("vars:\n  a: &x " + "9" * 5000 + "\n  b: *x\n", 2, "vars.a", "a number of 5000"),
        ("vars:\n  a: &x !!int abc\n  b: [*x, *x]\n", 2, "vars.a", "cannot read 'abc' as"),
    ],
)
def test_a_yaml_tag_or_merge_that_does_not_fit_is_a_located_problem(
    text: str, line: int, key: str, message: str, tmp_path, make_project
) -> None:
    """PyYAML raised ValueError, AttributeError or a ConstructorError naming
    '<unicode string>' there: an unexpected error, exit 2, no file."""
    root = make_project(tmp_path, {"retl_project.yml": text, **MODEL})
    with pytest.raises(ConfigError) as info:
        Project.load(root)
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.key) == (root / "retl_project.yml", line, key)
    assert message in problem.message


def test_empty_project_file_gives_defaults(tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"retl_project.yml": "# nothing yet\n", **MODEL})
    config = Project.load(root).config
    assert config.warehouse.type == "duckdb"
    assert config.warehouse.path is None
    assert config.state.path == ".retl"
    assert config.sources == []


DBT_SOURCES = """
name: pasted_from_dbt
sources:
  - name: shop
    description: "Raw shop tables, loaded by Fivetran"
    schema: raw_shop
    loader: fivetran
    loaded_at_field: _loaded_at
    tags: [pii]
    meta: {owner: data-team}
    freshness:
      warn_after: {count: 12, period: hour}
      error_after: {count: 24, period: hour}
    quoting: {identifier: false}
    tables:
      - name: orders
        identifier: shop_orders
        description: One row per order
        meta: {contains_pii: true}
        tags: [finance]
        loaded_at_field: updated_at
        freshness: null
        tests:
          - dbt_utils.recency: {datepart: day, field: ordered_at, interval: 1}
        data_tests:
          - dbt_expectations.expect_table_row_count_to_be_between: {min_value: 1}
        columns:
          - name: order_id
            description: Primary key
            data_type: varchar
            meta: {pk: true}
            tags: [key]
            tests: [unique, not_null]
          - name: status
            data_tests:
              - accepted_values: {values: [placed, shipped]}
              - relationships: {to: "ref('statuses')", field: id}
"""


def test_dbt_shaped_sources_with_descriptive_keys_are_accepted(tmp_path, make_project) -> None:
    root = make_project(
        tmp_path,
        {
            "retl_project.yml": DBT_SOURCES,
            "models/m.sql": "select * from {{ source('shop', 'orders') }}",
        },
    )
    project = Project.load(root)
    (source,) = project.config.sources
    assert source.schema_name == "raw_shop"
    (table,) = source.tables
    assert [c.name for c in table.columns] == ["order_id", "status"]
    assert table.columns[0].data_type == "varchar"
    (compiled,) = project.compile(["m"])
    assert compiled.sql == 'select * from "raw_shop"."shop_orders"'


# --- destinations.yml -------------------------------------------------------------------------


def destination_error(root: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        Project.load(root).destinations  # noqa: B018 - loading is the point
    assert "Traceback" not in str(info.value)
    return info.value


def dest_project(make_project, tmp_path: Path, body: str) -> Path:
    return make_project(tmp_path, {"destinations.yml": body, **MODEL})


def test_missing_destinations_file(tmp_path, make_project) -> None:
    root = make_project(tmp_path, MODEL)
    error = destination_error(root)
    assert str(error) == (
        f"{root / 'destinations.yml'}: destinations.yml not found "
        f"(create {root / 'destinations.yml'})"
    )


def test_unknown_destination_type_lists_known_ones(tmp_path, make_project) -> None:
    root = dest_project(
        make_project,
        tmp_path,
        "destinations:\n  shop:\n    type: tiktok_event\n    model: events\n",
    )
    error = destination_error(root)
    assert str(error) == (
        f"{root / 'destinations.yml'}:3 destinations.shop.type: unknown destination type "
        "'tiktok_event' (did you mean 'tiktok_events'? known types: meta_conversions, "
        "tiktok_events)"
    )


def test_missing_destination_type(tmp_path, make_project) -> None:
    root = dest_project(make_project, tmp_path, "destinations:\n  shop:\n    model: events\n")
    (problem,) = destination_error(root).problems
    assert (problem.line, problem.key) == (2, "destinations.shop.type")
    assert problem.message == "missing required key 'type'"
    assert problem.hint == "known types: meta_conversions, tiktok_events"


def test_unknown_parameter_with_did_you_mean(tmp_path, make_project) -> None:
    root = dest_project(
        make_project,
        tmp_path,
        """
        destinations:
          shop:
            type: tiktok_events
            model: events
            event_source_id: PIXEL
            thred_count: 3
        """,
    )
    (problem,) = destination_error(root).problems
    assert problem.render() == (
        f"{root / 'destinations.yml'}:6 destinations.shop.thred_count: "
        "unknown key 'thred_count' (did you mean 'thread_count'?)"
    )


def test_unknown_top_level_key(tmp_path, make_project) -> None:
    root = dest_project(make_project, tmp_path, "destination:\n  shop: {}\n")
    (problem,) = destination_error(root).problems
    assert (problem.line, problem.key) == (1, "destination")
    assert problem.hint == "did you mean 'destinations'?"


def test_missing_model_key(tmp_path, make_project) -> None:
    root = dest_project(
        make_project,
        tmp_path,
        "destinations:\n  shop:\n    type: tiktok_events\n    event_source_id: PIXEL\n",
    )
    (problem,) = destination_error(root).problems
    assert problem.message == "missing required key 'model'"
    assert (problem.line, problem.key) == (2, "destinations.shop.model")


def test_model_that_does_not_exist(tmp_path, make_project) -> None:
    root = dest_project(
        make_project,
        tmp_path,
        "destinations:\n  shop:\n    type: tiktok_events\n    model: event\n"
        "    event_source_id: PIXEL\n",
    )
    (problem,) = destination_error(root).problems
    assert problem.message == "model 'event' not found"
    assert problem.key == "destinations.shop.model"
    assert problem.hint == "did you mean 'events'?"
    assert problem.file == root / "destinations.yml"


def test_every_problem_in_destinations_is_reported_at_once(tmp_path, make_project) -> None:
    root = dest_project(
        make_project,
        tmp_path,
        """
        destinations:
          one:
            type: tiktok_events
            model: events
            event_source_id: PIXEL
            thread_count: 0
          two:
            type: tiktok_events
            model: events
            event_source_id: PIXEL
            thread_count: 11
        """,
    )
    problems = destination_error(root).problems
    assert [(p.line, p.key, p.message) for p in problems] == [
        (6, "destinations.one.thread_count", "must be at least 1"),
        (11, "destinations.two.thread_count", "must be at most 10"),
    ]


def test_missing_env_var_names_variable_and_key(tmp_path, make_project, monkeypatch) -> None:
    monkeypatch.delenv("RETL_TEST_PIXEL", raising=False)
    root = dest_project(
        make_project,
        tmp_path,
        """
        destinations:
          shop:
            type: tiktok_events
            model: events
            event_source_id: "{{ env_var('RETL_TEST_PIXEL') }}"
        """,
    )
    (problem,) = destination_error(root).problems
    assert problem.message == "environment variable RETL_TEST_PIXEL is not set"
    assert (problem.line, problem.key) == (5, "destinations.shop.event_source_id")


def test_env_var_value_and_default(tmp_path, make_project, monkeypatch) -> None:
    monkeypatch.setenv("RETL_TEST_PIXEL", "PIXEL_FROM_ENV")
    monkeypatch.delenv("RETL_TEST_UNSET", raising=False)
    root = dest_project(
        make_project,
        tmp_path,
        """
        destinations:
          shop:
            type: tiktok_events
            model: events
            event_source_id: "{{ env_var('RETL_TEST_PIXEL') }}"
            test_event_code: "{{ env_var('RETL_TEST_UNSET', 'TEST123') }}"
        """,
    )
    (dest,) = Project.load(root).destinations
    assert dest.settings.event_source_id == "PIXEL_FROM_ENV"
    assert dest.settings.test_event_code == "TEST123"


TOKEN_DESTINATION = """
destinations:
  shop:
    type: tiktok_events
    model: events
    auth_method: access_token
    access_token: "{{ env_var('TIKTOK_ACCESS_TOKEN') }}"
    event_source_id: PIXEL
"""


def test_secret_resolves_late_and_never_prints(tmp_path, make_project, monkeypatch) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    root = dest_project(make_project, tmp_path, TOKEN_DESTINATION)
    (dest,) = Project.load(root).destinations
    token = dest.settings.access_token
    assert isinstance(token, LazySecret)
    assert token.reveal().get_secret_value() == SECRET
    for text in (repr(dest), str(dest), repr(dest.settings), str(token), repr(token.reveal())):
        assert SECRET not in text


def test_unset_secret_fails_only_when_used(tmp_path, make_project, monkeypatch) -> None:
    monkeypatch.delenv("TIKTOK_ACCESS_TOKEN", raising=False)
    root = dest_project(make_project, tmp_path, TOKEN_DESTINATION)
    (dest,) = Project.load(root).destinations
    token = dest.settings.access_token
    assert not token.is_available()
    with pytest.raises(ConfigError) as info:
        token.reveal()
    (problem,) = info.value.problems
    assert problem.message == "environment variable TIKTOK_ACCESS_TOKEN is not set"
    assert (problem.line, problem.key) == (6, "destinations.shop.access_token")


def test_empty_secret_names_its_variable(tmp_path, make_project, monkeypatch) -> None:
    """``${{ secrets.NAME }}`` of a secret the CI does not define is an empty string: the
    error names the variable (not another platform's example) and says it is set but empty."""
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", "")
    root = dest_project(make_project, tmp_path, TOKEN_DESTINATION)
    (dest,) = Project.load(root).destinations
    with pytest.raises(ConfigError) as info:
        dest.settings.access_token.reveal()
    (problem,) = info.value.problems
    assert problem.message == (
        "is empty: environment variable TIKTOK_ACCESS_TOKEN is set but empty"
    )
    assert (problem.line, problem.key) == (6, "destinations.shop.access_token")
    assert problem.hint is not None and "secret store" in problem.hint


def test_empty_secret_from_an_unset_variable_s_default_says_it_is_not_set(
    tmp_path, make_project, monkeypatch
) -> None:
    """A variable that is not set gave its empty default: not "set but empty" (a CI user
    would look for an empty secret in the store, not a missing one)."""
    monkeypatch.delenv("TT_UNSET_TOKEN", raising=False)
    config = TOKEN_DESTINATION.replace(
        "env_var('TIKTOK_ACCESS_TOKEN')", "env_var('TT_UNSET_TOKEN', '')"
    )
    root = dest_project(make_project, tmp_path, config)
    (dest,) = Project.load(root).destinations
    with pytest.raises(ConfigError) as info:
        dest.settings.access_token.reveal()
    (problem,) = info.value.problems
    assert problem.message == (
        "is empty: environment variable TT_UNSET_TOKEN is not set, and its default is empty"
    )
    assert problem.hint is not None and "secret store" in problem.hint


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("thread_count", "must be a whole number"),
        ("event_data_source", "Input should be 'WEB', 'APP', 'OFFLINE' or 'CRM'"),
    ],
)
def test_env_var_value_in_a_bad_setting_is_not_echoed(
    key, expected, tmp_path, make_project, monkeypatch
) -> None:
    # (A variable holding a secret cannot be read into a plain setting at all: see
    # tests/security/test_templates.py; a plain one's value is not echoed either.)
    monkeypatch.setenv("RETL_TEST_VALUE", SECRET)
    root = dest_project(
        make_project,
        tmp_path,
        "destinations:\n  shop:\n    type: tiktok_events\n    model: events\n"
        f"    event_source_id: PIXEL\n    {key}: \"{{{{ env_var('RETL_TEST_VALUE') }}}}\"\n",
    )
    error = destination_error(root)
    assert expected in str(error)
    assert SECRET not in str(error) and SECRET not in repr(error)


def test_literal_token_is_wrapped_and_wrong_type_is_plain(tmp_path, make_project) -> None:
    root = dest_project(
        make_project,
        tmp_path,
        "destinations:\n  shop:\n    type: tiktok_events\n    model: events\n"
        "    event_source_id: PIXEL\n    access_token: 12345\n    primary_key: 5\n",
    )
    problems = destination_error(root).problems
    assert [(p.line, p.key, p.message) for p in problems] == [
        (6, "destinations.shop.access_token", "must be a string"),
        (
            7,
            "destinations.shop.primary_key",
            "must be a text, not a number; or must be a list (lines starting with '- ')",
        ),
    ]


@pytest.mark.slow
def test_secret_never_appears_in_cli_output(tmp_path, run_cli) -> None:
    """Every command, successful or failing, with and without --debug and --format json."""
    root = tmp_path / "proj"
    env = {"TIKTOK_ACCESS_TOKEN": SECRET}
    runs = [run_cli("init", root, env=env)]
    (root / "models" / "broken.sql").write_text("select * from nope_table\n")
    (root / "models" / "typo.sql").write_text("select {{ vars('x') }}\n")
    runs += [
        run_cli("compile", "--project-dir", root, "--debug", env=env),
        run_cli("show", "purchase_events", "--project-dir", root, "--debug", env=env),
    ]
    (root / "models" / "typo.sql").unlink()
    runs += [
        run_cli("show", "purchase_events", "--project-dir", root, "--format", "json", env=env),
        run_cli("show", "broken", "--project-dir", root, "--debug", env=env),
    ]
    assert [r.returncode for r in runs] == [0, 1, 1, 0, 1]
    for result in runs:
        assert SECRET not in result.stdout
        assert SECRET not in result.stderr
    assert "Traceback" in runs[1].stderr  # --debug did show a traceback, still without it


# --- TikTok cross-field rules -----------------------------------------------------------------


def tiktok(root_maker, tmp_path: Path, **settings: object) -> Path:
    lines = ["destinations:", "  shop:", "    type: tiktok_events", "    model: events"]
    lines += [f"    {k}: {v}" for k, v in settings.items()]
    return dest_project(root_maker, tmp_path, "\n".join(lines) + "\n")


RULES = {
    "id-without-event-source-id": (
        {},
        [(2, "event_source_id", "is required with target_event_source: ID", "pixel code")],
    ),
    "id-without-event-source-id-offline": (
        {"event_data_source": "OFFLINE"},
        [
            (
                2,
                "event_source_id",
                "is required with target_event_source: ID",
                "offline event set ID",
            )
        ],
    ),
    "name-without-advertiser-and-name": (
        {"target_event_source": "NAME"},
        [
            (2, "advertiser_id", "is required with target_event_source: NAME", None),
            (2, "event_source_name", "is required with target_event_source: NAME", None),
        ],
    ),
    "new-with-access-token-auth": (
        {
            "target_event_source": "NEW",
            "advertiser_id": "'1'",
            "event_source_name": "Shop",
            "auth_method": "access_token",
            "access_token": "tok",
        },
        [(8, "auth_method", "must be 'oauth' with target_event_source: NEW", None)],
    ),
    "new-for-app": (
        {
            "target_event_source": "NEW",
            "event_data_source": "APP",
            "advertiser_id": "'1'",
            "event_source_name": "Shop",
        },
        [(5, "target_event_source", "NEW is possible only for WEB and OFFLINE, not APP", None)],
    ),
    "new-for-crm-via-alias": (
        {
            "target_event_source_method": "NEW",
            "event_data_source": "CRM",
            "advertiser_id": "'1'",
            "event_source_name": "Shop",
        },
        [(5, "target_event_source", "NEW is possible only for WEB and OFFLINE, not CRM", None)],
    ),
    "limited-data-use-offline": (
        {"event_data_source": "OFFLINE", "event_source_id": "SET1", "limited_data_use": "true"},
        [(7, "limited_data_use", "applies only to WEB and APP sources", None)],
    ),
    "access-token-auth-without-token": (
        {"auth_method": "access_token", "event_source_id": "PIXEL"},
        [(2, "access_token", "is required with auth_method: access_token", None)],
    ),
}


@pytest.mark.parametrize("case", sorted(RULES))
def test_tiktok_cross_field_rules(case, tmp_path, make_project) -> None:
    settings, expected = RULES[case]
    root = tiktok(make_project, tmp_path, **settings)
    problems = destination_error(root).problems
    got = [(p.line, p.key, p.message) for p in problems]
    assert got == [(line, f"destinations.shop.{key}", msg) for line, key, msg, _ in expected]
    for problem, (*_, hint_part) in zip(problems, expected, strict=True):
        assert problem.file == root / "destinations.yml"
        if hint_part:
            assert hint_part in (problem.hint or "")


@pytest.mark.parametrize("count", [0, 11])
def test_thread_count_bounds(count, tmp_path, make_project) -> None:
    root = tiktok(make_project, tmp_path, event_source_id="PIXEL", thread_count=count)
    (problem,) = destination_error(root).problems
    assert (problem.line, problem.key) == (6, "destinations.shop.thread_count")
    bound = "at least 1" if count == 0 else "at most 10"
    assert problem.message == f"must be {bound}"


def test_target_event_source_method_alias_is_accepted(tmp_path, make_project) -> None:
    root = tiktok(
        make_project,
        tmp_path,
        target_event_source_method="NAME",
        advertiser_id="'7000000000000000001'",
        event_source_name="My Shop",
    )
    (dest,) = Project.load(root).destinations
    assert isinstance(dest.settings, TikTokConfig)
    assert dest.settings.target_event_source == "NAME"
    assert dest.settings.event_source_name == "My Shop"


def test_integer_ids_in_yaml_become_strings(tmp_path, make_project) -> None:
    root = tiktok(
        make_project,
        tmp_path,
        target_event_source="NAME",
        advertiser_id=7000000000000000001,
        event_source_name="S",
    )
    (dest,) = Project.load(root).destinations
    assert dest.settings.advertiser_id == "7000000000000000001"
    root2 = tiktok(make_project, tmp_path / "two", event_source_id=1234567890123)
    (dest2,) = Project.load(root2).destinations
    assert dest2.settings.event_source_id == "1234567890123"
    assert (dest2.name, dest2.type, dest2.model, dest2.line) == (
        "shop",
        "tiktok_events",
        "events",
        2,
    )


@pytest.mark.parametrize("name", ["default", "retl_state", "state", "my_state_2"])
def test_a_state_schema_that_is_no_keyword_is_taken(name: str) -> None:
    from reverse_etl.config.project import StateConfig

    assert StateConfig.model_validate({"location": "warehouse", "schema": name}).schema_ == name


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("env_var('TT_HINT_TOKEN')", None),  # not set
        ("env_var('TT_HINT_TOKEN')", ""),  # set but empty (a secret the CI does not define)
        ("env_var('TT_HINT_TOKEN', '')", None),  # not set, its default empty
    ],
)
def test_a_missing_secret_s_fix_reads_as_one_parenthesis(
    tmp_path, make_project, monkeypatch, written: str, value: str | None
) -> None:
    """The fix is said in parentheses after the message: it held parentheses of its own,
    ``(set it in the environment (your CI's secret store))``."""
    if value is None:
        monkeypatch.delenv("TT_HINT_TOKEN", raising=False)
    else:
        monkeypatch.setenv("TT_HINT_TOKEN", value)
    config = TOKEN_DESTINATION.replace("env_var('TIKTOK_ACCESS_TOKEN')", written)
    root = dest_project(make_project, tmp_path, config)
    (dest,) = Project.load(root).destinations
    with pytest.raises(ConfigError) as info:
        dest.settings.access_token.reveal()
    (problem,) = info.value.problems
    assert problem.hint is not None and "secret store" in problem.hint
    assert "(" not in problem.hint and ")" not in problem.hint, problem.hint
    (line,) = info.value.render_lines()
    assert line.endswith(f" ({problem.hint})") and "))" not in line, line

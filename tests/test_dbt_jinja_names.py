"""A model carried over from dbt: dbt's Jinja names, snapshot blocks, and ref() of a seed or a
snapshot each get one error at the model's file and line that says what retl does instead."""

from __future__ import annotations

import json

import pytest

from reverse_etl import ModelError, Project


def problem_of(root):
    with pytest.raises(ModelError) as info:
        Project.load(root).compile()
    (problem,) = info.value.problems
    return problem


@pytest.mark.parametrize(
    ("line", "message", "fix"),
    [
        (
            "{% if is_incremental() %} where 1 = 1 {% endif %}",
            "is_incremental() is dbt's (incremental models); retl does not have it",
            "remove the {% if is_incremental() %} block",
        ),
        (
            "{% set r = run_query('select 1') %}",
            "run_query() is dbt's (a query run while rendering); retl does not have it",
            "runs no query while rendering",
        ),
        (
            "{% set c = adapter.get_columns_in_relation('x') %}",
            "adapter is dbt's (the warehouse connection); retl does not have it",
            "runs no query while rendering",
        ),
        (
            ", {{ dbt_utils.generate_surrogate_key(['a']) }} as k",
            "'dbt_utils' is a dbt package (its macros); retl does not have it",
            "does not read dbt's macros/ folder or packages",
        ),
        (
            "where '{{ this.schema }}' <> ''",
            "{{ this }} is the model's name in retl ('m'), not dbt's relation: it has no 'schema'",
            "write {{ this }} alone",
        ),
    ],
)
def test_a_dbt_name_says_what_it_is(line, message, fix, tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"models/m.sql": f"select 1 as a\n{line}\n"})
    problem = problem_of(root)
    assert problem.message == message
    assert fix in (problem.hint or "")
    assert (problem.file, problem.line) == (root / "models/m.sql", 2)


def test_a_macro_of_macros_folder_is_named_in_the_fix(tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"models/m.sql": "select {{ cents_to_dollars('c') }} as a\n"})
    problem = problem_of(root)
    assert problem.message == "undefined name: 'cents_to_dollars' is undefined"
    assert "A dbt macro (macros/ or a package) is not read by retl" in (problem.hint or "")


def test_this_alone_is_still_the_models_name(tmp_path, make_project) -> None:
    root = make_project(
        tmp_path, {"models/m.sql": "select '{{ this }}' as a, '{{ this.upper() }}' as b\n"}
    )
    (compiled,) = Project.load(root).compile()
    assert compiled.sql == "select 'm' as a, 'M' as b"


def test_a_snapshot_block_in_models_says_so(tmp_path, make_project) -> None:
    text = "{% snapshot s %}\nselect 1 as a\n{% endsnapshot %}\n"
    problem = problem_of(make_project(tmp_path, {"models/s.sql": text}))
    assert problem.message == "Jinja syntax error: Encountered unknown tag 'snapshot'."
    assert (problem.hint or "").startswith("a {% snapshot %} block is dbt's")


@pytest.mark.parametrize(
    ("path", "fix"),
    [
        (
            "seeds/stores.csv",
            "'stores' is a dbt seed (seeds/stores.csv): retl does not load seeds. Declare it "
            "as a source (`config: {external_location: seeds/stores.csv}`)",
        ),
        (
            "snapshots/stores.sql",
            "'stores' is a dbt snapshot (snapshots/stores.sql): retl does not build snapshots",
        ),
    ],
)
def test_ref_of_a_seed_or_snapshot(path, fix, tmp_path, make_project) -> None:
    files = {
        "models/store_events.sql": "select 1 as a\nfrom {{ ref('stores') }}\n",
        "models/stg_orders.sql": "select 1 as a\n",
        path: "store_id\nS1\n",
    }
    problem = problem_of(make_project(tmp_path, files))
    assert problem.message == "ref('stores'): no model named 'stores'"
    assert (problem.hint or "").startswith(fix)  # not "did you mean 'stg_orders'?"
    assert problem.line == 2


def test_cli_validate_json_gives_the_fix_and_exit_1(tmp_path, make_project, cli) -> None:
    root = make_project(
        tmp_path,
        {
            "models/m.sql": "select 1 as a\n{% if is_incremental() %} where 1 = 1 {% endif %}\n",
            "destinations.yml": "destinations: {}\n",
        },
    )
    result = cli("validate", "--offline", "--format", "json", "--project-dir", str(root))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem["message"].startswith("is_incremental() is dbt's")
    assert (problem["file"].endswith("m.sql"), problem["line"]) == (True, 2)

"""``--select`` / ``--exclude``: one meaning in every command, in dbt's forms (names, tags,
graph operators, intersections), and the ``config()`` keys that feed them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reverse_etl.errors import ModelError, UsageError
from reverse_etl.project import Project

# stg_orders <- purchases <- report; leads stands alone. purchases feeds two destinations.
FILES = {
    "models/stg_orders.sql": """
        {{ config(tags=['staging']) }}
        select 'o1' as order_id, 'a@example.com' as email,
               now() - interval 1 hour as ordered_at, 10.5 as total
        """,
    "models/purchases.sql": """
        {{ config(tags=['nightly', 'tiktok'], primary_key='event_id') }}
        select 'Purchase' as event, 'order-' || order_id as event_id,
               ordered_at as event_time, email, total as value, 'USD' as currency,
               'https://shop.example/p' as page_url
        from {{ ref('stg_orders') }}
        """,
    "models/leads.sql": """
        {{ config(tags='nightly') }}
        select 'Lead' as event, 'lead-1' as event_id, now() - interval 2 hour as event_time,
               'b@example.com' as email, 'https://shop.example/l' as page_url
        """,
    "models/report.sql": "select count(*) as n from {{ ref('purchases') }}\n",
    "destinations.yml": """
        destinations:
          tiktok_purchases:
            type: tiktok_events
            model: purchases
            access_token: "{{ env_var('TIKTOK_ACCESS_TOKEN') }}"
            event_data_source: WEB
            target_event_source: ID
            event_source_id: CPIXEL
          meta_purchases:
            type: meta_conversions
            model: purchases
            pixel_id: "1234567890123456"
            access_token: "{{ env_var('META_ACCESS_TOKEN') }}"
            action_source: system_generated
          tiktok_leads:
            type: tiktok_events
            model: leads
            access_token: "{{ env_var('TIKTOK_ACCESS_TOKEN') }}"
            event_data_source: WEB
            target_event_source: ID
            event_source_id: CPIXEL2
        """,
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, make_project) -> Path:
    return make_project(tmp_path_factory.mktemp("select") / "shop", FILES)


def models(root: Path, select: list[str], exclude: list[str] | None = None) -> list[str]:
    with Project.load(root) as p:
        compiled = p.compile(select, exclude=exclude) if exclude else p.compile(select)
        return [c.name for c in compiled]


def destinations(root: Path, select: list[str], exclude: list[str] | None = None) -> list[str]:
    with Project.load(root) as p:
        if exclude:
            return [d.name for d in p.select_destinations(select, exclude=exclude)]
        return [d.name for d in p.select_destinations(select)]


@pytest.mark.parametrize(
    ("select", "exclude", "expected"),
    [
        (["purchases"], [], {"purchases"}),
        (["+purchases"], [], {"stg_orders", "purchases"}),
        (["purchases+"], [], {"purchases", "report"}),
        (["+purchases+"], [], {"stg_orders", "purchases", "report"}),
        (["+report"], [], {"stg_orders", "purchases", "report"}),
        (["1+report"], [], {"purchases", "report"}),
        (["stg_orders+1"], [], {"stg_orders", "purchases"}),
        (["tag:nightly"], [], {"purchases", "leads"}),
        (["tag:nightly,+report"], [], {"purchases"}),  # a comma intersects, as in dbt
        (["tag:staging leads"], [], {"stg_orders", "leads"}),  # a space adds up
        (["tag:nightly", "tag:staging"], [], {"stg_orders", "purchases", "leads"}),
        ([], ["tag:staging"], {"purchases", "leads", "report"}),
        (["+report"], ["stg_orders"], {"purchases", "report"}),
        # a destination's name stands for its model where the command is about models
        (["tiktok_leads"], [], {"leads"}),
        (["destination:meta_purchases"], [], {"purchases"}),
        (["+tiktok_purchases"], [], {"stg_orders", "purchases"}),
    ],
)
def test_compile_selects_models_in_dbt_forms(shop, select, exclude, expected) -> None:
    picked = models(shop, select, exclude)
    assert set(picked) == expected
    with Project.load(shop) as p:
        assert picked == [n for n in p.graph.order if n in expected]  # DAG order kept


@pytest.mark.parametrize(
    ("select", "exclude", "expected"),
    [
        ([], [], ["tiktok_purchases", "meta_purchases", "tiktok_leads"]),
        # a model picks every destination that reads it
        (["purchases"], [], ["tiktok_purchases", "meta_purchases"]),
        # a destination named on its own is that destination alone
        (["tiktok_purchases"], [], ["tiktok_purchases"]),
        (["destination:meta_purchases"], [], ["meta_purchases"]),
        (["tag:nightly"], [], ["tiktok_purchases", "meta_purchases", "tiktok_leads"]),
        (["tag:nightly"], ["meta_purchases"], ["tiktok_purchases", "tiktok_leads"]),
        ([], ["purchases"], ["tiktok_leads"]),
        (["stg_orders+"], [], ["tiktok_purchases", "meta_purchases"]),
        (["tag:tiktok,tiktok_purchases"], [], ["tiktok_purchases"]),
    ],
)
def test_destination_commands_select_the_destinations_of_picked_models(
    shop, select, exclude, expected
) -> None:
    assert destinations(shop, select, exclude) == expected


@pytest.mark.parametrize(
    ("select", "exclude", "message", "hint"),
    [
        (["tag:nighty"], [], "no model has tag 'nighty'", "did you mean 'nightly'?"),
        (["purchase"], [], "no model or destination named 'purchase'", "did you mean"),
        (["path:models"], [], "unknown selector method 'path:' in 'path:models'", "forms:"),
        (["@purchases"], [], "'@purchases' is not a selector retl understands", "forms:"),
        (["destination:tiktok"], [], "no destination named 'tiktok'", "did you mean"),
        (["leads,purchases"], [], "picks no model", "a comma means both"),
        (["tag:staging"], ["stg_orders"], "picks no model", "--exclude leaves nothing"),
    ],
)
def test_selection_mistakes_are_usage_errors(shop, select, exclude, message, hint) -> None:
    with pytest.raises(UsageError) as info:
        models(shop, select, exclude)
    assert message in info.value.message
    assert hint in (info.value.hint or "")


def test_a_model_without_destination_selects_no_destination(shop) -> None:
    with pytest.raises(UsageError) as info:
        destinations(shop, ["report"])
    assert info.value.message == "--select report picks no destination"
    assert info.value.hint == (
        "no destination reads the models it picks; destinations read leads, purchases"
    )


# --- the CLI: the same meaning in every command -------------------------------------------


def test_compile_takes_a_destination_name_and_tags(shop, cli) -> None:
    by_destination = cli("compile", "--project-dir", shop, "--select", "tiktok_leads")
    assert by_destination.returncode == 0, by_destination.stderr
    assert by_destination.stdout.startswith("-- leads (models/leads.sql)")
    by_tag = cli(
        "compile",
        "--project-dir",
        shop,
        "-s",
        "tag:nightly",
        "--exclude",
        "leads",
        "--format",
        "json",
    )
    assert by_tag.returncode == 0, by_tag.stderr
    assert [m["name"] for m in json.loads(by_tag.stdout)["models"]] == ["purchases"]


def test_validate_and_plan_take_selectors_and_exclude(shop, cli) -> None:
    validated = cli("validate", "--project-dir", shop, "--select", "+purchases", "--format", "json")
    assert validated.returncode == 0, validated.stderr
    names = [d["destination"] for d in json.loads(validated.stdout)["destinations"]]
    assert names == ["tiktok_purchases", "meta_purchases"]
    planned = cli(
        "plan",
        "--project-dir",
        shop,
        "-s",
        "tag:nightly",
        "--exclude",
        "meta_purchases",
        "--format",
        "json",
    )
    assert planned.returncode == 0, planned.stderr
    names = [d["destination"] for d in json.loads(planned.stdout)["destinations"]]
    assert names == ["tiktok_purchases", "tiktok_leads"]


def test_sync_and_state_reset_honour_exclude(cli, tmp_path, make_project) -> None:
    root = make_project(tmp_path / "p", FILES)
    synced = cli(
        "sync", "--project-dir", root, "--sandbox", "--exclude", "tag:tiktok", "--format", "json"
    )
    assert synced.returncode == 0, synced.stderr
    report = json.loads(synced.stdout)
    assert [d["destination"] for d in report["destinations"]] == ["tiktok_leads"]
    everything = cli("sync", "--project-dir", root, "--sandbox", "--format", "json")
    assert everything.returncode == 0, everything.stderr
    reset = cli(
        "state",
        "reset",
        "--project-dir",
        root,
        "--sandbox",
        "--yes",
        "--select",
        "tag:nightly",
        "--exclude",
        "tiktok_purchases",
        "--format",
        "json",
    )
    assert reset.returncode == 0, reset.stderr
    assert json.loads(reset.stdout)["rows_forgotten"] == {"meta_purchases": 1, "tiktok_leads": 1}


def test_show_names_its_positional_argument_with_did_you_mean(shop, cli) -> None:
    result = cli("show", "purchase", "--project-dir", shop)
    assert result.returncode == 1
    assert result.stderr == (
        "error: MODEL: no model named 'purchase' (did you mean 'purchases'?)\n"
    )


# --- config() keys ------------------------------------------------------------------------


def test_unique_key_is_read_as_primary_key_with_a_note(tmp_path, make_project, cli) -> None:
    root = make_project(
        tmp_path,
        {"models/m.sql": "select 1 as a\n{{ config(unique_key=['a', 'b']) }}\n"},
    )
    with Project.load(root) as p:
        (compiled,) = p.compile()
    assert compiled.model.primary_key == ("a", "b")
    result = cli("compile", "--project-dir", root)
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "warning: models/m.sql:2: config(unique_key=...) is read as "
        "primary_key (retl's name for the key of a row) (write primary_key= to silence this "
        "warning)\n"
    )


def test_unique_key_and_a_different_primary_key_is_an_error(tmp_path, make_project) -> None:
    root = make_project(
        tmp_path, {"models/m.sql": "{{ config(primary_key='a', unique_key='b') }}\nselect 1"}
    )
    with pytest.raises(ModelError) as info, Project.load(root) as p:
        p.compile()
    assert info.value.message == "config() sets both primary_key='a' and unique_key='b'"
    assert info.value.line == 1


def test_dbt_only_and_unknown_config_keys_are_warnings_naming_the_file(
    tmp_path, make_project, cli
) -> None:
    root = make_project(
        tmp_path,
        {
            "models/m.sql": """
                {{ config(materialized='table', schema='marts') }}
                select 1 as a
                {{ config(primary_keys='a') }}
                """
        },
    )
    result = cli("compile", "--project-dir", root)
    assert result.returncode == 0, result.stderr
    path = "models/m.sql"
    assert result.stderr.splitlines() == [
        f"warning: {path}:1: config(materialized=...) is a dbt setting that retl ignores: each "
        "model runs as one SELECT, read by the destinations that name it (remove it, or keep "
        "it if dbt reads this file too)",
        f"warning: {path}:1: config(schema=...) is a dbt setting that retl ignores: each model "
        "runs as one SELECT, read by the destinations that name it (remove it, or keep it if "
        "dbt reads this file too)",
        f"warning: {path}:3: config(primary_keys=...) is not a retl setting and is ignored "
        "(did you mean 'primary_key'?)",
    ]
    with Project.load(root) as p:
        (compiled,) = p.compile()
    assert compiled.model.config == {}


def test_tags_must_be_strings(tmp_path, make_project) -> None:
    root = make_project(tmp_path, {"models/m.sql": "{{ config(tags=[1]) }}\nselect 1"})
    with pytest.raises(ModelError) as info, Project.load(root) as p:
        p.compile()
    assert info.value.message == "config(tags=...) must be a string or a list of strings"

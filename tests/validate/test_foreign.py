"""Columns of another platform's catalog (issue #14): a note, not sent, never an error; and
validation reaching the platform only through the Destination contract.

The second catalog is a fake registered by monkeypatching ``registry.other_catalogs``, so these
tests hold whichever platforms the registry really has.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from reverse_etl.destinations import registry
from reverse_etl.destinations.base import ColumnRules
from reverse_etl.destinations.catalog import Catalog, Hashing, Kind, ParamSpec
from reverse_etl.destinations.tiktok.catalog import CATALOG
from reverse_etl.destinations.tiktok.rules import TikTokRules
from reverse_etl.project import Project
from reverse_etl.validation import validate_project
from reverse_etl.validation.foreign import foreign_columns
from reverse_etl.validation.types import identity_objects
from tests.conftest import MakeProject

WEBSITE = frozenset({"website"})
FAKE = Catalog(
    (
        ParamSpec("email", ("user_data", "em"), Kind.STRING, WEBSITE, "", Hashing.EMAIL),
        ParamSpec("first_name", ("user_data", "fn"), Kind.STRING, WEBSITE, "", Hashing.NAME),
        ParamSpec("fbc", ("user_data", "fbc"), Kind.STRING, WEBSITE, "Click ID."),
        ParamSpec("action_source", ("action_source",), Kind.STRING, WEBSITE, "Where."),
    )
)
SECOND = Catalog((ParamSpec("fbc", ("fbc",), Kind.STRING, WEBSITE, ""),))

DESTINATIONS = """
destinations:
  tiktok_web:
    type: tiktok_events
    model: events
    auth_method: access_token
    access_token: "{{ env_var('TIKTOK_ACCESS_TOKEN') }}"
    event_data_source: WEB
    event_source_id: "7000000000000000001"
"""
MODEL = """
{{ config(primary_key='event_id') }}
select
    'Purchase'            as event,
    'o-1'                 as event_id,
    current_timestamp     as event_time,
    'a@example.com'       as email,
    'https://shop/'       as page_url,
    'Ada'                 as first_name,
    'fb.1.2.3'            as fbc,
    'website'             as action_source,
    'Ada'                 as frist_name
"""


def test_foreign_columns_are_the_ones_only_another_catalog_knows() -> None:
    rules = TikTokRules("WEB")
    names = [
        "event",
        "email",  # TikTok's own, though the other catalog knows it too
        "first_name",
        "fbc",
        "properties.fbc",  # a TikTok custom property
        "user_data",  # the other platform's object, built as a STRUCT
        "user_data.zip",  # a key under it
        "order_ref",  # a key column: used as the key, not the other platform's
        "emial",  # no catalog knows it
    ]
    assert foreign_columns(names, rules, [("Fake", FAKE)], keys=["order_ref"]) == {
        "first_name": "Fake",
        "fbc": "Fake",
        "user_data": "Fake",
        "user_data.zip": "Fake",
    }
    assert foreign_columns(["fbc"], rules, [("Fake", FAKE)], keys=["fbc"]) == {}
    assert foreign_columns(names, rules, []) == {}
    # The first catalog that knows a column names it.
    assert foreign_columns(["fbc"], rules, [("Second", SECOND), ("Fake", FAKE)]) == {
        "fbc": "Second"
    }


def test_another_platforms_columns_are_notes_and_not_sent(
    tmp_path: Path, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "other_catalogs", lambda type_name: [("Meta", FAKE)])
    make_project(tmp_path, {"destinations.yml": DESTINATIONS, "models/events.sql": MODEL})
    with Project.load(tmp_path) as project:
        (result,) = validate_project(project, ())
    found = [(d.rule, d.severity, d.column, d.problem.message) for d in result.diagnostics]
    assert found == [
        (
            "unknown-parameter",
            "error",
            "frist_name",
            "column frist_name: 'frist_name' is not a TikTok parameter",
        ),
        (
            "other-destination",
            "note",
            "first_name",
            "column first_name: a Meta parameter, not sent to TikTok",
        ),
        ("other-destination", "note", "fbc", "column fbc: a Meta parameter, not sent to TikTok"),
        (
            "other-destination",
            "note",
            "action_source",
            "column action_source: a Meta parameter, not sent to TikTok",
        ),
    ]
    lines = {d.column: d.problem.line for d in result.diagnostics}
    assert lines["fbc"] == 9  # the line of `as fbc` in the model file
    rows = {c.column: (c.field, c.tiktok_field, c.role, c.status) for c in result.columns}
    assert rows["first_name"] == (None, None, "other", "note")
    assert rows["action_source"] == (None, None, "other", "note")
    assert rows["email"] == ("user.email", "user.email", "parameter", "ok")
    assert rows["frist_name"] == (None, None, "unknown", "error")
    row = next(c for c in result.columns if c.column == "fbc").to_dict()
    assert (row["tiktok_field"], row["role"], row["status"]) == (None, "other", "note")


def test_without_another_catalog_the_same_columns_are_unknown(
    tmp_path: Path, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "other_catalogs", lambda type_name: [])
    make_project(tmp_path, {"destinations.yml": DESTINATIONS, "models/events.sql": MODEL})
    with Project.load(tmp_path) as project:
        (result,) = validate_project(project, ())
    unknown = sorted(d.column or "" for d in result.diagnostics if d.rule == "unknown-parameter")
    assert unknown == ["action_source", "fbc", "first_name", "frist_name"]
    assert not any(d.rule == "other-destination" for d in result.diagnostics)


def test_only_notes_leave_the_destination_ok(
    tmp_path: Path, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "other_catalogs", lambda type_name: [("Meta", FAKE)])
    model = MODEL.replace("    'Ada'                 as frist_name\n", "").replace(
        "'website'             as action_source,", "'website'             as action_source"
    )
    make_project(tmp_path, {"destinations.yml": DESTINATIONS, "models/events.sql": model})
    with Project.load(tmp_path) as project:
        (result,) = validate_project(project, ())
    assert result.ok(strict=True)
    assert result.count("note") == 3


def test_tiktok_rules_implement_the_contract() -> None:
    rules = TikTokRules("APP")
    assert isinstance(rules, ColumnRules)
    assert (rules.platform, rules.source) == ("TikTok", "APP")
    assert [p.name for p in rules.required()] == ["event", "event_time", "app_id"]
    # The payload object holding hashed keys is exactly the one that used to be named.
    people = identity_objects(CATALOG)
    assert people == {"user"}
    assert all((p.path[0] in people) == (p.path[0] == "user") for p in CATALOG.params)
    issues = rules.value_issues(CATALOG.by_column["currency"], ["EUR", "EURO"])
    assert [(i.rule, i.severity, i.message) for i in issues] == [
        ("allowed-value", "error", "currency 'EURO' is not accepted by TikTok")
    ]
    (issue,) = rules.identifier_issues({"event", "ip"})
    assert (issue.rule, issue.severity) == ("no-identifier", "warning")
    assert rules.identifier_issues({"ip", "user_agent"}) == []


def test_validation_imports_no_platform_module() -> None:
    allowed = {"base", "catalog", "registry", "shared"}
    folder = Path(__file__).parents[2] / "reverse_etl" / "validation"
    imported: list[str] = []
    for file in folder.glob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.append(node.module)
                imported += [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                imported += [a.name for a in node.names]
    reached = {
        m.split(".")[2]
        for m in imported
        if m.startswith("reverse_etl.destinations.") and len(m.split(".")) > 2
    }
    assert "registry" in reached  # the scan sees the imports it should
    assert reached <= allowed

"""A ``contents`` list of structs with a key of JSON: what the workbench makes of a PostgreSQL
jsonb list of line items whose ``price`` is ``10.25`` in one item and ``3`` in another (a key
of several JSON types). The encoder sends each value as the number it holds (and leaves out one
that is not), as it does for a JSON ``contents``; validation and the check a sync makes of the
model's real types called it an error ("contents key 'price' must be a number, not JSON"), so
the sync stopped where the same rows from DuckDB's JSON column were sent."""

from __future__ import annotations

from pathlib import Path

from reverse_etl.project import Project

MODEL = """
select 'Purchase' as event, 'e' || i as event_id, timestamp '2026-12-01 10:00:00' as event_time,
       'a@b.com' as email, 'https://shop.example/' as page_url,
       [{'content_id': 'a',
         'price': (case when i = 1 then '"abc"' when i = 2 then '3' else '10.25' end)::json,
         'quantity': '2'::json}] as contents
from range(3) t(i)
"""


def test_a_json_key_of_contents_items_is_a_warning_and_sent_as_its_value(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "retl_project.yml").write_text("name: j\nwarehouse: {type: duckdb}\n")
    (tmp_path / "models" / "m.sql").write_text(MODEL)
    (tmp_path / "destinations.yml").write_text(
        "destinations:\n  tt:\n    type: tiktok_events\n    model: m\n    access_token: x\n"
        "    event_data_source: WEB\n    target_event_source: ID\n    event_source_id: CPIX\n"
    )
    with Project.load(tmp_path) as p:
        (result,) = p.validate()
        errors = [d.problem.message for d in result.diagnostics if d.severity == "error"]
        assert errors == []
        warned = [d.problem.message for d in result.diagnostics if d.severity == "warning"]
        assert any("contents key 'price' is JSON" in m for m in warned), warned
        (plan,) = p.plan()
    dest = plan.to_dict()
    assert dest["rows"]["valid"] == 3
    contents = sorted(
        (s["properties"]["contents"] for s in dest["samples"]), key=lambda c: str(c[0].get("price"))
    )
    assert contents == [
        [{"content_id": "a", "price": 10.25, "quantity": 2}],
        [{"content_id": "a", "price": 3.0, "quantity": 2}],
        [{"content_id": "a", "quantity": 2}],
    ]


def test_a_json_text_key_of_contents_items_is_not_told_to_be_cast_to_text(
    tmp_path: Path,
) -> None:
    # CAST('"Shoe"'::json AS VARCHAR) is '"Shoe"', quotes kept: the hint said to write it
    (tmp_path / "models").mkdir()
    (tmp_path / "retl_project.yml").write_text("name: j\nwarehouse: {type: duckdb}\n")
    (tmp_path / "models" / "m.sql").write_text(
        MODEL.replace("'quantity': '2'::json", "'content_name': '\"Shoe\"'::json")
    )
    (tmp_path / "destinations.yml").write_text(
        "destinations:\n  tt:\n    type: tiktok_events\n    model: m\n    access_token: x\n"
        "    event_data_source: WEB\n    target_event_source: ID\n    event_source_id: CPIX\n"
    )
    with Project.load(tmp_path) as p:
        (result,) = p.validate()
    (hint,) = [
        d.problem.hint or ""
        for d in result.diagnostics
        if "contents key 'content_name' is JSON" in d.problem.message
    ]
    assert "convert it in the model: CAST(... AS VARCHAR)" not in hint
    assert "json_extract_string" in hint

"""A jsonb ``contents`` whose type validation cannot tell (``coalesce(doc -> 'lines', '[]')``:
sqlglot types no ``->``) is checked when the sync runs, as the type of the model's column.
That type was the workbench's reading of the rows staged (``json_columns.py``): with the state
in the warehouse only the rows to send are staged, and when those held only ``[]`` (a changed
row whose lines are NULL) the column read as ``VARCHAR[]``; the sync stopped with "contents
must be a list of structs, not VARCHAR[]", for TikTok and Meta alike. The check now takes the
warehouse's type (JSON, checked row by row when encoded), whichever rows are sent, with the
state in the warehouse or local, in a sandbox run too; nothing to send is never an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.engine.postgres import PostgresConnection
from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_META_TOKEN, SandboxServer

from .test_pg_contents import (  # noqa: F401  (the fixtures the module's tests use)
    NOW,
    _token,
    events,
    execute,
    pg_warehouse,
    sandbox_token,
    write_project,
)
from .test_pg_json_text_params import _project as _pages

pytestmark = pytest.mark.postgres

IN_WAREHOUSE = "state:\n  location: warehouse\n"
LINES = (
    "jsonb_build_array(jsonb_build_object('content_id', 'sku-1', 'price', 10.25, 'quantity', 1),"
    " jsonb_build_object('content_id', 'sku-2', 'price', 3, 'quantity', 2))"
)
MODEL = """
select 'Purchase' as event, 'order-' || order_id::varchar as event_id,
       ordered_at as event_time, email, 'https://shop.example/' as page_url,
       'Mozilla/5.0' as user_agent, 'USD' as currency, 12 as value,
       coalesce(doc -> 'lines', '[]') as contents
from {{ source('shop', 'baskets') }}
"""
PIXEL = "1234567890123456"


def _with_meta(root: Path, base_url: str | None) -> None:
    """A Meta destination of the same model (at ``base_url``: sandbox runs need none)."""
    url = f"    api_base_url: {base_url}\n" if base_url else ""
    with (root / "destinations.yml").open("a", encoding="utf-8") as f:
        f.write(
            f"  meta:\n    type: meta_conversions\n    model: purchases\n    pixel_id: '{PIXEL}'\n"
            f"    access_token: {DEMO_META_TOKEN}\n    action_source: website\n{url}"
        )


def _sync(root: Path, *, sandbox: bool = False) -> dict[str, tuple[int, int]]:
    with Project.load(root) as p:
        p.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
        report = p.sync(sandbox=sandbox)
    assert report.ok, report.to_dict()
    return {r.destination: (r.sent, r.rows_unchanged) for r in report.results}


def _project(
    pg_db: PostgresConnection, base_url: str, root: Path, state: str, lines: str = "o % 2 = 0"
) -> Path:
    """Four orders; those not matching ``lines`` without a doc (and so without lines)."""
    execute(pg_db, "CREATE SCHEMA shop")
    execute(
        pg_db,
        "CREATE TABLE shop.baskets AS SELECT o AS order_id, 'b' || o || '@example.com' AS email,"
        f" to_timestamp({NOW} - o) AT TIME ZONE 'UTC' AS ordered_at,"
        f" CASE WHEN {lines} THEN jsonb_build_object('lines', {LINES}) END AS doc"
        " FROM generate_series(1, 4) AS o",
    )
    root = write_project(root, base_url, pg_warehouse(pg_db, state), MODEL)
    config = (root / "retl_project.yml").read_text(encoding="utf-8")
    (root / "retl_project.yml").write_text(config + "      - name: baskets\n", encoding="utf-8")
    return root


STATES = pytest.mark.parametrize("state", [IN_WAREHOUSE, ""], ids=["warehouse-state", "local"])


@STATES
def test_a_changed_row_without_lines_is_sent(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path, state: str
) -> None:
    """The walk-through's case: with the state in the warehouse, the changed row alone is
    staged, and its contents is ``[]``."""
    root = _project(pg_db, server.base_url, tmp_path / "p", state)
    _with_meta(root, server.base_url)
    server.meta.add_pixel(PIXEL)
    assert _sync(root) == {"tiktok": (4, 0), "meta": (4, 0)}
    items = [
        {"content_id": "sku-1", "price": 10.25, "quantity": 1},
        {"content_id": "sku-2", "price": 3.0, "quantity": 2},
    ]
    assert events(server)["order-2"]["properties"]["contents"] == items
    meta = {e["data"]["event_id"]: e["data"] for e in server.meta.events()}
    assert [c["id"] for c in meta["order-2"]["custom_data"]["contents"]] == ["sku-1", "sku-2"]
    assert _sync(root) == {"tiktok": (0, 4), "meta": (0, 4)}  # nothing to send
    execute(pg_db, "UPDATE shop.baskets SET email = 'new@example.com' WHERE order_id = 1")
    assert _sync(root) == {"tiktok": (1, 3), "meta": (1, 3)}
    assert events(server)["order-1"]["properties"].get("contents", []) == []
    assert _sync(root) == {"tiktok": (0, 4), "meta": (0, 4)}


@STATES
def test_orders_without_lines_yet_are_sent_in_a_sandbox_run(
    pg_db: PostgresConnection, tmp_path: Path, state: str
) -> None:
    """No order has lines yet: every staged row's contents is ``[]``, on every path (a
    sandbox run keeps its state locally, and stages all the model's rows)."""
    root = _project(pg_db, "http://127.0.0.1:9", tmp_path / "p", state, lines="false")
    _with_meta(root, None)
    assert _sync(root, sandbox=True) == {"tiktok": (4, 0), "meta": (4, 0)}
    assert _sync(root, sandbox=True) == {"tiktok": (0, 4), "meta": (0, 4)}


def test_a_json_text_of_null_is_not_checked_when_its_rows_only_change(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    """A text parameter of JSON (``j->'title'``) is sent as its text when every value is a
    string, and refused when they are of several kinds; a value of null is neither. With the
    state in the warehouse, a re-sync staged nothing, or only the row whose title is null:
    read as JSON, the column was refused ("description must be text, not JSON")."""
    title = "CASE WHEN o = 1 THEN NULL ELSE 'Page ' || o END"
    root = _pages(pg_db, server, tmp_path / "p", "->", title)
    config = (root / "retl_project.yml").read_text(encoding="utf-8")
    (root / "retl_project.yml").write_text(
        config.replace("warehouse:\n", IN_WAREHOUSE + "warehouse:\n"), encoding="utf-8"
    )
    assert _sync(root) == {"tiktok": (3, 0)}
    assert events(server)["page-2"]["properties"]["description"] == "Page 2"
    assert _sync(root) == {"tiktok": (0, 3)}  # nothing to send
    execute(pg_db, "UPDATE shop.pages SET email = 'new@example.com' WHERE page_id = 1")
    assert _sync(root) == {"tiktok": (1, 2)}
    assert "description" not in events(server)["page-1"].get("properties", {})

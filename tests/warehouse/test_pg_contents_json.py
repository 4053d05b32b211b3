"""A PostgreSQL jsonb ``contents`` whose values are of several shapes (a list of objects in one
row, a number or an object in others) stays JSON in the workbench: its rows are checked when
they are read, and the lists go out as lists of typed items (before, TikTok got the number)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.delivery.retry import RetryPolicy
from reverse_etl.engine.postgres import PostgresConnection
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer

from .test_pg_contents import (  # noqa: F401  (the fixtures the module's tests use)
    JSONB_MODEL,
    _token,
    events,
    execute,
    pg_warehouse,
    sandbox_token,
    write_project,
)

pytestmark = pytest.mark.postgres


def test_a_jsonb_contents_of_several_shapes_is_checked_row_by_row(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    execute(pg_db, "CREATE SCHEMA shop")
    execute(
        pg_db,
        "CREATE TABLE shop.baskets AS SELECT o AS order_id, 'b' || o || '@example.com' AS email,"
        " now() AT TIME ZONE 'UTC' - o * interval '1 minute' AS ordered_at,"
        " CASE o WHEN 1 THEN '7'::jsonb WHEN 2 THEN '{\"content_id\": \"a\"}'::jsonb"
        " WHEN 3 THEN 'null'::jsonb"
        " ELSE jsonb_build_array(jsonb_build_object('quantity', o, 'content_id', o,"
        " 'price', (o + 0.5)::text)) END AS items,"
        " json_build_object('n', o) AS extra"
        " FROM generate_series(1, 4) AS o",
    )
    root = write_project(tmp_path, server.base_url, pg_warehouse(pg_db, ""), JSONB_MODEL)
    config = (root / "retl_project.yml").read_text(encoding="utf-8")
    (root / "retl_project.yml").write_text(
        config
        + "      - name: baskets\n        columns:\n          - {name: items, data_type: json}\n",
        encoding="utf-8",
    )
    (root / "destinations.yml").write_text(
        (root / "destinations.yml").read_text(encoding="utf-8") + "    skip_invalid_record: true\n",
        encoding="utf-8",
    )
    with Project.load(root) as p:
        p.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
        report = p.sync()
    assert report.ok, report.to_dict()
    (result,) = report.to_dict()["destinations"]
    assert result["invalid_reasons"] == [{"reason": "contents is not a list of objects", "rows": 2}]
    sent = events(server)
    assert set(sent) == {"order-3", "order-4"}
    assert "contents" not in sent["order-3"].get("properties", {})
    assert sent["order-4"]["properties"]["contents"] == [
        {"quantity": 4, "content_id": "4", "price": 4.5}
    ]


IDS_MODEL = """
select 'Purchase' as event, 'order-' || order_id::varchar as event_id,
       ordered_at as event_time, email, ids as content_ids
from {{ source('shop', 'baskets') }}
"""


def test_a_jsonb_content_ids_is_sent_as_the_ids_it_holds(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    """A jsonb content_ids stays JSON in the workbench: an array's items are sent as IDs (a
    number as its text), a scalar as a list of one, and an object makes its row invalid.
    Before, validate refused the column (and the encoder sent the JSON text as one ID)."""
    execute(pg_db, "CREATE SCHEMA shop")
    execute(
        pg_db,
        "CREATE TABLE shop.baskets AS SELECT o AS order_id, 'b' || o || '@example.com' AS email,"
        " now() AT TIME ZONE 'UTC' - o * interval '1 minute' AS ordered_at,"
        ' CASE o WHEN 1 THEN \'["a", 7, 12.0, null, " "]\'::jsonb'
        " WHEN 2 THEN '{\"a\": 1}'::jsonb WHEN 3 THEN '\"x\"'::jsonb"
        " ELSE '[[\"b\"]]'::jsonb END AS ids"
        " FROM generate_series(1, 4) AS o",
    )
    root = write_project(tmp_path, server.base_url, pg_warehouse(pg_db, ""), IDS_MODEL)
    config = (root / "retl_project.yml").read_text(encoding="utf-8")
    (root / "retl_project.yml").write_text(
        config
        + "      - name: baskets\n        columns:\n          - {name: ids, data_type: json}\n",
        encoding="utf-8",
    )
    (root / "destinations.yml").write_text(
        (root / "destinations.yml").read_text(encoding="utf-8") + "    skip_invalid_record: true\n",
        encoding="utf-8",
    )
    with Project.load(root) as p:
        p.retry_policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
        report = p.sync()
    assert report.ok, report.to_dict()
    (result,) = report.to_dict()["destinations"]
    assert result["invalid_reasons"] == [{"reason": "content_ids is not a list of IDs", "rows": 2}]
    sent = events(server)
    assert set(sent) == {"order-1", "order-3"}
    assert sent["order-1"]["properties"]["content_ids"] == ["a", "7", "12"]
    assert sent["order-3"]["properties"]["content_ids"] == ["x"]

"""A PostgreSQL jsonb custom property whose values are of several kinds (a list of a number
and a text, a key that is a number in one row and a text or an object in another) is sent as
the JSON it is: numbers stay numbers, texts texts, objects objects (before, the workbench read
such a value as text: ``[1, 2.50, "x"]`` went out as ``["1", "2.5", "x"]``). A ``contents``
item's key of several kinds is still read as text, as its ID."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.engine.postgres import PostgresConnection
from reverse_etl.sandbox import SandboxServer

from .test_pg_contents import (  # noqa: F401  (the fixtures the module's tests use)
    JSONB_MODEL,
    _token,
    events,
    execute,
    pg_warehouse,
    sandbox_token,
    sync,
    write_project,
)

pytestmark = pytest.mark.postgres

EXTRA = {
    1: {"b": [1, 2.5, "x"]},
    2: {"k": 1, "o": [{"a": 1}, {"b": "x"}], "n": [[1, "x"], [2.5]], "big": 9007199254740993},
    3: {"k": "x", "o": {"c": 2}},
}


def test_a_jsonb_value_of_several_kinds_is_sent_as_the_json_it_is(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    execute(pg_db, "CREATE SCHEMA shop")
    execute(
        pg_db,
        "CREATE TABLE shop.baskets AS SELECT o AS order_id, 'b' || o || '@example.com' AS email,"
        " now() AT TIME ZONE 'UTC' - o * interval '1 minute' AS ordered_at,"
        ' CASE o WHEN 1 THEN \'[{"content_id": 7, "price": "2.5"}]\'::jsonb'
        ' WHEN 2 THEN \'[{"content_id": "sku-2", "price": 3}]\'::jsonb END AS items,'
        ' CASE o WHEN 1 THEN \'{"b": [1, 2.50, "x"]}\'::jsonb'
        ' WHEN 2 THEN \'{"k": 1, "o": [{"a": 1}, {"b": "x"}], "n": [[1, "x"], [2.5]],'
        ' "big": 9007199254740993}\'::jsonb'
        ' ELSE \'{"k": "x", "o": {"c": 2}}\'::jsonb END AS extra'
        " FROM generate_series(1, 3) AS o",
    )
    root = write_project(tmp_path, server.base_url, pg_warehouse(pg_db, ""), JSONB_MODEL)
    config = (root / "retl_project.yml").read_text(encoding="utf-8")
    (root / "retl_project.yml").write_text(config + "      - name: baskets\n", encoding="utf-8")
    assert sync(root) == (3, 0)
    sent = events(server)
    for o, extra in EXTRA.items():
        assert sent[f"order-{o}"]["properties"]["details"] == extra
    assert sent["order-1"]["properties"]["details"]["b"][0] == 1  # not 1.0, not "1"
    assert sent["order-1"]["properties"]["contents"] == [{"content_id": "7", "price": 2.5}]
    assert sent["order-2"]["properties"]["contents"] == [{"content_id": "sku-2", "price": 3.0}]
    assert sync(root) == (0, 3)

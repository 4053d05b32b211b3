"""PostgreSQL json and jsonb custom properties carry no JSON ``null`` either (TikTok refuses
the whole event for one): the workbench reads a jsonb column of objects as a struct whose
values of several kinds are JSON leaves (json_columns.py), and a json column of scalars
stays JSON; both lose their nulls as a DuckDB JSON column does (test_json_property_nulls.py),
an array or object emptied by that too, and a value emptied whole is left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.engine.postgres import PostgresConnection
from reverse_etl.sandbox import SandboxServer

from .test_pg_contents import (  # noqa: F401  (the fixtures the module's tests use)
    _token,
    events,
    execute,
    pg_warehouse,
    sandbox_token,
    sync,
    write_project,
)

pytestmark = pytest.mark.postgres

MODEL = """
select 'Purchase' as event, 'order-' || order_id::varchar as event_id,
       ordered_at as event_time, email, extra as "properties.details", n as "properties.n"
from {{ source('shop', 'baskets') }}
"""
# jsonb: "k" and the items of "m" are of several kinds (JSON leaves)
DETAILS = {
    1: (
        '{"k": {"z": null, "y": 1}, "m": [1, "x", [null, 2]]}',
        {"k": {"y": 1}, "m": [1, "x", [2]]},
    ),
    2: ('{"k": 1, "m": [{"q": null}, "null"]}', {"k": 1, "m": ["null"]}),
    3: ('{"k": [null], "m": [{"q": [null]}]}', None),
}
# json of scalars only: a JSON column as it is
N = {1: ('"null"', "null"), 2: ("null", None), 3: ("2.50", 2.5)}


def test_json_and_jsonb_properties_are_sent_without_their_nulls(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    details = " ".join(f"WHEN {o} THEN '{v}'::jsonb" for o, (v, _) in DETAILS.items())
    n = " ".join(f"WHEN {o} THEN '{v}'::json" for o, (v, _) in N.items())
    execute(pg_db, "CREATE SCHEMA shop")
    execute(
        pg_db,
        "CREATE TABLE shop.baskets AS SELECT o AS order_id, 'b' || o || '@example.com' AS email,"
        " now() AT TIME ZONE 'UTC' - o * interval '1 minute' AS ordered_at,"
        f" CASE o {details} END AS extra, CASE o {n} END AS n"
        " FROM generate_series(1, 3) AS o",
    )
    root = write_project(tmp_path, server.base_url, pg_warehouse(pg_db, ""), MODEL)
    config = (root / "retl_project.yml").read_text(encoding="utf-8")
    (root / "retl_project.yml").write_text(config + "      - name: baskets\n", encoding="utf-8")
    assert sync(root) == (3, 0)  # every event accepted: a null would get it refused
    sent = events(server)
    for o in (1, 2, 3):
        props = sent[f"order-{o}"]["properties"]
        assert props.get("details") == DETAILS[o][1]
        assert props.get("n") == N[o][1]
    assert "details" not in sent["order-3"]["properties"]
    assert "n" not in sent["order-2"]["properties"]

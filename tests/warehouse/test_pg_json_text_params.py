"""A PostgreSQL jsonb value given to a text parameter (``j->'url' AS page_url``: ``->`` keeps
it JSON, ``->>`` reads its text). Sent with a CAST to text, a JSON string would keep its
quotes (``"\\"https://...\\""``), and TikTok would take them for the page's address. It does
not happen: the workbench reads a column of JSON strings as their text (``json_columns.py``),
and a column whose values are of several kinds (a string in one row, a number in another)
stays JSON, which the plan refuses for a text parameter, naming the column and the fix
(``->>``), before anything is sent. ``->>`` sends the text."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.engine.postgres import PostgresConnection
from reverse_etl.errors import ValidationFailed
from reverse_etl.sandbox import SandboxServer

from .test_pg_contents import (  # noqa: F401  (the fixtures the module's tests use)
    NOW,
    _token,
    events,
    execute,
    pg_warehouse,
    sandbox_token,
    sync,
    write_project,
)

pytestmark = pytest.mark.postgres


def _project(
    pg_db: PostgresConnection, server: SandboxServer, root: Path, arrow: str, title: str
) -> Path:
    """Pages whose jsonb ``j`` holds a url (a string) and a title (SQL ``title`` of ``o``)."""
    execute(pg_db, "CREATE SCHEMA shop")
    execute(
        pg_db,
        "CREATE TABLE shop.pages AS SELECT o AS page_id, 'p' || o || '@example.com' AS email,"
        f" to_timestamp({NOW} - o) AT TIME ZONE 'UTC' AS seen_at,"
        f" jsonb_build_object('url', 'https://shop.example/p' || o, 'title', {title}) AS j"
        " FROM generate_series(1, 3) AS o",
    )
    model = f"""
select 'ViewContent' as event, 'page-' || page_id::varchar as event_id,
       seen_at as event_time, email, j{arrow}'url' as page_url, j{arrow}'title' as description
from {{{{ source('shop', 'pages') }}}}
"""
    root = write_project(root, server.base_url, pg_warehouse(pg_db, ""), model)
    config = (root / "retl_project.yml").read_text(encoding="utf-8")
    (root / "retl_project.yml").write_text(config + "      - name: pages\n", encoding="utf-8")
    return root


TEXTS = "'Page ' || o"
SEVERAL_KINDS = "CASE WHEN o = 3 THEN to_jsonb(404) ELSE to_jsonb('Page ' || o) END"


@pytest.mark.parametrize("arrow", ["->", "->>"])
def test_a_json_string_goes_out_as_its_text(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path, arrow: str
) -> None:
    root = _project(pg_db, server, tmp_path / "p", arrow, TEXTS)
    assert sync(root) == (3, 0)
    sent = events(server)
    assert sent["page-2"]["page"]["url"] == "https://shop.example/p2"
    assert sent["page-2"]["properties"]["description"] == "Page 2"


def test_json_of_several_kinds_given_to_text_is_refused_with_the_fix(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    root = _project(pg_db, server, tmp_path / "p", "->", SEVERAL_KINDS)
    with pytest.raises(ValidationFailed) as raised:
        sync(root)
    text = str(raised.value)
    assert "column description: description must be text, not JSON" in text
    assert "->> in PostgreSQL" in text
    assert "page_url" not in text  # its values are all strings: read as text
    assert events(server) == {}


def test_json_of_several_kinds_read_with_its_text_is_sent(
    pg_db: PostgresConnection, server: SandboxServer, tmp_path: Path
) -> None:
    root = _project(pg_db, server, tmp_path / "p", "->>", SEVERAL_KINDS)
    assert sync(root) == (3, 0)
    sent = events(server)
    assert sent["page-2"]["properties"]["description"] == "Page 2"
    assert sent["page-3"]["properties"]["description"] == "404"

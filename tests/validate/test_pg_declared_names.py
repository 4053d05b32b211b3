"""A PostgreSQL project whose models are written in PostgreSQL's dialect, validated offline on
its declared sources: a declared ``OrderId`` is the server's ``orderid`` (a column declared
by hand, as dbt reads one, says nothing of quoting), so ``select OrderId`` validates. Reading
declared names as quoted ones made every such model fail with false unknown-column errors."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import invoke_in_process

PROJECT = """\
name: pgn
warehouse:
  type: postgres
  host: localhost
  dbname: shop
  user: retl
  dialect: postgres
sources:
  - name: shop
    schema: public
    tables:
      - name: orders
        columns:
          - {name: OrderId, data_type: varchar}
          - {name: CustomerEmail, data_type: varchar}
          - {name: OrderedAt, data_type: timestamp}
"""
MODEL = """\
{{ config(primary_key='event_id') }}
select 'Purchase' as event, OrderId as event_id, OrderedAt as event_time,
       CustomerEmail as email, 'https://shop.example.com/' as page_url
from {{ source('shop', 'orders') }}
"""
DESTINATIONS = """\
destinations:
  tt:
    type: tiktok_events
    model: ev
    access_token: x
    event_source_id: CSANDBOXDEMOPIXEL001
"""


def test_declared_mixed_case_names_are_read_as_postgresql_reads_unquoted_names(
    tmp_path: Path,
) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "retl_project.yml").write_text(PROJECT)
    (tmp_path / "models" / "ev.sql").write_text(MODEL)
    (tmp_path / "destinations.yml").write_text(DESTINATIONS)
    result = invoke_in_process("validate", "--offline", "--project-dir", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error(s), 0 warning(s)" in result.stdout

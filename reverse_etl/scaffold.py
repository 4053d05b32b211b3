"""``retl init``: a small working project, with every TikTok parameter present and explained."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

from reverse_etl.config.docstrings import field_doc
from reverse_etl.destinations.tiktok.config import TikTokConfig
from reverse_etl.errors import ConfigError

PROJECT_YML = """\
# retl project settings. Every key is optional; see docs/configuration.md.
name: my_retl_project

# Where models run. Default: an embedded in-memory DuckDB.
warehouse:
  type: duckdb
  # path: warehouse.duckdb   # a DuckDB file instead of memory (relative to this folder)

vars:
  min_order_value: 0

# Sources in dbt's shape. Declared column types let `retl validate` work without a warehouse.
# external_location (as in dbt-duckdb) reads a file instead of a warehouse table.
sources:
  - name: shop
    tables:
      - name: orders
        config:
          external_location: data/orders.csv
        columns:
          - {name: order_id, data_type: varchar}
          - {name: customer_email, data_type: varchar}
          - {name: customer_phone, data_type: varchar}
          - {name: customer_id, data_type: varchar}
          - {name: ordered_at, data_type: timestamp}
          - {name: total, data_type: "decimal(12,2)"}
          - {name: currency, data_type: varchar}
          - {name: landing_url, data_type: varchar}
"""

ORDERS_CSV = """\
order_id,customer_email,customer_phone,customer_id,ordered_at,total,currency,landing_url
1001, Alice@Example.com ,+1 212 555 0101,cust-1,{day1} 10:15:00,42.50,USD,https://shop.example/p/socks
1002,bob@example.com,(212) 555-0102,cust-2,{day2} 11:20:00,19.99,USD,https://shop.example/p/hat
1003,carol@example.com,+44 20 7946 0958,cust-3,{day3} 09:05:00,120.00,GBP,https://shop.example/p/coat
"""


def orders_csv(today: dt.date) -> str:
    """The sample orders, placed on the three days before ``today`` (UTC): recent enough
    for TikTok and Meta to attribute them when the tutorial runs, never in the future."""
    days = [(today - dt.timedelta(days=n)).isoformat() for n in (3, 2, 1)]
    return ORDERS_CSV.format(day1=days[0], day2=days[1], day3=days[2])


MODEL_SQL = """\
-- One row per TikTok event. Columns named after TikTok parameters are mapped automatically;
-- see docs/tiktok.md for the full list.
{{ config(primary_key='event_id') }}

select
    'Purchase'                  as event,
    'order-' || order_id        as event_id,
    ordered_at                  as event_time,
    customer_email              as email,
    customer_phone              as phone,
    customer_id                 as external_id,
    total                       as value,
    currency                    as currency,
    order_id                    as order_id,
    landing_url                 as page_url
from {{ source('shop', 'orders') }}
where total >= {{ var('min_order_value', 0) }}
"""

GITIGNORE = """\
# retl state (what was sent) and run reports: keep out of git
.retl/
"""

_EXAMPLE_VALUES = {
    "type": "tiktok_events",
    "model": "purchase_events",
    "auth_method": "access_token",
    "access_token": "\"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"",
    "event_data_source": "WEB",
    "target_event_source": "ID",
    "event_source_id": "YOUR_PIXEL_CODE",
    "thread_count": "5",
    "limited_data_use": "false",
    "skip_invalid_record": "false",
    "default_phone_region": "US",
}

_COMMENTED_EXAMPLES = {
    "event_source_name": '"My Shop Pixel"',
    "advertiser_id": '"7000000000000000000"',
    "test_event_code": "TEST12345",
    "api_base_url": "https://business-api.tiktok.com",
    "primary_key": "event_id",
    "oauth_app_id": '"your-tiktok-app-id"',
}


def destinations_template(name: str = "tiktok_purchases") -> str:
    """destinations.yml with every tiktok_events parameter, generated from the settings model."""
    lines = [
        "# Where model rows go. One entry per destination; see docs/tiktok.md.",
        "destinations:",
        f"  {name}:",
    ]
    for field_name in TikTokConfig.model_fields:
        doc = " ".join((field_doc(TikTokConfig, field_name) or "").split())
        for chunk in textwrap.wrap(doc, width=88):
            lines.append(f"    # {chunk}")
        if field_name in _EXAMPLE_VALUES:
            lines.append(f"    {field_name}: {_EXAMPLE_VALUES[field_name]}")
        else:
            lines.append(f"    # {field_name}: {_COMMENTED_EXAMPLES.get(field_name, '')}".rstrip())
    return "\n".join(lines) + "\n"


def init_project(target: Path, *, today: dt.date | None = None) -> list[Path]:
    """Write a new project into ``target``; refuses to overwrite anything. The sample
    orders are dated on the days before ``today`` (default: today, UTC)."""
    day = today or dt.datetime.now(dt.timezone.utc).date()
    files = {
        target / "retl_project.yml": PROJECT_YML,
        target / "destinations.yml": destinations_template(),
        target / "models" / "purchase_events.sql": MODEL_SQL,
        target / "data" / "orders.csv": orders_csv(day),
        target / ".gitignore": GITIGNORE,
    }
    if target.exists() and not target.is_dir():
        raise ConfigError(
            f"{target} exists and is not a directory",
            file=target,
            hint="choose a new or empty directory",
        )
    existing = [p for p in files if p.exists()]
    if existing:
        raise ConfigError(
            f"{existing[0]} already exists",
            file=existing[0],
            hint="retl init never overwrites files: choose an empty or new directory",
        )
    for path, text in files.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc.strerror or exc}", file=path) from None
    return list(files)

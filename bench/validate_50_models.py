"""Measure ``retl validate`` on a 50-model project (a measurement, not a test).

``python bench/validate_50_models.py [--runs N] [--keep DIR]``

Writes a project of 50 models into a temporary folder: 5 staging models (a CTE, joins, a list
of structs) over three sources declared in retl_project.yml, and 45 event models, each a
``tiktok_events`` destination reading one staging model through ``ref()`` (so its compiled
SQL carries the staging model as a CTE). Sources are declarations only, as in CI: no data,
no warehouse.

It reports start-up (imports, ``Project.load``) apart from validation itself
(``validate_project``: compile, parse, schemas, inference and checks of all 45
destinations), the first run in the process and the median of the following ones.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

T0 = time.perf_counter()
from reverse_etl.project import Project  # noqa: E402 - timed as start-up
from reverse_etl.validation import validate_project  # noqa: E402

IMPORTS = time.perf_counter() - T0

STAGING = 5
EVENTS = 45
SOURCES = """
sources:
  - name: shop
    tables:
      - name: orders
        columns:
          - {name: order_id, data_type: varchar}
          - {name: customer_id, data_type: varchar}
          - {name: ordered_at, data_type: timestamp}
          - {name: status, data_type: varchar}
          - {name: currency, data_type: varchar}
          - {name: landing_url, data_type: varchar}
          - {name: client_ip, data_type: varchar}
          - {name: user_agent, data_type: varchar}
      - name: order_items
        columns:
          - {name: order_id, data_type: varchar}
          - {name: sku, data_type: varchar}
          - {name: product_name, data_type: varchar}
          - {name: unit_price, data_type: "decimal(10,2)"}
          - {name: quantity, data_type: integer}
      - name: customers
        columns:
          - {name: customer_id, data_type: varchar}
          - {name: email, data_type: varchar}
          - {name: phone, data_type: varchar}
"""

STAGING_SQL = """
with items as (
    select order_id,
           sum(unit_price * quantity) as order_total,
           sum(quantity) as item_count,
           list({{'content_id': sku, 'content_name': product_name,
                  'price': unit_price, 'quantity': quantity}} order by sku) as items
    from {{{{ source('shop', 'order_items') }}}}
    group by order_id
)
select o.order_id, o.ordered_at, o.status, upper(o.currency) as currency, o.landing_url,
       o.client_ip, o.user_agent, c.email, c.phone, o.customer_id,
       i.order_total, i.item_count, i.items, {k} as shard
from {{{{ source('shop', 'orders') }}}} as o
join {{{{ source('shop', 'customers') }}}} as c using (customer_id)
join items as i using (order_id)
"""

EVENT_SQL = """
{{{{ config(primary_key='event_id') }}}}
select
    case status when 'paid' then 'Purchase' when 'cart' then 'AddToCart'
                else 'ViewContent' end      as event,
    'order-{n}-' || order_id                as event_id,
    ordered_at                              as event_time,
    lower(trim(email))                      as email,
    phone,
    customer_id                             as external_id,
    client_ip                               as ip,
    user_agent,
    order_total                             as value,
    currency,
    'product'                               as content_type,
    items                                   as contents,
    item_count                              as num_items,
    order_id,
    landing_url                             as page_url,
    shard                                   as "properties.shard"
from {{{{ ref('stg_orders_{k}') }}}}
where order_total > {n}
"""

DESTINATION = """
  tiktok_{n}:
    type: tiktok_events
    model: events_{n}
    auth_method: access_token
    access_token: "{{{{ env_var('TIKTOK_ACCESS_TOKEN') }}}}"
    event_data_source: WEB
    event_source_id: CPIXEL{n}
"""


def write_project(root: Path) -> None:
    (root / "models" / "staging").mkdir(parents=True, exist_ok=True)
    (root / "retl_project.yml").write_text("name: bench_validate\n" + SOURCES)
    for k in range(STAGING):
        (root / "models" / "staging" / f"stg_orders_{k}.sql").write_text(STAGING_SQL.format(k=k))
    dests = []
    for n in range(EVENTS):
        sql = EVENT_SQL.format(n=n, k=n % STAGING)
        (root / "models" / f"events_{n}.sql").write_text(sql)
        dests.append(DESTINATION.format(n=n))
    (root / "destinations.yml").write_text("destinations:" + "".join(dests))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write the project here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        write_project(root)
        timings, cpu = [], []
        load = 0.0
        for _ in range(args.runs):
            t = time.perf_counter()
            project = Project.load(root)
            load = time.perf_counter() - t
            t, c = time.perf_counter(), time.process_time()
            results = validate_project(project, ())
            timings.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            project.close()
        errors = sum(r.count("error") for r in results)
        warnings = sum(r.count("warning") for r in results)
    print(
        f"project: {STAGING + EVENTS} models, {EVENTS} destinations ({errors} errors, "
        f"{warnings} warnings found)"
    )
    print(f"start-up: imports {IMPORTS * 1000:.0f} ms, Project.load {load * 1000:.0f} ms")
    wall, used = statistics.median(timings[1:]), statistics.median(cpu[1:])
    print(
        f"validate: first run {timings[0] * 1000:.0f} ms; median of the next "
        f"{len(timings) - 1}: {wall * 1000:.0f} ms wall, {used * 1000:.0f} ms CPU "
        f"({wall / EVENTS * 1000:.1f} ms per destination)"
    )


if __name__ == "__main__":
    main()

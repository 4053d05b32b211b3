with o as (
    select order_id, cast(ordered_at as varchar) as ordered_text, total, item_count,
           customer_id, ordered_at
    from {{ source('shop', 'orders') }}
)
select
    'Purchase'                       as event,
    order_id                         as event_id,
    ordered_text                     as event_time,
    cast(total as varchar)           as value,
    total / 3.0                      as num_items,
    item_count                       as email,
    'yes'                            as limited_data_use,
    epoch(ordered_at)                as "properties.epoch",
    [order_id, customer_id]          as content_ids,
    ordered_at                       as content_name,
    ordered_at                       as description
from o

select
    'Purchase'    as event,
    order_id      as event_id,
    ordered_at    as event_time,
    customer_id   as external_id,
    landing_url   as page_url,
    landing_url   as url,
    total         as value,
    item_count    as value
from {{ source('shop', 'orders') }}

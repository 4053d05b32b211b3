select
    'Purchase'       as event,
    order_id         as event_id,
    ordered_at       as event_time,
    customer_id      as external_id,
    total            as value,
    currency,
    landing_url
from {{ source('shop', 'orders') }}

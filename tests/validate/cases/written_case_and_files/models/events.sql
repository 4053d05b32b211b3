select
    'Purchase'              as event,
    'order-' || order_id    as event_id,
    ordered_at              as event_time,
    email,
    landing_url             as page_url
from {{ source('shop', 'orders') }}

select
    'Purchase'                                         as event,
    order_id                                           as event_id,
    ordered_at                                         as event_time,
    customer_id                                        as external_id,
    case when currency = 'EUR' then 'EUR' else 'usd' end as currency,
    'products'                                         as content_type,
    coalesce(status, 'pickup')                         as delivery_category
from {{ source('shop', 'orders') }}

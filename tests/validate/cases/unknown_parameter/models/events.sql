{{ config(primary_key='event_id') }}
select
    'Purchase'            as event,
    order_id              as event_id,
    ordered_at            as event_time,
    customer_id           as emial,
    status                as "properties.order_status",
    item_count            as "user.shoe_size",
    total                 as valeu
from {{ source('shop', 'orders') }}

select 'Purchase' as event, order_id as event_id, ordered_at as event_time,
       lower(customer_id)
from {{ source('shop', 'orders') }}

select 'Purchase' as event, ordered_at as event_time, customer_id as external_id,
       order_id as order_ref
from {{ source('shop', 'orders') }}

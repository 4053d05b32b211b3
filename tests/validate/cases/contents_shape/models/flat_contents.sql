select 'Purchase' as event, order_id as event_id, ordered_at as event_time,
       customer_id as external_id, order_id as contents
from {{ source('shop', 'orders') }}

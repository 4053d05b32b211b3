select 'Purchase' as "Event", order_id as event_id, ordered_at as EVENT_TIME,
       customer_id as external_id
from {{ source('shop', 'orders') }}

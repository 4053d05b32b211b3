select 'Purchase' as event, order_id as event_id, ordered_at as event_time,
       customer_id as external_id, customer_id as idfa
from {{ source('shop', 'orders') }}

select status as event, order_id as event_id, ordered_at as event_time,
       customer_id as external_id
from {{ source('shop', 'orders') }}

select 'Qualified' as event, order_id as event_id, ordered_at as event_time,
       customer_id as lead_id, landing_url as ttclid
from {{ source('shop', 'orders') }}

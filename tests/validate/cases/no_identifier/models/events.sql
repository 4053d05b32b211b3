select 'ViewContent' as event, order_id as event_id, ordered_at as event_time,
       client_ip as ip
from {{ source('shop', 'orders') }}

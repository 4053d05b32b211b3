select 'Purchase' as event, o.order_id as event_id, o.ordered_at as event_time,
       o.email
from {{ source('shop', 'orders') }} as o

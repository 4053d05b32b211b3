select order_id as event_id,
       'Purchase' as event,
       ordered_at as event_time,
       email,
       cast(total as int) as value,
       cast(list_first(prices) as int) as "properties.num_items"
from {{ source('shop', 'orders') }}

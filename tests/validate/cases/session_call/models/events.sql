select o.order_id as event_id,
       'Purchase' as event,
       o.ordered_at as event_time,
       o.email,
       o.landing_url as page_url
from {{ source('shop', 'orders') }} as o
cross join enable_profiling(save_location = 'profile.json', format = 'json')

select o.order_id as event_id,
       'Purchase' as event,
       o.ordered_at as event_time,
       o.email,
       o.landing_url as page_url,
       q.content as description
from {{ source('shop', 'orders') }} as o
cross join query('select content from read_text(''data/notes.txt'')') as q

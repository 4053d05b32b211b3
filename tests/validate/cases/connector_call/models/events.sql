select o.order_id as event_id,
       'Purchase' as event,
       o.ordered_at as event_time,
       o.email,
       o.landing_url as page_url
from {{ source('shop', 'orders') }} as o
cross join postgres_query('pg', 'select pg_read_file(''PG_VERSION'') as v') as q

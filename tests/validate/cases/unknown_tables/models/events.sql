select 'Purchase' as event, e.id as event_id, e.ts as event_time, c.email
from raw.events as e
join {{ source('shop', 'customers') }} as c on c.customer_id = e.customer_id

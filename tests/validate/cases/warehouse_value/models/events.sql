select p.order_id as event_id,
       'Purchase' as event,
       p.ordered_at as event_time,
       p.email,
       cast(p.total as decimal(18, 2)) as value,
       'amount-' || p.amount as content_id
from {{ ref('priced') }} as p

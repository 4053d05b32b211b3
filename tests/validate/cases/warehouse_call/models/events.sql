select e.order_id as event_id,
       'Purchase' as event,
       e.ordered_at as event_time,
       e.email,
       e.landing_url as page_url
from {{ ref('enriched') }} as e

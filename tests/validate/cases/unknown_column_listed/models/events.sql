select 'Purchase' as event, order_id as event_id, ordered_at as event_time,
       lower(emial) as email, total as value, currency
from {{ source('shop', 'orders') }}
where emial is not null

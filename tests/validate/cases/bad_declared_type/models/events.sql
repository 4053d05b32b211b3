select 'Purchase' as event, order_id as event_id, ordered_at as event_time,
       email
from {{ source('crm', 'people') }}

select 'Purchase' as event, id as event_id, ts as event_time, email
from {{ ref('stg_raw') }}

select
    event_name  as event,
    order_id    as event_id,
    ordered_at  as event_time,
    customer_id as external_id,
    total       as value,
    * exclude (event_name, order_id, ordered_at, customer_id, total)
from {{ ref('int_events') }}

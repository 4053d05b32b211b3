select 'InstallApp' as event, order_id as event_id, customer_id as external_id
from {{ source('shop', 'orders') }}

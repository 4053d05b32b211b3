{{ config(primary_key='order_ref') }}
select 'Purchase' as event, ordered_at as event_time, customer_id as external_id
from {{ source('shop', 'orders') }}

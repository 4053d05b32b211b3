{{ config(primary_key='event_id') }}

select
    'Purchase'                          as event,
    'order-' || order_id                as event_id,
    ordered_at                          as event_time,
    lower(trim(email))                  as email,
    phone,
    cast(customer_id as varchar)        as external_id,
    client_ip                           as ip,
    user_agent,
    landing_url                         as page_url,
    total                               as value,
    upper(currency)                     as currency,
    'product'                           as content_type,
    contents,
    num_items,
    order_id
from (
    select * from {{ ref('stg_orders') }} where total > 0
) as paid

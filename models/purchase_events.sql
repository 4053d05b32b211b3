-- TikTok "Purchase" events: columns named after TikTok parameters map automatically
-- (see docs/tiktok.md). event_id keeps re-sends deduplicated by TikTok for 48 hours.
{{ config(primary_key='event_id') }}

select
    'Purchase'                 as event,
    'order-' || order_id       as event_id,
    ordered_at                 as event_time,
    nullif(trim(email), '')    as email,
    phone                      as phone,
    customer_id                as external_id,
    client_ip                  as ip,
    user_agent                 as user_agent,
    order_total                as value,
    currency                   as currency,
    'product'                  as content_type,
    items                      as contents,
    item_count                 as num_items,
    order_id                   as order_id,
    landing_url                as page_url
from {{ ref('stg_orders') }}
where order_total >= {{ var('min_order_value', 0) }}

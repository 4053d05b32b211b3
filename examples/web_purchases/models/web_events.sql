-- Storefront events as TikTok pixel events. Columns named after TikTok parameters map
-- automatically (see docs/tiktok.md); e-mail, phone and external_id are hashed before sending.
{{ config(primary_key='event_id') }}

select
    case event_type
        when 'view_item'   then 'ViewContent'
        when 'add_to_cart' then 'AddToCart'
        when 'purchase'    then 'Purchase'
    end                                   as event,
    -- The browser pixel sends the same ID, so TikTok deduplicates the two copies.
    'web-' || event_uid                   as event_id,
    occurred_at                           as event_time,
    email                                 as email,
    phone                                 as phone,
    coalesce(customer_id, visitor_id)     as external_id,
    client_ip                             as ip,
    user_agent                            as user_agent,
    ttclid                                as ttclid,
    page_url                              as page_url,
    referrer_url                          as referrer,
    items_value                           as value,
    currency                              as currency,
    'product'                             as content_type,
    items                                 as contents,
    items_count                           as num_items,
    order_id                              as order_id
from {{ ref('stg_storefront_events') }}
where event_type in ('view_item', 'add_to_cart', 'purchase')

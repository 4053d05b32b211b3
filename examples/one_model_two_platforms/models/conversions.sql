-- One conversions model for every ad platform. The names are retl's shared column names:
-- each destination maps them to its own fields (event -> TikTok's event, Meta's event_name;
-- email -> user.email, user_data.em; page_url -> page.url, event_source_url ...), and
-- normalises and hashes PII the way that platform documents.
{{ config(primary_key='event_id') }}

select
    case event_type
        when 'view_item'   then 'ViewContent'
        when 'add_to_cart' then 'AddToCart'
        when 'purchase'    then 'Purchase'
    end                                   as event,
    -- The browser pixels send the same ID, so each platform counts the event once.
    'web-' || event_uid                   as event_id,
    occurred_at                           as event_time,
    email                                 as email,
    phone                                 as phone,
    coalesce(customer_id, visitor_id)     as external_id,
    client_ip                             as ip,
    user_agent                            as user_agent,
    page_url                              as page_url,
    items_value                           as value,
    currency                              as currency,
    'product'                             as content_type,
    items                                 as contents,
    items_count                           as num_items,
    order_id                              as order_id,
    -- TikTok only
    ttclid                                as ttclid,
    -- Meta only (hashed as Meta documents: names, city, state, zip and country normalised)
    first_name                            as first_name,
    last_name                             as last_name,
    city                                  as city,
    state                                 as state,
    zip_code                              as zip_code,
    country                               as country,
    referrer_url                          as referrer_url
from {{ ref('stg_storefront_events') }}
where event_type in ('view_item', 'add_to_cart', 'purchase')

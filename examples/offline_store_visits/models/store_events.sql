-- In-store events for a TikTok offline event set: standard event names only.
{{ config(primary_key='event_id') }}

select
    case kind when 'purchase' then 'Purchase' else 'Contact' end  as event,
    kind || '-' || record_id                                     as event_id,
    occurred_at                                                  as event_time,
    email                                                        as email,
    phone                                                        as phone,
    amount                                                       as value,
    currency                                                     as currency,
    item_count                                                   as num_items,
    order_id                                                     as order_id,
    shop_id                                                      as shop_id,
    fulfilment                                                   as delivery_category,
    topic                                                        as description
from {{ ref('stg_store_events') }}

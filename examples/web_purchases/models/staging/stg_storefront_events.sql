-- One row per storefront event, with the logged-in customer's contact details and the
-- event's products as a list of structs (TikTok's properties.contents).
with items as (
    select
        event_uid,
        sum(unit_price * quantity)                                    as items_value,
        sum(quantity)                                                 as items_count,
        list({'content_id': sku, 'content_name': product_name,
              'content_category': category, 'brand': brand,
              'price': unit_price, 'quantity': quantity} order by sku) as items
    from {{ source('storefront', 'event_items') }}
    group by event_uid
)

select
    e.event_uid,
    e.event_type,
    e.occurred_at,
    e.visitor_id,
    e.customer_id,
    e.order_id,
    upper(e.currency)         as currency,
    e.page_url,
    e.referrer_url,
    e.client_ip,
    e.user_agent,
    nullif(trim(e.ttclid), '') as ttclid,
    c.email,
    c.phone,
    i.items_value,
    i.items_count,
    i.items
from {{ source('storefront', 'events') }} as e
left join {{ source('storefront', 'customers') }} as c using (customer_id)
left join items as i using (event_uid)
where e.occurred_at >= timestamp '{{ var("since") }}'

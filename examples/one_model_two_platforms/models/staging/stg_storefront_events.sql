-- One row per storefront event, with the logged-in customer's details and the event's
-- products as a list of structs (content_id, price, quantity: the keys both platforms take).
with items as (
    select
        event_uid,
        sum(unit_price * quantity)                                        as items_value,
        sum(quantity)                                                     as items_count,
        list({'content_id': sku, 'price': unit_price, 'quantity': quantity} order by sku)
                                                                          as items
    from {{ source('storefront', 'event_items') }}
    group by event_uid
)

select
    e.event_uid,
    e.event_type,
    {% if var('replay') %}
    -- Whole days only: the same value all day, so an unchanged row stays unchanged.
    e.occurred_at + to_days(cast(current_date - date '{{ var("last_day") }}' as integer) - 1)
    {% else %}
    e.occurred_at
    {% endif %}                                                       as occurred_at,
    e.visitor_id,
    e.customer_id,
    e.order_id,
    upper(e.currency)          as currency,
    e.page_url,
    e.referrer_url,
    e.client_ip,
    e.user_agent,
    nullif(trim(e.ttclid), '') as ttclid,
    c.email,
    c.phone,
    c.first_name,
    c.last_name,
    c.city,
    c.state,
    c.zip_code,
    c.country,
    i.items_value,
    i.items_count,
    i.items
from {{ source('storefront', 'events') }} as e
left join {{ source('storefront', 'customers') }} as c using (customer_id)
left join items as i using (event_uid)

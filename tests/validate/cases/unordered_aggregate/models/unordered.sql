with items as (
    select order_id,
           list({'content_id': sku, 'price': unit_price, 'quantity': quantity}) as items,
           string_agg(sku, ',') as sku_text
    from {{ source('shop', 'order_items') }}
    group by order_id
)
select
    'Purchase'           as event,
    o.order_id           as event_id,
    o.ordered_at         as event_time,
    o.customer_id        as external_id,
    i.items              as contents,
    i.sku_text           as description,
    u.skus               as content_ids,
    len(i.items)         as num_items
from {{ source('shop', 'orders') }} as o
join items as i on i.order_id = o.order_id
join {{ ref('items_by_order') }} as u on u.order_id = o.order_id

with items as (
    select order_id,
           list({'content_id': sku, 'price': unit_price, 'quantity': quantity}
                order by sku) as items,
           string_agg(sku, ',' order by sku) as sku_text,
           list_sort(list(sku)) as skus
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
    i.skus               as content_ids,
    len(i.items)         as num_items
from {{ source('shop', 'orders') }} as o
join items as i on i.order_id = o.order_id

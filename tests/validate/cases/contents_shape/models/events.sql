select
    'Purchase'                                                  as event,
    o.order_id                                                  as event_id,
    o.ordered_at                                                as event_time,
    o.customer_id                                               as external_id,
    list({'sku': i.sku, 'price': cast(i.unit_price as varchar),
          'quantity': i.unit_price} order by i.sku) as contents
from {{ source('shop', 'orders') }} as o
join {{ source('shop', 'order_items') }} as i on i.order_id = o.order_id
group by all

-- Paid orders with their customer and line items; one row per order.
select
    o.order_id,
    o.ordered_at,
    o.currency,
    o.landing_url,
    o.client_ip,
    o.user_agent,
    c.email,
    c.phone,
    o.customer_id,
    sum(i.unit_price * i.quantity)                                   as order_total,
    sum(i.quantity)                                                  as item_count,
    list({'content_id': i.sku, 'content_name': i.product_name,
          'content_category': i.category, 'price': i.unit_price,
          'quantity': i.quantity} order by i.sku)                    as items
from {{ source('shop', 'orders') }} as o
join {{ source('shop', 'customers') }} as c using (customer_id)
join {{ source('shop', 'order_items') }} as i using (order_id)
where o.status = 'paid'
group by all

-- Paid orders with their items as TikTok contents.
with items as (
    select
        order_id,
        list({'content_id': sku, 'content_name': product_name,
              'price': unit_price, 'quantity': quantity} order by sku) as contents,
        sum(quantity) as num_items
    from {{ source('shop', 'order_items') }}
    group by order_id
)
select o.order_id, o.ordered_at, o.total, o.currency, o.client_ip, o.user_agent,
       o.landing_url,
       c.email, c.phone, o.customer_id, i.contents, i.num_items
from {{ source('shop', 'orders') }} as o
join {{ source('shop', 'customers') }} as c using (customer_id)
left join items as i using (order_id)
where o.status = 'paid'

-- One product per event: its columns become properties.contents[0].
select 'ViewContent' as event, order_id as event_id, ordered_at as event_time, email,
       landing_url as page_url,
       sku as content_id, product_name as content_name, category as content_category
from {{ source('shop', 'orders') }}

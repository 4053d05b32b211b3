select 'Purchase' as event, order_id as event_id, ordered_at as event_time,
       customer_id as external_id, 'https://shop.example/checkout' as page_url
from {{ source('shop', 'orders') }}

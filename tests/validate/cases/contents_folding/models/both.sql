-- A contents column (with a status per item) and a content_id column: which item is it?
select 'Purchase' as event, order_id as event_id, ordered_at as event_time, email,
       landing_url as page_url,
       [{'content_id': sku, 'price': unit_price, 'status': fulfilment_status}] as contents,
       sku as content_id
from {{ source('shop', 'orders') }}

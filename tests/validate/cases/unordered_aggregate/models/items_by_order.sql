-- An upstream model: its list is unordered, and so is every column built from it.
select order_id, list(sku) as skus
from {{ source('shop', 'order_items') }}
group by order_id

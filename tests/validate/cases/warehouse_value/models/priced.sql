select o.*,
       o.price * o.quantity as amount
from {{ source('shop', 'orders') }} as o

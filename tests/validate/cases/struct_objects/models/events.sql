select
    'Purchase'                                       as event,
    o.order_id                                       as event_id,
    o.ordered_at                                     as event_time,
    {'email': c.email, 'phone': c.phone, 'emial': c.email} as "user",
    {'value': o.total, 'currency': 'EURO', 'coupon': 'SPRING'} as properties
from {{ source('shop', 'orders') }} as o
join {{ source('shop', 'customers') }} as c on c.customer_id = o.customer_id

select
    order_id,
    ordered_at,
    customer_id,
    total,
    case status
        when 'viewed' then 'ViewContnet'
        else 'Purchase'
    end as event_name
from {{ source('shop', 'orders') }}

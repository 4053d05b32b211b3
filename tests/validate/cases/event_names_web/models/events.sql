with views as (
    select
        case when status = 'cart' then 'AddToCart' else 'ViewContnet' end as event,
        order_id, ordered_at, customer_id
    from {{ source('shop', 'orders') }}
)
select event, order_id as event_id, ordered_at as event_time,
       customer_id as external_id
from views
union all
select 'Checkout', order_id, ordered_at, customer_id
from {{ source('shop', 'orders') }}
union all
select 'CompletePayment', order_id, ordered_at, customer_id
from {{ source('shop', 'orders') }}
union all
select ' Purchase ', order_id, ordered_at, customer_id
from {{ source('shop', 'orders') }}

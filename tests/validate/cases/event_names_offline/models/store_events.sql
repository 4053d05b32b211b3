select
    case status
        when 'paid'     then 'Purchase'
        when 'refunded' then 'Refund'
        when 'legacy'   then 'CompletePayment'
        when 'spaced'   then ' Lead '
    end                                as event,
    order_id                           as event_id,
    ordered_at                         as event_time,
    customer_id                        as external_id,
    true                               as limited_data_use
from {{ source('shop', 'orders') }}

-- Till purchases and service-desk visits of identified loyalty members, in one shape.
with purchases as (
    select
        'purchase'          as kind,
        receipt_no          as record_id,
        store_code,
        member_id,
        completed_at        as occurred_at,
        total_amount        as amount,
        currency,
        item_count,
        fulfilment,
        receipt_no          as order_id,
        null::varchar       as topic
    from {{ source('pos', 'transactions') }}
    where status = 'completed'
),

desk_visits as (
    select
        'desk_visit'        as kind,
        ticket_no           as record_id,
        store_code,
        member_id,
        opened_at           as occurred_at,
        null::decimal(10,2) as amount,
        null::varchar       as currency,
        null::integer       as item_count,
        null::varchar       as fulfilment,
        null::varchar       as order_id,
        topic
    from {{ source('pos', 'service_desk_visits') }}
)

select
    e.*,
    s.shop_id,
    s.city,
    m.email,
    m.phone
from (select * from purchases union all select * from desk_visits) as e
join {{ source('pos', 'stores') }} as s using (store_code)
join {{ source('pos', 'loyalty_members') }} as m using (member_id)
{% if var('require_marketing_consent') %}
where m.marketing_consent
{% endif %}

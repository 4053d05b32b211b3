-- TikTok APP events. app_id is the store ID of the build that sent the event.
{{ config(primary_key='event_id') }}

select
    case event_name
        when 'first_open'    then 'InstallApp'
        when 'session_start' then 'LaunchAPP'
        when 'iap_purchase'  then 'Purchase'
    end                                              as event,
    event_uuid                                       as event_id,
    occurred_at                                      as event_time,
    case platform
        when 'ios' then '{{ var("ios_app_id") }}'
        else '{{ var("android_app_id") }}'
    end                                              as app_id,
    '{{ var("app_name") }}'                          as app_name,
    app_version                                      as app_version,
    idfa                                             as idfa,
    gaid                                             as gaid,
    att_status                                       as att_status,
    locale                                           as locale,
    client_ip                                        as ip,
    user_agent                                       as user_agent,
    email                                            as email,
    price                                            as value,
    currency                                         as currency,
    case when product_sku is not null then 'product' end as content_type,
    case when product_sku is not null
         then [{'content_id': product_sku, 'price': price, 'quantity': 1}]
    end                                              as contents
from {{ ref('stg_app_events') }}
where event_name in ('first_open', 'session_start', 'iap_purchase')

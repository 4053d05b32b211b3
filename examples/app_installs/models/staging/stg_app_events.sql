-- App events with the device's advertising IDs and the signed-in player's e-mail.
select
    e.event_uuid,
    e.event_name,
    e.occurred_at,
    e.device_id,
    e.user_id,
    e.app_version,
    e.client_ip,
    e.user_agent,
    e.product_sku,
    e.price,
    upper(e.currency)                          as currency,
    lower(d.platform)                          as platform,
    -- iOS reports an all-zero IDFA when tracking is not authorised: that is no ID at all.
    nullif(upper(d.idfa), '00000000-0000-0000-0000-000000000000') as idfa,
    nullif(lower(d.gaid), '00000000-0000-0000-0000-000000000000') as gaid,
    coalesce(d.att_status, case when lower(d.platform) = 'android' then 'NOT_APPLICABLE' end)
                                               as att_status,
    d.locale,
    p.email
from {{ source('app', 'events') }} as e
join {{ source('app', 'devices') }} as d using (device_id)
left join {{ source('app', 'players') }} as p using (user_id)

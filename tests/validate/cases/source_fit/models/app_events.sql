-- idfa without att_status; external_id is not read on APP events.
select 'InstallApp' as event, event_uuid as event_id, occurred_at as event_time,
       store_app_id as app_id, idfa, gaid, client_ip as ip, user_agent,
       user_id as external_id
from {{ source('shop', 'app_events') }}

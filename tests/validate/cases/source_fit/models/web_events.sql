-- Every field applies to WEB, but there is no page_url.
select 'ViewContent' as event, visit_id as event_id, visited_at as event_time,
       email, customer_id as external_id, client_ip as ip, user_agent,
       click_id as ttclid, ttp_cookie as ttp
from {{ source('shop', 'visits') }}

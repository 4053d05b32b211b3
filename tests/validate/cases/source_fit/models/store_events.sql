-- Web-only fields on OFFLINE, and PageView, which is no OFFLINE standard event.
select
    case when landing_url is null then 'Purchase' else 'PageView' end as event,
    visit_id                                                          as event_id,
    visited_at                                                        as event_time,
    email,
    customer_id                                                       as external_id,
    client_ip                                                         as ip,
    user_agent,
    click_id                                                          as ttclid,
    ttp_cookie                                                        as ttp,
    landing_url                                                       as page_url
from {{ source('shop', 'visits') }}

-- Stage changes of leads that came from TikTok (only those have a TikTok lead ID).
select
    h.record_id,
    l.tiktok_lead_id,
    trim(h.stage)          as stage,
    h.changed_at,
    h.deal_amount,
    upper(h.deal_currency) as deal_currency,
    l.email,
    l.phone,
    l.company
from {{ source('salesforce', 'lead_stage_history') }} as h
join {{ source('salesforce', 'leads') }} as l using (record_id)
where l.tiktok_lead_id is not null

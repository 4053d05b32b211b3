-- One TikTok CRM event per tracked stage change. The event name is the stage itself.
{{ config(primary_key='event_id') }}

select
    stage                                                        as event,
    -- Stable per lead and stage: a re-export of the same change is deduplicated by TikTok.
    tiktok_lead_id || '-' || lower(replace(stage, ' ', '_'))     as event_id,
    changed_at                                                   as event_time,
    tiktok_lead_id                                               as lead_id,
    'Salesforce'                                                 as lead_event_source,
    email                                                        as email,
    phone                                                        as phone,
    record_id                                                    as external_id,
    deal_amount                                                  as value,
    deal_currency                                                as currency
from {{ ref('stg_lead_stage_changes') }}
where stage in (
    {%- for s in var('tracked_stages') %}'{{ s }}'{{ ", " if not loop.last }}{% endfor -%}
)

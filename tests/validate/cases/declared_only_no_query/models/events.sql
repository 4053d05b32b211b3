{{ config(primary_key='event_id') }}
select
    'Lead'          as event,
    form_id         as event_id,
    submitted_at    as event_time,
    email,
    'web-form'      as "properties.form",
    'https://example.com/signup' as page_url
from {{ source('forms', 'submissions') }}

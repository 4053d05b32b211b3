{{ config(primary_key='event_id') }}
-- statuses: {{ var('statuses') | join(', ') }}
select
    '{{ var("pixel_event") }}' as event,
    order_id as event_id,
    ordered_at as event_time,
    {% for s in var('statuses') %}
    status = '{{ s }}' as "properties.is_{{ s }}",
    {% endfor %}
    customer_id as emial
from {{ source('shop', 'orders') }}

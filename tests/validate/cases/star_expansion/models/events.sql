select * exclude (landing_url) replace (upper(currency) as currency)
from {{ ref('stg_events') }}
